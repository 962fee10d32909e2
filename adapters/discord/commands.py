"""The slash commands, generated from the core's command table (:data:`COMMANDS`).

Each command of the table becomes a slash command; a command with subcommands becomes a group
(``/raid``, ``/standup``, ``/digest``, and ``/raid settings`` inside ``/raid``). Every option is
declared as the table says: its type, description, choices, autocomplete (refs), length limits
and whether it is required. discord.py reads a command's options from its callback's signature,
so each callback is given an explicit ``__signature__`` built from the table.

A callback hands the typed values on as they are (:meth:`Interactions.run_command`): user ids,
ref text, date text, choice values, ``true``/``false``; an option not given is left out.
"""

from __future__ import annotations

import inspect
import keyword
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, Protocol, cast

import discord
from discord import app_commands

from adapters.discord.interactions import Interactions
from bot.commands.registry import (
    COMMANDS,
    DISCORD_OVERFLOW,
    Command,
    Option,
    OptionType,
    Subcommand,
)


class _HasInteractions(Protocol):
    interactions: Interactions


def _handler(interaction: discord.Interaction[Any]) -> Interactions:
    return cast(_HasInteractions, interaction.client).interactions


async def ref_autocomplete(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    return await _handler(interaction).autocomplete(interaction, current)


Callback = Callable[..., Coroutine[Any, Any, None]]

_PLAIN: Mapping[OptionType, type] = {
    OptionType.TEXT: str,
    OptionType.LONG_TEXT: str,
    OptionType.DATE: str,
    OptionType.CHOICE: str,
    OptionType.REF: str,
    OptionType.USER: discord.User,
    OptionType.INTEGER: int,
    OptionType.BOOLEAN: bool,
    OptionType.ATTACHMENT: discord.Attachment,
}


def _annotation(option: Option) -> Any:
    """The parameter annotation discord.py turns into the option's type and limits."""
    base = _PLAIN.get(option.type)
    if base is None:
        raise TypeError(f"option {option.name!r}: no Discord option type for {option.type}")
    annotation: Any = base
    if base is str and (option.min_length is not None or option.max_length is not None):
        annotation = app_commands.Range[str, option.min_length, option.max_length]
    return annotation if option.required else annotation | None


def _param(option: Option) -> str:
    """The callback's parameter for ``option`` (renamed back when its name is a keyword)."""
    return option.name + "_" if keyword.iskeyword(option.name) else option.name


def _value(value: Any) -> str:
    """An option's value as the core takes it: a person's id, ``true``/``false``, text."""
    if isinstance(value, discord.abc.User):
        return str(value.id)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, discord.Attachment):
        return value.filename
    return str(value)


def _callback(command: str, path: str | None, options: Sequence[Option]) -> Callback:
    """A callback whose signature declares ``options``; it passes their values on typed."""

    async def callback(interaction: discord.Interaction[Any], **given: Any) -> None:
        typed = {
            o.name: _value(given[_param(o)]) for o in options if given.get(_param(o)) is not None
        }
        files = [v for v in given.values() if isinstance(v, discord.Attachment)]
        await _handler(interaction).run_command(interaction, command, path, typed, files)

    parameters = [
        inspect.Parameter(
            "interaction",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=discord.Interaction,
        )
    ]
    for option in options:
        parameters.append(
            inspect.Parameter(
                _param(option),
                inspect.Parameter.KEYWORD_ONLY,
                annotation=_annotation(option),
                default=inspect.Parameter.empty if option.required else None,
            )
        )
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    callback.__qualname__ = callback.__name__ = (path or command).replace(" ", "_")

    renamed = {_param(o): o.name for o in options if _param(o) != o.name}
    choices = {
        _param(o): [app_commands.Choice(name=c.label, value=c.value) for c in o.choices]
        for o in options
        if o.choices
    }
    completes = {_param(o): ref_autocomplete for o in options if o.autocomplete}
    decorated: Any = app_commands.describe(**{_param(o): o.description for o in options})(callback)
    if renamed:
        decorated = app_commands.rename(**renamed)(decorated)
    if choices:
        decorated = app_commands.choices(**choices)(decorated)
    if completes:
        decorated = app_commands.autocomplete(**completes)(decorated)
    return cast(Callback, decorated)


def _subcommand(
    command: str, sub: Subcommand, parent: str | None
) -> app_commands.Command[Any, ..., None] | app_commands.Group:
    path = f"{parent} {sub.name}" if parent else sub.name
    if sub.subcommands:
        group = app_commands.Group(name=sub.name, description=sub.description)
        for child in sub.subcommands:
            if not child.text_only:
                group.add_command(_subcommand(command, child, path))
        return group
    return app_commands.Command(
        name=sub.name,
        description=sub.description,
        callback=_callback(command, path, sub.options),
    )


def build_command(spec: Command) -> app_commands.Command[Any, ..., None] | app_commands.Group:
    """One slash command (or group) for one command of the table; guild channels only."""
    if spec.subcommands:
        group = app_commands.Group(name=spec.name, description=spec.description, guild_only=True)
        for sub in spec.subcommands:
            # aliases such as ``rename`` are typed only; overflow has its own command
            if not sub.text_only and sub.discord_command is None:
                group.add_command(_subcommand(spec.name, sub, None))
        return group
    command: app_commands.Command[Any, ..., None] = app_commands.Command(
        name=spec.name,
        description=spec.description,
        callback=_callback(spec.name, None, spec.options),
    )
    command.guild_only = True
    return command


def build_overflow(name: str) -> app_commands.Group | None:
    """The top-level command ``name`` of :data:`DISCORD_OVERFLOW`: the subcommands of the
    table's commands that live under it on Discord. They run as the command they belong to."""
    group = app_commands.Group(name=name, description=DISCORD_OVERFLOW[name], guild_only=True)
    for spec in COMMANDS.values():
        for sub in spec.subcommands:
            if sub.discord_command == name and not sub.text_only:
                group.add_command(_subcommand(spec.name, sub, None))
    return group if group.commands else None


def install_commands(tree: app_commands.CommandTree[Any]) -> None:
    """Every command of the core's table, built fresh for this tree."""
    for spec in COMMANDS.values():
        tree.add_command(build_command(spec))
    for name in DISCORD_OVERFLOW:
        overflow = build_overflow(name)
        if overflow is not None:
            tree.add_command(overflow)
