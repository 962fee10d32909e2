"""Typed options in the shapes the core accepts today, for commands without a ``convert``.

A slash command's options reach the core as ``Request(command, subcommand, options)`` when the
core's command table gives that (sub)command a ``convert`` (options -> typed call). Until every
entry has one, this module is the stand-in: it writes a subcommand's options in the core's text
grammar, a logging command's options as its form's values, and ``/raid decide`` as the form of
the decide button (which keeps a comma in the outcome where the text grammar would split it).
It goes away once the table converts everything.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.commands.registry import COMMANDS, Option, OptionType

Options = Mapping[str, str]


def converts(command: str, subcommand: str | None) -> bool:
    """Whether the core takes this (sub)command's typed options as they are."""
    spec = COMMANDS.get(command)
    if spec is None:
        return False
    node = spec.subcommand(subcommand) if subcommand else spec
    return node is not None and node.convert is not None


def form_values(command: str, options: Options) -> dict[str, str]:
    """A logging command's options as its form's field values (``approver`` -> ``approvers``)."""
    values: dict[str, str] = {}
    for option in COMMANDS[command].options:
        value = options.get(option.name, "").strip()
        if not value:
            continue
        name = option.field or option.name
        values[name] = " ".join(dict.fromkeys((*values.get(name, "").split(), value)))
    if command == "decision" and values.get("title") and not values.get("state"):
        values["state"] = "needed" if values.get("by") else "decided"
    return values


def decide_action(options: Options) -> tuple[str, dict[str, str]]:
    """``/raid decide``: the decide form's action id and values."""
    values = {"outcome": options.get("outcome", ""), "rationale": options.get("rationale", "")}
    return f"decide:{_ref(options.get('ref'))}", values


def _ref(text: str | None) -> str:
    words = (text or "").split()
    return words[0] if words else ""


def _people(options: Options, *names: str) -> str:
    return " ".join(dict.fromkeys(f"<@{options[n]}>" for n in names if options.get(n)))


def _words(*parts: str | None) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def _generic(path: str, table: tuple[Option, ...], options: Options) -> str:
    """The path, then each option's value in the table's order; people together."""
    parts: list[str | None] = [path]
    users = [o.name for o in table if o.type is OptionType.USER]
    for option in table:
        if option.type is OptionType.USER:
            if option.name == users[0]:
                parts.append(_people(options, *users))
        elif option.type is OptionType.REF:
            parts.append(_ref(options.get(option.name)))
        elif option.type is not OptionType.BOOLEAN:
            parts.append(options.get(option.name))
    return _words(*parts)


def as_text(command: str, subcommand: str, options: Options) -> str:
    """A group's subcommand and its options in the core's text grammar."""
    o = options
    match command, subcommand:
        case ("standup", "status") | ("digest", "now"):
            return ""
        case "raid", "settings show":
            return "settings"
        case "raid", "settings leads":
            who = "none" if o.get("clear") == "true" else _people(o, "lead", "lead_2", "lead_3")
            return _words("settings leads", who)
        case "raid", "list":
            return _words(
                "list", o.get("filter"), "all" if o.get("include_closed") == "true" else None
            )
        case "raid", "supersede":
            by = o.get("by")
            return _words("supersede", _ref(o.get("ref")), f"by {_ref(by)}" if by else None)
        case "raid", "export":
            return _words("export", o.get("format") or "md")
        case "standup", "skip":
            return _words("skip", o.get("day") or "today")
        case "standup", "away":
            return _words("away", _people(o, "who"), "until", o.get("until"))
    sub = COMMANDS[command].subcommand(subcommand)
    return _generic(subcommand, sub.options if sub else (), options)
