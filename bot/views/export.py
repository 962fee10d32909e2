"""A channel's register written out for people who never open the chat: Markdown, CSV or JSON.

Every format opens with the register (one table per kind, sorted by ref) and then gives each
item's history. People are written by name everywhere (the platform's display name, else
their id), dates are absolute (``2026-11-27 17:00`` in the time zone the header names), and
there is no chat markup. The README's "Exports" section documents every column and field.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain import kinds, plan
from bot.domain.model import IMPACT_AREAS, Event, Item, Kind
from bot.domain.plan import HealthReport
from bot.domain.scores import band
from bot.messages import File
from bot.services.export import PERSON_MARKUP_RE, ChannelLog
from bot.services.export import check_format as check_format
from bot.text.dates import format_absolute
from bot.text.markup import ANGLE_RE, live_markup
from bot.views.items import DATE_FIELDS, HIDDEN_FIELDS, history_line

_MIME = {"md": "text/markdown", "csv": "text/csv", "json": "application/json"}

#: What a spreadsheet reads as the start of a formula (or, for tab and carriage return, what
#: some programs strip before looking for one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A CSV cell a spreadsheet shows as text: ``=HYPERLINK(...)`` -> ``'=HYPERLINK(...)``.

    A text cell whose first character, or first after leading spaces (which spreadsheets
    may trim on import), starts a formula gets a leading apostrophe; anything else is
    written as it is.
    """
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + value
    return value


@dataclass(frozen=True)
class Writer:
    """How an export writes people, texts and dates: by name, without markup, absolute."""

    names: Mapping[str, str]
    tz: str
    note: str | None = None
    patterns: Mapping[str, str] = field(default_factory=dict)
    healths: Mapping[str, HealthReport] = field(default_factory=dict)

    def links(self, item: Item) -> str:
        """Tracker links as plain text: the key and its address, or the address."""
        parts = []
        for link in item.links:
            url = plan.tracker_url(link, self.patterns)
            parts.append(link if url in (None, link) else f"{link} ({url})")
        return ", ".join(parts)

    def health(self, item: Item) -> str:
        report = self.healths.get(str(item.ref))
        if report is None:
            return ""
        if report.reasons:
            return f"{report.health.value}: {'; '.join(report.reasons)}"
        return report.health.value

    def person(self, person: str) -> str:
        return self.names.get(person) or person

    def people(self, people: tuple[str, ...]) -> str:
        return ", ".join(self.person(p) for p in people)

    def text(self, text: str | None) -> str:
        """A stored text without chat markup: ``<@U1>`` -> the name, ``<#C1>`` -> ``#C1``,
        ``<https://x>`` -> ``https://x``; anything else between angle brackets as typed."""
        if not text:
            return ""

        def plain(match: Any) -> str:
            person = PERSON_MARKUP_RE.fullmatch(match.group(0))
            if person:
                return self.person(person.group(1))
            live = live_markup(match.group(1))
            if live is None:
                return str(match.group(0))
            inner = live[1:-1]
            if inner.startswith("mailto:"):
                return inner.split("|", 1)[0].removeprefix("mailto:")
            return inner

        return ANGLE_RE.sub(plain, text)

    def date(self, dt: datetime | None) -> str:
        return format_absolute(dt, self.tz) if dt else ""

    def iso(self, dt: datetime | None) -> str | None:
        return dt.astimezone(ZoneInfo(self.tz)).isoformat() if dt else None

    def history(self, item: Item, event: Event, now: datetime) -> str:
        return history_line(
            item.kind,
            event,
            self.tz,
            now,
            reporter=item.reporter,
            date=self.date,
            person=self.person,
            text=self.text,
        )


# --- the register's columns --------------------------------------------------------------


def owner_header(kind: Kind) -> str:
    return "Approvers" if kind is Kind.CHANGE else kinds.KINDS[kind].owner_label


def date_header(kind: Kind) -> str | None:
    return kinds.KINDS[kind].date_label


