"""Stakeholder updates: ``/raid stakeholders add|remove|list`` and the direct messages they
bring (the weekly digest, decisions needed and taken, escalations), each once, held on the
person's days off until their next working day."""

from __future__ import annotations

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
    return Scheduler(
        chat.store,
        outbox,
        clock=chat.clock,
        default_timezone="Europe/Berlin",
        timetable=chat.core.timetable,
    )


def dms(sent: list[Outgoing]) -> list[tuple[str | None, str]]:
    """(to whom, the first line as sent) of each stakeholder's direct message (not nudges)."""
    return [
        (m.to_user, m.reply.text.splitlines()[0])
        for m in sent
        if m.to_user and (m.key or "").startswith("stakeholder:")
    ]


# --- the command ---------------------------------------------------------------------------


async def test_add_list_and_remove_stakeholders(chat: Chat) -> None:
    reply = await chat.say("/raid stakeholders add @cfo weekly")
    assert reply.tone is Tone.SUCCESS
    assert reply.text.startswith(
        "<@cfo> gets weekly from this channel by direct message (held on their days off "
        "until their next working day)."
    )
    assert "no weekly digest yet" in reply.text  # and how to set one
    await chat.say("/raid stakeholders add @cfo @sponsor decisions, escalations")
    listing = render_text(await chat.say("/raid stakeholders list"))
    assert "Stakeholders of this channel (2)" in listing
    assert "@cfo: weekly, decisions, escalations" in listing
    assert "@sponsor: decisions, escalations" in listing
    assert "blockers more than 3 working days overdue" in listing
    settings = chat.store.state.settings[chat.channel]
    assert settings.stakeholders == {
        "cfo": ("weekly", "decisions", "escalations"),
        "sponsor": ("decisions", "escalations"),
    }

    removed = await chat.say("/raid stakeholders remove @cfo decisions")
    assert removed.text == "<@cfo> no longer gets decisions."
    removed = await chat.say("/raid stakeholders remove @sponsor")
    assert removed.text == "<@sponsor> no longer gets decisions, escalations."
    assert chat.store.state.settings[chat.channel].stakeholders == {
        "cfo": ("weekly", "escalations")
    }
    # typed without a subcommand: the list
    assert "@cfo: weekly, escalations" in render_text(await chat.say("/raid stakeholders"))


async def test_weekly_digest_note_goes_once_a_weekly_digest_is_set(chat: Chat) -> None:
    await chat.say("/digest weekly fri 16:00")
    reply = await chat.say("/raid stakeholders add @cfo all")
    assert "weekly, decisions, escalations" in reply.text
    assert "no weekly digest" not in reply.text


@pytest.mark.parametrize(
    ("line", "refusal"),
    [
        ("/raid stakeholders add weekly", "Say who: `/raid stakeholders add @cfo weekly`."),
        ("/raid stakeholders add @cfo", "Say what they get: weekly, decisions, escalations"),
        ("/raid stakeholders add @cfo weeky", "`weeky` is neither a person (`@cfo`) nor a level"),
        ("/raid stakeholders add @here weekly", "`@here` means everyone in the channel"),
        ("/raid stakeholders ad @cfo weekly", "`ad` is not add, remove or list. Did you mean"),
        ("/raid stakeholders list @cfo", "`/raid stakeholders list` takes nothing more."),
    ],
)
async def test_stakeholder_refusals_teach_the_form(chat: Chat, line: str, refusal: str) -> None:
    reply = await chat.say(line)
    assert reply.tone is Tone.ERROR
    assert refusal in reply.text
    assert not chat.store.state.settings.get(chat.channel) or not (
        chat.store.state.settings[chat.channel].stakeholders
    )


async def test_only_leads_add_stakeholders_and_anyone_may_leave(chat: Chat) -> None:
    await chat.say("/raid settings leads @ana")
    await chat.say("/raid stakeholders add @cfo decisions")
    refused = await chat.say("/raid stakeholders add @raj weekly", user="raj")
    assert refused.tone is Tone.ERROR
    assert "Only a lead (<@ana>) may add stakeholders." in refused.text
    refused = await chat.say("/raid stakeholders remove @cfo", user="raj")
    assert "Only a lead (<@ana>) may remove other stakeholders." in refused.text
    left = await chat.say("/raid stakeholders remove @cfo", user="cfo")
    assert left.text == "<@cfo> no longer gets decisions."


async def test_escalation_days_are_a_setting(chat: Chat) -> None:
    reply = await chat.say("/raid settings escalations 5")
    assert reply.text.startswith("Blockers more than 5 working days overdue are escalated")
    assert chat.store.state.settings[chat.channel].escalate_after_days == 5
    shown = render_text(await chat.say("/raid settings"))
    assert "Escalations: blockers more than 5 working days overdue" in shown
    refused = await chat.say("/raid settings escalations 0")
    assert "Escalate after 1 to 60 working days" in refused.text
    refused = await chat.say("/raid settings escalations soon")
    assert "`/raid settings escalations 3`" in refused.text


