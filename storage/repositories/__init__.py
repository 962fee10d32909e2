"""SQL implementations of ``bot.ports.ItemRepository``, ``ChannelRepository``,
``ScheduleRepository`` and ``CalendarTokenRepository``.

The only place in raidline that speaks SQL. Rows become the core's frozen dataclasses here
and nowhere else (:mod:`storage.repositories.rows`). Statements are Core statements executed
through the unit of work's session, so no ORM identity map can hand back stale objects after
an update.

One module per aggregate: ``items`` (and its ``history``), ``channels`` (with their
settings), ``schedules``, ``outbox`` (the run ledger), ``standups`` (with their answers) and
``calendars`` (the calendar feed tokens), ``lessons`` (lessons learned);
``common`` holds what they share.
"""

from __future__ import annotations

from storage.repositories.calendars import SqlCalendarTokenRepository
from storage.repositories.channels import SqlChannelRepository
from storage.repositories.common import CHANNEL_IDS, channel_key_from_row
from storage.repositories.items import SqlItemRepository
from storage.repositories.lessons import SqlLessonRepository
from storage.repositories.rows import (
    event_from_row,
    item_from_row,
    item_values,
    run_from_row,
    schedule_from_row,
    schedule_values,
    settings_from_row,
    standup_from_row,
    standup_values,
)
from storage.repositories.schedules import SqlScheduleRepository

__all__ = [
    "CHANNEL_IDS",
    "SqlCalendarTokenRepository",
    "SqlChannelRepository",
    "SqlItemRepository",
    "SqlLessonRepository",
    "SqlScheduleRepository",
    "channel_key_from_row",
    "event_from_row",
    "item_from_row",
    "item_values",
    "run_from_row",
    "schedule_from_row",
    "schedule_values",
    "settings_from_row",
    "standup_from_row",
    "standup_values",
]
