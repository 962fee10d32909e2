"""Channel digests: what changed, what is blocked, what needs a decision, risks, warnings."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.model import (
    ACTIVE_STATUSES,
    ChannelKey,
    Event,
    Item,
    ItemFilter,
    ItemOrder,
    Kind,
    Status,
)
from bot.messages import Reply, Section, Visibility
from bot.ports import UnitOfWork
from bot.text.dates import format_age, format_datetime
from bot.text.parsing import mention

#: How far back a channel's first digest looks.
FIRST_DIGEST_LOOKBACK = timedelta(days=7)
#: One person owning this many open blockers is a warning sign.
MANY_BLOCKERS = 3
TOP_RISKS = 5
#: Lines a list section shows before "…and N more" (the rest is one /raid list away).
SHOWN = 10
#: Refs a "what changed" or warning line names before "and N more".
SHOWN_REFS = 15
#: An item whose date was moved this often is a warning sign.
DATE_MOVES = 2

ACTIVE = ItemFilter(statuses=tuple(sorted(ACTIVE_STATUSES)))
OPEN_BLOCKERS = ItemFilter(kinds=(Kind.BLOCKER,), statuses=(Status.OPEN,))
OPEN_RISKS = ItemFilter(kinds=(Kind.RISK,), statuses=(Status.OPEN,))
PENDING_DECISIONS = ItemFilter(kinds=(Kind.DECISION,), statuses=(Status.PENDING,))
PROPOSED_CHANGES = ItemFilter(kinds=(Kind.CHANGE,), statuses=(Status.PROPOSED,))
UNOWNED_BLOCKERS = dataclasses.replace(OPEN_BLOCKERS, unowned=True)
#: Active items whose date can pass (``Item.overdue``: change requests have no due date).
DATED = dataclasses.replace(ACTIVE, kinds=(Kind.BLOCKER, Kind.RISK, Kind.DECISION))

_CHANGE_WORDS = {
    "created": "new",
    "resolved": "resolved",
    "reopened": "reopened",
    "closed": "closed",
    "occurred": "occurred",
    "decided": "decided",
    "approved": "approved",
    "rejected": "rejected",
    "implemented": "implemented",
    "withdrawn": "withdrawn",
    "superseded": "superseded",
}


def _refs(refs: list[str], total: int | None = None) -> str:
    """At most SHOWN_REFS of ``refs``, then how many more of ``total`` (default: all refs)."""
    total = len(refs) if total is None else total
    shown = ", ".join(refs[:SHOWN_REFS])
    return shown + (f" and {total - SHOWN_REFS} more" if total > SHOWN_REFS else "")


def _changed_lines(pairs: list[tuple[Item, Event]]) -> tuple[str, ...]:
    """Per kind: new, updated, resolved, reopened... with the refs, from the event history."""
    by_kind: dict[Kind, dict[str, list[str]]] = {}
    for item, event in pairs:
        if event.action == "note" and not event.changes:
            word = "updated"
        else:
            word = _CHANGE_WORDS.get(event.action, "updated")
        refs = by_kind.setdefault(item.kind, {}).setdefault(word, [])
        if str(item.ref) not in refs:
            refs.append(str(item.ref))
    lines = []
    order = ["new", "updated", "resolved", "reopened", "closed", "occurred", "decided",
             "approved", "rejected", "implemented", "withdrawn", "superseded"]  # fmt: skip
    for kind in Kind:
        words = by_kind.get(kind)
        if not words:
            continue
        parts = [f"{w} {_refs(words[w])}" for w in order if w in words]
        lines.append(f"{kind.plural.capitalize()}: " + "; ".join(parts))
    return tuple(lines)


def _more(lines: list[str], total: int, where: str) -> tuple[str, ...]:
    """The lines shown, and how many more there are and where to see them."""
    if total > len(lines):
        lines.append(f"…and {total - len(lines)} more: {where}")
    return tuple(lines)


def _blocked_lines(blockers: list[Item], total: int, tz: str, now: datetime) -> tuple[str, ...]:
    lines = []
    for b in blockers:
        owner = mention(b.owner) if b.owner else "no owner"
        line = f"{b.ref} {b.title} · {owner} · age {format_age(b.created_at, now)}"
        if b.due_at:
            line += f" · due {format_datetime(b.due_at, tz, now)}"
        if b.overdue(now):
            line += " · OVERDUE"
        lines.append(line)
    return _more(lines, total, "/raid list blockers")


def _decision_lines(items: list[Item], total: int, tz: str, now: datetime) -> tuple[str, ...]:
    lines = []
    for i in items:
        if i.kind is Kind.DECISION:
            who = mention(i.owner) if i.owner else "no decider (a lead decides)"
            when = f" by {format_datetime(i.due_at, tz, now)}" if i.due_at else ""
            late = " · LATE" if i.overdue(now) else ""
            lines.append(f"{i.ref} {i.title} · {who}{when}{late}")
        else:
            who = " ".join(mention(p) for p in i.approvers) or "no approver (a lead decides)"
            lines.append(
                f"{i.ref} {i.title} · awaiting {who} · waiting {format_age(i.created_at, now)}"
            )
    return _more(lines, total, "/raid list decisions, /raid list changes")


@dataclass(frozen=True)
class _Totals:
    """Every count a digest shows, from one query."""

    blockers: int
    decisions: int
    changes: int
    risks: int
    late_reviews: int
    unowned: int
    overdue: int
    active: int


def _filters(now: datetime) -> dict[str, ItemFilter]:
    return {
        "blockers": OPEN_BLOCKERS,
        "decisions": PENDING_DECISIONS,
        "changes": PROPOSED_CHANGES,
        "risks": OPEN_RISKS,
        "late_reviews": dataclasses.replace(OPEN_RISKS, due_before=now),
        "unowned": UNOWNED_BLOCKERS,
        "overdue": dataclasses.replace(DATED, due_before=now),
        "active": ACTIVE,
    }


async def _risk_lines(
    uow: UnitOfWork, channel: ChannelKey, totals: _Totals, tz: str, now: datetime
) -> tuple[str, ...]:
    if not totals.risks:
        return ()
    top = await uow.items.find(channel, OPEN_RISKS, order=ItemOrder.SCORE, limit=TOP_RISKS)
    lines = [
        f"{r.ref} {r.title} · score {r.score if r.score else '—'} · "
        + (mention(r.owner) if r.owner else "no owner")
        for r in top
    ]
    if not totals.late_reviews:
        return tuple(lines)
    late = dataclasses.replace(OPEN_RISKS, due_before=now)
    reviews = [
        f"{r.ref} review was due {format_datetime(r.due_at, tz, now)}"
        for r in await uow.items.find(channel, late, limit=SHOWN)
        if r.due_at
    ]
    return tuple(lines) + _more(reviews, totals.late_reviews, "/raid list risks")


async def _warning_lines(uow: UnitOfWork, channel: ChannelKey, totals: _Totals) -> tuple[str, ...]:
    lines: list[str] = []
    moved = dataclasses.replace(ACTIVE, min_date_moves=DATE_MOVES)
    for item in await uow.items.find(channel, moved, limit=SHOWN):
        lines.append(f"{item.ref} has had its date moved {item.date_moves} times")
    if totals.unowned:
        refs = [
            str(b.ref) for b in await uow.items.find(channel, UNOWNED_BLOCKERS, limit=SHOWN_REFS)
        ]
        lines.append(f"Blockers without an owner: {_refs(refs, totals.unowned)}")
    if totals.blockers >= MANY_BLOCKERS:
        for person, count in await uow.items.owner_counts(
            channel, OPEN_BLOCKERS, at_least=MANY_BLOCKERS
        ):
            lines.append(f"{mention(person)} owns {count} open blockers")
    return tuple(lines)


async def build(
    uow: UnitOfWork,
    channel: ChannelKey,
    since: datetime | None,
    now: datetime,
    tz: str,
) -> tuple[Reply, bool]:
    """The digest, and whether it has anything to say (changes or open items).

    One query counts everything; each section then reads at most the lines it shows, on
    indexes, so the cost follows the changes since ``since`` and what is shown, not the
    history kept or the size of the backlog.
    """
    since = since or now - FIRST_DIGEST_LOOKBACK
    items = uow.items
    changed = await items.events_since(channel, since)
    filters = _filters(now)
    totals = _Totals(
        **dict(zip(filters, await items.counts(channel, list(filters.values())), strict=True))
    )
    blockers = await items.find(channel, OPEN_BLOCKERS, limit=SHOWN) if totals.blockers else []
    needs = sorted(
        (await items.find(channel, PENDING_DECISIONS, limit=SHOWN) if totals.decisions else [])
        + (await items.find(channel, PROPOSED_CHANGES, limit=SHOWN) if totals.changes else []),
        key=lambda i: (i.created_at, i.number),
    )[:SHOWN]
    needs_total = totals.decisions + totals.changes
    sections = [
        Section(
            f"What changed since {format_datetime(since, tz, now)}",
            _changed_lines(changed) or ("Nothing changed.",),
        ),
        Section(
            f"What is blocked ({totals.blockers})",
            _blocked_lines(blockers, totals.blockers, tz, now) or ("Nothing is blocked.",),
        ),
        Section(
            f"What needs a decision ({needs_total})",
            _decision_lines(needs, needs_total, tz, now) or ("No decision is waiting.",),
        ),
        Section(
            f"Top risks ({totals.risks})",
            await _risk_lines(uow, channel, totals, tz, now) or ("No open risks.",),
        ),
    ]
    warnings = await _warning_lines(uow, channel, totals) if totals.active else ()
    if warnings:
        sections.append(Section("Warning signs", warnings))
    headline = (
        f"Digest: {len(changed)} change{'s' if len(changed) != 1 else ''}, "
        f"{totals.blockers} open blocker{'s' if totals.blockers != 1 else ''}"
        + (f" ({totals.overdue} overdue)" if totals.overdue else "")
        + f", {needs_total} waiting for a decision"
    )
    reply = Reply(text=headline, visibility=Visibility.CHANNEL, sections=tuple(sections))
    return reply, bool(changed or totals.active)
