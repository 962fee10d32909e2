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
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO, cast

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.console import Console, StreamLines, wants_color
from adapters.metrics import Metrics
from adapters.platform import (
    EXIT_CONFIG,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    AdapterDeps,
    PlatformAdapter,
    StartupError,
)
from adapters.runtime.config import ConfigError, Settings, mask_url_password
from adapters.scheduler import Router, TickRunner
from adapters.web import Readiness, WebServer, build_app
from bot.dispatcher import Core
from bot.ports import Messenger
from bot.scheduler import Scheduler
from bot.text import dates
from storage import db, migrate
from storage.process_lock import AlreadyRunning, single_process
from storage.uow import make_uow_factory

log = logging.getLogger("raidline.runtime")

DEFAULT_CHANNEL = "general"
_NAME_RE = re.compile(r"^[\w.\-]+$")


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
    # Load dateparser (~0.3 s) in the background now, not inside the first command that
    # needs it, where it would hold that command's transaction (and SQLite's write lock).
    asyncio.get_running_loop().run_in_executor(None, dates.warm_up)
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
    with one_process(settings):  # SQLite serves one raidline process
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


def start_scheduler(
    settings: Settings,
    core: Core,
    messengers: dict[str, Messenger],
    *,
    metrics: Metrics | None = None,
) -> TickRunner:
    """The scheduler tick for the platforms this process serves."""
    scheduler = Scheduler(
        core.uow_factory,
        Router(messengers),
        clock=core.clock,
        default_timezone=settings.timezone,
        platforms=frozenset(messengers),
        delivery_concurrency=settings.raidline_delivery_concurrency,
    )
    if metrics is not None:
        scheduler.observers.append(metrics.observe_tick)
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
    return cast(PlatformAdapter, cls(AdapterDeps(settings, core, web_app, engine)))


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
    """:func:`_run_platforms`, refused when another process runs on the same SQLite file."""
    with one_process(settings):
        return await _run_platforms(settings, platforms, stop=stop)


@contextlib.contextmanager
def one_process(settings: Settings) -> Iterator[None]:
    """SQLite serves one raidline process; PostgreSQL any number (scale-out)."""
    try:
        with single_process(settings.database_url):
            yield
    except AlreadyRunning as exc:
        raise StartupError(str(exc), EXIT_UNAVAILABLE) from None


async def _run_platforms(
    settings: Settings, platforms: list[str], *, stop: asyncio.Event | None = None
) -> int:
    """The chat adapters, the web server and the scheduler until SIGTERM/SIGINT.

    Then :func:`shut_down`: no new work, work in progress finished or handed back, every
    connection closed, within :data:`SHUTDOWN_DEADLINE` seconds; the status is 0.
    """
    core, engine = await build_core(settings)
    metrics = Metrics()
    core.observers.append(metrics.observe_request)
    readiness = Readiness(engine, tick_seconds=settings.raidline_tick_seconds)
    parts = Running(core=core, engine=engine, readiness=readiness)
    if stop is None:  # the real process; callers that pass ``stop`` decide when to stop
        stop = asyncio.Event()
        _on_signals(stop)
    try:
        app = build_app(readiness, metrics)
        parts.adapters = [build_adapter(n, settings, core, app, engine) for n in platforms]
        readiness.adapters = parts.adapters
        parts.server = WebServer(app, settings.raidline_http_host, settings.raidline_http_port)
        await parts.server.start()
        for adapter in parts.adapters:
            await adapter.start()
            log.info("%s adapter started", adapter.name)
        parts.ticks = start_scheduler(
            settings, core, {a.name: a for a in parts.adapters}, metrics=metrics
        )
        readiness.scheduler = parts.ticks
        parts.baseline = set(asyncio.all_tasks())
        log.info("raidline is running: %s", ", ".join(platforms))
        await stop.wait()
        return EXIT_OK
    finally:
        await shut_down(parts)


# --- graceful shutdown ---------------------------------------------------------------------

#: Seconds from the stop signal until raidline has closed everything, whatever still runs.
SHUTDOWN_DEADLINE = 8.0
#: Of those, seconds kept for closing connections after work in progress was waited for.
CLOSE_BUDGET = 2.0
#: Seconds after the deadline at which the process exits even if something still hangs.
EXIT_WATCHDOG = 1.5


@dataclass
class Running:
    """What ``run_platforms`` started, so that :func:`shut_down` can stop it in order."""

    core: Core
    engine: AsyncEngine
    readiness: Readiness
    adapters: list[PlatformAdapter] = field(default_factory=list)
    server: WebServer | None = None
    ticks: TickRunner | None = None
    #: the tasks running once start-up finished: everything later is per-request work
    baseline: set[asyncio.Task[object]] = field(default_factory=set)


def _on_signals(stop: asyncio.Event) -> None:
    """SIGTERM/SIGINT set ``stop``; from then on the process exits within the deadline."""
    loop = asyncio.get_running_loop()

    def handler(sig: signal.Signals) -> None:
        if stop.is_set():
            log.info("%s received again; already stopping", sig.name)
            return
        log.info("%s received: stopping", sig.name)
        _arm_exit_watchdog(SHUTDOWN_DEADLINE + EXIT_WATCHDOG)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, handler, sig)


