"""The new seams on their own: the rules of who may, the standup use cases' data and the
views that word it, the digest view, and the scheduler's table of run kinds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import rules
from bot.domain.model import (
    ChannelKey,
    ChannelSettings,
    Item,
    Kind,
    RunKind,
    Standup,
    StandupAnswer,
    Status,
)
from bot.errors import Conflict, Forbidden, UsageError
from bot.scheduler import Scheduler
from bot.services import digests, standups
from bot.views import digests as digest_views
from bot.views import standups as standup_views
from tests.fakes import FakeStore, FixedClock

CHANNEL = ChannelKey("console", "local", "proj")
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
LEADS = ChannelSettings(CHANNEL, leads=("lee",))


def item(kind: Kind, status: Status, **fields: object) -> Item:
    return Item(
        channel=CHANNEL,
        kind=kind,
        number=3,
        status=status,
        title="Waiting on creds",
        reporter="rita",
        created_at=NOW,
        updated_at=NOW,
        **fields,  # type: ignore[arg-type]
    )


# --- rules -----------------------------------------------------------------------------------


def test_a_manager_is_the_owner_the_reporter_or_a_lead() -> None:
    blocker = item(Kind.BLOCKER, Status.OPEN, owner="dana")
    for user in ("dana", "rita", "lee"):
        rules.require_manager(user, blocker, LEADS, "resolve")
    with pytest.raises(Forbidden) as refused:
        rules.require_manager("erin", blocker, LEADS, "resolve")
    assert refused.value.message == (
        "Only the owner (<@dana>), the reporter (<@rita>) or a lead (<@lee>) may resolve B-3."
    )


def test_approvers_decide_change_requests_and_leads_only_when_none_is_named() -> None:
    change = item(Kind.CHANGE, Status.PROPOSED, approvers=("ann", "bo"))
    rules.check_approve("bo", change, LEADS)
    with pytest.raises(Forbidden, match=r"^Only <@ann>, <@bo> may approve C-3\.$"):
        rules.check_approve("lee", change, LEADS)
    unnamed = item(Kind.CHANGE, Status.PROPOSED)
    rules.check_approve("lee", unnamed, LEADS)
    with pytest.raises(Forbidden, match="names no approver, so only a lead"):
        rules.check_approve("erin", unnamed, LEADS)


def test_rules_refuse_wrong_kinds_and_states_with_what_to_do_instead() -> None:
    with pytest.raises(UsageError) as wrong_kind:
        rules.check_resolve("rita", item(Kind.RISK, Status.OPEN), LEADS)
    assert wrong_kind.value.message == (
        "Only blockers or milestones can be resolved; R-3 is a risk. Use `close` or `occurred` "
        "for a risk."
    )
    with pytest.raises(Conflict, match=r"^B-3 is already resolved\.$"):
        rules.check_resolve("rita", item(Kind.BLOCKER, Status.RESOLVED), LEADS)
    with pytest.raises(Conflict, match=r"^B-3 was withdrawn; `/raid reopen B-3` brings it back"):
        rules.check_resolve("rita", item(Kind.BLOCKER, Status.WITHDRAWN), LEADS)
    rules.check_reopen("rita", item(Kind.BLOCKER, Status.WITHDRAWN), LEADS)
    with pytest.raises(UsageError, match="Log a new one instead"):
        rules.check_reopen("rita", item(Kind.DECISION, Status.DECIDED), LEADS)
    with pytest.raises(Forbidden, match=r"^Only a lead \(<@lee>\) may open a standup\.$"):
        rules.require_lead("erin", LEADS, "open a standup")
    rules.require_lead("erin", ChannelSettings(CHANNEL), "open a standup")  # no leads: anyone


# --- standups: data from the use case, wording from the view ---------------------------------

STANDUP = Standup(
    schedule_id=1,
    channel=CHANNEL,
    local_date="2026-11-25",
    opened_at=NOW,
    closes_at=NOW + timedelta(hours=2),
    questions=("What did you do?", "Anything blocking you?", "Any decision needed?"),
    members=("ana", "bob", "cy"),
    away=("cy",),
    mode="dm",
    id=7,
)


def test_the_dm_notice_is_the_opening_with_its_last_sentence_replaced() -> None:
    full = standup_views.opening(STANDUP, "Europe/Berlin", NOW)
    notice = standup_views.opening(STANDUP, "Europe/Berlin", NOW, questions_by_dm=True)
    assert notice.text == full.text.split(" Answer with")[0] + " Questions sent by direct message."
    assert (notice.sections, notice.actions) == (full.sections, full.actions)
    assert notice.text == (
        "Standup time! Please answer by Wed 25 Nov 12:00 CET. <@ana> <@bob> "
        "Questions sent by direct message."
    )
    assert standups.Opened(STANDUP, "UTC").questions_by_dm
    assert not standups.Opened(STANDUP, "UTC", to_user="ana").questions_by_dm


def test_a_summary_knows_who_answered_who_did_not_and_what_was_named() -> None:
    answers = [StandupAnswer(7, "bob", ("login", "- waiting on VPN\nnone", "pick a CDN"), NOW)]
    summary = standups.summarize(STANDUP, answers)
    assert (summary.answered, summary.missing, summary.away) == (["bob"], ["ana"], ["cy"])
    assert summary.findings == [
        standups.Finding(Kind.BLOCKER, "waiting on VPN", "bob", 100),
        standups.Finding(Kind.DECISION, "pick a CDN", "bob", 200),
    ]
    reply = standup_views.summary(summary, "Europe/Berlin", NOW)
    assert reply.text == "Standup summary: 1 answered, 1 did not"
    assert [a.action_id for a in reply.actions] == ["track:7:bob:100", "track:7:bob:200"]
    assert reply.sections[0].lines == ("Answered: <@bob>", "No answer: <@ana>", "Away: cy")


def test_only_answer_fields_named_as_the_form_names_them_count() -> None:
    values = {"q0": "a", "q2": "c", "q01": "x", "q١": "y", "title": "z", "q" + "9" * 5000: "w"}
    assert standup_views.answer_values(values) == {0: "a", 2: "c"}
    form = standup_views.answer_form(STANDUP, None)
    assert [f.name for f in form.fields] == ["q0", "q1", "q2"]


# --- digests ---------------------------------------------------------------------------------


async def test_a_quiet_channel_s_digest_has_nothing_to_say() -> None:
    store = FakeStore()
    async with store() as uow:
        found = await digests.build(uow, CHANNEL, None, NOW)
    assert not found.worth_sending and found.warnings is None
    assert found.since == NOW - digests.FIRST_DIGEST_LOOKBACK
    reply = digest_views.digest(found, "Europe/Berlin", NOW)
    assert reply.text == "Digest: 0 changes, 0 open blockers, 0 waiting for a decision"
    assert [s.lines for s in reply.sections] == [
        ("Nothing changed.",),
        ("Nothing is blocked.",),
        ("No decision is waiting.",),
        ("No open risks.",),
    ]


# --- the scheduler ---------------------------------------------------------------------------


class _Nowhere:
    async def send(self, message: object) -> str:
        raise AssertionError("nothing is sent here")


def test_every_run_kind_has_a_handler() -> None:
    scheduler = Scheduler(FakeStore(), _Nowhere(), clock=FixedClock(NOW))  # type: ignore[arg-type]
    assert set(scheduler.handlers) == set(RunKind)
