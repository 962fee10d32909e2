"""Start, signals and graceful shutdown: ``raidline run`` and ``raidline console``.

:func:`run` serves every configured platform (:func:`run_platforms`), or the local console
when none is configured (:func:`run_console`). The parts come from
:func:`adapters.runtime.bootstrap.bootstrap`; this module starts them in order, waits for
SIGTERM/SIGINT, and stops them within :data:`SHUTDOWN_DEADLINE` (:func:`shut_down`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from prompt_toolkit.patch_stdout import patch_stdout

from adapters.console import (
    Console,
    LineSource,
    StreamLines,
    TerminalLines,
    state_dir,
    wants_color,
)
from adapters.logging import logs_to
from adapters.platform import EXIT_CONFIG, EXIT_OK, StartupError
from adapters.runtime.bootstrap import (
    AdapterFactory,
    Parts,
    bootstrap,
    enabled_adapters,
    serve_public_pages,
)
from adapters.runtime.config import Settings
from adapters.runtime.database import database_display, one_process
from adapters.runtime.heap import freeze_startup_objects, thaw_startup_objects
from adapters.runtime.ticker import TickRunner
from adapters.web import WebServer, build_app
from bot.views.plain import wrap

log = logging.getLogger("raidline.runtime")

DEFAULT_CHANNEL = "general"
_NAME_RE = re.compile(r"^[\w.\-]+$")


def default_user() -> str:
    """The console user: ``$USER`` when it is a plain name, else ``me``."""
    name = os.environ.get("USER", "").strip()
    return name if name and _NAME_RE.match(name) else "me"


#: ``raidline run`` with no platform and no terminal: one line on stderr.
NO_PLATFORM = (
    "raidline: no chat platform is configured (SLACK_BOT_TOKEN, DISCORD_BOT_TOKEN); "
    "reading console commands from standard input"
)


def banner(settings: Settings, *, user: str, channel: str) -> str:
    """Two lines: where the console runs, and how to connect a chat platform instead."""
    return (
        f"raidline local console on {database_display(settings)}: you are @{user} in "
        f"#{channel}; /raid help lists the commands, /quit leaves.\n"
        "To connect Slack set SLACK_BOT_TOKEN and SLACK_APP_TOKEN (or SLACK_SIGNING_SECRET); "
        "for Discord set DISCORD_BOT_TOKEN."
    )


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
    adapters = enabled_adapters(settings)
    if not adapters:
        return await run_console(
            settings,
            user=user,
            channel=channel,
            stdin=stdin,
            stdout=stdout,
            show_banner=True,
            serve_health=True,
            stderr=stderr,
        )
    return await run_platforms(settings, adapters, stop=stop)


async def run_console(
    settings: Settings,
    *,
    user: str | None = None,
    channel: str = DEFAULT_CHANNEL,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    show_banner: bool = False,
    files_dir: Path | None = None,
    serve_health: bool = False,
    stderr: TextIO | None = None,
) -> int:
    """The local console on the configured database until ``/quit`` or the end of input.

    With ``serve_health`` (``raidline run`` without chat credentials) it also answers
    ``GET /healthz`` on RAIDLINE_HTTP_HOST:RAIDLINE_HTTP_PORT while it runs, where the
    container's health check looks (:func:`_health_server`).
    """
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    user = user or default_user()
    channel = channel.lstrip("#") or DEFAULT_CHANNEL
    with one_process(settings), contextlib.ExitStack() as terminal:
        parts = await bootstrap(settings)
        try:
            interactive = _isatty(stdin)
            lines: LineSource = StreamLines(stdin)
            width: Callable[[], int] | None = None
            if interactive and _isatty(stdout):
                # A terminal: line editing and history; whatever is printed while a prompt
                # waits (scheduled messages, log lines) goes above the prompt.
                lines = TerminalLines(state_dir() / "history")
                terminal.enter_context(patch_stdout(raw=True))
                stdout = sys.stdout
                terminal.enter_context(logs_to(sys.stderr))
                terminal.enter_context(_ctrl_c_between_prompts())
                width = _terminal_width
            console = Console(
                parts.core,
                user=user,
                channel=channel,
                lines=lines,
                out=stdout,
                interactive=interactive,
                color=interactive and wants_color(stdout),
                files_dir=files_dir,
                width=width,
            )
            # Health first: once the banner is out, the container's health check may ask.
            health = await _health_server(parts) if serve_health else None
            if show_banner and not interactive:
                # No terminal: no banner among the answers on stdout, but one line on stderr,
                # so a container with a forgotten token does not look like a quiet, healthy bot.
                err = stderr if stderr is not None else sys.stderr
                err.write(f"{NO_PLATFORM}\n")
                err.flush()
            elif show_banner:
                text = banner(settings, user=console.user, channel=console.channel)
                if width is not None:
                    text = wrap(text, max(20, width() - 1))
                stdout.write(text + "\n")
                stdout.flush()
            ticks = parts.ticker({"console": console})
            ticks.start()
            try:
                return await console.run()
            finally:
                await ticks.stop()
                if health is not None:
                    await health.stop()
        finally:
            await parts.close()


def _terminal_width() -> int:
    """The terminal's width now (it may have been resized), from the terminal itself."""
    try:
        return os.get_terminal_size(sys.__stdout__.fileno() if sys.__stdout__ else 1).columns
    except (OSError, ValueError):
        return shutil.get_terminal_size().columns


