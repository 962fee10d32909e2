"""Help where people look for it: ``<command> help`` and ``<command> ?`` on every command,
``/raid help <subcommand>`` for every subcommand, and a typo of a command shows its usage."""

from __future__ import annotations

import pytest

from bot.commands.registry import COMMANDS, RAID_SUBCOMMANDS
from bot.messages import Request, Tone
from bot.views.plain import render_text
from tests.unit.conftest import Chat

COMMAND_NAMES = sorted(COMMANDS)


def seen(reply: object) -> str:
    """What the user reads, with the line wrapping undone."""
    return " ".join(render_text(reply).split())  # type: ignore[arg-type]


@pytest.mark.parametrize("command", COMMAND_NAMES)
@pytest.mark.parametrize("word", ["help", "?", "HELP", " help "])
async def test_command_help_shows_usage_and_creates_nothing(
    chat: Chat, command: str, word: str
) -> None:
    reply = await chat.say(f"/{command} {word}")
    text = seen(reply)
    assert reply.tone is not Tone.ERROR, text
    if command == "raid":  # /raid help is the list of every command
        assert "`/raid help <command>`" in text
    else:
        assert "Usage: " + " ".join(COMMANDS[command].usage.split()) in text
        assert COMMANDS[command].example in text
    assert chat.items() == []  # nothing was logged
    assert chat.store.state.schedules == {} or all(
        not s.enabled for s in chat.store.state.schedules.values()
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/standup help", ("/standup schedule weekdays 09:30", "away: Away until a date")),
        ("/digest ?", ("weekly: Post a digest once a week",)),
        ("/raid help", ("resolve: resolve a blocker", "`/blocker help`")),
        # issue 16: the days off, the richer schedules and the standup settings
        ("/raid help", ("work week (`workweek sun-thu`)", "public holidays (`holidays DE-BY`)",
                        "extra days off (`holidays add 2026-12-24`)")),
        ("/raid help", ("weekly or every other week, monthly", "late answers, reminders, mentions",
                        "(mode dm local, tz)", "observers")),
        ("/standup help", ("every other monday, first monday, last friday or day 1",
                           "late: Take answers after the close", "reminder: When members",
                           "mentions: Whether the summary", "tz: Your own time zone",
                           "mode thread|dm|dm local", "add: Add a named standup")),
        ("/digest help", ("weekly every other <day> <HH:MM>", "monthly: Post a digest once a month",
                          "add: Keep another digest schedule", "remove: Remove a digest schedule",
                          "daily [weekdays] <HH:MM>")),
        ("/raid help settings", ("workweek: The working days", "holidays: Public holidays",
                                 "show: This channel's time zone, leads, nudges, work week")),
    ],
)  # fmt: skip
async def test_commands_with_subcommands_list_them(
    chat: Chat, line: str, expected: tuple[str, ...]
) -> None:
    text = seen(await chat.say(line))
    for words in expected:
        if words == "`/blocker help`":
            assert "`<command> help`" in text
            continue
        assert words in text, text


def _raid_paths() -> list[str]:
    paths = []
    for sub in RAID_SUBCOMMANDS:
        if sub.name == "help":
            continue
        paths.append(sub.name)
        paths.extend(f"{sub.name} {s.name}" for s in sub.subcommands)
    return paths


@pytest.mark.parametrize("path", _raid_paths())
@pytest.mark.parametrize("form", ["/raid help {path}", "/raid {path} help", "/raid {path} ?"])
async def test_raid_help_on_every_subcommand(chat: Chat, path: str, form: str) -> None:
    reply = await chat.say(form.format(path=path))
    text = seen(reply)
    assert reply.tone is not Tone.ERROR, text
    assert f"/raid {path}:" in text
    assert "Usage: /raid " + path.split()[0] in text
    assert chat.items() == []


