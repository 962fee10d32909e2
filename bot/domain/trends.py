"""The numbers behind the dashboard's charts: pure functions over items and their history.

* :func:`heat_map`: open risks by likelihood × impact (5 × 5), with the score bands;
* :func:`weekly_series`: how many blockers were open, risks open and decisions pending at the
  end of each of the last weeks, replayed from each item's status changes;
* :func:`blocker_ages`: the median time from logging a blocker to its first owner and to its
  resolution.

Nothing here reads a clock or a database: the caller passes ``now``, the items and the events.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.model import Event, Item, Kind, Status
from bot.domain.scores import Band, band

#: Likelihood and impact run from 1 to 5.
LEVELS = (1, 2, 3, 4, 5)
#: The weeks a trend line covers.
TREND_WEEKS = 12
#: The score bands, highest first (the bands themselves: :mod:`bot.domain.scores`).
SCORE_BANDS: tuple[str, ...] = (Band.HIGH.value, Band.MEDIUM.value, Band.LOW.value)

#: The series of the trend chart: (name, kind, the status counted).
SERIES: tuple[tuple[str, Kind, Status], ...] = (
    ("Open blockers", Kind.BLOCKER, Status.OPEN),
    ("Open risks", Kind.RISK, Status.OPEN),
    ("Pending decisions", Kind.DECISION, Status.PENDING),
)

_BY_LABEL: Mapping[str, Status] = {s.label: s for s in Status} | {s.value: s for s in Status}


def score_band(score: int | None) -> str | None:
    """The band of :func:`bot.domain.scores.band` (low 1-4, medium 5-12, high 15-25), as the
    cards show it; None for an unscored risk."""
    if score is None:
        return None
    return band(score).value


@dataclass(frozen=True)
class HeatMap:
    """Open risks counted by (likelihood, impact); ``unscored`` lacks one of the two."""

    cells: Mapping[tuple[int, int], int]
    unscored: int

    def count(self, likelihood: int, impact: int) -> int:
        return self.cells.get((likelihood, impact), 0)

    @property
    def total(self) -> int:
        return sum(self.cells.values()) + self.unscored

    def bands(self) -> dict[str, int]:
        """Open risks per score band, highest band first (``unscored`` last)."""
        counts = dict.fromkeys(SCORE_BANDS, 0)
        for (likelihood, impact), n in self.cells.items():
            counts[band(likelihood * impact).value] += n
        counts["unscored"] = self.unscored
        return counts


def heat_map(risks: Iterable[Item]) -> HeatMap:
    """The heat map of the open risks among ``risks``."""
    cells: dict[tuple[int, int], int] = {}
    unscored = 0
    for risk in risks:
        if risk.kind is not Kind.RISK or risk.status is not Status.OPEN:
            continue
        if risk.likelihood is None or risk.impact is None:
            unscored += 1
            continue
        key = (risk.likelihood, risk.impact)
        cells[key] = cells.get(key, 0) + 1
    return HeatMap(cells, unscored)


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[int, ...]


@dataclass(frozen=True)
class Trends:
    """Week ends (oldest first) and, per series, the count at each of them."""

    weeks: tuple[datetime, ...]
    series: tuple[Series, ...]


def week_ends(now: datetime, weeks: int = TREND_WEEKS) -> tuple[datetime, ...]:
    """``weeks`` points a week apart, the last one ``now``, oldest first."""
    return tuple(now - timedelta(weeks=k) for k in range(weeks - 1, -1, -1))


def status_change(event: Event) -> tuple[Status | None, Status] | None:
    """(old, new) status when ``event`` changed the status; None otherwise."""
    for change in event.changes:
        if change.field == "status" and change.new is not None:
            new = _BY_LABEL.get(change.new)
            if new is None:
                return None
            return (_BY_LABEL.get(change.old) if change.old else None), new
    return None


def status_at(
    item: Item, changes: Sequence[tuple[datetime, Status | None]], at: datetime
) -> Status | None:
    """The item's status at ``at`` (None before it was logged), replayed backwards from its
    status now: ``changes`` are its status changes as (when, old status), any order."""
    if item.created_at > at:
        return None
    status: Status | None = item.status
    for when, old in sorted(changes, key=lambda c: c[0], reverse=True):
        if when <= at:
            break
        status = old if old is not None else status
    return status


def weekly_series(
    items: Iterable[Item],
    events: Mapping[int, Sequence[Event]],
    now: datetime,
    weeks: int = TREND_WEEKS,
    *,
    counted: Mapping[str, Sequence[int]] | None = None,
) -> Trends:
    """Each :data:`SERIES` at each week end: the status of an item at a week end is its status
    now with every later status change undone (``events``, by item id, at least since the
    first week end).

    Without ``counted``, ``items`` are every item that may count. With it, ``counted`` holds
    per series the count at each week end of the items logged by then by their status now
    (what storage counts in one query), and ``items`` need only be those whose status changed
    since the first week end: their replayed status replaces their status now."""
    ends = week_ends(now, weeks)
    counts = {
        name: list(counted[name]) if counted is not None else [0] * len(ends)
        for name, _, _ in SERIES
    }
    for item in items:
        changes = [
            (event.at, change[0])
            for event in events.get(item.id or -1, ())
            if (change := status_change(event)) is not None and event.at > ends[0]
        ]
        for index, end in enumerate(ends):
            status = status_at(item, changes, end)
            for name, kind, wanted in SERIES:
                if item.kind is not kind:
                    continue
                if counted is not None and item.status is wanted and item.created_at <= end:
                    counts[name][index] -= 1  # counted by its status now: replayed instead
                if status is wanted:
                    counts[name][index] += 1
    return Trends(ends, tuple(Series(name, tuple(counts[name])) for name, _, _ in SERIES))


@dataclass(frozen=True)
class BlockerAges:
    """Medians over the blockers logged in the period (None when none qualified)."""

    to_owner: timedelta | None
    to_resolution: timedelta | None
    owned: int
    resolved: int


def blocker_ages(blockers: Iterable[Item], events: Mapping[int, Sequence[Event]]) -> BlockerAges:
    """Median time from logging each blocker to its first owner, and to its (last)
    resolution; a blocker logged with an owner had one at once."""
    to_owner: list[float] = []
    to_resolution: list[float] = []
    for blocker in blockers:
        if blocker.kind is not Kind.BLOCKER:
            continue
        history = sorted(events.get(blocker.id or -1, ()), key=lambda e: e.at)
        owned_at: datetime | None = None
        resolved_at: datetime | None = None
        for event in history:
            if owned_at is None and any(c.field == "owner" and c.new for c in event.changes):
                owned_at = event.at
            change = status_change(event)
            if change is not None and change[1] is Status.RESOLVED:
                resolved_at = event.at
        if owned_at is None and blocker.owner and not history:
            owned_at = blocker.created_at
        if owned_at is not None:
            to_owner.append(max(0.0, (owned_at - blocker.created_at).total_seconds()))
        if resolved_at is not None and blocker.status is Status.RESOLVED:
            to_resolution.append(max(0.0, (resolved_at - blocker.created_at).total_seconds()))
    return BlockerAges(_median(to_owner), _median(to_resolution), len(to_owner), len(to_resolution))


def _median(seconds: list[float]) -> timedelta | None:
    return timedelta(seconds=statistics.median(seconds)) if seconds else None


def age_text(age: timedelta | None) -> str:
    """``3 d 4 h``, ``5 h 10 min``, ``12 min``; ``—`` for None."""
    if age is None:
        return "—"
    minutes = int(age.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


__all__ = [
    "LEVELS",
    "SCORE_BANDS",
    "SERIES",
    "TREND_WEEKS",
    "BlockerAges",
    "HeatMap",
    "Series",
    "Trends",
    "age_text",
    "blocker_ages",
    "heat_map",
    "score_band",
    "status_at",
    "status_change",
    "week_ends",
    "weekly_series",
]
