"""Standups, nudges and digests through the chat harness and the scheduler tick.

The clock is injected: nothing here waits for real time to pass.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.model import Kind, RunStatus, Status
from bot.messages import Outgoing, Tone
from bot.scheduler import Scheduler
from bot.views.plain import render_text
from tests.unit.conftest import Chat


class Recorder:
    """The messenger: records what the bot sends on its own."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def send(self, message: Outgoing) -> str:
        self.sent.append(message)
        return f"ts-{len(self.sent)}"

    def texts(self) -> list[str]:
        return [render_text(m.reply) for m in self.sent]

    def take(self) -> list[Outgoing]:
        sent, self.sent = self.sent, []
        return sent


@pytest.fixture
def outbox() -> Recorder:
    return Recorder()


@pytest.fixture
def scheduler(chat: Chat, outbox: Recorder) -> Scheduler:
    return Scheduler(
        chat.store,
        outbox,
        clock=chat.clock,
        default_timezone="Europe/Berlin",
        timetable=chat.core.timetable,
    )


def at(chat: Chat, *args: int) -> None:
    """Move the clock to a Berlin wall time (CET in Nov/Dec 2026: UTC+1)."""
    y, mo, d, h, mi = args
    chat.clock._now = datetime(y, mo, d, h - 1, mi, tzinfo=UTC)


async def test_status_shows_the_next_run_in_local_time(chat: Chat) -> None:
    reply = await chat.say("/standup schedule weekdays 09:30")
    assert reply.tone is Tone.SUCCESS
    assert "weekdays at 09:30 Europe/Berlin; next Thu 26 Nov 09:30 CET" in reply.text
    status = render_text(await chat.say("/standup"))
    assert "next Thu 26 Nov 09:30 CET" in status
    assert "Q1: What changed since the last standup?" in status
    london = await chat.say("/standup schedule mon,wed,fri 10:00 Europe/London")
    assert (
        "Mon, Wed, Fri at 10:00 Europe/London; next Wed 25 Nov 10:00 GMT" in london.text
    )  # 09:00 in London now


