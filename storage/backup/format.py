"""The backup document: what ``raidline export --all`` writes and ``raidline import`` reads.

::

    {"format": "raidline-backup", "version": 1, "exported_at": "…",
     "channels": [{"platform", "workspace", "channel", "settings": {…},
                   "schedules": [{…}], "items": [{"ref", "kind", …, "events": [{…}]}]}]}

:func:`export_all` makes it: every channel with its settings, standup and digest schedules,
and every item with every field and its whole history (each item as
``bot.services.export.item_record`` writes it for channel exports, plus its nudge state).
:mod:`storage.backup.validation` reads it back.

Table by table (:data:`BACKED_UP_TABLES`, :data:`NOT_BACKED_UP_TABLES`; a test holds every
table of ``storage.tables`` to one of the two):

- ``channels``: a channel's ``settings`` (:func:`settings_record`): time zone, leads, nudges,
  work week and hours, when the last digest was posted, and the days off: ``holidays`` (the
  public holiday calendar, e.g. ``DE-BY``) and ``days_off`` (further local dates off),
  ``link_patterns`` (tracker key prefix -> address with ``{}`` for the key), and the
  stakeholder updates: ``stakeholders`` (person -> the levels they get: ``weekly``,
  ``decisions``, ``escalations``) and ``escalate_after_days`` (a blocker this many working
  days overdue is escalated). Its ``created_at`` is not kept: a restore sets it to the
  restore time.
- ``schedules``: a channel's ``schedules`` (:func:`schedule_record`), every named standup and
  every digest schedule. A named standup's name (kept in ``kind`` as ``standup:retro``) is
  ``name``; the JSON ``options`` column is spelled out key by key: late answers, reminders,
  optional members, observers, mentions, ``dm local`` and the members' own time zones, and
  the every-other-week and monthly rules (``every_weeks``, ``week_anchor``, ``nth``,
  ``month_day``).
- ``items`` and ``item_events``: ``items`` and each item's ``events``, milestones (kind
  ``milestone``, refs ``M-1``) among them; each item's ``milestone`` (the ref of the milestone
  it is part of), ``depends_on`` (refs it waits for) and ``links`` (tracker keys and URLs);
  ``ref_counters`` is worked out again from the restored refs. A deferred item keeps its
  ``revisit_at`` and ``deferred_reason``.
- ``lessons``: a channel's ``lessons`` learned (``/raid lesson``): author, text and when. The
  channel's close-out is in its ``settings``: ``closing_since``, ``closed_at`` and
  ``closed_by`` (a closed project stays closed after a restore).
- Not in it: scheduler state, which a restore starts afresh from the schedules: ``runs`` (the
  run ledger, with each run's built message and ``reason``, e.g. the day off a skipped run
  fell on; a stakeholder's direct message held until their next working day is a run too,
  and is not sent after a restore), ``standups`` (opened standups, with the ``options``
  copied at opening) and
  ``standup_answers``; credentials: the calendar feed tokens (``calendar_tokens``: after a
  restore people ask ``/raid calendar`` for new links), the generated key
  (``raidline_secrets``) and the Slack installations (``slack_*``); and the replay records
  (``seen_requests``). A backup file therefore holds no credential.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.model import ChannelSettings, Lesson, Schedule
from bot.ports import UnitOfWork
from bot.services.export import item_record
from storage.uow import SqlUnitOfWork, make_read_only_uow_factory

__all__ = [
    "BACKED_UP_TABLES",
    "BACKUP_FORMAT",
    "BACKUP_VERSION",
    "NOT_BACKED_UP_TABLES",
    "encode_backup",
    "export_all",
    "lesson_record",
    "schedule_record",
    "settings_record",
    "snapshot_uow_factory",
]


#: Where each table of ``storage.tables`` is in the document.
BACKED_UP_TABLES: Mapping[str, str] = {
    "channels": "channels[].settings (with holidays, days_off, link_patterns, stakeholders "
    "and escalate_after_days)",
    "schedules": "channels[].schedules (the options column spelled out)",
    "items": "channels[].items (with milestone, depends_on and links)",
    "item_events": "channels[].items[].events",
    "ref_counters": "worked out from the restored refs",
    "lessons": "channels[].lessons",
}
#: The tables a backup leaves out, and why.
NOT_BACKED_UP_TABLES: Mapping[str, str] = {
    "runs": "scheduler state (the run ledger, with each run's message and reason)",
    "standups": "scheduler state (opened standups and their options)",
    "standup_answers": "scheduler state (answers to opened standups)",
    "calendar_tokens": "credentials (calendar feed links)",
    "raidline_secrets": "credentials (the generated key)",
    "seen_requests": "replay records, kept for minutes",
}

#: ``format`` and ``version`` of the document :func:`export_all` makes and
#: :func:`storage.backup.validation` reads.
BACKUP_FORMAT = "raidline-backup"
BACKUP_VERSION = 1


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def settings_record(settings: ChannelSettings) -> dict[str, Any]:
    return {
        "timezone": settings.timezone,
        "leads": list(settings.leads),
        "nudges_enabled": settings.nudges_enabled,
        "work_days": list(settings.work_days),
        "work_start": settings.work_start,
        "work_end": settings.work_end,
        "last_digest_at": _iso(settings.last_digest_at),
        "holidays": settings.holidays,
        "days_off": list(settings.days_off),
        "link_patterns": dict(settings.link_patterns),
        "closing_since": _iso(settings.closing_since),
        "closed_at": _iso(settings.closed_at),
        "closed_by": settings.closed_by,
        "stakeholders": {p: list(levels) for p, levels in sorted(settings.stakeholders.items())},
        "escalate_after_days": settings.escalate_after_days,
    }


def lesson_record(lesson: Lesson) -> dict[str, Any]:
    return {"author": lesson.author, "text": lesson.text, "created_at": _iso(lesson.created_at)}


def schedule_record(schedule: Schedule) -> dict[str, Any]:
    return {
        "kind": schedule.kind.value,
        "name": schedule.name,
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
        "late_minutes": schedule.late_minutes,
        "reminder": schedule.reminder,
        "optional": list(schedule.optional),
        "observers": list(schedule.observers),
        "mentions": schedule.mentions,
        "local_times": schedule.local_times,
        "zones": dict(schedule.zones),
        "every_weeks": schedule.every_weeks,
        "week_anchor": schedule.week_anchor,
        "nth": schedule.nth,
        "month_day": schedule.month_day,
    }


async def export_all(uow: UnitOfWork, now: datetime) -> dict[str, Any]:
    """Every channel's settings, schedules and full log with history: one backup document.

    Read in the caller's unit of work, so the backup is as consistent as its transaction.
    Scheduler state (runs, opened standups and their answers) is not part of it.
    """
    records: list[dict[str, Any]] = []
    for channel in await uow.channels.channels():
        settings = await uow.channels.get_settings(channel)
        schedules = await uow.schedules.of_channel(channel)
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
                "lessons": [lesson_record(x) for x in await uow.lessons.of_channel(channel)],
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


def snapshot_uow_factory(engine: AsyncEngine) -> Callable[[], SqlUnitOfWork]:
    """Units of work that read one consistent snapshot, for ``export_all``.

    PostgreSQL's default READ COMMITTED would let a backup taken while the bot runs see an
    item without the event committed just after it was read; REPEATABLE READ reads every
    table as of the first statement. On SQLite a read transaction in WAL mode keeps its
    snapshot without holding up the bot's writes (see :func:`make_read_only_uow_factory`).
    """
    return make_read_only_uow_factory(engine)