def _impacts(item: Item) -> str:
    # In the order of IMPACT_AREAS: PostgreSQL's JSONB does not keep the typed order.
    return "; ".join(f"{a} {item.impacts[a]}" for a in IMPACT_AREAS if a in item.impacts)


def _band(item: Item) -> str:
    """A risk's band (``medium``), from the one band function; empty while unscored."""
    return "" if item.score is None else str(band(item.score))


def _score(item: Item) -> str:
    """``12 (medium)``, as on the risk's card; empty while unscored."""
    return "" if item.score is None else f"{item.score} ({_band(item)})"


def _owner(item: Item, w: Writer) -> str:
    if item.kind is Kind.CHANGE:
        return w.people(item.approvers)
    return w.person(item.owner) if item.owner else ""


Column = tuple[str, Callable[[Item, Writer], str]]

#: Each kind's register table: (header, cell). Every table has ref, title, owner (decider,
#: approvers), status and the kind's date; risks add likelihood, impact and score with its
#: band (``12 (medium)``).
TABLES: Mapping[Kind, tuple[Column, ...]] = {
    Kind.BLOCKER: (
        ("Ref", lambda i, w: str(i.ref)),
        ("Title", lambda i, w: w.text(i.title)),
        ("Owner", _owner),
        ("Status", lambda i, w: i.status.label),
        ("Due", lambda i, w: w.date(i.due_at)),
        ("Waiting on", lambda i, w: w.text(i.waiting_on)),
    ),
    Kind.RISK: (
        ("Ref", lambda i, w: str(i.ref)),
        ("Title", lambda i, w: w.text(i.title)),
        ("Owner", _owner),
        ("Status", lambda i, w: i.status.label),
        ("Next review", lambda i, w: w.date(i.due_at)),
        ("Likelihood", lambda i, w: "" if i.likelihood is None else str(i.likelihood)),
        ("Impact", lambda i, w: "" if i.impact is None else str(i.impact)),
        ("Score", lambda i, w: _score(i)),
    ),
    Kind.DECISION: (
        ("Ref", lambda i, w: str(i.ref)),
        ("Title", lambda i, w: w.text(i.title)),
        ("Decider", _owner),
        ("Status", lambda i, w: i.status.label),
        ("Decide by", lambda i, w: w.date(i.due_at)),
        ("Outcome", lambda i, w: w.text(i.outcome)),
    ),
    Kind.CHANGE: (
        ("Ref", lambda i, w: str(i.ref)),
        ("Title", lambda i, w: w.text(i.title)),
        ("Approvers", _owner),
        ("Status", lambda i, w: i.status.label),
        ("Impact", lambda i, w: w.text(_impacts(i))),
    ),
    Kind.MILESTONE: (
        ("Ref", lambda i, w: str(i.ref)),
        ("Title", lambda i, w: w.text(i.title)),
        ("Owner", _owner),
        ("Status", lambda i, w: i.status.label),
        ("Due", lambda i, w: w.date(i.due_at)),
        ("Health", lambda i, w: w.health(i)),
        ("Date moves", lambda i, w: str(i.date_moves)),
    ),
}

