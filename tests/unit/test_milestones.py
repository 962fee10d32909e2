"""Milestones (issue 18, item 1): /milestone, items joining one, the derived health, slips as
warning signs, the digest's "milestones at risk", the list, the App Home and the form."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot import actions
from bot.domain.model import ChannelKey, Item, Kind, Status
from bot.domain.plan import Health, milestone_health, working_days_until
from bot.messages import Tone, Visibility
from bot.views.plain import render_text
from tests.unit.conftest import Chat

CHANNEL = ChannelKey("console", "local", "proj")
# Wed 25 Nov 2026, 10:00 UTC
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def _weekends(day: date) -> str | None:
    return "outside the work week" if day.weekday() >= 5 else None


def _item(kind: Kind, number: int, **fields: object) -> Item:
    values: dict[str, object] = {
        "channel": CHANNEL,
        "kind": kind,
        "number": number,
        "status": Status.OPEN,
        "title": f"{kind.value} {number}",
        "reporter": "ana",
        "created_at": NOW - timedelta(days=10),
        "updated_at": NOW - timedelta(days=10),
        "id": number + {Kind.MILESTONE: 100, Kind.RISK: 200}.get(kind, 0),
    }
    values.update(fields)
    return Item(**values)  # type: ignore[arg-type]


def _milestone(due_in_days: float | None, status: Status = Status.OPEN) -> Item:
    due = None if due_in_days is None else NOW + timedelta(days=due_in_days)
    return _item(Kind.MILESTONE, 1, due_at=due, status=status)


OPEN_BLOCKER = _item(Kind.BLOCKER, 3, milestone="M-1")
RESOLVED_BLOCKER = _item(Kind.BLOCKER, 4, milestone="M-1", status=Status.RESOLVED)
HIGH_RISK = _item(Kind.RISK, 2, milestone="M-1", likelihood=5, impact=3)  # 15
MEDIUM_RISK = _item(Kind.RISK, 5, milestone="M-1", likelihood=3, impact=4)  # 12
OPEN_DECISION = _item(Kind.DECISION, 1, milestone="M-1", status=Status.PENDING)


@pytest.mark.parametrize(
    ("milestone", "linked", "health", "reason"),
    [
        (_milestone(30, Status.DONE), [OPEN_BLOCKER], Health.DONE, None),
        (_milestone(-1, Status.DONE), [], Health.DONE, None),
        (_milestone(-1), [], Health.MISSED, "its date has passed"),
        (_milestone(-1), [OPEN_BLOCKER], Health.MISSED, "its date has passed"),
        (_milestone(30), [], Health.ON_TRACK, None),
        (_milestone(None), [], Health.ON_TRACK, None),
        (_milestone(30), [RESOLVED_BLOCKER], Health.ON_TRACK, None),
        (_milestone(30), [OPEN_BLOCKER], Health.AT_RISK, "blocker B-3 is open"),
        (_milestone(None), [OPEN_BLOCKER], Health.AT_RISK, "blocker B-3 is open"),
        (_milestone(30), [HIGH_RISK], Health.AT_RISK, "risk R-2 scores 15"),
        (_milestone(30), [MEDIUM_RISK], Health.ON_TRACK, None),
        (_milestone(30), [OPEN_DECISION], Health.ON_TRACK, None),
        # Wed -> next Wed: Thu, Fri, Mon, Tue, Wed = 5 working days, with an item open
        (_milestone(7), [OPEN_DECISION], Health.AT_RISK, "due in 5 working days"),
        (_milestone(7), [MEDIUM_RISK], Health.AT_RISK, "due in 5 working days with 1 item"),
        # Wed -> Thu a week later: 6 working days: not yet
        (_milestone(8), [OPEN_DECISION], Health.ON_TRACK, None),
        # close, but nothing open
        (_milestone(2), [RESOLVED_BLOCKER], Health.ON_TRACK, None),
        (_milestone(2), [], Health.ON_TRACK, None),
        (_milestone(30, Status.WITHDRAWN), [OPEN_BLOCKER], Health.WITHDRAWN, None),
    ],
    ids=[
        "done",
        "done after its date",
        "missed",
        "missed with a blocker",
        "on track",
        "on track without a date",
        "a resolved blocker does not count",
        "an open blocker",
        "an open blocker, no date",
        "a risk scored 15",
        "a risk scored 12 is not enough",
        "an open decision alone is not a risk",
        "five working days away with an item open",
        "five working days, a risk open",
        "six working days away",
        "two days away, nothing open",
        "two days away, no items",
        "withdrawn",
    ],
)
def test_milestone_health(
    milestone: Item, linked: list[Item], health: Health, reason: str | None
) -> None:
    report = milestone_health(milestone, linked, NOW, "UTC", _weekends)
    assert report.health is health
    if reason is None:
        assert report.reasons == () or health is Health.MISSED
    else:
        assert any(reason in r for r in report.reasons), report.reasons


def test_working_days_skip_the_channels_days_off() -> None:
    wednesday = date(2026, 11, 25)
    assert working_days_until(wednesday, date(2026, 12, 2), _weekends) == 5
    assert working_days_until(wednesday, wednesday, _weekends) == 0

    def with_holiday(day: date) -> str | None:
        return "public holiday" if day == date(2026, 11, 26) else _weekends(day)

    assert working_days_until(wednesday, date(2026, 12, 3), with_holiday) == 5


async def test_milestone_is_planned_with_its_date_and_owner(chat: Chat) -> None:
    reply = await chat.say("/milestone Design approved due 15 Jan @owner")
    assert reply.tone is Tone.SUCCESS and reply.visibility is Visibility.CHANNEL
    assert reply.text == "Planned M-1: Design approved"
    text = render_text(reply)
    assert "milestone · open · on track" in text
    assert "Health: on track" in text
    assert "Open items: none" in text
    stored = chat.item("M-1")
    assert (stored.kind, stored.status, stored.owner) == (Kind.MILESTONE, Status.OPEN, "owner")
    assert stored.due_at is not None and stored.due_at.date() == date(2027, 1, 15)
    assert [a.label for a in reply.cards[0].actions] == [
        "Mark done",
        "Take it",
        "Assign",
        "New date",
        "Edit",
    ]


async def test_items_join_a_milestone_and_its_health_follows(chat: Chat) -> None:
    await chat.say("/milestone Design approved due 15 Jan @owner")
    logged = await chat.say("/blocker Waiting on the style guide @dana for M-1")
    assert logged.text.startswith("Logged B-1: Waiting on the style guide")
    assert chat.item("B-1").milestone == "M-1"
    assert "Milestone: M-1" in render_text(logged)
    shown = await chat.text("/raid show M-1")
    assert "milestone · open · at risk" in shown
    assert "Health: at risk: blocker B-1 is open" in shown
    assert "Open items: B-1" in shown
    await chat.say("/risk Vendor slips likelihood 5 impact 3")
    linked = await chat.say("/raid link R-1 M-1")
    assert linked.text.startswith("R-1 is part of milestone M-1 now.")
    assert chat.item("R-1").milestone == "M-1"
    assert "Open items: B-1, R-1" in render_text(linked)
    await chat.say("/raid resolve B-1", user="dana")
    await chat.say("/raid close R-1")
    assert "Health: on track" in await chat.text("/raid show M-1")
    listed = await chat.text("/raid list milestones")
    assert "M-1 Design approved" in listed and "on track" in listed


async def test_for_names_a_milestone_that_exists(chat: Chat) -> None:
    missing = await chat.say("/blocker Waiting on creds for M-7")
    assert missing.tone is Tone.ERROR and "There is no M-7" in missing.text
    await chat.say("/blocker Something")
    not_one = await chat.say("/raid link B-1 B-1")
    assert not_one.tone is Tone.ERROR and "depends-on" in not_one.text
    assert chat.items(Kind.BLOCKER)[0].milestone is None


async def test_marking_a_milestone_done_and_reopening_it(chat: Chat) -> None:
    await chat.say("/milestone Beta shipped due friday")
    done = await chat.say("/raid resolve M-1 shipped to 20 customers")
    assert done.text == "Reached M-1: Beta shipped"
    assert chat.item("M-1").status is Status.DONE
    assert chat.item("M-1").resolution == "shipped to 20 customers"
    assert "Health: done" in render_text(done)
    again = await chat.say("/raid resolve M-1")
    assert again.tone is Tone.ERROR and again.text == "M-1 is already done."
    reopened = await chat.say("/raid reopen M-1 customer found a bug")
    assert reopened.text.startswith("Reopened M-1")
    assert chat.item("M-1").status is Status.OPEN


async def test_every_move_of_a_milestones_date_is_an_event_and_two_are_a_warning_sign(
    chat: Chat,
) -> None:
    await chat.say("/milestone Design approved due Dec 10")
    await chat.say("/blocker Style guide late @dana for M-1")
    await chat.say("/raid due M-1 Dec 17")
    await chat.say("/raid due M-1 Jan 8")
    history = await chat.text("/raid history M-1")
    assert history.count("due:") == 2 or history.count("re-dated") >= 2, history
    assert chat.item("M-1").date_moves == 2
    digest = await chat.text("/digest")
    assert "Milestones at risk (1)" in digest
    assert "M-1 Design approved" in digest and "moved 2 times" in digest
    assert "blocker B-1 is open" in digest
    assert "M-1 has had its date moved 2 times" in digest  # the warning sign


async def test_a_missed_milestone_is_in_the_digest(chat: Chat) -> None:
    await chat.say("/milestone Kickoff due tomorrow")
    chat.clock.advance(days=3)
    digest = await chat.text("/digest")
    assert "Milestones at risk (1)" in digest and "missed" in digest


async def test_a_milestone_without_text_opens_its_form_and_the_form_plans_it(chat: Chat) -> None:
    opened = await chat.say("/milestone")
    assert opened.form is not None
    assert opened.form.title == "Plan a milestone"
    assert [f.name for f in opened.form.fields] == ["title", "due", "owner", "links", "details"]
    submitted = await chat.click(
        actions.new_form(Kind.MILESTONE),
        {"title": "Go live", "due": "Dec 18", "owner": "<@erin>", "links": "OPS-7"},
    )
    assert submitted.text == "Planned M-1: Go live", submitted.text
    stored = chat.item("M-1")
    assert (stored.owner, stored.links) == ("erin", ("OPS-7",))
    bad = await chat.click(actions.new_form(Kind.MILESTONE), {"title": "X", "links": "ftp://x"})
    assert "links" in bad.field_errors


async def test_app_home_shows_the_milestones_a_person_owns_with_their_health(chat: Chat) -> None:
    await chat.say("/milestone Design approved due 15 Jan @dana")
    await chat.say("/blocker Waiting on fonts for M-1")
    home = await chat.core.home("console", "local", "dana")
    milestones = home.sections[-1]
    assert milestones.heading == "Milestones you own (1)"
    (shown,) = milestones.cards
    assert shown.ref == "M-1" and shown.status == "open · at risk"
    assert any(f.label == "Health" and "blocker B-1" in f.value for f in shown.fields)


async def test_help_and_usage_mention_milestones(chat: Chat) -> None:
    everything = await chat.text("/raid help")
    assert "/milestone: plan a milestone" in everything
    assert "link: an item joins a milestone" in everything
    usage = await chat.say("/milestone help")
    assert "Usage: /milestone <title> [due <date>]" in usage.text


async def test_an_exported_register_with_milestones_imports_again(chat: Chat) -> None:
    await chat.say("/milestone Design approved due 15 Jan @dana")
    await chat.say("/milestone Beta shipped due Dec 18")
    await chat.say("/raid resolve M-2")
    exported = await chat.core.export_channel(chat.channel, "csv")
    chat.channel = ChannelKey("console", "local", "copy")
    request_text = exported.content
    from bot.messages import Request

    reply = await chat.core.handle(
        Request(
            chat.channel,
            "ana",
            command="raid",
            text="import register.csv apply",
            attachments={"register.csv": request_text},
        )
    )
    assert reply.tone is not Tone.ERROR, reply.text
    copied = {str(i.ref): i for i in chat.items(Kind.MILESTONE) if i.channel == chat.channel}
    assert copied["M-1"].status is Status.OPEN and copied["M-1"].due_at is not None
    assert copied["M-2"].status is Status.DONE
