"""The plan around the items: milestones and their derived health, dependencies between items,
and the links items keep to the team's tracker.

Pure functions over items: :func:`milestone_health` says how a milestone stands from the items
linked to it; :func:`dependency_cycle` refuses a dependency that would close a loop;
:func:`parse_tracker_link` and :func:`tracker_url` read and resolve tracker links safely.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.domain.model import Item, Kind, Status

#: A risk scored this high (likelihood × impact) puts the milestones it is linked to at risk.
AT_RISK_SCORE = 15
#: A milestone due within this many working days, with items still open, is at risk.
AT_RISK_WORKING_DAYS = 5
#: A milestone whose date moved this often is a warning sign.
SLIPS_WARNING = 2


class Health(StrEnum):
    """A milestone's health, derived from its date and the items linked to it."""

    DONE = "done"
    ON_TRACK = "on track"
    AT_RISK = "at risk"
    MISSED = "missed"
    WITHDRAWN = "withdrawn"
    DEFERRED = "deferred"


@dataclass(frozen=True)
class HealthReport:
    """A milestone's health and why (``B-3 is open``, ``due in 3 working days``)."""

    health: Health
    reasons: tuple[str, ...] = ()


def working_days_until(
    start: date, end: date, day_off: Callable[[date], str | None], *, cap: int = 60
) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end`` is
    ``start`` or before it); counting stops past ``cap``."""
    days, day = 0, start
    while day < end and days <= cap:
        day += timedelta(days=1)
        if day_off(day) is None:
            days += 1
    return days


def linked_to(milestone: Item, items: Iterable[Item]) -> list[Item]:
    """The items linked to ``milestone``: those that are part of it and those it depends on."""
    ref = str(milestone.ref)
    return [
        i
        for i in items
        if i.id != milestone.id
        and (i.milestone == ref or str(i.ref) in milestone.depends_on)
        and i.kind is not Kind.MILESTONE
    ]


def milestone_health(
    milestone: Item,
    linked: Sequence[Item],
    now: datetime,
    tz: str,
    day_off: Callable[[date], str | None],
) -> HealthReport:
    """Done, on track, at risk or missed (SPEC: issue 18, item 1).

    - done: the milestone is marked done;
    - missed: its date has passed and it is not done;
    - at risk: an open blocker or a risk scored :data:`AT_RISK_SCORE` or more is linked to
      it, or its date is within :data:`AT_RISK_WORKING_DAYS` working days (``day_off`` says
      which local days are not) while items linked to it are still open;
    - on track: otherwise.
    """
    if milestone.status is Status.DONE:
        return HealthReport(Health.DONE)
    if milestone.status is Status.WITHDRAWN:
        return HealthReport(Health.WITHDRAWN)
    if milestone.status is Status.DEFERRED:
        return HealthReport(Health.DEFERRED)
    if milestone.due_at is not None and milestone.due_at <= now:
        return HealthReport(Health.MISSED, ("its date has passed",))
    reasons: list[str] = []
    open_items = [i for i in linked if i.active]
    for item in open_items:
        if item.kind is Kind.BLOCKER:
            reasons.append(f"blocker {item.ref} is open")
        elif item.kind is Kind.RISK and (item.score or 0) >= AT_RISK_SCORE:
            reasons.append(f"risk {item.ref} scores {item.score}")
    if milestone.due_at is not None and open_items:
        zone = ZoneInfo(tz)
        days = working_days_until(
            now.astimezone(zone).date(), milestone.due_at.astimezone(zone).date(), day_off
        )
        if days <= AT_RISK_WORKING_DAYS:
            plural = "" if days == 1 else "s"
            reasons.append(
                f"due in {days} working day{plural} with {len(open_items)} item"
                f"{'' if len(open_items) == 1 else 's'} open"
            )
    if reasons:
        return HealthReport(Health.AT_RISK, tuple(reasons))
    return HealthReport(Health.ON_TRACK)


def healths(
    items: Sequence[Item], now: datetime, tz: str, day_off: Callable[[date], str | None]
) -> dict[str, HealthReport]:
    """Milestone ref -> its health, for every milestone among ``items`` (a channel's items)."""
    return {
        str(m.ref): milestone_health(m, linked_to(m, items), now, tz, day_off)
        for m in items
        if m.kind is Kind.MILESTONE
    }


# --- dependencies ----------------------------------------------------------------------------


def dependency_cycle(ref: str, target: str, items: Iterable[Item]) -> list[str] | None:
    """The loop ``ref depends on target`` would close (``[B-2, B-4, B-2]``), or None.

    ``items``: the channel's items, whose ``depends_on`` are followed from ``target``.
    """
    if ref == target:
        return [ref, ref]
    graph: dict[str, tuple[str, ...]] = {str(i.ref): i.depends_on for i in items}
    path: dict[str, str] = {}
    stack, seen = [target], {target}
    while stack:
        node = stack.pop()
        for nxt in graph.get(node, ()):
            if nxt == ref:
                chain = [node]
                while chain[-1] != target:
                    chain.append(path[chain[-1]])
                return [ref, *reversed(chain), ref]
            if nxt not in seen:
                seen.add(nxt)
                path[nxt] = node
                stack.append(nxt)
    return None


def dependents(ref: str, items: Iterable[Item]) -> list[Item]:
    """The items that depend on ``ref``."""
    return [i for i in items if ref in i.depends_on]


# --- tracker links ---------------------------------------------------------------------------

#: A tracker key: a project prefix, a dash, a number (``JIRA-123``, ``OPS-7``).
KEY_RE = re.compile(r"^([A-Z][A-Z0-9_]{0,19})-(\d{1,9})$")
#: A pattern's prefix (``JIRA``).
PREFIX_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,19}$")
MAX_URL_CHARS = 500
#: Links an item keeps at most.
MAX_LINKS = 10
#: Characters no link may hold: they would end or bend the chat markup around it.
_UNSAFE = re.compile(r"[\s<>|\"'`\\\[\]()]")
#: What an item's owner is never confused with: the refs of raidline's own items.
_OWN_PREFIXES = frozenset(k.prefix for k in Kind)