async def test_help_names_stakeholders(chat: Chat) -> None:
    everything = render_text(await chat.say("/raid help"))
    assert "stakeholders: who gets updates by direct message" in everything
    one = render_text(await chat.say("/raid help stakeholders"))
    assert "Usage: /raid stakeholders add @who <level>… | remove @who [level…] | list" in one
    assert "Example: /raid stakeholders add @cfo weekly" in one


# --- decisions -----------------------------------------------------------------------------


async def test_decisions_needed_and_taken_reach_decisions_stakeholders_once(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/raid stakeholders add @cfo decisions")
    await chat.say("/raid stakeholders add @ops escalations")
    await chat.say("/decision needed Pick the SSO vendor @cio by Dec 4")
    await scheduler.tick()
    await scheduler.tick()
    (needed,) = outbox.take()
    assert needed.to_user == "cfo"
    text = render_text(needed.reply)
    assert text.splitlines()[:2] == [
        "Decision needed in #proj: D-1 “Pick the SSO vendor”",
        "Decider: @cio, decide by Fri 4 Dec.",
    ]
    await chat.say("/raid decide D-1 Okta because SSO is in our contract", user="cio")
    await chat.say("/decision Use PostgreSQL 16")  # recorded as taken: news too
    await scheduler.tick()
    await scheduler.tick()
    assert dms(outbox.take()) == [
        ("cfo", "Decision taken in <#proj>: D-1 “Pick the SSO vendor”"),
        ("cfo", "Decision taken in <#proj>: D-2 “Use PostgreSQL 16”"),
    ]
    stakeholder_runs = [r for r in chat.store.state.runs.values() if r.kind is RunKind.STAKEHOLDER]
    assert [r.status for r in stakeholder_runs] == [RunStatus.DONE] * 3


async def test_a_removed_stakeholder_is_not_told_what_was_queued(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/raid stakeholders add @cfo decisions")
    await chat.say("/decision needed Pick the SSO vendor @cio")
    await chat.say("/raid stakeholders remove @cfo")
    await scheduler.tick()
    assert outbox.take() == []


# --- escalations ---------------------------------------------------------------------------


async def test_a_risk_that_occurs_is_escalated(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/raid stakeholders add @sponsor escalations")
    await chat.say("/risk Vendor may slip the API @dana likelihood 3 impact 4")
    await chat.say("/raid occurred R-1 the vendor slipped two weeks", user="dana")
    await scheduler.tick()
    (escalation,) = outbox.take()
    assert escalation.to_user == "sponsor"
    assert escalation.reply.tone is Tone.ERROR
    lines = render_text(escalation.reply).splitlines()
    assert lines[0] == "Escalation from #proj: risk R-1 “Vendor may slip the API” has occurred."
    assert lines[1].startswith("Marked by @dana; it is now blocker B-1")
    assert "Note: the vendor slipped two weeks" in lines


async def test_a_blocker_more_than_n_working_days_overdue_is_escalated_once(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/raid stakeholders add @sponsor escalations")
    await chat.say("/raid stakeholders add @cfo decisions")  # not told
    await chat.say("/blocker Waiting on API keys @dana due Nov 26")  # a Thursday
    # Fri, Mon, Tue: three working days overdue (the weekend does not count): not yet
    at(chat, 2026, 12, 1, 10, 0)
    await scheduler.tick()
    assert dms(outbox.take()) == []
    at(chat, 2026, 12, 2, 10, 0)  # Wednesday: four
    await scheduler.tick()
    await scheduler.tick()
    at(chat, 2026, 12, 3, 10, 0)  # and the days after: no second message
    await scheduler.tick()
    assert dms(outbox.take()) == [
        ("sponsor", "Escalation from <#proj>: blocker B-1 “Waiting on API keys” is 4 working "
         "days overdue.")
    ]  # fmt: skip
    # a new date that is missed again is a new escalation
    await chat.say("/raid due B-1 Dec 3", user="dana")
    at(chat, 2026, 12, 9, 10, 0)
    await scheduler.tick()
    assert len(dms(outbox.take())) == 1


async def test_the_escalation_delay_is_per_channel(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/raid settings escalations 1")
    await chat.say("/raid stakeholders add @sponsor escalations")
    await chat.say("/blocker Waiting on API keys @dana due Nov 26")
    at(chat, 2026, 11, 30, 10, 0)  # Monday: Fri and Mon, two working days
    await scheduler.tick()
    assert [line for _, line in dms(outbox.take())] == [
        "Escalation from <#proj>: blocker B-1 “Waiting on API keys” is 2 working days overdue."
    ]


async def test_a_milestone_that_turns_at_risk_is_escalated_once(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/raid stakeholders add @sponsor escalations")
    await chat.say("/milestone Design approved due 15 Jan @owner")
    await scheduler.tick()
    assert dms(outbox.take()) == []  # on track: nothing to say
    await chat.say("/blocker Waiting on the style guide @dana for M-1")
    at(chat, 2026, 11, 25, 10, 10)  # the next sweep
    await scheduler.tick()
    (escalation,) = [m for m in outbox.take() if (m.key or "").startswith("stakeholder:")]
    assert escalation.to_user == "sponsor"
    lines = render_text(escalation.reply).splitlines()
    assert lines[0] == ("Escalation from #proj: milestone M-1 “Design approved” is at risk.")
    assert "Why: blocker B-1 is open" in lines
    at(chat, 2026, 11, 25, 10, 20)  # still at risk: not again
    await scheduler.tick()
    assert dms(outbox.take()) == []


async def test_a_missed_milestone_is_escalated(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/raid stakeholders add @sponsor escalations")
    await chat.say("/milestone Beta shipped due Nov 26")
    at(chat, 2026, 11, 27, 10, 0)
    await scheduler.tick()
    assert [line for _, line in dms(outbox.take())] == [
        "Escalation from <#proj>: milestone M-1 “Beta shipped” missed its date."
    ]


# --- the weekly digest ---------------------------------------------------------------------


async def test_the_weekly_digest_is_copied_to_weekly_stakeholders(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/digest weekly fri 16:00")
    await chat.say("/digest add daily weekdays 17:00")
    await chat.say("/raid stakeholders add @cfo weekly")
    await chat.say("/blocker Waiting on API keys @dana")
    at(chat, 2026, 11, 26, 17, 0)  # Thursday: the daily digest, not for the stakeholder
    await scheduler.tick()
    await scheduler.tick()
    assert [m.to_user for m in outbox.take()] == [None]
    at(chat, 2026, 11, 27, 16, 0)  # Friday: the weekly one, and its copy
    await scheduler.tick()
    await scheduler.tick()
    posted, copy = outbox.take()
    assert posted.to_user is None
    assert copy.to_user == "cfo"
    text = render_text(copy.reply)
    assert text.startswith("Weekly digest of #proj\n" + posted.reply.text)
    assert "B-1" in text
    assert copy.reply.files == posted.reply.files  # the chart too
    assert not any(card.actions for card in copy.reply.cards)  # no buttons in a DM
    await scheduler.tick()
    assert outbox.take() == []


# --- days off ------------------------------------------------------------------------------


async def test_held_on_the_weekend_and_sent_on_monday_morning(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/raid stakeholders add @cfo decisions")
    at(chat, 2026, 11, 28, 11, 0)  # Saturday
    await chat.say("/decision needed Pick the SSO vendor @cio")
    await scheduler.tick()
    assert outbox.take() == []
    (held,) = [r for r in chat.store.state.runs.values() if r.kind is RunKind.STAKEHOLDER]
    assert held.status is RunStatus.PENDING  # held, not dropped
    at(chat, 2026, 11, 30, 8, 59)  # Monday, before the work day starts
    await scheduler.tick()
    assert outbox.take() == []
    at(chat, 2026, 11, 30, 9, 0)
    await scheduler.tick()
    assert dms(outbox.take()) == [("cfo", "Decision needed in <#proj>: D-1 “Pick the SSO vendor”")]


async def test_held_while_away_and_on_the_channels_holidays(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/raid settings holidays add 2026-12-03")  # Thursday
    await chat.say("/raid stakeholders add @cfo @ops decisions")
    await chat.say("/standup away @cfo until Dec 1")
    await chat.say("/decision needed Pick the SSO vendor @cio")  # Wed 25 Nov
    await scheduler.tick()
    assert [m.to_user for m in outbox.take()] == ["ops"]  # cfo is away
    at(chat, 2026, 12, 2, 9, 0)  # cfo's first day back
    await scheduler.tick()
    assert [m.to_user for m in outbox.take()] == ["cfo"]
    at(chat, 2026, 12, 3, 12, 0)  # the channel's day off: held for everyone
    await chat.say("/raid decide D-1 Okta", user="cio")
    await scheduler.tick()
    assert outbox.take() == []
    at(chat, 2026, 12, 4, 9, 0)
    await scheduler.tick()
    assert sorted(m.to_user or "" for m in outbox.take()) == ["cfo", "ops"]


# --- App Home ------------------------------------------------------------------------------


async def test_app_home_shows_the_updates_a_person_gets(chat: Chat) -> None:
    await chat.say("/raid stakeholders add @cfo weekly decisions")
    home = await chat.core.home("console", "local", "cfo")
    text = render_text(home)
    assert "Stakeholder updates you get (1)" in text
    assert "#proj: weekly, decisions" in text
    nobody = render_text(await chat.core.home("console", "local", "raj"))
    assert "Stakeholder updates" not in nobody
