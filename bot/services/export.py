"""A channel's full log with history; every channel as a backup.

``channel_log`` reads one channel's export (``/raid export``, ``raidline export --channel``),
which ``bot.views.export`` writes as Markdown, CSV or JSON. ``export_all`` makes the full
backup ``raidline export --all`` writes and ``raidline import`` (``storage.backup``)
restores: every channel with its settings, standup and digest schedules, and every item
with every field and its whole history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.model import ChannelKey, ChannelSettings, Event, Item, Schedule, ScheduleKind
from bot.errors import UsageError
from bot.ports import UnitOfWork

FORMATS = ("md", "csv", "json")


def check_format(fmt: str) -> str:
    fmt = fmt.strip().lower().lstrip(".")
    if fmt == "markdown":
        fmt = "md"
    if fmt not in FORMATS:
        raise UsageError(
            f"`{fmt or '(none)'}` is not an export format. Use `md`, `csv` or `json`, "
            "e.g. `/raid export md`."
        )
    return fmt


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def item_record(item: Item, events: list[Event], *, complete: bool = False) -> dict[str, Any]:
    """One item and its events as JSON values, datetimes in ISO 8601.

    ``complete`` adds the nudge state (``nudge_count``, ``last_nudged_at``, ``snoozed_until``)
    a backup needs to restore the item exactly; channel exports leave it out.
    """
    record: dict[str, Any] = {
        "ref": str(item.ref),
        "kind": item.kind.value,
        "status": item.status.value,
        "title": item.title,
        "details": item.details,
        "reporter": item.reporter,
        "owner": item.owner,
        "due": _iso(item.due_at),
        "waiting_on": item.waiting_on,
        "resolution": item.resolution,
        "likelihood": item.likelihood,
        "impact": item.impact,
        "score": item.score,
        "response": item.response,
        "mitigation": item.mitigation,
        "outcome": item.outcome,
        "rationale": item.rationale,
        "impacts": dict(item.impacts),
        "approvers": list(item.approvers),
        "decision_note": item.decision_note,
        "decided_by": item.decided_by,
        "decided_at": _iso(item.decided_at),
        "linked_ref": item.linked_ref,
        "source_url": item.source_url,
        "created_at": _iso(item.created_at),
        "updated_at": _iso(item.updated_at),
        "events": [
            {
                "at": _iso(e.at),
                "actor": e.actor,
                "action": e.action,
                "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in e.changes],
                "note": e.note,
            }
            for e in events
        ],
    }
    if complete:
        record["nudge_count"] = item.nudge_count
        record["last_nudged_at"] = _iso(item.last_nudged_at)
        record["snoozed_until"] = _iso(item.snoozed_until)
    return record


@dataclass(frozen=True)
class ChannelLog:
    """One channel's items, oldest first, and each one's events (by item id)."""

    channel: ChannelKey
    items: list[Item]
    events: dict[int, list[Event]]


async def channel_log(uow: UnitOfWork, channel: ChannelKey) -> ChannelLog:
    items = await uow.items.list(channel)
    events = await uow.items.events([i.id for i in items if i.id is not None])
    return ChannelLog(channel, items, events)


# --- the full backup -------------------------------------------------------------------------

#: ``format`` and ``version`` of the document ``export_all`` makes; ``storage.backup`` reads it.
BACKUP_FORMAT = "raidline-backup"
BACKUP_VERSION = 1


def settings_record(settings: ChannelSettings) -> dict[str, Any]:
    return {
        "timezone": settings.timezone,
        "leads": list(settings.leads),
        "nudges_enabled": settings.nudges_enabled,
        "work_days": list(settings.work_days),
        "work_start": settings.work_start,
        "work_end": settings.work_end,
        "last_digest_at": _iso(settings.last_digest_at),
    }


def schedule_record(schedule: Schedule) -> dict[str, Any]:
    return {
        "kind": schedule.kind.value,
        "enabled": schedule.enabled,
        "days": list(schedule.days),
        "at": schedule.at,
        "timezone": schedule.timezone,
        "next_run_at": _iso(schedule.next_run_at),
        "questions": list(schedule.questions),
        "members": list(schedule.members),
        "window_minutes": schedule.window_minutes,
        "mode": schedule.mode,
        "skip_dates": list(schedule.skip_dates),
        "away": dict(schedule.away),
        "updated_at": _iso(schedule.updated_at),
    }


async def export_all(uow: UnitOfWork, now: datetime) -> dict[str, Any]:
    """Every channel's settings, schedules and full log with history: one backup document.

    Read in the caller's unit of work, so the backup is as consistent as its transaction.
    Scheduler state (runs, opened standups and their answers) is not part of it.
    """
    records: list[dict[str, Any]] = []
    for channel in await uow.channels.channels():
        settings = await uow.channels.get_settings(channel)
        schedules = [await uow.schedules.get(channel, kind) for kind in ScheduleKind]
        items = await uow.items.list(channel)
        events = await uow.items.events([i.stored_id for i in items])
        records.append(
            {
                "platform": channel.platform,
                "workspace": channel.workspace,
                "channel": channel.channel,
                "settings": settings_record(settings),
                "schedules": [schedule_record(s) for s in schedules if s is not None],
                "items": [
                    item_record(i, events.get(i.stored_id, []), complete=True) for i in items
                ],
            }
        )
    return {
        "format": BACKUP_FORMAT,
        "version": BACKUP_VERSION,
        "exported_at": now.isoformat(),
        "channels": records,
    }


def encode_backup(document: dict[str, Any]) -> bytes:
    """The backup as the UTF-8 JSON text ``raidline export --all`` writes."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
