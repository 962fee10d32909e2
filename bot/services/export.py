"""A channel's full log with history.

``channel_log`` reads one channel's export (``/raid export``, ``raidline export --channel``),
which ``bot.views.export`` writes as Markdown, CSV or JSON. ``item_record`` is one item as
JSON values, here and in the full backup (``raidline export --all``), whose document
``storage.backup`` writes and reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.model import ChannelKey, Event, Item, Kind
from bot.domain.plan import HealthReport
from bot.domain.schedules import ZoneTimetable
from bot.errors import UsageError
from bot.ports import Timetable, UnitOfWork
from bot.services.plan import channel_healths

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
        "milestone": item.milestone,
        "depends_on": list(item.depends_on),
        "links": list(item.links),
        "revisit_at": _iso(item.revisit_at),
        "deferred_reason": item.deferred_reason,
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


#: A person as chat markup inside a stored text: ``<@U1>``, ``<@!123>``, ``<@U1|dana>``.
PERSON_MARKUP_RE = re.compile(r"<@!?([A-Za-z0-9][A-Za-z0-9._\-]*)(?:\|[^<>]*)?>")

#: The order of the register: blockers, risks, decisions, change requests, milestones.
KIND_ORDER = tuple(Kind)


def register_order(item: Item) -> tuple[int, int]:
    """By kind (:data:`KIND_ORDER`), then by ref number within the kind."""
    return KIND_ORDER.index(item.kind), item.number


@dataclass(frozen=True)
class ChannelLog:
    """One channel's items in register order (by kind, then ref) and each one's events
    (by item id, oldest first)."""

    channel: ChannelKey
    items: list[Item]
    events: dict[int, list[Event]]
    #: tracker key prefix -> address pattern (the channel's ``/raid settings links``)
    patterns: Mapping[str, str] = field(default_factory=dict)
    #: milestone ref -> its health when the log was read
    healths: Mapping[str, HealthReport] = field(default_factory=dict)

    def events_of(self, item: Item) -> list[Event]:
        return self.events.get(item.stored_id, []) if item.id is not None else []

    def by_kind(self) -> Iterator[tuple[Kind, list[Item]]]:
        """Each kind that has items, in :data:`KIND_ORDER`, with its items."""
        for kind in KIND_ORDER:
            of_kind = [i for i in self.items if i.kind is kind]
            if of_kind:
                yield kind, of_kind

    @property
    def people(self) -> list[str]:
        """Everyone the log names (ids): owners, approvers, reporters, deciders, whoever
        acted in a history, and anyone mentioned in a text or a change."""
        found: dict[str, None] = {}
        for item in self.items:
            for person in (item.owner, item.reporter, item.decided_by, *item.approvers):
                if person:
                    found[person] = None
            texts = [item.title, item.details, item.waiting_on, item.resolution,
                     item.mitigation, item.outcome, item.rationale, item.decision_note]  # fmt: skip
            for event in self.events_of(item):
                found[event.actor] = None
                texts.append(event.note)
                texts.extend(v for c in event.changes for v in (c.old, c.new))
            for text in texts:
                for match in PERSON_MARKUP_RE.finditer(text or ""):
                    found[match.group(1)] = None
        return list(found)


async def channel_log(
    uow: UnitOfWork,
    channel: ChannelKey,
    *,
    now: datetime | None = None,
    timetable: Timetable | None = None,
    tz: str = "UTC",
) -> ChannelLog:
    """The channel's items and histories, its tracker patterns and, when ``now`` is given,
    its milestones' health as of then."""
    items = sorted(await uow.items.list(channel), key=register_order)
    events = await uow.items.events([i.id for i in items if i.id is not None])
    settings = await uow.channels.get_settings(channel)
    healths: dict[str, HealthReport] = {}
    if now is not None and any(i.kind is Kind.MILESTONE for i in items):
        found = await channel_healths(uow, settings, timetable or ZoneTimetable(), now, tz)
        healths = {ref: report for ref, (_, report) in found.items()}
    return ChannelLog(channel, items, events, dict(settings.link_patterns), healths)
