"""How a channel digest reads: the headline and its sections."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from bot.domain.model import Event, Item, Kind
from bot.messages import File, Reply, Section, Visibility
from bot.services.digests import SHOWN_REFS, Digest, Totals, Warnings
from bot.text.dates import format_age, format_datetime
from bot.text.parsing import mention
from bot.views.items import health_text, was

_CHANGE_WORDS = {
    "created": "new",
    "imported": "new",
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
    "done": "done",
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
             "approved", "rejected", "implemented", "withdrawn", "superseded", "done"]  # fmt: skip
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


def _risk_lines(digest: Digest, tz: str, now: datetime) -> tuple[str, ...]:
    if not digest.totals.risks:
        return ()
    lines = [
        f"{r.ref} {r.title} · score {r.score if r.score else '—'} · "
        + (mention(r.owner) if r.owner else "no owner")
        for r in digest.top_risks
    ]
    if not digest.totals.late_reviews:
        return tuple(lines)
    reviews = [
        f"{r.ref} review was due {format_datetime(r.due_at, tz, now)}"
        for r in digest.late_reviews
        if r.due_at
    ]
    return tuple(lines) + _more(reviews, digest.totals.late_reviews, "/raid list risks")


def _warning_lines(warnings: Warnings, totals: Totals, tz: str, now: datetime) -> tuple[str, ...]:
    lines: list[str] = []
    for item in warnings.date_moved:
        line = f"{item.ref} has had its date moved {item.date_moves} times"
        if moved := was(item, warnings.baselines.get(item.stored_id), tz, now):
            line += f" ({moved})"
        lines.append(line)
    for what, shown, total in (
        ("Blockers without an owner", warnings.unowned, totals.unowned),
        ("Blockers without a date", warnings.undated_blockers, totals.undated_blockers),
        ("Risks without an owner", warnings.unowned_risks, totals.unowned_risks),
        ("Decisions without a decider", warnings.undecided_decisions, totals.undecided_decisions),
        ("Decisions without a date", warnings.undated_decisions, totals.undated_decisions),
    ):
        if total:
            lines.append(f"{what}: {_refs([str(i.ref) for i in shown], total)}")
    for person, count in warnings.busy_owners:
        lines.append(f"{mention(person)} owns {count} open blockers")
    return tuple(lines)


def milestone_lines(d: Digest, tz: str, now: datetime) -> tuple[str, ...]:
    """``M-1 Design approved · due Fri 15 Jan · at risk: blocker B-3 is open``."""
    lines = []
    for item, report in d.milestones:
        parts = [f"{item.ref} {item.title}"]
        if item.due_at:
            parts.append(f"due {format_datetime(item.due_at, tz, now)}")
        if item.date_moves:
            parts.append(f"moved {_plural(item.date_moves, 'time')}")
        parts.append(health_text(report))
        lines.append(" · ".join(parts))
    return tuple(lines)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def headline(d: Digest) -> str:
    """``Digest: 3 changes, 4 open blockers (2 overdue), 2 waiting for a decision (1 late)``:
    overdue blockers and late decisions counted apart."""
    totals = d.totals
    return (
        f"Digest: {_plural(len(d.changed), 'change')}, "
        f"{_plural(totals.blockers, 'open blocker')}"
        + (f" ({totals.overdue_blockers} overdue)" if totals.overdue_blockers else "")
        + f", {d.needs_total} waiting for a decision"
        + (f" ({totals.late_decisions} late)" if totals.late_decisions else "")
    )


def warning_lines(warnings: Warnings, totals: Totals, tz: str, now: datetime) -> tuple[str, ...]:
    """The digest's warning signs, one line each (the dashboard shows the same lines)."""
    return _warning_lines(warnings, totals, tz, now)


def digest(d: Digest, tz: str, now: datetime) -> Reply:
    totals = d.totals
    needs_total = d.needs_total
    sections = [
        Section(
            f"What changed since {format_datetime(d.since, tz, now)}",
            _changed_lines(d.changed) or ("Nothing changed.",),
        ),
        Section(
            f"What is blocked ({totals.blockers})",
            _blocked_lines(d.blockers, totals.blockers, tz, now) or ("Nothing is blocked.",),
        ),
        Section(
            f"What needs a decision ({needs_total})",
            _decision_lines(d.needs, needs_total, tz, now) or ("No decision is waiting.",),
        ),
        Section(
            f"Top risks ({totals.risks})",
            _risk_lines(d, tz, now) or ("No open risks.",),
        ),
    ]
    if d.milestones:
        sections.append(
            Section(f"Milestones at risk ({len(d.milestones)})", milestone_lines(d, tz, now))
        )
    if d.revisit:
        sections.append(
            Section(
                f"Deferred, due for revisit ({len(d.revisit)})",
                tuple(
                    f"*{i.ref}* {i.title} · revisit {format_datetime(i.revisit_at, tz, now)}"
                    f" · `/raid reopen {i.ref}` or defer it again"
                    for i in d.revisit
                    if i.revisit_at is not None
                ),
            )
        )
    warnings = _warning_lines(d.warnings, totals, tz, now) if d.warnings else ()
    if warnings:
        sections.append(Section("Warning signs", warnings))
    return Reply(text=headline(d), visibility=Visibility.CHANNEL, sections=tuple(sections))


def chart_file(png: bytes, now: datetime) -> File:
    """The digest's picture: the 12-week trend and the risk heat map."""
    return File(
        filename=f"raidline-trends-{now:%Y-%m-%d}.png",
        content=png,
        mime_type="image/png",
        title="12-week trend and risk heat map",
    )


def with_chart(reply: Reply, png: bytes | None, now: datetime) -> Reply:
    """``reply`` carrying the chart (unchanged when no chart could be drawn)."""
    if png is None:
        return reply
    return dataclasses.replace(reply, files=(*reply.files, chart_file(png, now)))
