"""Close-out, as a user sees it: what blocks closing, deferring with a reason and a date to
revisit, lessons learned (typed and asked through a ``lessons`` standup), the final report,
the closed channel (no new items, no scheduled runs) and reopening it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.model import RunKind, RunStatus, Status
from bot.messages import Tone, Visibility
from bot.scheduler import Scheduler
from bot.views.plain import render_text
from tests.unit.conftest import Chat
from tests.unit.test_scheduling import Recorder, at

CLOSED_REASON = "the project is closed (`/raid reopen-project` reopens it)"


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


async def _project(chat: Chat) -> None:
    await chat.say("/raid settings leads @ana")
    await chat.say("/blocker Waiting on VPN @dana due friday")
    await chat.say("/risk Vendor may slip likelihood high impact high")
    await chat.say("/decision needed Pick the SSO vendor by Dec 10")
    await chat.say("/change Add CRM integration impact schedule +2 weeks @sponsor")
    await chat.say("/decision Use PostgreSQL 16")


async def test_close_out_lists_what_blocks_closing_with_a_defer_button(chat: Chat) -> None:
    await _project(chat)
    reply = await chat.say("/raid close-out")
    assert reply.text == (
        "Close-out (started Wed 25 Nov): 4 items still block closing (1 open blocker, 1 open "
        "risk, 1 pending decision, 1 change request to decide or implement). Resolve, "
        "withdraw or defer each: `/raid defer B-1 until <date> because <reason>`."
    )
    assert reply.visibility is Visibility.CHANNEL  # the team sees the closure start
    assert [c.ref for c in reply.cards] == ["B-1", "R-1", "D-1", "C-1"]
    assert all("Defer" in [a.label for a in c.actions] for c in reply.cards)
    text = render_text(reply)
    assert "Lessons learned (0)" in text
    assert "`/raid close-out finish` posts the final report and closes the channel." in text
    assert chat.store.state.settings[chat.channel].closing_since == chat.clock.now()
    shown = render_text(await chat.say("/raid settings"))
    assert "Project: closing since Wed 25 Nov 10:00 CET (`/raid close-out`)" in shown

    again = await chat.say("/raid close-out")
    assert again.text.startswith("Close-out (started Wed 25 Nov): 4 items still block")
    assert again.visibility is Visibility.PRIVATE


async def test_only_a_lead_closes_out_and_finishing_waits_for_every_item(chat: Chat) -> None:
    await _project(chat)
    refused = await chat.say("/raid close-out", user="bob")
    assert refused.text == "Only a lead (<@ana>) may close out the project."
    early = await chat.say("/raid close-out finish")
    assert early.tone is Tone.ERROR
    assert early.text == (
        "4 items still block closing: B-1, R-1, D-1, C-1. Resolve, withdraw or defer each "
        "(`/raid defer B-3 until 1 Mar because …`); `/raid close-out` lists them."
    )
    assert chat.store.state.settings[chat.channel].closed_at is None
    assert (await chat.say("/raid close-out finish", user="bob")).text == (
        "Only a lead (<@ana>) may close the project."
    )


async def test_defer_keeps_a_reason_and_a_date_to_revisit(chat: Chat) -> None:
    await _project(chat)
    reply = await chat.say("/raid defer R-1 until 1 Mar because the vendor renews in Q1")
    assert reply.tone is Tone.SUCCESS
    text = render_text(reply)
    assert "Deferred" in text and "R-1" in text
    assert "Revisit: Mon 1 Mar 2027 17:00 CET" in text
    assert "Deferred because: the vendor renews in Q1" in text
    risk = chat.item("R-1")
    assert risk.status is Status.DEFERRED
    assert risk.revisit_at == datetime(2027, 3, 1, 16, 0, tzinfo=UTC)
    assert risk.deferred_reason == "the vendor renews in Q1"
    history = render_text(await chat.say("/raid history R-1"))
    assert "deferred" in history and "status: open → deferred" in history
    listed = " ".join(render_text(await chat.say("/raid list all")).split())
    assert "R-1 Vendor may slip · no owner · score 16 (high) · age just now · deferred · " in listed
    assert "deferred · revisit Mon 1 Mar 2027 17:00 CET" in listed
    # reopening brings it back to the state it was deferred from
    back = await chat.say("/raid reopen R-1 the vendor is late after all")
    assert back.tone is Tone.SUCCESS
    assert chat.item("R-1").status is Status.OPEN
    assert chat.item("R-1").revisit_at is None
    # a pending decision comes back pending
    await chat.say("/raid defer D-1 because we wait for the audit until Dec 20")
    assert chat.item("D-1").status is Status.DEFERRED
    assert chat.item("D-1").deferred_reason == "we wait for the audit"
    await chat.say("/raid reopen D-1")
    assert chat.item("D-1").status is Status.PENDING


@pytest.mark.parametrize(
    ("line", "refusal"),
    [
        (
            "/raid defer B-1 because later",
            "Say until when: `/raid defer B-1 until 1 Mar because …`.",
        ),
        (
            "/raid defer B-1 until 1 Mar",
            "Say why it is deferred: `/raid defer B-1 until 1 Mar because …`.",
        ),
        ("/raid defer B-9 until 1 Mar because x", "There is no B-9 in this channel."),
        ("/raid defer B-1 until 12/05 because x", "`12/05` is ambiguous"),
        ("/raid defer D-2 until 1 Mar because x", "D-2 is already decided: there is nothing"),
    ],
)
async def test_defer_refusals(chat: Chat, line: str, refusal: str) -> None:
    await _project(chat)
    reply = await chat.say(line)
    assert reply.tone is Tone.ERROR
    assert refusal in reply.text


async def test_the_defer_button_opens_a_form_and_saves_from_it(chat: Chat) -> None:
    await _project(chat)
    form = chat.core.form_for("defer:B-1")
    assert form is not None
    assert [f.name for f in form.fields] == ["until", "reason"]
    empty = await chat.click("defer:B-1", {"until": "", "reason": ""})
    assert empty.field_errors == {
        "until": "Say until when (the date to revisit it).",
        "reason": "Say why it is deferred.",
    }
    saved = await chat.click("defer:B-1", {"until": "in 2 weeks", "reason": "NetOps freeze"})
    assert saved.tone is Tone.SUCCESS
    assert chat.item("B-1").status is Status.DEFERRED


async def test_lessons_are_logged_and_listed(chat: Chat) -> None:
    assert "No lessons learned yet." in (await chat.say("/raid lesson")).text
    added = await chat.say("/raid lesson Book the test environment two sprints ahead", user="bob")
    assert added.text == "Lesson learned #1 noted: Book the test environment two sprints ahead"
    assert added.visibility is Visibility.CHANNEL
    listed = render_text(await chat.say("/raid lesson"))
    assert "1 lesson learned." in listed
    assert "Book the test environment two sprints ahead — @bob, Wed 25 Nov" in listed


async def test_the_members_are_asked_for_lessons_through_a_lessons_standup(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/standup members @ana @bob")
    reply = await chat.say("/raid close-out lessons")
    assert reply.text.startswith("Asking the members what went well and what to change")
    await scheduler.tick()
    (opening,) = outbox.take()
    text = render_text(opening.reply)
    assert "What went well?" in text and "What should we change next time?" in text
    standup = next(iter(chat.store.state.standups.values()))
    answered = await chat.click(
        f"standup_answer:{standup.stored_id}",
        {"q0": "Daily standups kept us honest", "q1": "Start the security review earlier"},
        user="bob",
    )
    assert answered.tone is not Tone.ERROR
    listed = render_text(await chat.say("/raid lesson"))
    assert "What went well? Daily standups kept us honest — @bob" in listed
    assert "What should we change next time? Start the security review earlier" in listed
    status = render_text(await chat.say("/raid close-out"))
    assert "`/raid close-out lessons`" not in status  # asked already


async def test_finish_posts_the_final_report_and_closes_the_channel(chat: Chat) -> None:
    await _project(chat)
    await chat.say("/raid resolve B-1 VPN is up")
    await chat.say("/raid defer R-1 until 1 Mar because the vendor renews in Q1")
    await chat.say("/raid decide D-1 Okta, best SCIM support")
    await chat.say("/raid withdraw C-1 out of scope")
    await chat.say("/raid lesson Book the test environment early")
    reply = await chat.say("/raid close-out finish")
    assert reply.visibility is Visibility.CHANNEL
    assert reply.text.startswith(
        "The project is closed. Final report: 5 items, 2 decisions, 1 change request, "
        "1 deferred, 1 lesson learned"
    )
    (report,) = reply.files
    assert report.filename.endswith(".md") and "final-report" in report.filename
    body = report.content.decode()
    assert body.startswith("# Final report of #proj\n\nClosed 2026-11-25 10:00 by ana")
    assert "- D-1 Pick the SSO vendor (decided): Okta" in body
    assert "- D-2 Use PostgreSQL 16 (decided)" in body
    assert "- C-1 Add CRM integration (withdrawn), impact schedule +2 weeks" in body
    assert "- R-1 Vendor may slip: revisit 2027-03-01 17:00" in body
    assert "because the vendor renews in Q1" in body
    assert "## Lessons learned\n\n- Book the test environment early (ana)" in body
    assert "# RAID register of #proj" in body  # the full Markdown export follows
    settings = chat.store.state.settings[chat.channel]
    assert settings.closed_at == chat.clock.now() and settings.closed_by == "ana"
    shown = render_text(await chat.say("/raid settings"))
    assert "Project: closed Wed 25 Nov 10:00 CET by @ana (`/raid reopen-project`" in shown


async def _closed(chat: Chat) -> None:
    await chat.say("/raid settings leads @ana")
    await chat.say("/raid close-out finish")


@pytest.mark.parametrize(
    "line",
    [
        "/blocker Waiting on the new VPN",
        "/risk The new team may slip",
        "/decision Use Redis",
        "/change Add SSO impact scope +1 feature",
    ],
)
async def test_a_closed_channel_refuses_new_items_politely(chat: Chat, line: str) -> None:
    await _closed(chat)
    reply = await chat.say(line)
    assert reply.tone is Tone.ERROR
    assert reply.text == (
        "This project is closed, so nothing new is logged here. A lead can reopen it with "
        "`/raid reopen-project`; the register is still there (`/raid list all`, "
        "`/raid export md`)."
    )
    assert chat.items() == []
    again = await chat.say("/raid close-out")
    assert again.text.startswith("This project is already closed.")


async def test_a_closed_channel_fires_no_schedules_and_reopening_resumes_them(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/raid settings leads @ana")
    await chat.say("/blocker Waiting on VPN")
    await chat.say("/raid resolve B-1")
    await chat.say("/standup members @ana @bob")
    await chat.say("/standup schedule weekdays 09:30")
    await chat.say("/digest daily 17:00")
    await chat.say("/raid close-out finish")

    at(chat, 2026, 11, 25, 17, 0)
    await scheduler.tick()
    at(chat, 2026, 11, 26, 9, 30)
    await scheduler.tick()
    assert outbox.take() == []
    skipped = [
        (r.kind, r.status, r.reason)
        for r in chat.store.state.runs.values()
        if r.kind in (RunKind.DIGEST, RunKind.STANDUP_OPEN)
    ]
    assert sorted(skipped) == [
        (RunKind.DIGEST, RunStatus.SKIPPED, CLOSED_REASON),
        (RunKind.STANDUP_OPEN, RunStatus.SKIPPED, CLOSED_REASON),
    ]

    assert (await chat.say("/raid reopen-project", user="bob")).text == (
        "Only a lead (<@ana>) may reopen the project."
    )
    reopened = await chat.say("/raid reopen-project the client extended the contract")
    assert reopened.text == (
        "The project is open again (closed Wed 25 Nov): items can be logged, and standups, "
        "digests and nudges run on their schedules. Why: the client extended the contract"
    )
    assert chat.store.state.settings[chat.channel].closed_at is None
    assert (await chat.say("/blocker Waiting on the new VPN")).tone is Tone.SUCCESS
    at(chat, 2026, 11, 27, 9, 30)
    await scheduler.tick()
    sent = [m.reply.text for m in outbox.take()]
    assert any(t.startswith("Standup time!") for t in sent)
    assert any(t.startswith("Digest:") for t in sent)
    assert "not closed" in (await chat.say("/raid reopen-project")).text


async def test_help_lists_the_close_out_commands(chat: Chat) -> None:
    text = render_text(await chat.say("/raid help"))
    for name in ("close-out", "defer", "lesson", "reopen-project"):
        assert f"{name}: " in text
    one = render_text(await chat.say("/raid help close-out"))
    assert "Usage: /raid close-out [lessons|finish]" in one


async def test_milestones_not_done_block_closing_and_the_report_sums_them_up(chat: Chat) -> None:
    await chat.say("/milestone Design approved due Dec 10")
    await chat.say("/milestone Go live due Dec 20")
    reply = await chat.say("/raid close-out")
    assert "2 items still block closing (2 milestones not done)" in reply.text
    assert [c.ref for c in reply.cards] == ["M-1", "M-2"]
    await chat.say("/raid resolve M-1")
    deferred = await chat.say("/raid defer M-2 until 1 Feb because the client moved go-live")
    assert deferred.tone is Tone.SUCCESS and chat.item("M-2").status is Status.DEFERRED
    report = await chat.say("/raid close-out finish")
    body = report.files[0].content.decode()
    assert "## Milestones\n\n- M-1 Design approved (done), due 2026-12-10 17:00" in body
    assert "- M-2 Go live (deferred), due 2026-12-20 17:00" in body
    assert "- M-2 Go live: revisit 2027-02-01 17:00, because the client moved go-live" in body


async def test_the_digest_lists_deferred_items_once_their_revisit_date_has_come(
    chat: Chat,
) -> None:
    await chat.say("/blocker Waiting on VPN")
    await chat.say("/raid defer B-1 until Nov 27 because NetOps freeze")
    before = render_text(await chat.say("/digest"))
    assert "Deferred, due for revisit" not in before
    chat.clock.advance(days=3)
    text = " ".join(render_text(await chat.say("/digest")).split())
    assert "Deferred, due for revisit (1)" in text
    assert "B-1 Waiting on VPN · revisit Fri 27 Nov 17:00 CET" in text