#: The CSV's columns: one row per item, every kind in one table. The names are those
#: ``raidline import-csv`` reads, so an export can be imported elsewhere.
CSV_COLUMNS: tuple[Column, ...] = (
    ("Ref", lambda i, w: str(i.ref)),
    ("Kind", lambda i, w: i.kind.label),
    ("Title", lambda i, w: w.text(i.title)),
    ("Owner", _owner),
    ("Status", lambda i, w: i.status.label),
    ("Due", lambda i, w: w.date(i.due_at)),
    ("Likelihood", lambda i, w: "" if i.likelihood is None else str(i.likelihood)),
    ("Impact", lambda i, w: str(i.impact) if i.impact is not None else w.text(_impacts(i))),
    ("Score", lambda i, w: "" if i.score is None else str(i.score)),
    ("Band", lambda i, w: _band(i)),
    ("Waiting on", lambda i, w: w.text(i.waiting_on)),
    ("Response", lambda i, w: i.response or ""),
    ("Mitigation", lambda i, w: w.text(i.mitigation)),
    ("Outcome", lambda i, w: w.text(i.outcome)),
    ("Rationale", lambda i, w: w.text(i.rationale)),
    ("Decided by", lambda i, w: w.person(i.decided_by) if i.decided_by else ""),
    ("Decided at", lambda i, w: w.date(i.decided_at)),
    ("Decision note", lambda i, w: w.text(i.decision_note)),
    ("Resolution", lambda i, w: w.text(i.resolution)),
    ("Linked", lambda i, w: i.linked_ref or ""),
    ("Milestone", lambda i, w: i.milestone or ""),
    ("Depends on", lambda i, w: ", ".join(i.depends_on)),
    ("Tracker", lambda i, w: w.links(i)),
    ("Health", lambda i, w: w.health(i)),
    ("Details", lambda i, w: w.text(i.details)),
    ("Reported by", lambda i, w: w.person(i.reporter)),
    ("Reported at", lambda i, w: w.date(i.created_at)),
)


# --- the formats -----------------------------------------------------------------------------


def render(
    fmt: str,
    log: ChannelLog,
    tz: str,
    now: datetime,
    names: Mapping[str, str] | None = None,
    *,
    note: str | None = None,
) -> File:
    """``log`` as a file in ``fmt`` (md, csv, json); people by their ``names`` (by id),
    anyone not named by id; dates in ``tz``. ``note`` (why people are shown by id) is said
    once at the top of Markdown and as JSON's ``note``; a CSV has no place for it."""
    fmt = check_format(fmt)
    w = Writer(names or {}, tz, note, log.patterns, log.healths)
    stamp = now.strftime("%Y%m%d-%H%M")
    filename = f"raidline-{log.channel.channel}-{stamp}.{fmt}"
    title = f"RAID register of #{log.channel.channel}"
    body = {"md": _markdown, "csv": _csv, "json": _json}[fmt](log, w, now, title)
    return File(filename, body.encode("utf-8"), _MIME[fmt], title)


def _cell(value: str) -> str:
    """A Markdown table cell: one line, ``|`` escaped."""
    return " ".join(value.split()).replace("|", "\\|")


def _counts(log: ChannelLog) -> str:
    parts = []
    for kind, items in log.by_kind():
        parts.append(f"{len(items)} {kind.label if len(items) == 1 else kind.plural}")
    return ", ".join(parts) or "no items"


def _markdown(log: ChannelLog, w: Writer, now: datetime, title: str) -> str:
    lines = [
        f"# {title}",
        "",
        f"Exported {w.date(now)} ({w.tz}) · {_counts(log)}. All times are in {w.tz}.",
    ]
    if w.note:
        lines += ["", w.note]
    for kind, items in log.by_kind():
        columns = TABLES[kind]
        lines += ["", f"## {kind.plural.capitalize()}", ""]
        lines.append("| " + " | ".join(h for h, _ in columns) + " |")
        lines.append("|" + "---|" * len(columns))
        for item in items:
            lines.append("| " + " | ".join(_cell(cell(item, w)) for _, cell in columns) + " |")
    if log.items:
        lines += ["", "## History"]
    for item in log.items:
        lines += ["", f"### {item.ref} · {w.text(item.title)}", ""]
        for label, value in _details(item, w):
            lines.append(f"- {label}: {value}")
        if _details(item, w):
            lines.append("")
        lines += [f"- {w.history(item, e, now)}" for e in log.events_of(item)]
    return "\n".join(lines) + "\n"