@contextlib.contextmanager
def _ctrl_c_between_prompts() -> Iterator[None]:
    """At a prompt Ctrl-C is a key (it cancels a form, or asks to leave); between prompts,
    while a command runs, it is ignored instead of killing the console with status 130."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, lambda: None)
    except (NotImplementedError, RuntimeError):  # pragma: no cover - not on this platform
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)


async def _health_server(parts: Parts) -> WebServer | None:
    """``GET /healthz`` and the calendar feed for the console; a port that cannot be had is
    a warning, not an end: the console is usable without it (and hands out no feed links)."""
    settings = parts.settings
    app = build_app()
    serve_public_pages(parts, app)
    server = WebServer(app, settings.raidline_http_host, settings.raidline_http_port, what="HTTP")
    try:
        await server.start()
    except OSError as exc:
        log.warning(
            "not serving /healthz on %s:%s (%s); the console runs without it (and the "
            "links of /raid dashboard do not open)",
            settings.raidline_http_host,
            settings.raidline_http_port,
            exc.strerror or exc,
        )
        parts.core.links = None
        parts.core.dashboard_links = None
        return None
    return server


async def run_platforms(
    settings: Settings,
    adapters: Mapping[str, AdapterFactory],
    *,
    stop: asyncio.Event | None = None,
) -> int:
    """:func:`_run_platforms`, refused when another process runs on the same SQLite file."""
    with one_process(settings):
        return await _run_platforms(settings, adapters, stop=stop)


async def _run_platforms(
    settings: Settings,
    adapters: Mapping[str, AdapterFactory],
    *,
    stop: asyncio.Event | None = None,
) -> int:
    """The chat adapters, the web server and the scheduler until SIGTERM/SIGINT.

    Then :func:`shut_down`: no new work, work in progress finished or handed back, every
    connection closed, within :data:`SHUTDOWN_DEADLINE` seconds; the status is 0.
    """
    parts = await bootstrap(settings, adapters)
    running = Running(parts)
    if stop is None:  # the real process; callers that pass ``stop`` decide when to stop
        stop = asyncio.Event()
        _on_signals(stop)
    try:
        if parts.web_app is None or parts.readiness is None:  # wired only with adapters
            raise StartupError("no chat platform to run", EXIT_CONFIG)
        running.server = WebServer(
            parts.web_app, settings.raidline_http_host, settings.raidline_http_port
        )
        await running.server.start()
        if parts.ops_app is not None and settings.raidline_ops_port is not None:
            running.ops_server = WebServer(
                parts.ops_app,
                settings.raidline_ops_host,
                settings.raidline_ops_port,
                what="Operations (/readyz, /metrics)",
            )
            await running.ops_server.start()
        for adapter in parts.adapters:
            await adapter.start()
            log.info("%s adapter started", adapter.name)
        running.ticks = parts.ticker()
        running.ticks.start()
        parts.readiness.scheduler = running.ticks
        running.baseline = set(asyncio.all_tasks())
        running.frozen = freeze_startup_objects()
        log.info("raidline is running: %s", ", ".join(adapters))
        await stop.wait()
        return EXIT_OK
    finally:
        await shut_down(running)


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

    parts: Parts
    server: WebServer | None = None
    #: /readyz and /metrics apart from the public port (RAIDLINE_OPS_PORT)
    ops_server: WebServer | None = None
    ticks: TickRunner | None = None
    #: the tasks running once start-up finished: everything later is per-request work
    baseline: set[asyncio.Task[object]] = field(default_factory=set)
    #: how many objects made while starting were frozen out of the collector's sight
    frozen: int = 0


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


async def shut_down(running: Running, *, deadline: float | None = None) -> None:
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
    if running.parts.readiness is not None:
        running.parts.readiness.stopping = True
    running.parts.core.accepting = False
    ticking: asyncio.Task[None] | None = None
    if running.ticks is not None:
        running.ticks.scheduler.stop_delivering()
        ticking = asyncio.create_task(running.ticks.stop(), name="raidline-scheduler-stop")
    try:
        async with asyncio.timeout(max(0.5, deadline - CLOSE_BUDGET)):
            await _finish_work(running, ticking)
        log.info("work in progress finished in %.1fs", time.monotonic() - began)
    except TimeoutError:
        await _abandon(running, ticking)
    await _close(running, ticking, max(0.5, deadline - (time.monotonic() - began)))
    if running.frozen:
        thaw_startup_objects()
    log.info("stopped in %.1fs", time.monotonic() - began)


async def _finish_work(running: Running, ticking: asyncio.Task[None] | None) -> None:
    """Wait (never cancelling anything) for requests, the tick, and the adapters' replies."""
    await running.parts.core.drain()
    if ticking is not None:
        await asyncio.wait({ticking})
    if not running.baseline:
        return  # start-up failed: no request was ever taken
    # The adapters answer after the core returned (post the reply, update a message): wait
    # for the per-request tasks started after start-up, not for the connections' own tasks.
    while pending := _request_tasks(running, ticking):
        log.debug("waiting for %s", ", ".join(sorted(t.get_name() for t in pending)))
        await asyncio.wait(pending)


