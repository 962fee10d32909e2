"""Channel digests: what changed, what is blocked, what needs a decision, risks, warnings."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from bot.commands.parsing import mention
from bot.dates import format_age, format_datetime
from bot.messages import Reply, Section, Visibility
from bot.model import ChannelKey, Event, Item, Kind, Status
from bot.ports import UnitOfWork

#: How far back a channel's first digest looks.
FIRST_DIGEST_LOOKBACK = timedelta(days=7)
#: One person owning this many open blockers is a warning sign.
MANY_BLOCKERS = 3
TOP_RISKS = 5

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
        parts = [f"{w} {', '.join(words[w])}" for w in order if w in words]
        lines.append(f"{kind.plural.capitalize()}: " + "; ".join(parts))
    return tuple(lines)


def _blocked_lines(blockers: list[Item], tz: str, now: datetime) -> tuple[str, ...]:
    lines = []
    for b in sorted(blockers, key=lambda i: i.created_at):
        owner = mention(b.owner) if b.owner else "no owner"
        line = f"{b.ref} {b.title} · {owner} · age {format_age(b.created_at, now)}"
        if b.due_at:
            line += f" · due {format_datetime(b.due_at, tz, now)}"
        if b.overdue(now):
            line += " · OVERDUE"
        lines.append(line)
    return tuple(lines)


def _decision_lines(items: list[Item], tz: str, now: datetime) -> tuple[str, ...]:
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
    return tuple(lines)


def _risk_lines(risks: list[Item], tz: str, now: datetime) -> tuple[str, ...]:
    top = sorted(risks, key=lambda r: (-(r.score or 0), r.created_at))[:TOP_RISKS]
    lines = [
        f"{r.ref} {r.title} · score {r.score if r.score else '—'} · "
        + (mention(r.owner) if r.owner else "no owner")
        for r in top
    ]
    for r in risks:
        if r.due_at and r.due_at < now:
            lines.append(f"{r.ref} review was due {format_datetime(r.due_at, tz, now)}")
    return tuple(lines)


async def _warning_lines(uow: UnitOfWork, active: list[Item]) -> tuple[str, ...]:
    lines: list[str] = []
    events = await uow.items.events([i.stored_id for i in active])
    for item in active:
        moves = sum(
            1
            for e in events[item.stored_id]
            for c in e.changes
            if c.field == "due_at" and c.old is not None
        )
        if moves >= 2:
            lines.append(f"{item.ref} has had its date moved {moves} times")
    blockers = [i for i in active if i.kind is Kind.BLOCKER]
    unowned = [str(b.ref) for b in blockers if not b.owner]
    if unowned:
        lines.append(f"Blockers without an owner: {', '.join(unowned)}")
    owners = Counter(b.owner for b in blockers if b.owner)
    for person, count in owners.most_common():
        if count >= MANY_BLOCKERS:
            lines.append(f"{mention(person)} owns {count} open blockers")
    return tuple(lines)


async def build(
    uow: UnitOfWork,
    channel: ChannelKey,
    since: datetime | None,
    now: datetime,
    tz: str,
) -> tuple[Reply, bool]:
    """The digest, and whether it has anything to say (changes or open items)."""
    since = since or now - FIRST_DIGEST_LOOKBACK
    changed = await uow.items.events_since(channel, since)
    active = await uow.items.list(
        channel, statuses=[Status.OPEN, Status.PENDING, Status.PROPOSED, Status.APPROVED]
    )
    blockers = [i for i in active if i.kind is Kind.BLOCKER]
    needs = [
        i
        for i in active
        if i.kind is Kind.DECISION or (i.kind is Kind.CHANGE and i.status is Status.PROPOSED)
    ]
    risks = [i for i in active if i.kind is Kind.RISK]
    sections = [
        Section(
            f"What changed since {format_datetime(since, tz, now)}",
            _changed_lines(changed) or ("Nothing changed.",),
        ),
        Section(
            f"What is blocked ({len(blockers)})",
            _blocked_lines(blockers, tz, now) or ("Nothing is blocked.",),
        ),
        Section(
            f"What needs a decision ({len(needs)})",
            _decision_lines(needs, tz, now) or ("No decision is waiting.",),
        ),
        Section(f"Top risks ({len(risks)})", _risk_lines(risks, tz, now) or ("No open risks.",)),
    ]
    warnings = await _warning_lines(uow, active)
    if warnings:
        sections.append(Section("Warning signs", warnings))
    overdue = sum(1 for i in active if i.overdue(now))
    headline = (
        f"Digest: {len(changed)} change{'s' if len(changed) != 1 else ''}, "
        f"{len(blockers)} open blocker{'s' if len(blockers) != 1 else ''}"
        + (f" ({overdue} overdue)" if overdue else "")
        + f", {len(needs)} waiting for a decision"
    )
    reply = Reply(text=headline, visibility=Visibility.CHANNEL, sections=tuple(sections))
    return reply, bool(changed or active)
