"""The ``raidline`` command: ``run``, ``console``, ``migrate``, ``export``, ``import``,
``import-csv``, ``leads``, ``rotate-tokens``, ``sign-request``.

Expected failures end with one line on stderr and a status: 2 for configuration (a malformed
setting, an unusable database URL, a wrong combination of options), 1 when the database cannot
be reached, a channel is unknown, or a backup is malformed or its target not empty. Only an
unexpected error is logged with its traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from adapters.console import PLATFORM as CONSOLE
from adapters.console import WORKSPACE as CONSOLE_WORKSPACE
from adapters.logging import configure_logging
from adapters.platform import EXIT_CONFIG, EXIT_OK, EXIT_UNAVAILABLE, StartupError
from adapters.runtime.bootstrap import bootstrap
from adapters.runtime.config import ConfigError, Settings, load_settings
from adapters.runtime.database import database_display, migrate_database, open_engine
from adapters.runtime.lifecycle import DEFAULT_CHANNEL, default_user, run, run_console
from adapters.runtime.timetable import CronTimetable
from adapters.runtime.tokens import rotate_tokens
from adapters.slack import signing
from bot.commands.calls import ImportCsv
from bot.dispatcher import Core
from bot.domain.model import ChannelKey
from bot.errors import RaidlineError, UsageError
from bot.messages import Request, Tone
from bot.ports import SystemClock
from bot.services import items
from bot.text.parsing import parse_people
from bot.views.plain import render_text
from storage import backup
from storage.uow import make_read_only_uow_factory

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
        "--channel", default=DEFAULT_CHANNEL, help="the channel (default: general)"
    )
    commands.add_parser("migrate", help="apply database migrations and print the revision")
    export = commands.add_parser(
        "export",
        help="write a channel's full log with history, or with --all a backup of every channel",
    )
    which = export.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--channel",
        metavar="ID",
        help="the console channel name or a platform channel id; platform:workspace:channel "
        "when the id is in several workspaces",
    )
    which.add_argument(
        "--all",
        action="store_true",
        dest="all_channels",
        help="every channel with its settings, schedules and full log: the backup "
        "`raidline import` restores (JSON only)",
    )
    export.add_argument("--format", required=True, choices=EXPORT_FORMATS, dest="fmt")
    export.add_argument(
        "--output", type=Path, metavar="FILE", help="write here instead of standard output"
    )
    restore = commands.add_parser(
        "import", help="restore a backup made by `raidline export --all` into an empty database"
    )
    restore.add_argument("file", metavar="FILE", help="the backup file; - reads standard input")
    register = commands.add_parser(
        "import-csv",
        help="import a register kept in a spreadsheet (CSV) into a channel: a dry run "
        "unless --apply",
        description="Read a CSV register (columns kind, title, owner, due, likelihood, "
        "impact, status, details, ...; see the README's 'Importing a register') and show what "
        "would be created row by row, and which rows are wrong and why. With --apply, create "
        "every row in one transaction, or nothing if any row is wrong.",
    )
    register.add_argument("file", metavar="FILE", help="the CSV file; - reads standard input")
    register.add_argument(
        "--channel",
        metavar="ID",
        required=True,
        help="the console channel name or a platform channel id; platform:workspace:channel "
        "for a channel raidline has not seen yet",
    )
    register.add_argument(
        "--workspace",
        metavar="W",
        help="the channel's workspace (Slack team id, Discord server id), when the channel "
        "id is in several",
    )
    mode = register.add_mutually_exclusive_group()
    mode.add_argument("--apply", action="store_true", help="create the items (default: a dry run)")
    mode.add_argument(
        "--dry-run", action="store_true", help="only show what would be created (the default)"
    )
    register.add_argument(
        "--user",
        help="who imports: the items' reporter and the history's 'imported by' "
        "(a platform user id on Slack or Discord; default: $USER, else 'me')",
    )
    leads = commands.add_parser(
        "leads",
        help="show or set a channel's leads (an operator's way back into a locked channel)",
    )
    leads.add_argument(
        "--channel",
        metavar="ID",
        required=True,
        help="the console channel name or a platform channel id; platform:workspace:channel "
        "when the id is in several workspaces",
    )
    what = leads.add_mutually_exclusive_group(required=True)
    what.add_argument("--show", action="store_true", help="print the channel's leads")
    what.add_argument(
        "--set",
        nargs="+",
        metavar="PERSON",
        dest="people",
        help="make these people the leads (@name, <@U123> or a platform user id)",
    )
    what.add_argument(
        "--clear", action="store_true", help="no leads: everyone may do what a lead may"
    )
    sign = commands.add_parser(
        "sign-request",
        help="print a curl command that sends a slash command, signed with "
        "SLACK_SIGNING_SECRET, to raidline's Slack HTTP mode",
        description="Print a curl command that sends a slash command to raidline's Slack HTTP "
        "mode, signed with SLACK_SIGNING_SECRET as Slack signs it. The signature is good for "
        "five minutes. Example: raidline sign-request /blocker Waiting on the API keys @dana",
    )
    sign.add_argument("slash", metavar="/COMMAND", help="the slash command, e.g. /blocker")
    sign.add_argument("text", nargs="*", metavar="TEXT", help="what follows the command")
    sign.add_argument(
        "--url",
        help="where raidline listens (default: http://127.0.0.1:RAIDLINE_HTTP_PORT/slack/events)",
    )
    sign.add_argument("--team", default=signing.LOCAL_TEAM, help="the workspace id")
    sign.add_argument("--channel", default=signing.LOCAL_CHANNEL, help="the channel id")
    sign.add_argument("--user", default=signing.LOCAL_USER, help="the user id of who types it")
    sign.add_argument("--response-url", default="", help="where raidline sends its private answers")
    commands.add_parser(
        "rotate-tokens",
        help="re-encrypt every stored Slack token with RAIDLINE_SECRET_KEY "
        "(the old key in RAIDLINE_SECRET_KEY_OLD)",
    )
    return parser


def check_export_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``--all`` writes the JSON backup only; anything else is a usage error (status 2)."""
    if args.command == "export" and args.all_channels and args.fmt != "json":
        parser.error(
            f"export --all writes a full backup, which is JSON only; "
            f"use --format json (not {args.fmt})"
        )