def _details(item: Item, w: Writer) -> list[tuple[str, str]]:
    """What the register table leaves out, for the item's history heading."""
    rows = [
        ("Details", w.text(item.details)),
        ("Mitigation", w.text(item.mitigation)),
        ("Response", item.response or ""),
        (kinds.field_label(item.kind, "rationale").capitalize(), w.text(item.rationale)),
        ("Decision note", w.text(item.decision_note)),
        ("Resolution", w.text(item.resolution)),
        ("Linked", item.linked_ref or ""),
        ("Milestone", item.milestone or ""),
        ("Depends on", ", ".join(item.depends_on)),
        ("Tracker", w.links(item)),
        ("Revisit", w.date(item.revisit_at)),
        ("Deferred because", w.text(item.deferred_reason)),
        ("Reported", f"by {w.person(item.reporter)}, {w.date(item.created_at)}"),
    ]
    return [(label, value) for label, value in rows if value]


def _csv(log: ChannelLog, w: Writer, now: datetime, title: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([h for h, _ in CSV_COLUMNS] + ["History"])
    for item in log.items:
        row: list[object] = [cell(item, w) for _, cell in CSV_COLUMNS]
        row.append("\n".join(w.history(item, e, now) for e in log.events_of(item)))
        writer.writerow([spreadsheet_safe(v) for v in row])
    return out.getvalue()


def _json(log: ChannelLog, w: Writer, now: datetime, title: str) -> str:
    doc = {
        "title": title,
        "platform": log.channel.platform,
        "workspace": log.channel.workspace,
        "channel": log.channel.channel,
        "exported_at": w.iso(now),
        "time_zone": w.tz,
        "note": w.note,
        "items": [_json_item(item, log.events_of(item), w) for item in log.items],
        "people": {p: w.person(p) for p in log.people},
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _json_item(item: Item, events: list[Event], w: Writer) -> dict[str, Any]:
    def text(value: str | None) -> str | None:
        return w.text(value) or None

    return {
        "ref": str(item.ref),
        "kind": item.kind.value,
        "status": item.status.label,
        "title": w.text(item.title),
        "owner": w.person(item.owner) if item.owner else None,
        "owner_id": item.owner,
        "approvers": [w.person(p) for p in item.approvers],
        "approver_ids": list(item.approvers),
        "due": w.iso(item.due_at),
        "likelihood": item.likelihood,
        "impact": item.impact,
        "score": item.score,
        "band": _band(item) or None,
        "change_impact": {a: item.impacts[a] for a in IMPACT_AREAS if a in item.impacts},
        "waiting_on": text(item.waiting_on),
        "response": item.response,
        "mitigation": text(item.mitigation),
        "outcome": text(item.outcome),
        "rationale": text(item.rationale),
        "decided_by": w.person(item.decided_by) if item.decided_by else None,
        "decided_at": w.iso(item.decided_at),
        "decision_note": text(item.decision_note),
        "resolution": text(item.resolution),
        "linked": item.linked_ref,
        "milestone": item.milestone,
        "depends_on": list(item.depends_on),
        "tracker": [
            {"link": link, "url": plan.tracker_url(link, w.patterns)} for link in item.links
        ],
        "health": w.health(item) or None,
        "revisit": w.iso(item.revisit_at),
        "deferred_reason": text(item.deferred_reason),
        "details": text(item.details),
        "reported_by": w.person(item.reporter),
        "reported_at": w.iso(item.created_at),
        "updated_at": w.iso(item.updated_at),
        "events": [_json_event(item.kind, e, w) for e in events],
    }


def _json_event(kind: Kind, event: Event, w: Writer) -> dict[str, Any]:
    def value(field: str, stored: str | None) -> str | None:
        if stored is None:
            return None
        if field in DATE_FIELDS:
            try:
                return w.date(datetime.fromisoformat(stored))
            except ValueError:
                return w.text(stored)
        return w.text(stored)

    return {
        "at": w.iso(event.at),
        "by": w.person(event.actor),
        "action": event.action,
        "changes": [
            {
                "field": kinds.field_label(kind, c.field),
                "from": value(c.field, c.old),
                "to": value(c.field, c.new),
            }
            for c in event.changes
            if c.field not in HIDDEN_FIELDS
        ],
        "note": w.text(event.note) or None,
    }
