"""The aiohttp web servers: Slack HTTP mode (routes added by the Slack adapter), health,
readiness, metrics and the calendar feed.

* ``GET /healthz``: 200 ``{"status": "ok"}`` while the process runs (liveness). Always on the
  public port, never behind a token: the container's health check calls it.
* ``GET /readyz``: 200 or 503 ``{"ready": bool, "stopping": bool, "checks": {...}}``: the
  database answers, every enabled adapter is connected, the scheduler ticked recently, and
  the process is not shutting down (:class:`Readiness`).
* ``GET /metrics``: the Prometheus text format (:class:`adapters.metrics.Metrics`).

``/readyz`` and ``/metrics`` are the operations endpoints. They are served on the public
application (:func:`build_app`) unless the operator gives them a listener of their own
(``RAIDLINE_OPS_PORT``, on loopback by default: a second :class:`WebServer`), and with an
``ops_token`` (``RAIDLINE_OPS_TOKEN``) they answer 401 to any request without
``Authorization: Bearer <token>``, wherever they are served.

* ``GET /calendar/<token>.ics``: a person's calendar feed (``/raid calendar`` hands out the
  link; :func:`add_calendar_routes`). A token that is unknown, revoked or malformed gets the
  same plain 404, so the answer never tells which.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from adapters.links import CALENDAR_ROUTE
from adapters.platform import PlatformAdapter
from bot.errors import Unavailable
from storage.uow import HEALTH_CHECK_TIMEOUT, check_database

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from adapters.metrics import Metrics

log = logging.getLogger("raidline.web")

#: Seconds of slack on top of three tick intervals before the scheduler counts as stuck.
TICK_GRACE_SECONDS = 10.0


class Ticking(Protocol):
    """What readiness needs of the scheduler (``adapters.runtime.ticker.TickRunner``)."""

    @property
    def last_tick_at(self) -> datetime | None: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Readiness:
    """Whether this process can do its work; the runtime fills it in as things start.

    ``adapters`` are the enabled platform adapters, ``scheduler`` the tick runner (None until
    it starts: not ready), ``stopping`` is set on SIGTERM so load balancers look elsewhere.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        adapters: Sequence[PlatformAdapter] = (),
        scheduler: Ticking | None = None,
        tick_seconds: float = 15.0,
        now: Callable[[], datetime] = _utcnow,
        database_timeout: float = HEALTH_CHECK_TIMEOUT,
    ) -> None:
        self.engine = engine
        self.adapters = list(adapters)
        self.scheduler = scheduler
        self.tick_seconds = tick_seconds
        self.now = now
        self.stopping = False
        #: seconds the database check may take; it reads only, and never takes SQLite's
        #: write lock, so a long write does not make a replica look down
        self.database_timeout = database_timeout

    @property
    def max_tick_age(self) -> float:
        """Seconds since the last tick beyond which the scheduler is not ready."""
        return 3 * self.tick_seconds + TICK_GRACE_SECONDS

    async def check(self) -> dict[str, Any]:
        """``{"ready": bool, "stopping": bool, "checks": {name: {"ok": bool, ...}}}``."""
        checks: dict[str, dict[str, Any]] = {"database": await self._database()}
        for adapter in self.adapters:
            connected = bool(adapter.connected)
            entry: dict[str, Any] = {"ok": connected, "connected": connected}
            if not connected:
                entry["reason"] = f"the {adapter.name} adapter is not connected"
            checks[adapter.name] = entry
        checks["scheduler"] = self._scheduler()
        ready = not self.stopping and all(c["ok"] for c in checks.values())
        return {"ready": ready, "stopping": self.stopping, "checks": checks}

    async def _database(self) -> dict[str, Any]:
        started = time.perf_counter()
        ok = await check_database(self.engine, self.database_timeout)
        entry: dict[str, Any] = {"ok": ok, "seconds": round(time.perf_counter() - started, 4)}
        if not ok:
            entry["reason"] = "the database does not answer"
        return entry

    def _scheduler(self) -> dict[str, Any]:
        last = self.scheduler.last_tick_at if self.scheduler is not None else None
        limit = self.max_tick_age
        entry: dict[str, Any] = {"ok": False, "last_tick_seconds_ago": None, "max_seconds": limit}
        if last is None:
            entry["reason"] = "the scheduler has not ticked yet"
            return entry
        age = max(0.0, (self.now() - last).total_seconds())
        entry["last_tick_seconds_ago"] = round(age, 3)
        entry["ok"] = age <= limit
        if not entry["ok"]:
            entry["reason"] = f"the last scheduler tick was {age:.0f}s ago (limit {limit:g}s)"
        return entry


