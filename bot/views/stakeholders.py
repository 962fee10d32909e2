"""How stakeholder updates read: the direct messages, and ``/raid stakeholders``' replies."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.domain.model import STAKEHOLDER_LEVELS, ChannelKey, ChannelSettings
from bot.messages import Outgoing, Reply, Section, Tone, Visibility
from bot.services.stakeholder_updates import Notice
from bot.text.dates import format_date
from bot.text.parsing import mention

#: What each level gets, as ``/raid stakeholders list`` and help say it.
LEVEL_WORDS = {
    "weekly": "the weekly digest",
    "decisions": "decisions needed and taken",
    "escalations": "escalations (a risk occurred, a blocker long overdue, a milestone at risk "
    "or missed)",
}
USAGE = (
    "/raid stakeholders add @who <level>… | remove @who [level…] | list "
    f"(levels: {', '.join(STAKEHOLDER_LEVELS)})"
)


def channel_mention(channel: ChannelKey) -> str:
    """``<#C123>``: a live channel link on Slack and Discord, ``#C123`` in the console."""
    return f"<#{channel.channel}>"


def _levels(levels: Sequence[str]) -> str:
    return ", ".join(levels)


def _footer(channel: ChannelKey, level: str) -> str:
    return (
        f"_You get {LEVEL_WORDS[level].split(' (')[0]} of {channel_mention(channel)} as a "
        "stakeholder; a lead there can change that with `/raid stakeholders`._"
    )


def _date(facts: Mapping[str, Any], key: str, tz: str, now: datetime) -> str | None:
    value = facts.get(key)
    return format_date(datetime.fromisoformat(value), tz, now) if value else None


def notice_text(notice: Notice, channel: ChannelKey, now: datetime) -> str:
    """The first lines of a notification (its headline names the event and the channel)."""
    f, tz, where = notice.facts, notice.timezone, channel_mention(channel)
    item = f"{f.get('ref')} “{f.get('title')}”"
    due = _date(f, "due", tz, now)
    lines: list[str]
    if notice.event == "decision_needed":
        lines = [f"Decision needed in {where}: {item}"]
        who = f"Decider: {mention(f['owner'])}" if f.get("owner") else "No decider named yet"
        lines.append(who + (f", decide by {due}." if due else "."))
    elif notice.event == "decision_taken":
        lines = [f"Decision taken in {where}: {item}"]
        decided = f"Decided: {f.get('outcome') or '(no outcome written)'}"
        lines.append(decided + f" (by {mention(f['by'])})." if f.get("by") else decided + ".")
        if f.get("rationale"):
            lines.append(f"Why: {f['rationale']}")
    elif notice.event == "risk_occurred":
        lines = [f"Escalation from {where}: risk {item} has occurred."]
        marked = f"Marked by {mention(f['by'])}" if f.get("by") else "Marked occurred"
        linked = f"; it is now blocker {f['linked']}" if f.get("linked") else ""
        lines.append(marked + linked + ".")
        if f.get("note"):
            lines.append(f"Note: {f['note']}")
    elif notice.event == "blocker_overdue":
        days = int(f.get("days") or 0)
        lines = [
            f"Escalation from {where}: blocker {item} is {days} working "
            f"day{'s' if days != 1 else ''} overdue."
        ]
        owner = f"owner {mention(f['owner'])}" if f.get("owner") else "nobody owns it"
        lines.append(f"Due {due}, {owner}." if due else f"{owner.capitalize()}.")
    elif notice.event in ("milestone_at_risk", "milestone_missed"):
        state = "is at risk" if notice.event == "milestone_at_risk" else "missed its date"
        lines = [f"Escalation from {where}: milestone {item} {state}."]
        if f.get("why"):
            lines.append(f"Why: {f['why']}")
        if due:
            lines.append(f"Due {due}.")
    else:
        lines = [f"Update from {where}: {item}"]
    return "\n".join(lines)


def notice(notice: Notice, channel: ChannelKey, now: datetime) -> Outgoing:
    """A direct message about one event to one stakeholder."""
    level = "decisions" if notice.event.startswith("decision") else "escalations"
    text = notice_text(notice, channel, now) + "\n" + _footer(channel, level)
    tone = Tone.ERROR if level == "escalations" else Tone.INFO
    return Outgoing(channel, Reply(text=text, tone=tone), to_user=notice.person)


def weekly(digest: Reply, channel: ChannelKey, person: str) -> Outgoing:
    """The channel's weekly digest, copied to a stakeholder: headed with the channel, and
    without buttons (they act in the channel, not in a direct message)."""
    text = f"Weekly digest of {channel_mention(channel)}\n{digest.text}\n" + _footer(
        channel, "weekly"
    )
    copy = dataclasses.replace(
        digest,
        text=text,
        actions=(),
        cards=tuple(dataclasses.replace(c, actions=()) for c in digest.cards),
        sections=tuple(
            dataclasses.replace(s, cards=tuple(dataclasses.replace(c, actions=()) for c in s.cards))
            for s in digest.sections
        ),
    )
    return Outgoing(channel, copy, to_user=person)


# --- /raid stakeholders --------------------------------------------------------------------


def listing(settings: ChannelSettings, weekly_digest: bool) -> Reply:
    people = settings.stakeholders
    lines = [f"{mention(p)}: {_levels(levels)}" for p, levels in people.items()]
    notes = [
        f"Escalated: blockers more than {settings.escalate_after_days} working days overdue "
        "(`/raid settings escalations <days>`)."
    ]
    if any("weekly" in levels for levels in people.values()) and not weekly_digest:
        notes.append(NO_WEEKLY)
    text = (
        f"Stakeholders of this channel ({len(people)})"
        if people
        else "This channel has no stakeholders yet: `/raid stakeholders add @cfo weekly`."
    )
    sections = (
        Section("Stakeholders", tuple(lines)) if lines else None,
        Section("Levels", tuple(f"{k}: {v}" for k, v in LEVEL_WORDS.items())),
        Section("Notes", tuple(notes)),
    )
    return Reply(text=text, sections=tuple(s for s in sections if s), usage=USAGE)


NO_WEEKLY = (
    "This channel has no weekly digest yet, so `weekly` stakeholders get nothing until one "
    "is set: `/digest weekly fri 16:00`."
)


def added(people: Sequence[str], levels: Sequence[str], weekly_digest: bool) -> Reply:
    who = " ".join(mention(p) for p in people)
    text = (
        f"{who} {'gets' if len(people) == 1 else 'get'} {_levels(levels)} from this channel "
        "by direct message (held on their days off until their next working day)."
    )
    if "weekly" in levels and not weekly_digest:
        text += "\n" + NO_WEEKLY
    return Reply(text=text, visibility=Visibility.CHANNEL, tone=Tone.SUCCESS)


def removed(changes: Mapping[str, tuple[str, ...]]) -> Reply:
    if not changes:
        return Reply(text="Nothing to remove: `/raid stakeholders list` shows who gets what.")
    parts = [f"{mention(p)} no longer gets {_levels(levels)}" for p, levels in changes.items()]
    return Reply(text="; ".join(parts) + ".", visibility=Visibility.CHANNEL, tone=Tone.SUCCESS)


def home_lines(found: Sequence[tuple[ChannelKey, tuple[str, ...]]]) -> tuple[str, ...]:
    """App Home: the channels whose stakeholder updates a person gets, and which."""
    return tuple(f"{channel_mention(channel)}: {_levels(levels)}" for channel, levels in found)
