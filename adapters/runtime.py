"""The composition root: settings -> engine -> core -> adapters.

Nothing here runs at import time; ``adapters.cli`` builds the settings once and calls in.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import re
import signal
import sys
from pathlib import Path
from typing import TextIO, cast

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.console import Console, StreamLines, wants_color
from adapters.platform import PlatformAdapter
from adapters.scheduler import Router, TickRunner
from adapters.web import WebServer, build_app
from bot.config import ConfigError, Settings, mask_url_password
from bot.dispatcher import Core
from bot.ports import Messenger
from bot.services.scheduler import Scheduler
from storage import db, migrate
from storage.uow import make_uow_factory

log = logging.getLogger("raidline.runtime")

#: Exit statuses of ``raidline``.
EXIT_OK = 0
EXIT_UNAVAILABLE = 1
EXIT_CONFIG = 2

DEFAULT_CHANNEL = "general"
_NAME_RE = re.compile(r"^[\w.\-]+$")


class StartupError(Exception):
    """Start-up cannot go on; ``str(error)`` is one line for the operator."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def database_display(settings: Settings) -> str:
    """The database URL as shown to people: no password."""
    return mask_url_password(settings.database_url)


def check_database_url(settings: Settings) -> str:
    """The URL in the driver form the engine uses; a :class:`ConfigError` when unusable."""
    try:
        return db.normalize_url(settings.database_url)
    except ValueError as exc:
        raise ConfigError(f"DATABASE_URL: {_one_line(str(exc))}") from None


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def unreachable(settings: Settings, error: BaseException | None = None) -> StartupError:
    """'can't reach the database at …' with the driver's reason, password removed."""
    reason = ""
    if error is not None:
        original = getattr(error, "orig", None) or error
        first = str(original).strip().splitlines()
        reason = _one_line(first[0]) if first else type(original).__name__
        for secret in settings.secret_values():
            reason = reason.replace(secret, "***")
    message = f"can't reach the database at {database_display(settings)}"
    if reason:
        message += f" ({reason})"
    message += "; check DATABASE_URL and that the database is running."
    return StartupError(message, EXIT_UNAVAILABLE)


async def migrate_database(settings: Settings) -> str | None:
    """Apply every migration; returns the database's revision afterwards."""
    check_database_url(settings)
    try:
        await migrate.upgrade_async(settings.database_url)
        return await asyncio.to_thread(migrate.current, settings.database_url)
    except Exception as exc:
        if db.is_unavailable_error(exc):
            raise unreachable(settings, exc) from exc
        raise


async def build_core(settings: Settings) -> tuple[Core, AsyncEngine]:
    """The core on the configured database; SQLite is migrated automatically.

    Raises :class:`ConfigError` for an unusable URL and :class:`StartupError` when the
    database cannot be reached.
    """
    check_database_url(settings)
    engine = db.create_engine(settings.database_url)
    try:
        if db.is_sqlite(engine):
            await migrate_database(settings)
        await _probe(settings, engine)
        if not db.is_sqlite(engine):
            await _check_migrated(settings)
    except BaseException:
        await engine.dispose()
        raise
    core = Core(make_uow_factory(engine), default_timezone=settings.timezone)
    return core, engine


#: Seconds start-up waits for the database before saying it cannot reach it.
CONNECT_TIMEOUT = 20.0


async def _probe(settings: Settings, engine: AsyncEngine) -> None:
    """Open one connection, so an unreachable database is one clear line at start-up."""
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT), engine.connect():
            pass
    except TimeoutError as exc:
        raise unreachable(settings, TimeoutError(f"no answer in {CONNECT_TIMEOUT:g}s")) from exc
    except Exception as exc:
        if db.is_unavailable_error(exc):
            raise unreachable(settings, exc) from exc
        raise


async def _check_migrated(settings: Settings) -> None:
    """Outside SQLite migrations are the operator's step: say so instead of failing later."""
    try:
        revision = await asyncio.to_thread(migrate.current, settings.database_url)
    except Exception as exc:
        if db.is_unavailable_error(exc):
            raise unreachable(settings, exc) from exc
        raise
    head, known = await asyncio.to_thread(migrate.known_revisions)
    if revision == head:
        return
    if revision is not None and revision not in known:
        # A newer raidline migrated it (rolling upgrade): its schema is a superset.
        log.warning("database revision %s is newer than this raidline's %s", revision, head)
        return
    raise StartupError(
        f"the database at {database_display(settings)} is at revision {revision or 'none'} "
        f"but this raidline needs {head}; run `raidline migrate` first.",
        EXIT_UNAVAILABLE,
    )


def default_user() -> str:
    """The console user: ``$USER`` when it is a plain name, else ``me``."""
    name = os.environ.get("USER", "").strip()
    return name if name and _NAME_RE.match(name) else "me"


