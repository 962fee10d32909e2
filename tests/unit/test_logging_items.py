"""Logging the four kinds of item with /blocker, /risk, /decision and /change."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.model import Kind, Status
from bot.messages import Tone, Visibility
from tests.unit.conftest import Chat

BERLIN = ZoneInfo("Europe/Berlin")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


async def test_blocker_from_the_spec_example(chat: Chat) -> None:
    reply = await chat.say("/blocker Waiting on firewall change from NetOps @dana due Friday")
    assert reply.tone is Tone.SUCCESS
    assert reply.visibility is Visibility.CHANNEL
    assert reply.text.startswith("Logged B-1: Waiting on firewall change from NetOps")
    item = chat.item("B-1")
    assert item.title == "Waiting on firewall change from NetOps"
    assert item.owner == "dana"
    assert item.reporter == "ana"
    assert item.status is Status.OPEN
    assert item.due_at == local(2026, 11, 27, 17, 0)
    shown = {f.label: f.value for f in reply.cards[0].fields}
    assert shown["Owner"] == "<@dana>"
    assert shown["Due"].startswith("Fri 27 Nov 17:00")
    assert not reply.actions  # owner and date given: no follow-up


async def test_risk_from_the_spec_example(chat: Chat) -> None:
    reply = await chat.say(
        "/risk Vendor may slip the SSO delivery likelihood high impact medium @bob "
        "review in 2 weeks mitigation weekly vendor check-in"
    )
    assert reply.text.startswith("Logged R-1: Vendor may slip the SSO delivery")
    risk = chat.item("R-1")
    assert (risk.likelihood, risk.impact, risk.score) == (4, 3, 12)
    assert risk.owner == "bob"
    assert risk.due_at == local(2026, 12, 9, 17, 0)
    assert risk.mitigation == "weekly vendor check-in"
    shown = {f.label: f.value for f in reply.cards[0].fields}
    assert shown["Score"] == "12 (medium)"
    assert shown["Likelihood"] == "high (4)"
    assert shown["Next review"].startswith("Wed 9 Dec 17:00")


async def test_decision_taken_and_decision_needed(chat: Chat) -> None:
    taken = await chat.say("/decision Use PostgreSQL 16 for the cutover because it is supported")
    assert taken.text.startswith("Recorded decision D-1: Use PostgreSQL 16 for the cutover")
    d1 = chat.item("D-1")
    assert d1.status is Status.DECIDED
    assert d1.decided_by == "ana"
    assert d1.rationale == "it is supported"
    assert "Decide by" not in {f.label for f in taken.cards[0].fields}  # decided: no date asked

    needed = await chat.say("/decision needed Pick the SSO vendor @cio by Dec 5")
    assert needed.text.startswith("Logged D-2: Pick the SSO vendor")
    d2 = chat.item("D-2")
    assert d2.status is Status.PENDING
    assert d2.owner == "cio"
    assert d2.due_at == local(2026, 12, 5, 17, 0)
    assert reply_field(needed, "Decider") == "<@cio>"


async def test_change_request_from_the_spec_example(chat: Chat) -> None:
    reply = await chat.say(
        "/change Add CRM integration to scope impact schedule +2 weeks, cost +8k @sponsor "
        "because sales needs leads in CRM"
    )
    assert reply.text.startswith("Logged C-1: Add CRM integration to scope")
    c1 = chat.item("C-1")
    assert c1.status is Status.PROPOSED
    assert dict(c1.impacts) == {"schedule": "+2 weeks", "cost": "+8k"}
    assert c1.approvers == ("sponsor",)
    assert c1.rationale == "sales needs leads in CRM"
    assert reply_field(reply, "Impact") == "schedule +2 weeks; cost +8k"


def reply_field(reply: object, label: str) -> str:
    cards = reply.cards  # type: ignore[attr-defined]
    return {f.label: f.value for f in cards[0].fields}[label]


@pytest.mark.parametrize(
    ("line", "title", "owner", "due"),
    [
        # options in any order after the title
        ("/blocker API keys missing due friday @dana", "API keys missing", "dana", (11, 27, 17)),
        ("/blocker API keys missing @dana tomorrow 3pm", "API keys missing", "dana", (11, 26, 15)),
        # "by" inside the title stays title text unless a date follows
        ("/blocker Blocked by legal review @erin", "Blocked by legal review", "erin", None),
        ("/blocker Blocked on legal by Dec 5", "Blocked on legal", None, (12, 5, 17)),
        # Slack and Discord mention forms
        ("/blocker Creds <@U024BE7LH> due 2026-12-05", "Creds", "U024BE7LH", (12, 5, 17)),
        ("/blocker Creds <@!80351110224678912>", "Creds", "80351110224678912", None),
        ("/blocker Creds <@U024BE7LH|dana>", "Creds", "U024BE7LH", None),
        # a quoted title may contain option words
        ('/blocker "Due diligence by legal" @dana', "Due diligence by legal", "dana", None),
    ],
)
async def test_blocker_grammar(
    chat: Chat, line: str, title: str, owner: str | None, due: tuple[int, int, int] | None
) -> None:
    reply = await chat.say(line)
    assert reply.tone is Tone.SUCCESS, reply.text
    item = chat.item("B-1")
    assert item.title == title
    assert item.owner == owner
    assert item.due_at == (local(2026, *due, 0) if due else None)


async def test_waiting_on_a_person_or_text(chat: Chat) -> None:
    await chat.say("/blocker Deploy stuck waiting on @netops @dana due friday")
    assert chat.item("B-1").waiting_on == "<@netops>"
    assert chat.item("B-1").owner == "dana"
    await chat.say("/blocker Deploy stuck @dana waiting on the vendor's answer")
    assert chat.item("B-2").waiting_on == "the vendor's answer"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/blocker", "Fill in the form"),
        ("/blocker @dana due friday", "Start with a title"),
        ("/blocker Creds due 12/05", "`12/05` is ambiguous"),
        ("/blocker Creds due next sprint", "next sprint"),
        ("/blocker Creds due yesterday", "in the past"),
        ("/blocker Creds @dana @erin", "one owner"),
        ("/blocker Creds @dana whenever", "I couldn't tell what `whenever` means"),
        ("/blocker Creds due friday due monday", "given twice"),
        ("/blocker " + "x" * 301, "limit is 300"),
        ("/blocker Creds details " + "y" * 3001, "limit is 3,000"),
        ("/blocker Creds " + " ".join(f"@p{i}" for i in range(21)), "limit is 20"),
        ("/blocker " + "z " * 2001, "limit is 4,000"),
        ("/risk Vendor slips likelihood sometimes @bob", "`sometimes` is not a likelihood I know"),
        ("/risk Vendor slips @bob likelihood high and rising", "I couldn't tell what `and rising`"),
        ("/risk Vendor slips @bob response pray", "not a risk response"),
        ("/change Add CRM", "at least one of scope, schedule, cost or quality"),
        ("/change Add CRM impact timeline +2w", "names none"),
        ("/decision needed", "Say what needs deciding"),
        ("/blockr Creds", "Did you mean `/blocker`?"),
        ("/raid resolv B-1", "Did you mean `resolve`?"),
        ("/raid show X-1", "is not a ref"),
        ("/raid show B-99", "There is no B-99"),
    ],
)
async def test_bad_input_is_refused_with_a_clear_reply(
    chat: Chat, line: str, expected: str
) -> None:
    reply = await chat.say(line)
    assert expected in reply.text
    if "Fill in the form" not in expected:
        assert reply.tone is Tone.ERROR
        assert chat.items() == []  # nothing half-written


async def test_follow_up_when_owner_or_date_is_missing(chat: Chat) -> None:
    reply = await chat.say("/blocker Waiting on API keys")
    assert "B-1 has no owner and no due date yet." in reply.text
    labels = [a.label for a in reply.actions]
    assert labels == ["Take it myself", "Assign someone", "Set a date"]
    took = await chat.click(reply.actions[0].action_id, user="erin")
    assert took.text.startswith("Taken B-1")
    assert chat.item("B-1").owner == "erin"
    dated = await chat.click("due:B-1", {"due": "next tuesday"})
    assert dated.text.startswith("Re-dated B-1")
    assert chat.item("B-1").due_at == local(2026, 12, 1, 17, 0)


async def test_refs_count_per_kind_and_are_never_reused(chat: Chat) -> None:
    for line in ("/blocker A", "/blocker B", "/risk C", "/blocker D"):
        await chat.say(line)
    await chat.say("/raid withdraw B-3")
    await chat.say("/blocker E")
    refs = sorted(str(i.ref) for i in chat.items())
    assert refs == ["B-1", "B-2", "B-3", "B-4", "R-1"]
    assert chat.item("B-3").status is Status.WITHDRAWN


@pytest.mark.parametrize("ref", ["b1", "#B-1", "B1", "b-1", "#b1"])
async def test_refs_are_accepted_in_every_spelling(chat: Chat, ref: str) -> None:
    await chat.say("/blocker Creds")
    reply = await chat.say(f"/raid show {ref}")
    assert reply.text.startswith("B-1: Creds")


async def test_forms_validate_every_field_and_save_nothing_until_valid(chat: Chat) -> None:
    opened = await chat.say("/risk")
    assert opened.form is not None and opened.form.form_id == "new:risk"
    bad = await chat.click(
        "new:risk", {"title": "", "likelihood": "huge", "review": "12/05", "owner": "@bob"}
    )
    assert bad.tone is Tone.ERROR
    assert set(bad.field_errors) == {"title", "likelihood", "review"}
    assert "ambiguous" in bad.field_errors["review"]
    assert chat.items() == []
    good = await chat.click(
        "new:risk",
        {"title": "Vendor slips", "likelihood": "4", "impact": "high", "review": "friday",
         "owner": "@bob", "response": "mitigate", "mitigation": "weekly call"},
    )  # fmt: skip
    assert good.text.startswith("Logged R-1: Vendor slips")
    risk = chat.item("R-1")
    assert (risk.score, risk.owner, risk.response) == (16, "bob", "mitigate")


@pytest.mark.parametrize(
    ("kind", "values", "check"),
    [
        (Kind.BLOCKER, {"title": "Creds", "owner": "dana", "due": "friday", "waiting_on": "IT"},
         lambda i: i.owner == "dana" and i.waiting_on == "IT"),
        (Kind.DECISION,
         {"title": "Pick vendor", "state": "needed", "decider": "@cio", "by": "Dec 5"},
         lambda i: i.status is Status.PENDING and i.owner == "cio"),
        (Kind.DECISION, {"title": "Use PG16", "state": "decided"},
         lambda i: i.status is Status.DECIDED and i.decided_by == "ana"),
        (Kind.CHANGE, {"title": "Add CRM", "impact": "cost +8k", "approvers": "@sp @cfo"},
         lambda i: i.approvers == ("sp", "cfo") and dict(i.impacts) == {"cost": "+8k"}),
    ],
)  # fmt: skip
async def test_every_kind_can_be_logged_from_its_form(
    chat: Chat, kind: Kind, values: dict[str, str], check: object
) -> None:
    opened = await chat.say(f"/{kind.value}")
    assert opened.form is not None
    reply = await chat.click(opened.form.form_id, values)
    assert reply.tone is Tone.SUCCESS, reply.text
    item = chat.items(kind)[0]
    assert check(item)  # type: ignore[operator]
