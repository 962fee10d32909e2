"""The wiring: settings -> storage -> core -> web server, adapters and the scheduler tick.

:func:`bootstrap` opens the configured database and wires everything on it;
:func:`bootstrap_for_tests` is its twin for tests: the same wiring on the fakes a test hands
it (an in-memory unit of work, a fixed clock, fake adapters), with no database and no I/O.
Both return :class:`Parts`, built but not started: starting and stopping is
:mod:`adapters.runtime.lifecycle`'s.

The adapter table, :data:`ADAPTERS`, has one row per chat platform: when the settings enable
it, and how to build it. Every adapter is built the same way, ``Adapter(deps: AdapterDeps)``;
each row imports its package only when it is built, so the console starts without loading
slack_bolt or discord.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.charts import MatplotlibCharts
from adapters.dashboard import Dashboard
from adapters.links import PublicLinks
from adapters.metrics import Metrics
from adapters.platform import AdapterDeps, PlatformAdapter
from adapters.runtime.config import Settings, load_settings
from adapters.runtime.database import open_engine
from adapters.runtime.ticker import TickRunner, make_ticker
from adapters.runtime.timetable import CronTimetable
from adapters.web import Readiness, add_calendar_routes, build_app
from adapters.web_auth import DashboardAuth, load_auth, memory_remember
from bot.dispatcher import Core
from bot.ports import Clock, Messenger, UnitOfWorkFactory
from bot.text import dates
from storage.secrets import generate_secret
from storage.uow import make_uow_factory

#: Builds one adapter; the one constructor signature every platform adapter has.
AdapterFactory = Callable[[AdapterDeps], PlatformAdapter]


@dataclass(frozen=True)
class Platform:
    """One row of the adapter table."""

    #: whether the settings configure this platform (its credentials are set)
    enabled: Callable[[Settings], bool]
    build: AdapterFactory


def _slack(deps: AdapterDeps) -> PlatformAdapter:
    from adapters.slack import SlackAdapter

    return SlackAdapter(deps)


def _discord(deps: AdapterDeps) -> PlatformAdapter:
    from adapters.discord import DiscordAdapter

    return DiscordAdapter(deps)


#: The chat platforms. A new platform is one package and one row here.
ADAPTERS: dict[str, Platform] = {
    "slack": Platform(enabled=lambda settings: settings.slack_enabled, build=_slack),
    "discord": Platform(enabled=lambda settings: settings.discord_enabled, build=_discord),
}


def enabled_adapters(
    settings: Settings, table: Mapping[str, Platform] = ADAPTERS
) -> dict[str, AdapterFactory]:
    """The builders of the adapters the settings configure, by platform, in table order."""
    return {name: row.build for name, row in table.items() if row.enabled(settings)}


@dataclass
class Parts:
    """What :func:`bootstrap` wired. Nothing runs yet."""

    settings: Settings
    core: Core
    #: the database engine; None when a test wired the parts on fakes
    engine: AsyncEngine | None = None
    #: the platform adapters, built but not connected
    adapters: list[PlatformAdapter] = field(default_factory=list)
    #: the public web application (Slack HTTP mode, health; readiness and metrics unless
    #: they are served apart) when adapters are served
    web_app: web.Application | None = None
    #: /readyz and /metrics on RAIDLINE_OPS_HOST:RAIDLINE_OPS_PORT, when that is set
    ops_app: web.Application | None = None
    metrics: Metrics | None = None
    readiness: Readiness | None = None
    #: the web dashboard's pages, added to ``web_app`` (and to the console's health server);
    #: None when RAIDLINE_DASHBOARD=off
    dashboard: Dashboard | None = None

    @property
    def uow_factory(self) -> UnitOfWorkFactory:
        return self.core.uow_factory

    @property
    def database(self) -> AsyncEngine:
        """The engine, for the work done on it directly (backups, restores)."""
        if self.engine is None:
            raise RuntimeError("these parts were wired without a database")
        return self.engine

    def ticker(self, messengers: Mapping[str, Messenger] | None = None) -> TickRunner:
        """The scheduler tick delivering through ``messengers`` (by default the adapters,
        by name), built but not started; from now on a schedule change wakes it."""
        routes = {a.name: a for a in self.adapters} if messengers is None else messengers
        return make_ticker(self.settings, self.core, routes, metrics=self.metrics)

    async def close(self) -> None:
        """Release the database engine (the adapters and the tick stop on their own)."""
        if self.engine is not None:
            await self.engine.dispose()


async def bootstrap(
    settings: Settings, adapters: Mapping[str, AdapterFactory] | None = None
) -> Parts:
    """Everything on the configured database: SQLite is migrated, PostgreSQL must be.

    ``adapters`` are the platform adapters to build (see :func:`enabled_adapters`); with
    any, the web application, readiness and metrics are wired for them too. Raises
    :class:`~adapters.runtime.config.ConfigError` for an unusable database URL and
    :class:`~adapters.platform.StartupError` when the database cannot be reached.
    """
    engine = await open_engine(settings)
    try:
        auth = await load_auth(engine, settings)
        parts = _wire(
            settings, make_uow_factory(engine), engine=engine, adapters=adapters, auth=auth
        )
    except BaseException:
        await engine.dispose()
        raise
    # Load dateparser (~0.3 s) in the background now, not inside the first command that
    # needs it, where it would hold that command's transaction (and SQLite's write lock).
    asyncio.get_running_loop().run_in_executor(None, dates.warm_up)
    return parts


def bootstrap_for_tests(
    uow_factory: UnitOfWorkFactory,
    *,
    settings: Settings | None = None,
    clock: Clock | None = None,
    adapters: Mapping[str, AdapterFactory] | None = None,
    engine: AsyncEngine | None = None,
) -> Parts:
    """:func:`bootstrap`'s twin: the same wiring on what the test passes in.

    ``uow_factory`` is usually the in-memory one (``tests.fakes.FakeStore``), ``clock`` a
    fixed one, ``adapters`` builders of fakes. ``settings`` defaults to the defaults (no
    environment is read); with an ``engine`` readiness checks that database.
    """
    settings = settings if settings is not None else load_settings({})
    auth = (
        DashboardAuth(settings.secret_key or generate_secret(), settings, memory_remember())
        if settings.dashboard_enabled
        else None
    )
    return _wire(settings, uow_factory, engine=engine, adapters=adapters, clock=clock, auth=auth)


def _wire(
    settings: Settings,
    uow_factory: UnitOfWorkFactory,
    *,
    engine: AsyncEngine | None,
    adapters: Mapping[str, AdapterFactory] | None,
    clock: Clock | None = None,
    auth: DashboardAuth | None = None,
) -> Parts:
    core = Core(
        uow_factory, clock=clock, default_timezone=settings.timezone, timetable=CronTimetable()
    )
    core.charts = MatplotlibCharts()
    parts = Parts(settings, core, engine)
    if auth is not None:
        parts.dashboard = Dashboard(core, auth, core.charts)
    if not adapters:
        return parts
    parts.metrics = Metrics()
    core.observers.append(parts.metrics.observe_request)
    if engine is not None:
        parts.readiness = Readiness(engine, tick_seconds=settings.raidline_tick_seconds)
    token = settings.ops_token
    if settings.ops_apart:
        parts.web_app = build_app()
        parts.ops_app = build_app(parts.readiness, parts.metrics, ops_token=token)
    else:
        parts.web_app = build_app(parts.readiness, parts.metrics, ops_token=token)
    serve_public_pages(parts, parts.web_app)
    deps = AdapterDeps(settings=settings, core=core, web_app=parts.web_app, engine=engine)
    parts.adapters = [build(deps) for build in adapters.values()]
    if parts.readiness is not None:
        parts.readiness.adapters = parts.adapters
    return parts


def serve_public_pages(parts: Parts, app: web.Application) -> None:
    """The pages people open from links the bot gives (the calendar feed, the dashboard), on
    ``app``: the application of the web server that will run. From then on ``/raid calendar``
    and ``/raid dashboard`` hand out links to them (unless RAIDLINE_CALENDAR or
    RAIDLINE_DASHBOARD is off)."""
    if parts.settings.calendar_enabled:
        add_calendar_routes(app, parts.core)
        parts.core.links = PublicLinks(parts.settings)
    if parts.dashboard is not None:
        parts.dashboard.add_routes(app)
        parts.core.dashboard_links = parts.dashboard.auth


__all__ = [
    "ADAPTERS",
    "AdapterFactory",
    "Parts",
    "Platform",
    "bootstrap",
    "bootstrap_for_tests",
    "enabled_adapters",
    "serve_public_pages",
]