def _arm_exit_watchdog(seconds: float) -> None:
    """The last resort after a stop signal: leave even if a library thread or task hangs
    (the interpreter waits for non-daemon threads, ``asyncio.run`` for cancelled tasks)."""

    def expire() -> None:
        log.error("raidline did not stop within %.1fs of the signal; exiting now", seconds)
        for handler in logging.getLogger().handlers:
            with contextlib.suppress(Exception):
                handler.flush()
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(EXIT_OK)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.name = "raidline-exit-watchdog"
    timer.start()


async def shut_down(parts: Running, *, deadline: float | None = None) -> None:
    """Stop in order, within ``deadline`` seconds:

    1. take no new work: ``/readyz`` answers 503, the core answers new requests with "raidline
       is restarting", the scheduler claims nothing more;
    2. finish work in progress: requests being handled (and the adapters' replies to them),
       the run being delivered; runs claimed but not started are handed back (pending again,
       no lease, the attempt undone);
    3. close the adapters' connections, the web server and the database engine.

    Whatever still runs when the time for step 2 is up is abandoned and logged; a run cut off
    mid-delivery keeps its lease and is delivered by any replica once the lease ends.
    """
    began = time.monotonic()
    deadline = SHUTDOWN_DEADLINE if deadline is None else deadline
    parts.readiness.stopping = True
    parts.core.accepting = False
    ticking: asyncio.Task[None] | None = None
    if parts.ticks is not None:
        parts.ticks.scheduler.stop_delivering()
        ticking = asyncio.create_task(parts.ticks.stop(), name="raidline-scheduler-stop")
    try:
        async with asyncio.timeout(max(0.5, deadline - CLOSE_BUDGET)):
            await _finish_work(parts, ticking)
        log.info("work in progress finished in %.1fs", time.monotonic() - began)
    except TimeoutError:
        await _abandon(parts, ticking)
    await _close(parts, ticking, max(0.5, deadline - (time.monotonic() - began)))
    log.info("stopped in %.1fs", time.monotonic() - began)


async def _finish_work(parts: Running, ticking: asyncio.Task[None] | None) -> None:
    """Wait (never cancelling anything) for requests, the tick, and the adapters' replies."""
    await parts.core.drain()
    if ticking is not None:
        await asyncio.wait({ticking})
    if not parts.baseline:
        return  # start-up failed: no request was ever taken
    # The adapters answer after the core returned (post the reply, update a message): wait
    # for the per-request tasks started after start-up, not for the connections' own tasks.
    while pending := _request_tasks(parts, ticking):
        log.debug("waiting for %s", ", ".join(sorted(t.get_name() for t in pending)))
        await asyncio.wait(pending)


def _request_tasks(parts: Running, ticking: asyncio.Task[None] | None) -> set[asyncio.Task[object]]:
    skip = {asyncio.current_task(), ticking}
    return {
        t
        for t in asyncio.all_tasks()
        if t not in parts.baseline and t not in skip and not t.done() and not _is_connection(t)
    }


def _is_connection(task: asyncio.Task[object]) -> bool:
    """aiohttp's task serving one kept-alive HTTP connection: it ends when the server stops."""
    name = getattr(task.get_coro(), "__qualname__", "")
    return str(name).startswith("RequestHandler.")


async def _abandon(parts: Running, ticking: asyncio.Task[None] | None) -> None:
    """The time for work in progress is up: hand back claimed runs, log what is left."""
    what: list[str] = []
    if parts.core.in_flight:
        what.append(f"{parts.core.in_flight} requests being handled")
    if parts.ticks is not None and ticking is not None and not ticking.done():
        scheduler = parts.ticks.scheduler
        keys = sorted(scheduler.in_delivery)
        if keys:
            noun = "delivery" if len(keys) == 1 else "deliveries"
            what.append(f"the {noun} of {', '.join(keys)} (sent again once the lease ends)")
        with contextlib.suppress(TimeoutError):
            released = await asyncio.wait_for(scheduler.release_unsent(), timeout=1.0)
            if released:
                what.append(f"{len(released)} claimed runs, handed back unsent")
    others = _request_tasks(parts, ticking)
    if others:
        what.append(f"{len(others)} tasks answering requests")
    log.warning(
        "shutdown deadline reached; abandoning %s",
        "; ".join(what) or "nothing",
        extra={"abandoned": what},
    )


async def _close(parts: Running, ticking: asyncio.Task[None] | None, budget: float) -> None:
    """Close every connection, each step bounded so that one hang does not keep the rest."""
    ends = time.monotonic() + budget
    if ticking is not None and not ticking.done():
        ticking.cancel()  # cancels the tick stuck past the deadline too
        with contextlib.suppress(asyncio.CancelledError, TimeoutError, Exception):
            await asyncio.wait_for(asyncio.shield(ticking), timeout=0.5)
    steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        (f"the {adapter.name} adapter", adapter.stop) for adapter in reversed(parts.adapters)
    ]
    if parts.server is not None:
        steps.append(("the web server", parts.server.stop))
    steps.append(("the database engine", parts.engine.dispose))
    for what, step in steps:
        try:
            await asyncio.wait_for(step(), timeout=max(0.1, ends - time.monotonic()))
        except TimeoutError:
            log.warning("closing %s did not finish in time; leaving it", what)
        except Exception:
            log.exception("closing %s failed", what)


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