def check_leads_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``leads --set``: each PERSON must be a person (a usage error, status 2, if not)."""
    if args.command == "leads" and args.people is not None:
        try:
            args.people = parse_people(" ".join(args.people))
        except UsageError as exc:
            parser.error(exc.message)


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
    """A channel's register: people by the names the platform gives when this process has
    its token, else by id, which the export (and standard error) says once."""
    # here, not at the top: the platforms' people lookups load slack-sdk and discord.py,
    # which `raidline run` on the console never needs (memory and start-up time)
    from adapters.runtime.directories import no_names_note, platform_names

    engine = await open_engine(settings, migrate_sqlite=False)
    try:
        uow_factory = make_read_only_uow_factory(engine)
        async with uow_factory() as uow:
            channels = await uow.channels.channels()
        channel = find_channel(channels, ident)
        core = Core(uow_factory, default_timezone=settings.timezone, timetable=CronTimetable())
        async with platform_names(settings, channel.platform) as directory:
            note = None
            if directory is not None:
                core.directories[channel.platform] = directory
            else:
                note = no_names_note(channel.platform)
            if note:
                print(f"raidline: {note}", file=sys.stderr, flush=True)
            file = await core.export_channel(channel, fmt, note=note)
    finally:
        await engine.dispose()
    await _write_output(file.content, output)
    return EXIT_OK


def _leads_line(channel: ChannelKey, leads: Sequence[str]) -> str:
    if not leads:
        return f"{channel} has no leads: everyone there may do what a lead may."
    return f"Leads of {channel}: {' '.join('@' + p for p in leads)}"


async def channel_leads(settings: Settings, ident: str, people: Sequence[str] | None) -> int:
    """``raidline leads --channel ID --show|--set PERSON...|--clear``: through the core's use
    cases, one line saying what the leads are (now)."""
    wanted = None if people is None else list(people)
    parts = await bootstrap(settings)
    try:
        async with parts.uow_factory() as uow:
            channel = find_channel(await uow.channels.channels(), ident)
            if wanted is None:
                current = await items.channel_settings(uow, channel)
            else:
                current = await items.operator_set_leads(uow, channel, wanted)
                await uow.commit()
                log.info("operator set the leads of %s to %s", channel, " ".join(wanted) or "none")
    finally:
        await parts.close()
    print(_leads_line(channel, current.leads), flush=True)
    return EXIT_OK


async def export_all(settings: Settings, output: Path | None) -> int:
    """``raidline export --all --format json``: the backup of every channel.

    It runs next to the bot: it reads one snapshot without holding up the bot's writes, and
    never migrates the database (a database at another revision is refused).
    """
    engine = await open_engine(settings, migrate_sqlite=False)
    try:
        async with backup.snapshot_uow_factory(engine)() as uow:
            document = await backup.export_all(uow, SystemClock().now())
    finally:
        await engine.dispose()
    await _write_output(backup.encode_backup(document), output)
    return EXIT_OK


async def _write_output(content: bytes, output: Path | None) -> None:
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
    else:
        await asyncio.to_thread(output.write_bytes, content)
        _error(f"wrote {len(content)} bytes to {output}")


def _read_input(source: str) -> bytes:
    return sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()


async def import_backup(settings: Settings, source: str) -> int:
    """``raidline import FILE``: restore a backup into an empty database.

    The file is read and checked before the database is touched; a malformed file, or a
    database that already has channels or items, is one line and status 1, nothing written.
    """
    name = "standard input" if source == "-" else source
    try:
        data = await asyncio.to_thread(_read_input, source)
    except OSError as exc:
        _error(f"can't read {name}: {exc.strerror or exc}")
        return EXIT_UNAVAILABLE
    try:
        document = backup.parse(data)
    except backup.BackupError as exc:
        _error(f"{name}: {exc.message}")
        return EXIT_UNAVAILABLE
    parts = await bootstrap(settings)  # migrates SQLite, checks PostgreSQL
    try:
        report = await backup.restore(
            parts.database, document, now=parts.core.clock.now(), timetable=parts.core.timetable
        )
    except backup.BackupError as exc:
        _error(exc.message)
        return EXIT_UNAVAILABLE
    finally:
        await parts.close()
    print(report, flush=True)
    return EXIT_OK


def import_channel(channels: Sequence[ChannelKey], ident: str, workspace: str | None) -> ChannelKey:
    """The channel a register goes to: a stored one (``--workspace`` picks among several
    of that id), else a new one named ``platform:workspace:channel``, or a console channel."""
    wanted = ident.strip().lstrip("#")
    if workspace:
        matches = [c for c in channels if c.channel == wanted and c.workspace == workspace]
        if len(matches) == 1:
            return matches[0]
    try:
        return find_channel(channels, wanted)
    except ChannelLookupError:
        parts = wanted.split(":")
        if len(parts) == 3 and all(parts):
            return ChannelKey(parts[0], parts[1], parts[2])
        known = any(c.channel == wanted for c in channels)
        if not known and workspace is None and wanted and ":" not in wanted:
            return ChannelKey(CONSOLE, CONSOLE_WORKSPACE, wanted)
        raise


async def import_register(
    settings: Settings,
    source: str,
    ident: str,
    *,
    workspace: str | None,
    apply: bool,
    user: str | None,
) -> int:
    """``raidline import-csv FILE --channel ID [--apply]``: through the same command as
    ``/raid import``, as the installation's operator (no lead needed). Prints what the chat
    would say; status 0 when every row is fine, 1 when a row is wrong or nothing could be
    read."""
    name = "standard input" if source == "-" else Path(source).name
    try:
        data = await asyncio.to_thread(_read_input, source)
    except OSError as exc:
        _error(f"can't read {source}: {exc.strerror or exc}")
        return EXIT_UNAVAILABLE
    parts = await bootstrap(settings)
    try:
        async with parts.uow_factory() as uow:
            channel = import_channel(await uow.channels.channels(), ident, workspace)
        who = user or default_user()
        hint = f"`raidline import-csv {source} --channel {channel} --apply`"
        request = Request(
            channel, who, command="raid", attachments={name: data}, user_is_admin=True
        )
        reply = await parts.core.handle(request, call=ImportCsv(name, apply, hint))
    finally:
        await parts.close()
    # wrapped to a terminal's width; one line per row when read by a program
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 10_000
    print(render_text(reply, width=width), flush=True)
    return EXIT_UNAVAILABLE if reply.tone is Tone.ERROR else EXIT_OK


async def migrate(settings: Settings) -> int:
    revision = await migrate_database(settings)
    print(
        f"Database {database_display(settings)} is at revision {revision or 'none'}.",
        flush=True,
    )
    return EXIT_OK


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        return await run(settings)
    if args.command == "console":
        return await run_console(
            settings,
            user=args.user,
            channel=args.channel,
            show_banner=sys.stdin.isatty(),
            # a person at the console can open /raid dashboard's link on this machine
            serve_health=sys.stdin.isatty(),
        )
    if args.command == "migrate":
        return await migrate(settings)
    if args.command == "export":
        if args.all_channels:
            return await export_all(settings, args.output)
        return await export_channel(settings, args.channel, args.fmt, args.output)
    if args.command == "import":
        return await import_backup(settings, args.file)
    if args.command == "import-csv":
        return await import_register(
            settings,
            args.file,
            args.channel,
            workspace=args.workspace,
            apply=args.apply,
            user=args.user,
        )
    if args.command == "leads":
        people = [] if args.clear else args.people
        return await channel_leads(settings, args.channel, people)
    if args.command == "rotate-tokens":
        print(await rotate_tokens(settings), flush=True)
        return EXIT_OK
    raise AssertionError(f"unhandled command {args.command!r}")


def sign_request(settings: Settings, args: argparse.Namespace) -> int:
    """``raidline sign-request /COMMAND TEXT...``: print the signed request as a curl command."""
    secret = settings.slack_signing_secret
    if secret is None:
        _error(
            "sign-request signs with SLACK_SIGNING_SECRET, which is not set; set it to the "
            "signing secret raidline's HTTP mode checks (the app's Basic Information page)"
        )
        return EXIT_CONFIG
    names = settings.slack_command_names
    command = args.slash if args.slash.startswith("/") else "/" + args.slash
    if command not in names.values():
        known = ", ".join(names.values())
        _error(f"{command} is not one of raidline's Slack commands; they are {known}")
        return EXIT_CONFIG
    url = args.url or f"http://127.0.0.1:{settings.http_port}{signing.EVENTS_PATH}"
    body = signing.slash_command_body(
        command,
        " ".join(args.text),
        team=args.team,
        channel=args.channel,
        user=args.user,
        response_url=args.response_url,
    )
    headers = signing.signature_headers(body, secret.get_secret_value(), int(time.time()))
    print(signing.curl_command(url, body, headers), flush=True)
    return EXIT_OK


def _error(message: str) -> None:
    sys.stdout.flush()
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``raidline`` console script. Returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    check_export_args(parser, args)
    check_leads_args(parser, args)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_CONFIG
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    try:
        settings = load_settings()
    except ConfigError as exc:
        _error(exc.message)
        return EXIT_CONFIG
    if args.command == "sign-request":
        return sign_request(settings, args)
    configure_logging(settings.log_level, settings.log_format, secrets=settings.secret_values())
    try:
        return asyncio.run(_dispatch(args, settings))
    except ConfigError as exc:
        _error(exc.message)
        return EXIT_CONFIG
    except StartupError as exc:
        _error(exc.message)
        return exc.status
    except ChannelLookupError as exc:
        _error(str(exc))
        return EXIT_UNAVAILABLE
    except RaidlineError as exc:  # e.g. the database went away during an export
        _error(exc.message)
        return EXIT_UNAVAILABLE
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``raidline export ... | head``): nothing left to say.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_UNAVAILABLE
    except Exception as exc:
        log.exception("raidline %s failed unexpectedly", args.command)
        _error(f"unexpected error ({type(exc).__name__}); the log above has the details.")
        return EXIT_UNAVAILABLE