class LinkError(ValueError):
    """Why a tracker link or pattern is refused (the message is for the user)."""


def safe_url(text: str) -> str:
    """``text`` as an http(s) address safe to show as a link; :class:`LinkError` if not."""
    url = text.strip()
    if len(url) > MAX_URL_CHARS:
        raise LinkError(f"A link is at most {MAX_URL_CHARS} characters.")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise LinkError(
            f"`{_shown(url)}` is not a link raidline keeps: only http:// and https:// "
            "addresses, or a tracker key such as JIRA-123."
        )
    if _UNSAFE.search(url) or "@" in parts.netloc:
        raise LinkError(
            f"`{_shown(url)}` holds characters a link can't carry (spaces, quotes, brackets, "
            "a user name before the host); paste the address as the tracker shows it."
        )
    return url


def _shown(text: str) -> str:
    clean = re.sub(r"[`<>]", "", text)
    return clean if len(clean) <= 60 else clean[:57] + "..."


def is_tracker_key(text: str) -> bool:
    m = KEY_RE.match(text.strip())
    return m is not None and not (len(m.group(1)) == 1 and m.group(1) in _OWN_PREFIXES)


def parse_tracker_link(text: str) -> str:
    """A tracker key (``JIRA-123``, upper-cased) or a safe http(s) URL; :class:`LinkError`."""
    value = text.strip()
    if is_tracker_key(value.upper()) and "/" not in value:
        return value.upper()
    if "://" in value:
        return safe_url(value)
    raise LinkError(
        f"`{_shown(value)}` is neither a tracker key (JIRA-123) nor an http(s) address."
    )


def parse_pattern(prefix: str, pattern: str) -> tuple[str, str]:
    """``JIRA=https://acme.atlassian.net/browse/{}`` split and checked."""
    key = prefix.strip().upper()
    if not PREFIX_RE.match(key) or (len(key) == 1 and key in _OWN_PREFIXES):
        raise LinkError(
            f"`{_shown(prefix)}` is not a tracker prefix: letters and digits, starting with a "
            "letter, e.g. JIRA or OPS."
        )
    if pattern.count("{}") != 1:
        raise LinkError(
            "A pattern has one `{}` where the key goes, e.g. "
            "`JIRA=https://acme.atlassian.net/browse/{}`."
        )
    safe_url(pattern.replace("{}", "KEY-1"))
    return key, pattern.strip()


def tracker_url(link: str, patterns: Mapping[str, str]) -> str | None:
    """Where a link goes: a URL itself; a key through its prefix's pattern (None without)."""
    if "://" in link:
        return link
    m = KEY_RE.match(link)
    if m is None:
        return None
    pattern = patterns.get(m.group(1))
    return pattern.replace("{}", link) if pattern else None


__all__ = [
    "AT_RISK_SCORE",
    "AT_RISK_WORKING_DAYS",
    "MAX_LINKS",
    "SLIPS_WARNING",
    "Health",
    "HealthReport",
    "LinkError",
    "dependency_cycle",
    "dependents",
    "healths",
    "is_tracker_key",
    "linked_to",
    "milestone_health",
    "parse_pattern",
    "parse_tracker_link",
    "safe_url",
    "tracker_url",
    "working_days_until",
]
