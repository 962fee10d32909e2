"""Several standups per channel, by name: each with its own schedule, questions, members,
window and mode, each exactly once in the run ledger (issue 16, item 5)."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.domain.model import RunKind, RunStatus, ScheduleKind
from bot.messages import Tone
from bot.scheduler import Scheduler
from bot.views.plain import render_text
from tests.unit.conftest import Chat
from tests.unit.test_scheduling import Recorder, at


@pytest.fixture
def outbox() -> Recorder:
    return Recorder()


@pytest.fixture
def scheduler(chat: Chat, outbox: Recorder) -> Scheduler:
    return Scheduler(chat.store, outbox, clock=chat.clock, default_timezone="Europe/Berlin")


async def test_a_named_standup_has_its_own_settings_and_runs_beside_the_default(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/standup members @ana @bob")
    await chat.say("/standup schedule weekdays 09:30")
    added = await chat.say("/standup add retro")
    assert added.tone is Tone.SUCCESS
    assert "Added the `retro` standup" in added.text
    assert "`/standup retro schedule fri 15:00`" in added.text
    assert "asks the same members as the channel's standup" in added.text

    scheduled = await chat.say("/standup retro schedule fri 15:00")
    assert scheduled.text.startswith("Retro standup scheduled: Fri at 15:00 Europe/Berlin")
    await chat.say("/standup retro questions What went well? | What do we change?")
    await chat.say("/standup retro members @ana @bob @cy")
    await chat.say("/standup retro window 30m")
    await chat.say("/standup retro mode dm")

    retro = render_text(await chat.say("/standup retro"))
    assert "The retro standup" in retro and "Members: @ana @bob @cy" in retro
    assert "Q1: What went well?" in retro and "mode: dm" in retro and "0h30m" in retro
    default = render_text(await chat.say("/standup"))
    assert "Members: @ana @bob" in default and "@cy" not in default
    assert "Q1: What changed since the last standup?" in default
    assert "Also in this channel: retro (`/standup retro`)" in default

    # Thu 26 Nov: the default opens; Fri 27 Nov: both, each once.
    at(chat, 2026, 11, 26, 9, 30)
    await scheduler.tick()
    (thursday,) = outbox.take()
    assert thursday.reply.text.startswith("Standup time! Please answer by Thu 26 Nov 11:30 CET")
    at(chat, 2026, 11, 27, 9, 30)
    await scheduler.tick()
    friday = [m.reply.text for m in outbox.take() if m.reply.text.startswith("Standup time")]
    assert [t.split("!")[0] for t in friday] == ["Standup time"]  # not the retro yet
    at(chat, 2026, 11, 27, 15, 0)
    for _ in range(3):
        await scheduler.tick()
    sent = outbox.take()
    notice = next(m for m in sent if m.to_user is None and "(retro)" in m.reply.text)
    assert notice.reply.text.startswith("Standup time (retro)! Please answer by Fri 27 Nov 15:30")
    assert "Questions sent by direct message." in notice.reply.text
    assert sorted(m.to_user for m in sent if m.to_user) == ["ana", "bob", "cy"]
    dm = next(m for m in sent if m.to_user == "cy")
    assert "What went well?" in render_text(dm.reply)

    # Answering the named one: its own questions; the default's answer is unaffected.
    form = (await chat.say("/standup retro answer", user="cy")).form
    assert form is not None and [f.label for f in form.fields] == [
        "What went well?",
        "What do we change?",
    ]
    await chat.click(form.form_id, {"q0": "pairing", "q1": "shorter retros"}, user="cy")
    at(chat, 2026, 11, 27, 15, 30)
    for _ in range(3):
        await scheduler.tick()
    summary = next(m for m in outbox.take() if "summary" in m.reply.text)
    assert summary.reply.text.startswith("Standup summary (retro): 1 answered, 2 did not")
    assert "Standup (retro) of Fri 27 Nov" in render_text(summary.reply)

    # Every run key names its standup: one open per schedule and local date.
    opens = [
        (r.payload["schedule_id"], r.payload["local_date"])
        for r in chat.store.state.runs.values()
        if r.kind is RunKind.STANDUP_OPEN and "person" not in r.payload
    ]
    assert len(opens) == 3 and len(set(opens)) == 3
    assert max(Counter(r.key for r in chat.store.state.runs.values()).values()) == 1


async def test_now_and_off_are_per_standup(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/standup members @ana")
    await chat.say("/standup add planning")
    assert (await chat.say("/standup now")).text == "Opening the standup now."
    assert (await chat.say("/standup planning now")).text == "Opening the standup now."
    await scheduler.tick()
    texts = [m.reply.text for m in outbox.take()]
    assert sum(t.startswith("Standup time!") for t in texts) == 1
    assert sum(t.startswith("Standup time (planning)!") for t in texts) == 1
    assert "already been opened" in (await chat.say("/standup planning now")).text
    off = await chat.say("/standup planning off")
    assert off.text.startswith("The planning standup is off.")
    assert "`/standup planning schedule weekdays 09:30`" in off.text


async def test_away_without_a_name_is_away_from_every_standup(chat: Chat) -> None:
    await chat.say("/standup members @ana @bob")
    await chat.say("/standup add retro")
    reply = await chat.say("/standup away until dec 8", user="bob")
    assert "skipped by standups" in reply.text
    for line in ("/standup", "/standup retro"):
        assert "Away: @bob until Tue 8 Dec" in render_text(await chat.say(line))
    await chat.say("/standup retro away @ana until dec 9")
    assert "@ana until" not in render_text(await chat.say("/standup"))
    assert "Away: @bob until Tue 8 Dec, @ana until Wed 9 Dec" in render_text(
        await chat.say("/standup retro")
    )


async def test_removing_a_named_standup_drops_it_and_its_queued_runs_send_nothing(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/standup add retro")
    await chat.say("/standup retro members @ana")
    await chat.say("/standup retro now")
    await scheduler.tick()
    assert outbox.take()[0].reply.text.startswith("Standup time (retro)!")
    removed = await chat.say("/standup remove retro")
    assert removed.text == "Removed the `retro` standup and its past standups."
    chat.clock.advance(hours=3)
    await scheduler.tick()
    assert outbox.take() == []  # its reminder and summary have nothing left to say
    remind = next(r for r in chat.store.state.runs.values() if r.kind is RunKind.STANDUP_REMIND)
    assert remind.status is RunStatus.SKIPPED
    assert [s.name for s in chat.store.state.schedules.values() if s.name] == []
    gone = await chat.say("/standup retro")
    assert gone.tone is Tone.ERROR
    assert "There is no standup named `retro` in this channel." in gone.text
    assert "`/standup add retro` adds it." in gone.text


async def test_each_named_standup_is_stored_once_per_channel_and_name(chat: Chat) -> None:
    await chat.say("/standup add retro")
    await chat.say("/standup add demo")
    kinds = sorted((s.kind, s.name or "") for s in chat.store.state.schedules.values() if s.name)
    assert kinds == [(ScheduleKind.STANDUP, "demo"), (ScheduleKind.STANDUP, "retro")]
    for n in range(8):
        await chat.say(f"/standup add team-{n}")
    full = await chat.say("/standup add one-too-many")
    assert full.tone is Tone.ERROR and "at most 10 named standups" in full.text


@pytest.mark.parametrize(
    ("line", "user", "refusal"),
    [
        ("/standup add", "ana", "Give the new standup a short name"),
        ("/standup add Retro!", "ana", "Give the new standup a short name"),
        ("/standup add schedule", "ana", "not a /standup subcommand"),
        ("/standup add retro", "zoe", "Only a lead"),
        ("/standup remove", "ana", "Say which standup to remove"),
        ("/standup remove default", "ana", "`/standup off` stops it"),
        ("/standup remove nothing", "ana", "There is no standup named `nothing`"),
        ("/standup retro schedule fri 15:00", "ana", "There is no standup named `retro`"),
        ("/standup retro frobnicate", "ana", "is not a /standup subcommand or standup name"),
        ("/standup shedule weekdays 9:30", "ana", "Did you mean `schedule`?"),
        ("/standup 9am", "ana", "is not a /standup subcommand or standup name"),
    ],
)
async def test_named_standup_refusals(chat: Chat, line: str, user: str, refusal: str) -> None:
    await chat.say("/raid settings leads @ana")
    reply = await chat.say(line, user=user)
    assert reply.tone is Tone.ERROR
    assert refusal in reply.text


async def test_adding_twice_is_refused_politely(chat: Chat) -> None:
    await chat.say("/standup add retro")
    again = await chat.say("/standup add retro")
    assert again.tone is Tone.ERROR
    assert again.text == "This channel has a `retro` standup already: `/standup retro` shows it."