async def test_a_standup_day_from_opening_to_summary(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/standup members @ana @bob @cy")
    await chat.say("/standup window 1h")
    await chat.say("/standup schedule weekdays 09:30")
    await chat.say("/standup away until dec 8", user="cy")

    at(chat, 2026, 11, 26, 9, 30)
    await scheduler.tick()
    (opening,) = outbox.take()
    assert opening.to_user is None
    assert "Standup time! Please answer by Thu 26 Nov 10:30 CET." in opening.reply.text
    assert "<@ana> <@bob>" in opening.reply.text and "<@cy>" not in opening.reply.text
    answer = opening.reply.actions[0]
    assert answer.label == "Answer"

    form = (await chat.click(answer.action_id, user="ana")).form
    assert form is not None and [f.label for f in form.fields][1] == "What is blocked?"
    first = {"q0": "shipped login", "q1": "waiting on VPN access\nnone", "q2": "pick a CDN"}
    saved = await chat.click(answer.action_id, first, user="ana")
    assert "saved" in saved.text and "until Thu 26 Nov 10:30 CET" in saved.text
    edited = dict(first, q0="shipped login and signup")
    await chat.click(answer.action_id, edited, user="ana")
    again = (await chat.click(answer.action_id, user="ana")).form
    assert again is not None and again.fields[0].default == "shipped login and signup"

    at(chat, 2026, 11, 26, 10, 15)  # 75 % of the window
    await scheduler.tick()
    (reminder,) = outbox.take()
    assert reminder.reply.text.startswith("<@bob> the standup closes at")
    assert reminder.thread == "ts-1"  # in the opening's thread
    await scheduler.tick()
    assert outbox.take() == []  # one reminder only

    at(chat, 2026, 11, 26, 10, 30)
    await scheduler.tick()
    (summary,) = outbox.take()
    text = render_text(summary.reply)
    assert "Answered: @ana" in text and "No answer: @bob" in text
    assert "Away: cy" in text and "<@cy>" not in "\n".join(
        line for s in summary.reply.sections for line in s.lines
    )
    assert "shipped login and signup" in text
    tracks = [a for a in summary.reply.actions if a.label.startswith("Track")]
    assert [a.label for a in tracks] == [
        "Track blocker: waiting on VPN access",
        "Track decision needed: pick a CDN",
    ]
    assert chat.items() == []  # nothing is created without the click
    late = await chat.click(answer.action_id, {"q0": "too late"}, user="bob")
    assert late.tone is Tone.ERROR and "closed" in late.text

    tracked = await chat.click(tracks[0].action_id, user="bob")
    assert tracked.text.startswith("Tracked B-1: waiting on VPN access")
    blocker = chat.item("B-1")
    assert blocker.reporter == "ana"
    assert blocker.details == "From the standup of Thu 26 Nov 2026; tracked by <@bob>."
    twice = await chat.click(tracks[0].action_id, user="bob")
    assert twice.text.startswith("Already tracked as B-1")

    for _ in range(3):
        await scheduler.tick()
    assert outbox.take() == []  # every step happened once


async def test_a_standup_opens_late_within_its_window_and_is_missed_after_it(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/standup members @ana")
    await chat.say("/standup schedule weekdays 09:30")  # default window 2h
    at(chat, 2026, 11, 26, 11, 0)  # raidline was down at 09:30
    await scheduler.tick()
    (opening,) = outbox.take()
    assert "Opened late: raidline was offline at Thu 26 Nov 09:30 CET" in opening.reply.text

    at(chat, 2026, 11, 30, 10, 0)  # down from Thursday noon until Monday 10:00
    await scheduler.tick()
    texts = outbox.texts()
    assert sum("Standup time!" in t for t in texts) == 1  # only Monday's opens
    assert any("Standup summary" in t for t in texts)  # Thursday's closed
    status = render_text(await chat.say("/standup"))
    assert "Fri 27 Nov: missed" in status


async def test_skip_and_now(chat: Chat, scheduler: Scheduler, outbox: Recorder) -> None:
    await chat.say("/standup schedule daily 09:30")
    assert (await chat.say("/standup skip tomorrow")).text == "No standup on Thu 26 Nov."
    at(chat, 2026, 11, 26, 9, 31)
    await scheduler.tick()
    assert outbox.take() == []
    opened = await chat.say("/standup now")
    assert opened.text == "Opening the standup now."
    assert "already being opened" in (await chat.say("/standup now")).text
    await scheduler.tick()
    assert "Standup time!" in outbox.take()[0].reply.text
    assert "already been opened" in (await chat.say("/standup now")).text


async def test_dm_mode_sends_each_member_the_questions(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/standup members @ana @bob")
    await chat.say("/standup mode dm")
    await chat.say("/standup now")
    await scheduler.tick()
    await scheduler.tick()
    sent = outbox.take()
    assert sorted(m.to_user or "#channel" for m in sent) == ["#channel", "ana", "bob"]
    channel_note = next(m for m in sent if m.to_user is None)
    assert "Questions sent by direct message." in channel_note.reply.text


@pytest.mark.parametrize(
    ("line", "user", "refusal"),
    [
        ("/standup schedule weekdays 9:30", "zoe", "Only a lead"),
        ("/standup schedule weekdays 25:00", "ana", "not a time of day"),
        ("/standup schedule funday 09:30", "ana", "is not a day"),
        ("/standup window 30h", "ana", "between 1 minute and 12 hours"),
        ("/standup mode carrier-pigeon", "ana", "Say `thread`"),
        ("/standup questions a|b|c|d|e|f", "ana", "at most 5 questions"),
        ("/standup away @ana until friday", "zoe", "Only a lead"),
        ("/standup away tomorrow", "zoe", "Say until when"),
        ("/standup shedule weekdays 9:30", "ana", "Did you mean `schedule`?"),
        ("/standup answer", "ana", "no standup to answer"),
        ("/digest weekly mon,fri 16:00", "ana", "one day"),
        ("/digest yearly", "ana", "not a /digest subcommand"),
    ],
)
async def test_standup_and_digest_refusals(chat: Chat, line: str, user: str, refusal: str) -> None:
    await chat.say("/raid settings leads @ana")
    reply = await chat.say(line, user=user)
    assert reply.tone is Tone.ERROR
    assert refusal in reply.text


# --- nudges ------------------------------------------------------------------------------


async def test_overdue_blocker_nudges_its_owner_once_a_day_then_the_leads(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/raid settings leads @ana @raj")
    await chat.say("/blocker Waiting on VPN @dana due tomorrow")
    at(chat, 2026, 11, 27, 10, 0)  # Friday, a day late
    await scheduler.tick()
    (nudge,) = outbox.take()
    assert nudge.to_user == "dana"
    assert nudge.reply.text.startswith("<@dana>: B-1 “Waiting on VPN” was due Thu 26 Nov 17:00")
    assert [a.label for a in nudge.reply.actions] == ["Resolve", "Snooze 1 day", "New date"]
    await scheduler.tick()
    assert outbox.take() == []  # at most once per item per day

    for day in (30, 1, 2):  # Mon 30 Nov, Tue 1 Dec, Wed 2 Dec
        at(chat, 2026, 11 if day == 30 else 12, day, 10, 0)
        await scheduler.tick()
    sent = outbox.take()
    assert [m.to_user for m in sent] == ["dana", "dana", None]
    assert "reminder 4; leads: <@ana> <@raj>" in sent[-1].reply.text

    at(chat, 2026, 12, 2, 20, 0)  # after working hours
    await chat.click("snooze:B-1:1d", user="dana")
    at(chat, 2026, 12, 3, 10, 0)
    await scheduler.tick()
    assert outbox.take() == []  # snoozed until 20:00
    at(chat, 2026, 12, 4, 10, 0)
    await scheduler.tick()
    assert len(outbox.take()) == 1


async def test_nudges_respect_working_hours_and_settings(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/blocker Waiting on VPN @dana due tomorrow")
    at(chat, 2026, 11, 28, 10, 0)  # Saturday
    await scheduler.tick()
    at(chat, 2026, 11, 30, 8, 59)  # Monday, before 09:00
    await scheduler.tick()
    assert outbox.take() == []
    await chat.say("/raid settings nudges off")
    at(chat, 2026, 11, 30, 10, 0)
    await scheduler.tick()
    assert outbox.take() == []


@pytest.mark.parametrize(
    ("line", "when", "to", "text"),
    [
        ("/blocker Nobody owns me", (2026, 11, 26, 10, 30), None, "still has no owner"),
        ("/decision needed Pick a CDN @cio by tomorrow", (2026, 11, 27, 10, 0), "cio",
         "needed a decision by Thu 26 Nov 17:00"),
        ("/change Add SSO impact scope +1 screen @sponsor", (2026, 11, 27, 10, 30), "sponsor",
         "waited more than 2 working days"),
        ("/risk Vendor slips @bob review tomorrow", (2026, 11, 27, 10, 0), "bob",
         "was due for review"),
    ],
)  # fmt: skip
async def test_each_kind_of_nudge(
    chat: Chat,
    scheduler: Scheduler,
    outbox: Recorder,
    line: str,
    when: tuple[int, int, int, int, int],
    to: str | None,
    text: str,
) -> None:
    await chat.say(line)
    at(chat, *when)
    await scheduler.tick()
    (nudge,) = outbox.take()
    assert nudge.to_user == to
    assert text in nudge.reply.text


async def test_change_request_nudge_waits_two_full_working_days(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/change Add SSO impact scope +1 screen @sponsor")  # Wed 10:00
    at(chat, 2026, 11, 27, 9, 30)  # Fri 09:30: two working days less half an hour
    await scheduler.tick()
    assert outbox.take() == []


async def test_a_resolved_item_is_not_nudged_even_if_queued(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/blocker Waiting on VPN @dana due tomorrow")
    at(chat, 2026, 11, 27, 10, 0)
    report = await scheduler.tick()
    assert report.delivered == 1
    outbox.take()
    await chat.say("/raid resolve B-1")
    at(chat, 2026, 11, 30, 10, 0)
    await scheduler.tick()
    assert outbox.take() == []


# --- digests -----------------------------------------------------------------------------


async def test_digest_now_has_every_section(chat: Chat) -> None:
    await chat.say("/blocker Waiting on VPN @dana due tomorrow")
    await chat.say("/blocker Second @dana")
    await chat.say("/blocker Third @dana")
    await chat.say("/blocker Nobody's")
    await chat.say("/decision needed Pick a CDN @cio by Dec 5")
    await chat.say("/change Add SSO impact scope +1 screen @sponsor")
    await chat.say("/risk Vendor slips likelihood high impact high @bob review tomorrow")
    await chat.say("/raid due B-1 friday")
    await chat.say("/raid due B-1 monday")
    reply = await chat.say("/digest")
    headings = [s.heading for s in reply.sections]
    assert headings[0].startswith("What changed since")
    assert headings[1:] == [
        "What is blocked (4)",
        "What needs a decision (2)",
        "Top risks (1)",
        "Warning signs",
    ]
    text = render_text(reply)
    assert "Blockers: new B-1, B-2, B-3, B-4; updated B-1" in text
    assert "B-4 Nobody's · no owner" in text
    assert "D-1 Pick a CDN · @cio by Sat 5 Dec 17:00 CET" in text
    assert "R-1 Vendor slips · score 16" in text
    assert "B-1 has had its date moved 2 times" in text
    assert "Blockers without an owner: B-4" in text
    assert "@dana owns 3 open blockers" in text
    second = render_text(await chat.say("/digest"))
    assert "Nothing changed." in second  # "since" moved to the last digest


async def test_scheduled_digest_posts_once_and_skips_when_there_is_nothing(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/digest daily 17:00")
    at(chat, 2026, 11, 25, 17, 0)
    await scheduler.tick()
    assert outbox.take() == []  # nothing changed, nothing open: skipped
    runs = [r for r in chat.store.state.runs.values() if r.kind.value == "digest"]
    assert [r.status for r in runs] == [RunStatus.SKIPPED]

    at(chat, 2026, 11, 25, 17, 5)
    await chat.say("/blocker Waiting on VPN @dana due friday")
    at(chat, 2026, 11, 26, 17, 0)
    await scheduler.tick()
    await scheduler.tick()
    (digest,) = outbox.take()
    assert digest.reply.text.startswith("Digest: 1 change, 1 open blocker")

    at(chat, 2026, 11, 29, 12, 0)  # down Friday and Saturday 17:00: one catch-up...
    await scheduler.tick()
    assert outbox.take() == []  # ...on Saturday, outside the work week: skipped
    at(chat, 2026, 11, 30, 17, 0)  # Monday's covers everything since Thursday's
    await scheduler.tick()
    digests = [m for m in outbox.take() if m.reply.text.startswith("Digest:")]
    assert len(digests) == 1  # (besides the overdue blocker's nudge)


async def test_standup_and_digest_help(chat: Chat) -> None:
    text = render_text(await chat.say("/raid help"))
    assert "/standup" in text and "/digest" in text
    assert Kind.BLOCKER and Status.OPEN  # imported names in use


# --- retries send the same work ----------------------------------------------------------


class Flaky(Recorder):
    """A messenger whose next ``fails`` sends raise (the platform said 503)."""

    def __init__(self, fails: int) -> None:
        super().__init__()
        self.fails = fails

    async def send(self, message: Outgoing) -> str:
        if self.fails:
            self.fails -= 1
            raise ConnectionError("platform said 503")
        return await super().send(message)


async def test_a_digest_whose_first_send_fails_is_retried_with_the_same_content(
    chat: Chat,
) -> None:
    flaky = Flaky(fails=1)
    scheduler = Scheduler(chat.store, flaky, clock=chat.clock, default_timezone="Europe/Berlin")
    await chat.say("/digest daily 17:00")
    await chat.say("/blocker Waiting on VPN @dana due friday")
    at(chat, 2026, 11, 26, 17, 0)
    report = await scheduler.tick()
    assert report.delivery_errors == 1 and flaky.sent == []
    at(chat, 2026, 11, 26, 17, 10)  # retried after its back-off, ten minutes later
    await scheduler.tick()
    (digest,) = flaky.take()
    assert digest.reply.text.startswith("Digest: 1 change, 1 open blocker")
    assert "Nothing changed." not in render_text(digest.reply)
    # The next digest starts where the one that was sent did, not at the failed attempt.
    settings = chat.store.state.settings[digest.channel]
    assert settings.last_digest_at == datetime(2026, 11, 26, 16, 0, tzinfo=UTC)


async def test_a_nudge_that_fails_twice_then_succeeds_counts_once(chat: Chat) -> None:
    flaky = Flaky(fails=2)
    scheduler = Scheduler(chat.store, flaky, clock=chat.clock, default_timezone="Europe/Berlin")
    await chat.say("/raid settings leads @ana @raj")
    await chat.say("/blocker Waiting on VPN @dana due tomorrow")
    at(chat, 2026, 11, 27, 10, 0)  # Friday, a day late
    for minutes in (0, 1, 5):  # two failures, then the send goes through
        chat.clock.advance(minutes=minutes)
        await scheduler.tick()
    (first,) = flaky.take()
    assert first.reply.text.startswith("<@dana>: B-1 “Waiting on VPN” was due")
    assert chat.item("B-1").nudge_count == 1
    # Escalation comes where it did without the failures: the fourth nudge names the leads.
    for day in (30, 1, 2):  # Mon 30 Nov, Tue 1 Dec, Wed 2 Dec
        at(chat, 2026, 11 if day == 30 else 12, day, 10, 0)
        await scheduler.tick()
    sent = flaky.take()
    assert [m.to_user for m in sent] == ["dana", "dana", None]
    assert "reminder 4; leads: <@ana> <@raj>" in sent[-1].reply.text
    assert chat.item("B-1").nudge_count == 4


async def test_standup_shows_the_standup_that_is_open_now(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/standup members @ana @bob @dana")
    await chat.say("/standup window 1h")
    await chat.say("/standup schedule weekdays 09:30")
    await chat.say("/standup away until dec 8", user="dana")
    before = await chat.say("/standup")
    assert before.text == "Standup of this channel"  # nothing is open yet

    at(chat, 2026, 11, 26, 9, 30)
    await scheduler.tick()
    (opening,) = outbox.take()
    answer = opening.reply.actions[0]
    await chat.click(answer.action_id, {"q0": "shipped login"}, user="ana")
    at(chat, 2026, 11, 26, 10, 0)
    reply = await chat.say("/standup", user="bob")
    assert reply.text == (
        "The standup of Thu 26 Nov is open: answers are taken until Thu 26 Nov 10:30 CET."
    )
    open_now = reply.sections[0]
    assert open_now.heading == "Standup of Thu 26 Nov, open now"
    assert open_now.lines == ("Answered (1): <@ana>", "Not yet (1): <@bob>", "Away: dana")
    assert reply.sections[1].heading == "Standup"  # the schedule and settings follow

    at(chat, 2026, 11, 26, 10, 31)
    await scheduler.tick()
    outbox.take()
    closed = await chat.say("/standup")
    assert closed.text == "Standup of this channel"
