"""Rows to the core's frozen dataclasses and back: the public row mappers.

``*_from_row`` builds a domain object from a row mapping; ``*_values`` gives the columns a
domain object is stored in, except its identity. The repositories and the backup's restore
(``storage.backup``) both use them, so a column is mapped in one place only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import RowMapping, null

from bot.domain.model import (
    DEFAULT_ESCALATE_AFTER_DAYS,
    Change,
    ChannelKey,
    ChannelSettings,
    Event,
    Item,
    Kind,
    Run,
    RunKind,
    RunStatus,
    Schedule,
    ScheduleKind,
    Standup,
    Status,
)
from storage.repositories.common import channel_key_from_row

__all__ = [
    "event_from_row",
    "item_from_row",
    "item_values",
    "run_from_row",
    "schedule_from_row",
    "schedule_values",
    "settings_from_row",
    "split_kind",
    "stakeholder_values",
    "standup_from_row",
    "standup_values",
    "stored_kind",
]


def item_values(item: Item) -> dict[str, Any]:
    """Every stored field of an item except its identity (channel, id) and what storage keeps
    itself (``date_moves``, counted by ``add_event``)."""
    return {
        "kind": item.kind.value,
        "number": item.number,
        "status": item.status.value,
        "title": item.title,
        "details": item.details,
        "reporter": item.reporter,
        "owner": item.owner,
        "due_at": item.due_at,
        "waiting_on": item.waiting_on,
        "resolution": item.resolution,
        "likelihood": item.likelihood,
        "impact": item.impact,
        "response": item.response,
        "mitigation": item.mitigation,
        "outcome": item.outcome,
        "rationale": item.rationale,
        "impacts": dict(item.impacts),
        "approvers": list(item.approvers),
        "decision_note": item.decision_note,
        "decided_by": item.decided_by,
        "decided_at": item.decided_at,
        "linked_ref": item.linked_ref,
        "source_url": item.source_url,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
        "nudge_count": item.nudge_count,
        "last_nudged_at": item.last_nudged_at,
        "snoozed_until": item.snoozed_until,
        "milestone": item.milestone,
        "depends_on": list(item.depends_on) or None,
        "links": list(item.links) or None,
        "revisit_at": item.revisit_at,
        "deferred_reason": item.deferred_reason,
    }


def item_from_row(channel: ChannelKey, row: RowMapping) -> Item:
    impacts: Mapping[str, str] = dict(row["impacts"] or {})
    return Item(
        id=row["id"],
        channel=channel,
        kind=Kind(row["kind"]),
        number=row["number"],
        status=Status(row["status"]),
        title=row["title"],
        details=row["details"],
        reporter=row["reporter"],
        owner=row["owner"],
        due_at=row["due_at"],
        waiting_on=row["waiting_on"],
        resolution=row["resolution"],
        likelihood=row["likelihood"],
        impact=row["impact"],
        response=row["response"],
        mitigation=row["mitigation"],
        outcome=row["outcome"],
        rationale=row["rationale"],
        impacts=impacts,
        approvers=tuple(row["approvers"] or ()),
        decision_note=row["decision_note"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        linked_ref=row["linked_ref"],
        source_url=row["source_url"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        nudge_count=row["nudge_count"],
        last_nudged_at=row["last_nudged_at"],
        snoozed_until=row["snoozed_until"],
        date_moves=row["date_moves"],
        milestone=row.get("milestone"),
        depends_on=tuple(row.get("depends_on") or ()),
        links=tuple(row.get("links") or ()),
        revisit_at=row.get("revisit_at"),
        deferred_reason=row.get("deferred_reason"),
    )


def event_from_row(row: RowMapping, prefix: str = "") -> Event:
    """An event from ``item_events`` columns, named ``<prefix><column>`` in ``row``."""
    changes = tuple(
        Change(field=change["field"], old=change.get("old"), new=change.get("new"))
        for change in row[prefix + "changes"] or ()
    )
    return Event(
        at=row[prefix + "at"],
        actor=row[prefix + "actor"],
        action=row[prefix + "action"],
        changes=changes,
        note=row[prefix + "note"],
    )


def settings_from_row(channel: ChannelKey, row: RowMapping) -> ChannelSettings:
    return ChannelSettings(
        channel=channel,
        timezone=row["timezone"],
        leads=tuple(row["leads"] or ()),
        nudges_enabled=bool(row["nudges_enabled"]),
        work_days=tuple(row["work_days"]),
        work_start=row["work_start"],
        work_end=row["work_end"],
        last_digest_at=row["last_digest_at"],
        holidays=row.get("holidays"),
        days_off=tuple(row.get("days_off") or ()),
        link_patterns=dict(row.get("link_patterns") or {}),
        closing_since=row.get("closing_since"),
        closed_at=row.get("closed_at"),
        closed_by=row.get("closed_by"),
        stakeholders={
            person: tuple(levels) for person, levels in (row.get("stakeholders") or {}).items()
        },
        escalate_after_days=row.get("escalate_after_days") or DEFAULT_ESCALATE_AFTER_DAYS,
    )


def stakeholder_values(settings: ChannelSettings) -> dict[str, Any]:
    """The stakeholder columns of a channel's row: nobody as SQL NULL (not JSON null, which
    ``with_stakeholders`` would have to read), the default escalation delay as NULL."""
    people = {p: list(levels) for p, levels in settings.stakeholders.items()}
    return {
        "stakeholders": people or null(),
        "escalate_after_days": (
            None
            if settings.escalate_after_days == DEFAULT_ESCALATE_AFTER_DAYS
            else settings.escalate_after_days
        ),
    }


def schedule_values(schedule: Schedule) -> dict[str, Any]:
    """Every stored field of a schedule except its identity (id, channel, kind)."""
    return {
        "days": list(schedule.days),
        "at": schedule.at,
        "timezone": schedule.timezone,
        "enabled": schedule.enabled,
        "next_run_at": schedule.next_run_at,
        "questions": list(schedule.questions),
        "members": list(schedule.members),
        "window_minutes": schedule.window_minutes,
        "mode": schedule.mode,
        "skip_dates": list(schedule.skip_dates),
        "away": dict(schedule.away),
        "options": schedule_options(schedule),
    }


def schedule_options(schedule: Schedule) -> dict[str, Any]:
    """The settings kept in ``schedules.options``: the standup settings added since 0005, and
    a rule's every-other-week or monthly recurrence."""
    return {
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


def _options(row: RowMapping) -> Mapping[str, Any]:
    return row.get("options") or {}


def stored_kind(kind: ScheduleKind, name: str | None) -> str:
    """``schedules.kind``: the kind, and a named schedule's name after a colon
    (``standup:retro``), so that (channel, kind) stays the unique key it always was."""
    return f"{kind.value}:{name}" if name else kind.value


def split_kind(stored: str) -> tuple[ScheduleKind, str | None]:
    """The inverse of :func:`stored_kind`."""
    kind, _, name = stored.partition(":")
    return ScheduleKind(kind), name or None


def schedule_from_row(channel: ChannelKey, row: RowMapping) -> Schedule:
    kind, name = split_kind(row["kind"])
    return Schedule(
        id=row["id"],
        channel=channel,
        kind=kind,
        name=name,
        days=tuple(row["days"] or ()),
        at=row["at"],
        timezone=row["timezone"],
        enabled=bool(row["enabled"]),
        next_run_at=row["next_run_at"],
        questions=tuple(row["questions"] or ()),
        members=tuple(row["members"] or ()),
        window_minutes=row["window_minutes"],
        mode=row["mode"],
        skip_dates=tuple(row["skip_dates"] or ()),
        away=dict(row["away"] or {}),
        updated_at=row["updated_at"],
        **schedule_options_from(_options(row)),
    )


def schedule_options_from(options: Mapping[str, Any]) -> dict[str, Any]:
    """``Schedule`` fields from ``schedules.options`` (missing ones keep their defaults)."""
    found: dict[str, Any] = {}
    if "late_minutes" in options:
        found["late_minutes"] = int(options["late_minutes"])
    if "reminder" in options:
        found["reminder"] = str(options["reminder"])
    for name in ("optional", "observers"):
        if name in options:
            found[name] = tuple(options[name] or ())
    if "mentions" in options:
        found["mentions"] = bool(options["mentions"])
    if "local_times" in options:
        found["local_times"] = bool(options["local_times"])
    if "zones" in options:
        found["zones"] = dict(options["zones"] or {})
    # the schedule's rule beyond weekly days (every other week, monthly)
    if options.get("every_weeks"):
        found["every_weeks"] = int(options["every_weeks"])
    for name in ("week_anchor", "nth"):
        if options.get(name):
            found[name] = str(options[name])
    if options.get("month_day"):
        found["month_day"] = int(options["month_day"])
    return found


def run_from_row(channel: ChannelKey, row: RowMapping) -> Run:
    return Run(
        id=row["id"],
        key=row["key"],
        kind=RunKind(row["kind"]),
        channel=channel,
        due_at=row["due_at"],
        status=RunStatus(row["status"]),
        payload=dict(row["payload"] or {}),
        attempts=row["attempts"],
        lease_until=row["lease_until"],
        result_ref=row["result_ref"],
        created_at=row["created_at"],
        built_at=row.get("built_at"),
        send_started_at=row.get("send_started_at"),
        reason=row.get("reason"),
    )


def standup_values(standup: Standup) -> dict[str, Any]:
    """Every stored field of a standup except its identity (id, schedule, local date, channel)."""
    return {
        "opened_at": standup.opened_at,
        "closes_at": standup.closes_at,
        "questions": list(standup.questions),
        "members": list(standup.members),
        "away": list(standup.away),
        "mode": standup.mode,
        "late_by_minutes": standup.late_by_minutes,
        "closed": standup.closed,
        "message_ref": standup.message_ref,
        "options": {
            "optional": list(standup.optional),
            "observers": list(standup.observers),
            "mentions": standup.mentions,
            "late_until": (
                standup.late_until.astimezone(UTC).isoformat() if standup.late_until else None
            ),
        },
    }


def standup_from_row(row: RowMapping) -> Standup:
    options = _options(row)
    return Standup(
        id=row["id"],
        schedule_id=row["schedule_id"],
        channel=channel_key_from_row(row),
        local_date=row["local_date"],
        opened_at=row["opened_at"],
        closes_at=row["closes_at"],
        questions=tuple(row["questions"] or ()),
        members=tuple(row["members"] or ()),
        away=tuple(row["away"] or ()),
        mode=row["mode"],
        late_by_minutes=row["late_by_minutes"],
        closed=bool(row["closed"]),
        message_ref=row["message_ref"],
        optional=tuple(options.get("optional") or ()),
        observers=tuple(options.get("observers") or ()),
        mentions=bool(options.get("mentions", True)),
        late_until=datetime.fromisoformat(late) if (late := options.get("late_until")) else None,
    )
