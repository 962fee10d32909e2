"""The core's command table declares exactly the slash commands Discord is given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import discord
from discord import app_commands

from adapters.discord.client import command_schema, schema_hash
from adapters.discord.commands import install_commands
from bot.commands.registry import COMMANDS, DISCORD_OVERFLOW, Option, OptionType, Subcommand

_TYPES = {
    OptionType.USER: 6,
    OptionType.BOOLEAN: 5,
    OptionType.INTEGER: 4,
    OptionType.ATTACHMENT: 11,
}


def _option(option: Option) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": _TYPES.get(option.type, 3),
        "name": option.name,
        "description": option.description,
        "required": option.required,
    }
    if option.choices:
        out["choices"] = [{"name": c.label, "value": c.value} for c in option.choices]
    if option.autocomplete:
        out["autocomplete"] = True
    if option.min_length is not None:
        out["min_length"] = option.min_length
    if option.max_length is not None:
        out["max_length"] = option.max_length
    return out


def _sub(sub: Subcommand) -> dict[str, Any]:
    if sub.subcommands:
        return {
            "type": 2,
            "name": sub.name,
            "description": sub.description,
            "options": [_sub(s) for s in sub.subcommands if not s.text_only],
        }
    return {
        "type": 1,
        "name": sub.name,
        "description": sub.description,
        "options": [_option(o) for o in sub.options],
    }


def table_schema() -> list[dict[str, Any]]:
    """Discord's command JSON as it follows from the table alone."""
    commands = []
    for c in COMMANDS.values():
        subs = [_sub(s) for s in c.subcommands if not s.text_only and s.discord_command is None]
        options = subs or [_option(o) for o in c.options]
        commands.append(
            {
                "type": 1,
                "name": c.name,
                "description": c.description,
                "options": options,
                "contexts": [0],
                "integration_types": [0],
            }
        )
    for name, description in DISCORD_OVERFLOW.items():
        subs = [
            _sub(s)
            for c in COMMANDS.values()
            for s in c.subcommands
            if s.discord_command == name and not s.text_only
        ]
        if subs:
            commands.append(
                {
                    "type": 1,
                    "name": name,
                    "description": description,
                    "options": subs,
                    "contexts": [0],
                    "integration_types": [0],
                }
            )
    return commands


def test_the_command_table_gives_discords_schema() -> None:
    client = discord.Client(intents=discord.Intents.none())
    tree: app_commands.CommandTree[Any] = app_commands.CommandTree(
        client,
        allowed_contexts=app_commands.AppCommandContext(guild=True),
        allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
    )
    install_commands(tree)
    assert schema_hash(table_schema()) == schema_hash(command_schema(tree))


def test_the_generated_commands_are_the_ones_discord_had_before() -> None:
    """Byte for byte the schema of the hand-written commands they replaced (data/commands.json)."""
    client = discord.Client(intents=discord.Intents.none())
    tree: app_commands.CommandTree[Any] = app_commands.CommandTree(
        client,
        allowed_contexts=app_commands.AppCommandContext(guild=True),
        allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
    )
    install_commands(tree)
    saved = json.loads((Path(__file__).parent / "data" / "commands.json").read_text())
    generated = json.loads(json.dumps(command_schema(tree)))
    assert {c["name"]: c for c in generated} == {c["name"]: c for c in saved}
    assert schema_hash(generated) == schema_hash(saved)


if __name__ == "__main__":  # python -m tests.adapters.discord.test_command_table: new snapshot
    _client = discord.Client(intents=discord.Intents.none())
    _tree: app_commands.CommandTree[Any] = app_commands.CommandTree(
        _client,
        allowed_contexts=app_commands.AppCommandContext(guild=True),
        allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
    )
    install_commands(_tree)
    _path = Path(__file__).parent / "data" / "commands.json"
    _path.write_text(json.dumps(command_schema(_tree), indent=1, sort_keys=True), encoding="utf-8")
    print(f"written: {_path}")
