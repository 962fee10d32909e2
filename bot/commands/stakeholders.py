"""/raid stakeholders add|remove|list: who gets which updates by direct message."""

from __future__ import annotations

from collections.abc import Mapping

from bot.commands import calls
from bot.domain.model import STAKEHOLDER_LEVELS
from bot.errors import UsageError
from bot.messages import Reply
from bot.services import stakeholders as svc
from bot.services.items import Context
from bot.text.parsing import closest, find_mentions, refuse_broadcast
from bot.views import stakeholders as views

USAGE = views.USAGE
EXAMPLE = "/raid stakeholders add @cfo weekly"
SUMMARY = (
    "who gets updates by direct message: `weekly` (the weekly digest), `decisions` (needed "
    "and taken), `escalations` (a risk occurred, a blocker long overdue, a milestone at "
    "risk); `remove`, `list`"
)
ACTIONS = ("add", "remove", "list")
#: ``all`` in a typed command: every level
ALL = "all"


def parse_stakeholders(ctx: Context, args: str) -> calls.Stakeholders:
    words = args.split()
    if not words:
        return calls.Stakeholders()
    action = words[0].lower()
    if action not in ACTIONS:
        near = closest(action, list(ACTIONS))
        hint = f" Did you mean `{near}`?" if near else ""
        raise UsageError(f"`{words[0]}` is not add, remove or list.{hint}", usage=USAGE)
    if action == "list":
        if len(words) > 1:
            raise UsageError("`/raid stakeholders list` takes nothing more.", usage=USAGE)
        return calls.Stakeholders()
    people: list[str] = []
    levels: list[str] = []
    for word in words[1:]:
        level = word.lower().strip(",")
        if level in STAKEHOLDER_LEVELS or level == ALL:
            levels += STAKEHOLDER_LEVELS if level == ALL else [level]
            continue
        refuse_broadcast(word)
        named = find_mentions(word)
        if not named:
            near = closest(level, [*STAKEHOLDER_LEVELS, ALL])
            hint = f" Did you mean `{near}`?" if near else ""
            raise UsageError(
                f"`{word}` is neither a person (`@cfo`) nor a level "
                f"({', '.join(STAKEHOLDER_LEVELS)}).{hint}",
                usage=USAGE,
            )
        people += [p for p in named if p not in people]
    return _checked(action, people, levels)


def _checked(action: str, people: list[str], levels: list[str]) -> calls.Stakeholders:
    if not people:
        raise UsageError(
            f"Say who: `/raid stakeholders {action} @cfo"
            + (" weekly`." if action == "add" else "`."),
            usage=USAGE,
        )
    if action == "add" and not levels:
        raise UsageError(
            f"Say what they get: {', '.join(STAKEHOLDER_LEVELS)} (or several), e.g. "
            "`/raid stakeholders add @cfo weekly decisions`.",
            usage=USAGE,
        )
    return calls.Stakeholders(action, tuple(people), tuple(dict.fromkeys(levels)))


def convert_stakeholders(
    ctx: Context, action: str, options: Mapping[str, str]
) -> calls.Stakeholders:
    """Discord's ``/project stakeholders add|remove|list`` with typed options."""
    if action == "list":
        return calls.Stakeholders()
    person = (options.get("person") or "").strip()
    levels = [
        value
        for name in ("level", "level_2", "level_3")
        if (value := (options.get(name) or "").strip())
    ]
    expanded = [*STAKEHOLDER_LEVELS] if ALL in levels else levels
    return _checked(action, [person] if person else [], expanded)


async def stakeholders(ctx: Context, call: calls.Stakeholders) -> Reply:
    if call.action == "add":
        await svc.add(ctx, call.people, call.levels)
        return views.added(call.people, call.levels, await svc.has_weekly_digest(ctx))
    if call.action == "remove":
        return views.removed(await svc.remove(ctx, call.people, call.levels))
    return views.listing(ctx.settings, await svc.has_weekly_digest(ctx))


__all__ = [
    "EXAMPLE",
    "SUMMARY",
    "USAGE",
    "convert_stakeholders",
    "parse_stakeholders",
    "stakeholders",
]
