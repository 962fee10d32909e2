"""The dashboard's numbers on real storage (SQLite and PostgreSQL) are the in-memory store's:
the same history gives the same heat map, weekly series, blocker ages and groups."""

from __future__ import annotations

from typing import Any

from bot.services import dashboard
from tests.fakes import FakeStore, FixedClock
from tests.unit.conftest import BASE, Chat
from tests.unit.test_dashboard_numbers import _history


def _numbers(view: dashboard.Overview) -> dict[str, Any]:
    return {
        "heat": (dict(view.heat.cells), view.heat.unscored),
        "trends": [(s.name, s.values) for s in view.trends.series],
        "ages": view.ages,
        "oldest": [str(i.ref) for i in view.oldest_blockers],
        "decisions": [(g.status, g.total, [str(i.ref) for i in g.items]) for g in view.decisions],
        "changes": [(g.status, g.total, [str(i.ref) for i in g.items]) for g in view.changes],
        "late": view.decisions_late,
        "totals": view.digest.totals,
    }


async def _overview_after_history(store: Any) -> dict[str, Any]:
    chat = Chat(store, FixedClock(BASE))
    await _history(chat)
    await chat.say("/decision We use Postgres")
    await chat.say("/change Add CRM integration impact schedule +2 weeks @sponsor")
    async with store() as uow:
        view = await dashboard.overview(uow, chat.channel, chat.clock.now())
    return _numbers(view)


async def test_the_overview_on_storage_is_the_in_memory_one(uow_factory: Any) -> None:
    stored = await _overview_after_history(uow_factory)
    in_memory = await _overview_after_history(FakeStore())
    assert stored == in_memory
    assert stored["heat"] == ({(4, 5): 2}, 1)
    assert dict(stored["trends"])["Open blockers"][-4:] == (1, 2, 1, 1)