def banner(settings: Settings, *, user: str, channel: str) -> str:
    """Two lines: where the console runs, and how to connect a chat platform instead."""
    return (
        f"raidline local console on {database_display(settings)}: you are @{user} in "
        f"#{channel}; /raid help lists the commands, /quit leaves.\n"
        "To connect Slack set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (or SLACK_SIGNING_SECRET); "
        "for Discord set DISCORD_BOT_TOKEN."
    )


async def run_console(
    settings: Settings,
    *,
    user: str | None = None,
    channel: str = DEFAULT_CHANNEL,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    show_banner: bool = False,
    files_dir: Path | None = None,
) -> int:
    """The local console on the configured database until ``/quit`` or the end of input."""
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    user = user or default_user()
    channel = channel.lstrip("#") or DEFAULT_CHANNEL
    core, engine = await build_core(settings)
    try:
        interactive = _isatty(stdin)
        console = Console(
            core,
            user=user,
            channel=channel,
            lines=StreamLines(stdin),
            out=stdout,
            interactive=interactive,
            color=interactive and wants_color(stdout),
            files_dir=files_dir,
        )
        if show_banner:
            stdout.write(banner(settings, user=console.user, channel=console.channel) + "\n")
            stdout.flush()
        ticks = start_scheduler(settings, core, {"console": console})
        try:
            return await console.run()
        finally:
            await ticks.stop()
    finally:
        await engine.dispose()


def start_scheduler(settings: Settings, core: Core, messengers: dict[str, Messenger]) -> TickRunner:
    """The scheduler tick for the platforms this process serves."""
    scheduler = Scheduler(
        core.uow_factory,
        Router(messengers),
        clock=core.clock,
        default_timezone=settings.timezone,
        platforms=frozenset(messengers),
    )
    runner = TickRunner(scheduler, settings.raidline_tick_seconds)
    runner.start()
    core.on_schedule_change = runner.wake
    return runner


#: The platform adapters: settings flag -> module and class. A new platform is one line here.
ADAPTERS: dict[str, tuple[str, str]] = {
    "slack": ("adapters.slack", "SlackAdapter"),
    "discord": ("adapters.discord", "DiscordAdapter"),
}


def enabled_platforms(settings: Settings) -> list[str]:
    flags = {"slack": settings.slack_enabled, "discord": settings.discord_enabled}
    return [name for name in ADAPTERS if flags.get(name)]


def build_adapter(
    name: str, settings: Settings, core: Core, web_app: web.Application, engine: AsyncEngine
) -> PlatformAdapter:
    module_name, class_name = ADAPTERS[name]
    cls = getattr(importlib.import_module(module_name), class_name)
    if name == "slack":
        return cast(PlatformAdapter, cls(settings, core, web_app, engine=engine))
    return cast(PlatformAdapter, cls(settings, core, web_app))


async def run(
    settings: Settings,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    user: str | None = None,
    channel: str = DEFAULT_CHANNEL,
    stop: asyncio.Event | None = None,
) -> int:
    """``raidline run``: every configured adapter; the console when none is configured."""
    platforms = enabled_platforms(settings)
    if not platforms:
        return await run_console(
            settings, user=user, channel=channel, stdin=stdin, stdout=stdout, show_banner=True
        )
    return await run_platforms(settings, platforms, stop=stop)


async def run_platforms(
    settings: Settings, platforms: list[str], *, stop: asyncio.Event | None = None
) -> int:
    """The chat adapters, the web server and the scheduler until SIGTERM/SIGINT."""
    core, engine = await build_core(settings)
    adapters: list[PlatformAdapter] = []
    server: WebServer | None = None
    ticks: TickRunner | None = None
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        app = build_app()
        adapters = [build_adapter(n, settings, core, app, engine) for n in platforms]
        server = WebServer(app, settings.raidline_http_host, settings.raidline_http_port)
        await server.start()
        for adapter in adapters:
            await adapter.start()
            log.info("%s adapter started", adapter.name)
        ticks = start_scheduler(settings, core, {a.name: a for a in adapters})
        log.info("raidline is running: %s", ", ".join(platforms))
        await stop.wait()
        log.info("stopping")
        return EXIT_OK
    finally:
        if ticks is not None:
            await ticks.stop()
        for adapter in reversed(adapters):
            try:
                await adapter.stop()
            except Exception:
                log.exception("stopping the %s adapter failed", adapter.name)
        if server is not None:
            await server.stop()
        await engine.dispose()


def _isatty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):
        return False


__all__ = [
    "EXIT_CONFIG",
    "EXIT_OK",
    "EXIT_UNAVAILABLE",
    "StartupError",
    "banner",
    "build_core",
    "migrate_database",
    "run",
    "run_console",
]
