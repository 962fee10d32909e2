"""Late answers, tunable reminders, optional members, observers and quiet summaries: chat
transcripts through the core and the scheduler tick (issue 16, item 6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.domain.model import RunKind, RunStatus
from bot.messages import Outgoing, Tone
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


HOUR = timedelta(hours=1)


def summary_lines(message: Outgoing) -> str:
    return "\n".join(line for s in message.reply.sections for line in s.lines)


async def test_a_late_answer_is_taken_marked_late_and_the_summary_is_edited_in_place(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/standup members @ana @bob")
    await chat.say("/standup window 1h")
    late = await chat.say("/standup late 4h")
    assert late.tone is Tone.SUCCESS
    assert "taken for 4h00m after the standup closes, marked late" in late.text
    await chat.say("/standup schedule weekdays 09:30")
    assert "Late answers: for 4h00m after the close" in render_text(await chat.say("/standup"))

    at(chat, 2026, 11, 26, 9, 30)
    await scheduler.tick()
    (opening,) = outbox.take()
    answer = opening.reply.actions[0].action_id
    await chat.click(answer, {"q0": "shipped login"}, user="ana")

    at(chat, 2026, 11, 26, 10, 30)
    await scheduler.tick()
    summary = next(m for m in outbox.take() if "Standup summary" in m.reply.text)
    assert summary.edit is None
    assert "No answer: <@bob>" in summary_lines(summary)
    assert "Late answers are taken until Thu 26 Nov 14:30 CET" in summary_lines(summary)
    summary_ref = chat.store.state.runs[
        next(r.stored_id for r in chat.store.state.runs.values() if r.kind is RunKind.STANDUP_CLOSE)
    ].result_ref
    assert summary_ref is not None

    at(chat, 2026, 11, 26, 11, 42)
    saved = await chat.click(answer, {"q0": "fixed the VPN", "q1": "none"}, user="bob")
    assert saved.tone is Tone.SUCCESS
    assert "saved as a late answer" in saved.text and "until Thu 26 Nov 14:30 CET" in saved.text
    await scheduler.tick()
    (update,) = outbox.take()
    assert update.edit == summary_ref  # the posted summary, replaced in place
    text = render_text(update.reply)
    assert "@bob (late, Thu 26 Nov 11:42 CET)" in text and "fixed the VPN" in text
    assert "Answered late: bob" in text and "No answer" not in text
    assert "Standup summary: 2 answered" in text
    await scheduler.tick()
    assert outbox.take() == []  # one edit per answer

    at(chat, 2026, 11, 26, 14, 31)
    refused = await chat.click(answer, {"q0": "too late now"}, user="bob")
    assert refused.tone is Tone.ERROR and "closed" in refused.text


async def test_without_late_answers_nothing_is_taken_after_the_close(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/standup members @ana @bob")
    await chat.say("/standup late 2h")
    assert "Late answers are off" in (await chat.say("/standup late off")).text
    await chat.say("/standup window 1h")
    await chat.say("/standup now")
    await scheduler.tick()
    answer = outbox.take()[0].reply.actions[0].action_id
    chat.clock.advance(hours=1)
    await scheduler.tick()
    summary = outbox.take()[0]
    assert "Late answers" not in summary_lines(summary)
    chat.clock.advance(minutes=1)
    refused = await chat.click(answer, {"q0": "late"}, user="bob")
    assert refused.tone is Tone.ERROR and "closed" in refused.text
    assert not [r for r in chat.store.state.runs.values() if r.kind is RunKind.STANDUP_UPDATE]


async def test_an_update_waits_for_the_summary_it_edits(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    """A late answer saved between the close and the summary's send: the edit follows the
    summary instead of being dropped."""
    await chat.say("/standup members @ana @bob")
    await chat.say("/standup late 1h")
    await chat.say("/standup window 1h")
    await chat.say("/standup now")
    await scheduler.tick()
    answer = outbox.take()[0].reply.actions[0].action_id
    chat.clock.advance(hours=1, minutes=5)
    # The close is due but no tick has run: the summary is not posted yet.
    await chat.click(answer, {"q0": "here"}, user="bob")
    close = next(r for r in chat.store.state.runs.values() if r.kind is RunKind.STANDUP_CLOSE)
    # the summary is held back (its platform is slow)
    chat.store.state.runs[close.stored_id] = replace(close, due_at=chat.clock.now() + HOUR)
    await scheduler.tick()
    held = outbox.take()
    assert [m.reply.text for m in held if m.edit or "summary" in m.reply.text] == []
    update = next(r for r in chat.store.state.runs.values() if r.kind is RunKind.STANDUP_UPDATE)
    assert chat.store.state.runs[update.stored_id].status is RunStatus.PENDING
    close = chat.store.state.runs[close.stored_id]
    chat.store.state.runs[close.stored_id] = replace(close, due_at=chat.clock.now())
    chat.clock.advance(minutes=1)
    await scheduler.tick()
    sent = outbox.take()
    posted = chat.store.state.runs[close.stored_id].result_ref
    assert posted is not None
    assert [m.edit for m in sent] == [None, posted]  # the summary, then its edit
    assert "@bob (late," in render_text(sent[1].reply)


@pytest.mark.parametrize(
    ("setting", "reminders_at"),
    [
        ("off", []),
        ("50%", [30]),
        ("75%", [45]),
        ("twice", [30, 51]),
    ],
)
async def test_reminders_are_tunable(
    chat: Chat, scheduler: Scheduler, outbox: Recorder, setting: str, reminders_at: list[int]
) -> None:
    await chat.say("/standup members @ana @bob")
    await chat.say("/standup window 1h")
    assert (await chat.say(f"/standup reminder {setting}")).tone is Tone.SUCCESS
    await chat.say("/standup now")
    await scheduler.tick()
    outbox.take()
    seen = []
    for minute in range(1, 61):
        chat.clock.advance(minutes=1)
        await scheduler.tick()
        for message in outbox.take():
            if "your answer is still missing" in message.reply.text:
                seen.append(minute)
    assert seen == reminders_at


async def test_twice_in_dm_mode_reminds_each_member_twice(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/standup members @ana @bob")
    await chat.say("/standup mode dm")
    await chat.say("/standup window 1h")
    await chat.say("/standup reminder twice")
    await chat.say("/standup now")
    for _ in range(60):
        await scheduler.tick()
        chat.clock.advance(minutes=1)
    reminders = [m.to_user for m in outbox.take() if "still missing" in m.reply.text]
    assert sorted(reminders) == ["ana", "ana", "bob", "bob"]


async def test_optional_members_and_observers(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/standup members @ana @bob")
    optional = await chat.say("/standup members optional @cy")
    assert "Optional in the standup: <@cy>" in optional.text
    observer = await chat.say("/standup members observer @dee")
    assert "Observers of the standup: <@dee>" in observer.text
    status = render_text(await chat.say("/standup"))
    assert "Members: @ana @bob" in status
    assert "Optional: @cy" in status and "Observers: @dee" in status
    await chat.say("/standup window 1h")
    await chat.say("/standup now")
    await scheduler.tick()
    (opening,) = outbox.take()
    assert "<@cy>" in opening.reply.text  # optional members are asked
    assert "<@dee>" not in opening.reply.text  # observers are not
    chat.clock.advance(minutes=45)
    await scheduler.tick()
    (reminder,) = outbox.take()
    assert reminder.reply.text.startswith("<@ana> <@bob> the standup closes")
    chat.clock.advance(minutes=15)
    await scheduler.tick()
    (summary,) = outbox.take()
    lines = summary_lines(summary)
    assert "No answer: <@ana> <@bob>" in lines and "cy" not in lines.split("For:")[0]
    assert "For: <@dee>" in lines  # observers get the summary
    assert "Standup summary: 0 answered, 2 did not" in summary.reply.text

    # `members @a @b` sets the regular members; the optional ones stay; remove takes anyone out
    await chat.say("/standup members @ana")
    await chat.say("/standup members remove @dee")
    status = render_text(await chat.say("/standup"))
    assert "Members: @ana" in status and "Optional: @cy" in status and "Observers" not in status
    await chat.say("/standup members observer @cy")
    status = render_text(await chat.say("/standup"))
    assert "Optional" not in status and "Observers: @cy" in status


async def test_mentions_off_names_who_did_not_answer_without_pinging(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/standup members @ana @bob @cy")
    reply = await chat.say("/standup mentions off")
    assert reply.text == "The standup summary names who did not answer without mentioning them."
    await chat.say("/standup window 1h")
    await chat.say("/standup now")
    await scheduler.tick()
    answer = outbox.take()[0].reply.actions[0].action_id
    await chat.click(answer, {"q0": "done"}, user="ana")
    chat.clock.advance(hours=1)
    await scheduler.tick()
    summary = next(m for m in outbox.take() if "Standup summary" in m.reply.text)
    lines = summary_lines(summary)
    assert "No answer: bob, cy" in lines
    assert "<@bob>" not in lines and "<@cy>" not in lines
    assert "on" in (await chat.say("/standup mentions on")).text


@pytest.mark.parametrize(
    ("line", "refusal"),
    [
        ("/standup late soon", "couldn't read `soon` as a duration"),
        ("/standup late 30h", "1 minute to 24 hours after the close"),
        ("/standup late", "Say for how long after the close"),
        ("/standup reminder sometimes", "Say `off`, `50%`, `75%` (the default) or `twice`"),
        ("/standup mentions maybe", "Say `on`"),
        ("/standup members optional", "Mention who: `/standup members optional @a`"),
        ("/standup members observer nobody-here!", "is not a person. Mention them"),
    ],
)
async def test_refusals_say_how_to_say_it_right(chat: Chat, line: str, refusal: str) -> None:
    reply = await chat.say(line)
    assert reply.tone is Tone.ERROR
    assert refusal in reply.text


async def test_only_leads_change_these_settings(chat: Chat) -> None:
    await chat.say("/raid settings leads @ana")
    for line in (
        "/standup late 2h",
        "/standup reminder off",
        "/standup mentions off",
        "/standup members observer @zoe",
    ):
        reply = await chat.say(line, user="zoe")
        assert reply.tone is Tone.ERROR and "Only a lead" in reply.text