def _request_tasks(
    running: Running, ticking: asyncio.Task[None] | None
) -> set[asyncio.Task[object]]:
    skip = {asyncio.current_task(), ticking}
    return {
        t
        for t in asyncio.all_tasks()
        if t not in running.baseline and t not in skip and not t.done() and not _is_connection(t)
    }


def _is_connection(task: asyncio.Task[object]) -> bool:
    """aiohttp's task serving one kept-alive HTTP connection: it ends when the server stops."""
    name = getattr(task.get_coro(), "__qualname__", "")
    return str(name).startswith("RequestHandler.")


async def _abandon(running: Running, ticking: asyncio.Task[None] | None) -> None:
    """The time for work in progress is up: hand back claimed runs, log what is left."""
    what: list[str] = []
    if running.parts.core.in_flight:
        what.append(f"{running.parts.core.in_flight} requests being handled")
    if running.ticks is not None and ticking is not None and not ticking.done():
        scheduler = running.ticks.scheduler
        keys = sorted(scheduler.in_delivery)
        if keys:
            noun = "delivery" if len(keys) == 1 else "deliveries"
            what.append(f"the {noun} of {', '.join(keys)} (sent again once the lease ends)")
        with contextlib.suppress(TimeoutError):
            released = await asyncio.wait_for(scheduler.release_unsent(), timeout=1.0)
            if released:
                what.append(f"{len(released)} claimed runs, handed back unsent")
    others = _request_tasks(running, ticking)
    if others:
        what.append(f"{len(others)} tasks answering requests")
    log.warning(
        "shutdown deadline reached; abandoning %s",
        "; ".join(what) or "nothing",
        extra={"abandoned": what},
    )


async def _close(running: Running, ticking: asyncio.Task[None] | None, budget: float) -> None:
    """Close every connection, each step bounded so that one hang does not keep the rest."""
    ends = time.monotonic() + budget
    if ticking is not None and not ticking.done():
        ticking.cancel()  # cancels the tick stuck past the deadline too
        with contextlib.suppress(asyncio.CancelledError, TimeoutError, Exception):
            await asyncio.wait_for(asyncio.shield(ticking), timeout=0.5)
    steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        (f"the {adapter.name} adapter", adapter.stop)
        for adapter in reversed(running.parts.adapters)
    ]
    if running.server is not None:
        steps.append(("the web server", running.server.stop))
    if running.ops_server is not None:
        steps.append(("the operations server", running.ops_server.stop))
    steps.append(("the database engine", running.parts.close))
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
    "CLOSE_BUDGET",
    "DEFAULT_CHANNEL",
    "EXIT_WATCHDOG",
    "SHUTDOWN_DEADLINE",
    "Running",
    "banner",
    "default_user",
    "run",
    "run_console",
    "run_platforms",
    "shut_down",
]