@pytest.mark.parametrize(
    ("line", "heading", "usage"),
    [
        ("/raid help standup schedule", "/standup schedule:", "/standup schedule <days>"),
        ("/standup away help", "/standup away:", "/standup away [@who] until <date>"),
        ("/digest weekly ?", "/digest weekly:", "/digest weekly <day> <HH:MM>"),
        ("/raid help /blocker", "/blocker:", "Usage: /blocker"),
        ("/decision needed help", "/decision:", "Usage: /decision"),
        ("/standup design help", "/standup:", "Usage: /standup"),
        ("/standup design away ?", "/standup away:", "/standup away [@who] until <date>"),
        ("/help risk", "/risk:", "Usage: /risk"),
        ("/raid help settings holidays", "/raid settings holidays:",
         "Usage: /raid settings holidays <country[-region]>|off | holidays add|remove <date>"),
        ("/raid settings workweek help", "/raid settings workweek:",
         "Usage: /raid settings workweek <days> (mon-fri, sun-thu, sat-wed or mon,tue,thu) "
         "Example: /raid settings workweek sun-thu"),
        ("/raid help settings holidays", "Example: /raid settings holidays DE-BY", ""),
        ("/standup schedule help", "/standup schedule:", "every other monday, first monday"),
        ("/standup retro schedule ?", "/standup schedule:", "last friday or day 1"),
        ("/digest weekly help", "/digest weekly:", "weekly every other <day> <HH:MM> [zone]"),
    ],
)  # fmt: skip
async def test_help_on_standup_and_digest_subcommands(
    chat: Chat, line: str, heading: str, usage: str
) -> None:
    await chat.say("/standup add design")
    text = seen(await chat.say(line))
    assert heading in text and usage in text, text
    assert chat.items() == []


@pytest.mark.parametrize(
    ("line", "title"),
    [
        ("/blocker Need help", "Need help"),
        ("/risk Nobody to ask for help", "Nobody to ask for help"),
    ],
)
async def test_help_as_the_last_word_of_a_title_still_logs(
    chat: Chat, line: str, title: str
) -> None:
    await chat.say(line)
    assert [i.title for i in chat.items()] == [title]


async def test_unknown_help_topic_suggests_the_closest(chat: Chat) -> None:
    reply = await chat.say("/raid help resolv")
    assert reply.tone is Tone.ERROR
    assert "Did you mean `resolve`?" in reply.text


@pytest.mark.parametrize(
    ("line", "suggested"),
    [
        ("/blockr Waiting on creds", "blocker"),
        ("/rsik Vendor may slip", "risk"),
        ("/standp now", "standup"),
        ("/digets now", "digest"),
        ("/decison needed Pick a vendor", "decision"),
    ],
)
async def test_a_typo_of_a_command_shows_that_commands_usage(
    chat: Chat, line: str, suggested: str
) -> None:
    reply = await chat.say(line)
    assert reply.tone is Tone.ERROR
    assert f"Did you mean `/{suggested}`?" in reply.text
    assert reply.usage == COMMANDS[suggested].usage
    assert chat.items() == []


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("blocker", {"title": "help"}),
        ("risk", {"title": "?"}),
        ("change", {"title": " help "}),
    ],
)
async def test_help_as_the_only_option_on_a_platform_shows_help(
    chat: Chat, command: str, options: dict[str, str]
) -> None:
    request = Request(chat.channel, "ana", command=command, options=options)
    reply = await chat.core.handle(request)
    assert f"Usage: {' '.join(COMMANDS[command].usage.split())}" in seen(reply)
    assert chat.items() == []


async def test_help_next_to_other_options_is_a_title_word(chat: Chat) -> None:
    options = {"title": "help", "owner": "dana"}
    await chat.core.handle(Request(chat.channel, "ana", command="blocker", options=options))
    assert [i.title for i in chat.items()] == ["help"]


@pytest.mark.parametrize(
    ("line", "suggested"),
    [("/raid resolv B-1", "resolve"), ("/raid snoze B-1 2d", "snooze"), ("/raid fnd x", "find")],
)
async def test_a_typo_of_a_raid_subcommand_shows_that_subcommands_usage(
    chat: Chat, line: str, suggested: str
) -> None:
    reply = await chat.say(line)
    assert reply.tone is Tone.ERROR
    assert f"Did you mean `{suggested}`?" in reply.text
    assert reply.usage == COMMANDS["raid"].subcommand(suggested).usage  # type: ignore[union-attr]
