"""How an import of a register reads: the dry run row by row, the wrong rows and why, and
what was created."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.domain import kinds
from bot.domain.model import Item, Kind
from bot.messages import Reply, Section, Tone, Visibility
from bot.text.dates import format_datetime
from bot.text.parsing import mention


@dataclass
class RowResult:
    """One row: the item it would create (or created), or what is wrong with it."""

    number: int
    item: Item | None = None
    errors: list[str] = field(default_factory=list)
    #: said about the row although it is fine (a decision that waits on its decider)
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    source: str
    rows: list[RowResult]
    ignored_columns: tuple[str, ...]
    applied: bool = False

    @property
    def wrong(self) -> list[RowResult]:
        return [r for r in self.rows if r.errors]


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one}" if n == 1 else f"{n} {many or one + 's'}"


def row_line(number: int, item: Item, tz: str, now: datetime) -> str:
    """``row 2: B-3 Waiting on firewall change · blocker · owner <@dana> · due … · open``."""
    row = kinds.KINDS[item.kind]
    parts = [f"row {number}: {item.ref} {item.title}", item.kind.label]
    if item.kind is Kind.CHANGE:
        if item.approvers:
            parts.append("approvers " + ", ".join(mention(p) for p in item.approvers))
        parts.append("impact " + "; ".join(f"{a} {v}" for a, v in item.impacts.items()))
    elif item.owner:
        parts.append(f"{row.owner_label.lower()} {mention(item.owner)}")
    if item.due_at and row.date_label:
        parts.append(f"{row.date_label.lower()} {format_datetime(item.due_at, tz, now)}")
    if item.kind is Kind.RISK and item.likelihood and item.impact:
        parts.append(f"likelihood {item.likelihood}, impact {item.impact}")
    parts.append(item.status.label)
    return " · ".join(parts)


def waits_on_decider(item: Item) -> str:
    who = mention(item.owner) if item.owner else "its decider"
    return (
        f"{item.ref} will wait on {who} to decide it: a decision is recorded as taken only by "
        "the person who took it (import it yourself as its decider, or let them decide it)."
    )


def import_reply(result: ImportResult, tz: str, now: datetime, apply_hint: str) -> Reply:
    good = [r for r in result.rows if r.item is not None and not r.errors]
    wrong = result.wrong
    total = _plural(len(result.rows), "row")
    created = [row_line(r.number, r.item, tz, now) for r in good if r.item is not None]
    notes = [f"row {r.number}: {n}" for r in good for n in r.notes]
    sections: list[Section] = []
    if wrong:
        sections.append(
            Section(
                "Wrong rows (fix them in the file, then import it again)",
                tuple(f"row {r.number}: {e}" for r in wrong for e in r.errors),
            )
        )
    if result.applied:
        sections.append(Section("Imported", tuple(created)))
    elif created:
        sections.append(Section("Would create" if not wrong else "Fine", tuple(created)))
    if notes:
        sections.append(Section("Note", tuple(notes)))
    if result.ignored_columns:
        sections.append(
            Section(
                "Ignored columns",
                (", ".join(result.ignored_columns) + " (not read; refs are given out as usual)",),
            )
        )
    if result.applied:
        refs = ", ".join(str(r.item.ref) for r in good if r.item is not None)
        text = (
            f"Imported {_plural(len(good), 'item')} from {result.source}: {refs}. "
            "Their history says they were imported, by whom and from which row."
        )
        return Reply(
            text=text, visibility=Visibility.CHANNEL, tone=Tone.SUCCESS, sections=tuple(sections)
        )
    if wrong:
        head = (
            f"{result.source}: {_plural(len(wrong), 'row is', 'rows are')} wrong out of {total}, "
            "so nothing was imported. An import creates every row or none."
        )
        return Reply(text=head, tone=Tone.ERROR, sections=tuple(sections))
    text = (
        f"Dry run of {result.source}: {total}, all fine; "
        f"{_plural(len(good), 'item')} would be created. Nothing was saved. "
        f"To import them: {apply_hint}."
    )
    return Reply(text=text, sections=tuple(sections))
