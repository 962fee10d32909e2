"""The ``raidline`` command: ``run``, ``console``, ``migrate``, ``export``.

Expected failures end with one line on stderr and a status: 2 for configuration (a malformed
setting, an unusable database URL), 1 when the database cannot be reached or a channel is
unknown. Only an unexpected error is logged with its traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from adapters import runtime
from adapters.logging import configure_logging
from bot.config import ConfigError, Settings, load_settings
from bot.errors import RaidlineError
from bot.model import ChannelKey
from storage.uow import make_uow_factory

log = logging.getLogger("raidline.cli")

PROG = "raidline"
EXPORT_FORMATS = ("md", "csv", "json")


class ChannelLookupError(Exception):
    """``--channel`` names no stored channel, or several; the message lists the known ones."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="raidline keeps a team's blockers, risks, decisions and change requests "
        "in its chat channel.",
        epilog="Configuration comes from environment variables and a .env file "
        "(DATABASE_URL, RAIDLINE_TIMEZONE, SLACK_BOT_TOKEN, DISCORD_BOT_TOKEN, ...).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "run",
        help="start every configured adapter; the local console when none is configured",
    )
    console = commands.add_parser("console", help="the local console: type commands as in chat")
    console.add_argument("--user", help="who you are (default: $USER, else 'me')")
    console.add_argument(
        "--channel", default=runtime.DEFAULT_CHANNEL, help="the channel (default: general)"
    )
    commands.add_parser("migrate", help="apply database migrations and print the revision")
    export = commands.add_parser("export", help="write a channel's full log with history")
    export.add_argument(
        "--channel",
        required=True,
        metavar="ID",
        help="the console channel name or a platform channel id; platform:workspace:channel "
        "when the id is in several workspaces",
    )
    export.add_argument("--format", required=True, choices=EXPORT_FORMATS, dest="fmt")
    export.add_argument(
        "--output", type=Path, metavar="FILE", help="write here instead of standard output"
    )
    return parser


def find_channel(channels: Sequence[ChannelKey], ident: str) -> ChannelKey:
    """The stored channel ``ident`` names: a channel id/name, or ``platform:workspace:channel``."""
    wanted = ident.strip().lstrip("#")
    if wanted.count(":") == 2:
        matches = [c for c in channels if str(c) == wanted]
    else:
        matches = [c for c in channels if c.channel == wanted]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(sorted(str(c) for c in channels))
    if not matches:
        if not channels:
            raise ChannelLookupError(f"no channel {wanted!r}: the database has no channels yet")
        raise ChannelLookupError(f"no channel {wanted!r}; known channels: {known}")
    several = ", ".join(sorted(str(c) for c in matches))
    raise ChannelLookupError(f"channel {wanted!r} is in several workspaces; give one of: {several}")


async def export_channel(settings: Settings, ident: str, fmt: str, output: Path | None) -> int:
    core, engine = await runtime.build_core(settings)
    try:
        async with make_uow_factory(engine)() as uow:
            channels = await uow.channels.channels()
        channel = find_channel(channels, ident)
        file = await core.export_channel(channel, fmt)
    finally:
        await engine.dispose()
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(file.content)
        sys.stdout.buffer.flush()
    else:
        await asyncio.to_thread(output.write_bytes, file.content)
        _error(f"wrote {len(file.content)} bytes to {output}")
    return runtime.EXIT_OK


async def migrate(settings: Settings) -> int:
    revision = await runtime.migrate_database(settings)
    print(
        f"Database {runtime.database_display(settings)} is at revision {revision or 'none'}.",
        flush=True,
    )
    return runtime.EXIT_OK


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        return await runtime.run(settings)
    if args.command == "console":
        return await runtime.run_console(
            settings,
            user=args.user,
            channel=args.channel,
            show_banner=sys.stdin.isatty(),
        )
    if args.command == "migrate":
        return await migrate(settings)
    if args.command == "export":
        return await export_channel(settings, args.channel, args.fmt, args.output)
    raise AssertionError(f"unhandled command {args.command!r}")


def _error(message: str) -> None:
    sys.stdout.flush()
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``raidline`` console script. Returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return runtime.EXIT_CONFIG
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    try:
        settings = load_settings()
    except ConfigError as exc:
        _error(exc.message)
        return runtime.EXIT_CONFIG
    configure_logging(settings.log_level, settings.log_format, secrets=settings.secret_values())
    try:
        return asyncio.run(_dispatch(args, settings))
    except ConfigError as exc:
        _error(exc.message)
        return runtime.EXIT_CONFIG
    except runtime.StartupError as exc:
        _error(exc.message)
        return exc.status
    except ChannelLookupError as exc:
        _error(str(exc))
        return runtime.EXIT_UNAVAILABLE
    except RaidlineError as exc:  # e.g. the database went away during an export
        _error(exc.message)
        return runtime.EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``raidline export ... | head``): nothing left to say.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return runtime.EXIT_UNAVAILABLE
    except Exception as exc:
        log.exception("raidline %s failed unexpectedly", args.command)
        _error(f"unexpected error ({type(exc).__name__}); the log above has the details.")
        return runtime.EXIT_UNAVAILABLE