def build_app(
    readiness: Readiness | None = None,
    metrics: Metrics | None = None,
    *,
    ops_token: str | None = None,
) -> web.Application:
    """An application with ``/healthz``, and ``/readyz`` and ``/metrics`` for what is passed
    in. The public one, which the adapters add their routes to before the server starts, gets
    neither when the operations endpoints are served apart, on an application of their own."""
    app = web.Application()
    app.router.add_get("/healthz", healthz)
    _add_ops_routes(app, readiness, metrics, ops_token=ops_token)
    return app


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: What a request to an operations endpoint without the right bearer token gets.
UNAUTHORIZED = {"error": "unauthorized: send Authorization: Bearer <RAIDLINE_OPS_TOKEN>"}


def _add_ops_routes(
    app: web.Application,
    readiness: Readiness | None,
    metrics: Metrics | None,
    *,
    ops_token: str | None = None,
) -> None:
    """``/readyz`` (with ``readiness``) and ``/metrics`` (with ``metrics``) on ``app``; with
    ``ops_token`` both answer 401 unless the request carries ``Bearer <ops_token>``."""

    def guarded(handler: _Handler) -> _Handler:
        if not ops_token:
            return handler
        expected = f"Bearer {ops_token}".encode()

        async def check(request: web.Request) -> web.StreamResponse:
            given = request.headers.get("Authorization", "").strip().encode()
            if not hmac.compare_digest(given, expected):
                return web.json_response(
                    UNAUTHORIZED,
                    status=401,
                    headers={"WWW-Authenticate": 'Bearer realm="raidline operations"'},
                )
            return await handler(request)

        return check

    if readiness is not None:
        ready_check = readiness

        async def readyz(_request: web.Request) -> web.StreamResponse:
            body = await ready_check.check()
            return web.json_response(body, status=200 if body["ready"] else 503)

        app.router.add_get("/readyz", guarded(readyz))

    if metrics is not None:
        registry = metrics

        async def metrics_text(_request: web.Request) -> web.StreamResponse:
            return web.Response(
                body=registry.render(), headers={"Content-Type": registry.content_type}
            )

        app.router.add_get("/metrics", guarded(metrics_text))


class CalendarSource(Protocol):
    """What the feed route needs of the core (:meth:`bot.dispatcher.Core.calendar_feed`)."""

    async def calendar_feed(self, token: str) -> bytes | None: ...


#: The body of every refused feed request: it says nothing about why.
FEED_NOT_FOUND = "Not found\n"
#: Seconds a calendar (or a proxy between) may keep a feed before asking again.
FEED_MAX_AGE = 300


def add_calendar_routes(app: web.Application, source: CalendarSource) -> None:
    """``GET /calendar/<token>.ics`` on ``app``: the feed as ``text/calendar``, or 404."""
    prefix, _, suffix = CALENDAR_ROUTE.partition("{token}")

    async def feed(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        token = name.removesuffix(suffix) if name.endswith(suffix) else ""
        try:
            body = await source.calendar_feed(token) if token else None
        except Unavailable:
            return web.Response(
                text="The calendar is not available right now; please try again later.\n",
                status=503,
                headers={"Retry-After": "60", "Cache-Control": "no-store"},
            )
        if body is None:
            return web.Response(
                text=FEED_NOT_FOUND, status=404, headers={"Cache-Control": "no-store"}
            )
        return web.Response(
            body=body,
            content_type="text/calendar",
            charset="utf-8",
            headers={
                "Content-Disposition": 'inline; filename="raidline.ics"',
                "Cache-Control": f"private, max-age={FEED_MAX_AGE}",
                "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff",
                "X-Robots-Tag": "noindex",
            },
        )

    app.router.add_get(prefix + "{name}", feed)


class WebServer:
    #: Seconds ``stop()`` lets requests in progress finish before closing their connections.
    shutdown_timeout = 2.0

    def __init__(self, app: web.Application, host: str, port: int, *, what: str = "HTTP") -> None:
        self.app = app
        self.host = host
        self.port = port
        self.what = what
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(
            self.app, access_log=None, shutdown_timeout=self.shutdown_timeout
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await self.stop()
            raise
        log.info("%s server listening on %s:%s", self.what, self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


__all__ = [
    "FEED_NOT_FOUND",
    "TICK_GRACE_SECONDS",
    "UNAUTHORIZED",
    "CalendarSource",
    "Readiness",
    "Ticking",
    "WebServer",
    "add_calendar_routes",
    "build_app",
    "healthz",
]
