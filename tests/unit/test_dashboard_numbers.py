"""The numbers behind the dashboard's charts, from a fixed clock and a known history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain import trends
from bot.domain.model import ChannelKey, Item, Kind, Standup, StandupAnswer, Status
from bot.services import dashboard
from tests.unit.conftest import BASE, Chat

DAY = timedelta(days=1)


async def _history(chat: Chat) -> None:
    """Three weeks of a project, starting at BASE (see each step)."""
    await chat.say("/blocker Waiting on API keys")  # B-1, nobody owns it yet
    await chat.say("/risk Vendor may slip likelihood 4 impact 5 @bob")  # R-1, score 20
    await chat.say("/risk Budget cut likelihood 4 impact 5 @bob")  # R-2, score 20
    await chat.say("/risk Laptop shortage likelihood 1 impact 2 @bob")  # R-3, score 2
    await chat.say("/risk Unrated worry")  # R-4, unscored
    await chat.say("/decision needed Pick the SSO vendor @cio by Dec 5")  # D-1
    chat.clock.advance(days=1)
    await chat.say("/raid assign B-1 @dana")  # owned after one day
    chat.clock.advance(days=6)
    await chat.say("/blocker Firewall change @dana")  # B-2, owned at once
    chat.clock.advance(days=7)
    await chat.say("/raid resolve B-1 keys arrived", user="dana")  # 14 days after logging
    await chat.say("/raid close R-3", user="bob")
    chat.clock.advance(days=7)


async def _overview(chat: Chat) -> dashboard.Overview:
    async with chat.store() as uow:
        return await dashboard.overview(uow, chat.channel, chat.clock.now())


async def test_heat_map_counts_open_risks_by_likelihood_and_impact(chat: Chat) -> None:
    await _history(chat)
    view = await _overview(chat)
    assert dict(view.heat.cells) == {(4, 5): 2}  # R-3 is closed
    assert view.heat.unscored == 1
    assert view.heat.bands() == {"high": 2, "medium": 0, "low": 0, "unscored": 1}
    assert view.heat.total == view.digest.totals.risks == 3


async def test_weekly_series_replay_the_history(chat: Chat) -> None:
    await _history(chat)
    view = await _overview(chat)
    now = chat.clock.now()
    assert view.trends.weeks[-1] == now
    assert view.trends.weeks[-4] == BASE
    assert len(view.trends.weeks) == 12
    series = {s.name: s.values for s in view.trends.series}
    before = (0,) * 8
    assert series == {
        "Open blockers": (*before, 1, 2, 1, 1),
        "Open risks": (*before, 4, 4, 3, 3),
        "Pending decisions": (*before, 1, 1, 1, 1),
    }
    # the last point is today's count, as the digest has it
    assert series["Open blockers"][-1] == view.digest.totals.blockers
    assert series["Open risks"][-1] == view.digest.totals.risks
    assert series["Pending decisions"][-1] == view.digest.totals.decisions


async def test_blocker_ages_and_the_oldest_open_ones(chat: Chat) -> None:
    await _history(chat)
    view = await _overview(chat)
    assert view.ages.to_owner == timedelta(hours=12)  # median of 1 day and at once
    assert view.ages.to_resolution == timedelta(days=14)
    assert (view.ages.owned, view.ages.resolved) == (2, 1)
    assert [str(b.ref) for b in view.oldest_blockers] == ["B-2"]
    assert trends.age_text(view.ages.to_owner) == "12 h 0 min"
    assert trends.age_text(view.ages.to_resolution) == "14 d 0 h"


async def test_decisions_and_change_requests_by_state(chat: Chat) -> None:
    await _history(chat)
    await chat.say("/decision We use Postgres")
    await chat.say("/change Add CRM integration impact schedule +2 weeks @sponsor")
    view = await _overview(chat)
    assert view.decisions_late == 1  # D-1 was to be decided by Dec 5
    assert [(g.status, g.total, [str(d.ref) for d in g.items]) for g in view.decisions] == [
        (Status.PENDING, 1, ["D-1"]),
        (Status.DECIDED, 1, ["D-2"]),
    ]
    ((proposed, total, (change,)),) = [(g.status, g.total, g.items) for g in view.changes]
    assert (proposed, total, str(change.ref)) == (Status.PROPOSED, 1, "C-1")
    assert dict(change.impacts) == {"schedule": "+2 weeks"}


async def test_standup_participation_over_four_weeks(chat: Chat) -> None:
    now = chat.clock.now()
    async with chat.store() as uow:
        for day, (members, away, answered) in enumerate(
            [
                (("ana", "bob", "cy"), (), ("ana", "bob")),
                (("ana", "bob", "cy"), ("cy",), ("ana",)),
                (("ana", "bob", "cy"), (), ("ana", "cy")),
            ]
        ):
            opened = now - timedelta(days=3 - day)
            standup, _ = await uow.schedules.open_standup(
                Standup(
                    1,
                    chat.channel,
                    f"2026-11-2{day}",
                    opened,
                    opened + DAY,
                    ("What did you do?",),
                    members,
                    away,
                )
            )
            for person in answered:
                await uow.schedules.save_answer(
                    StandupAnswer(standup.stored_id, person, ("things",), opened)
                )
        old = now - timedelta(weeks=5)
        await uow.schedules.open_standup(
            Standup(1, chat.channel, "2026-10-01", old, old + DAY, ("Q?",), ("ana", "dee"))
        )
        await uow.commit()
    rows = await _overview(chat)
    assert [(p.member, p.answered, p.asked) for p in rows.participation] == [
        ("bob", 1, 3),
        ("cy", 1, 2),
        ("ana", 3, 3),
    ]


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (None, None),
        (1, "low"),
        (4, "low"),
        (5, "medium"),
        (6, "medium"),
        (8, "medium"),
        (12, "medium"),
        (15, "high"),
        (25, "high"),
    ],
)
def test_score_bands(score: int | None, band: str | None) -> None:
    assert trends.score_band(score) == band


def test_an_item_logged_after_a_week_end_is_not_counted_then() -> None:
    item = Item(
        channel=ChannelKey("console", "local", "proj"),
        kind=Kind.BLOCKER,
        number=1,
        status=Status.OPEN,
        title="x",
        reporter="ana",
        created_at=BASE,
        updated_at=BASE,
        id=1,
    )
    assert trends.status_at(item, [], BASE - timedelta(seconds=1)) is None
    assert trends.status_at(item, [], BASE) is Status.OPEN
    assert trends.status_at(item, [(BASE + DAY, Status.PENDING)], BASE) is Status.PENDING
