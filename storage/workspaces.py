"""A workspace that removed raidline: stop everything it would send on its own.

When a workspace uninstalls raidline or revokes its token, nothing raidline sends there can
arrive. :func:`stop_workspace` turns its channels' standups and digests off, turns its
nudges off and skips the runs still waiting to be sent, in one transaction, so the
scheduler stops trying instead of failing every day. Reinstalling does not turn them on
again: a lead does, with the usual commands (``/standup schedule …``, ``/digest daily …``,
``/raid settings nudges on``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.model import RunStatus
from storage.db import translate_errors
from storage.tables import channels, runs, schedules

__all__ = ["Stopped", "stop_workspace"]


@dataclass(frozen=True)
class Stopped:
    """What :func:`stop_workspace` turned off: schedules, channels' nudges, waiting runs."""

    schedules: int
    nudges: int
    runs: int

    def __bool__(self) -> bool:
        return bool(self.schedules or self.nudges or self.runs)


@translate_errors
async def stop_workspace(
    engine: AsyncEngine, platform: str, workspace: str, now: datetime
) -> Stopped:
    """Turn off the schedules and nudges of every channel of ``workspace`` and skip its
    pending runs; a workspace stopped already is left as it is (all counts 0)."""
    of_workspace = (
        select(channels.c.id)
        .where(channels.c.platform == platform, channels.c.workspace == workspace)
        .scalar_subquery()
    )
    async with engine.begin() as conn:
        stopped_schedules = await conn.execute(
            update(schedules)
            .where(schedules.c.channel_id.in_(of_workspace), schedules.c.enabled.is_(True))
            .values(enabled=False, next_run_at=None, updated_at=now)
        )
        stopped_nudges = await conn.execute(
            update(channels)
            .where(
                channels.c.platform == platform,
                channels.c.workspace == workspace,
                channels.c.nudges_enabled.is_(True),
            )
            .values(nudges_enabled=False)
        )
        # A run being sent right now (``sending``) ends by itself; the waiting ones never go.
        skipped_runs = await conn.execute(
            update(runs)
            .where(runs.c.channel_id.in_(of_workspace), runs.c.status == RunStatus.PENDING.value)
            .values(status=RunStatus.SKIPPED.value, lease_until=None, updated_at=now)
        )
    return Stopped(
        int(stopped_schedules.rowcount),
        int(stopped_nudges.rowcount),
        int(skipped_runs.rowcount),
    )
