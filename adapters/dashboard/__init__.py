"""The web dashboard: one channel's project at a glance, on raidline's aiohttp server.

Pages (all under ``/dashboard/c/<slug>/``, readable only with that channel's session cookie,
see :mod:`adapters.web_auth`):

* ``/`` the overview: counts, the risk heat map, 12-week trends, blocker ages, warning signs,
  the decision log, change requests by state, standup participation;
* ``items`` the list with filters (kind, status, owner, overdue, text, a heat-map cell);
* ``items/<ref>`` one item with every field and its full history;
* ``export.md``, ``export.csv``, ``export.json``: ``/raid export``'s files;
* ``trend.svg``: the trend chart (``adapters.charts``, the same drawing the digest's PNG is).

The pages are rendered on the server with jinja2 (autoescape on), work without JavaScript
(there is none), and every response carries a Content-Security-Policy without inline script,
``X-Frame-Options: DENY`` and ``Referrer-Policy: no-referrer``. Anything refused (a forged,
altered, expired or used link; no session; another channel's session) is a plain 403 page.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from adapters.web_auth import CHANNEL_PREFIX, OPEN_PATH, SESSION_TTL, DashboardAuth
from bot.dispatcher import Core
from bot.domain import trends
from bot.domain.model import ChannelKey, Kind, Ref, Status
from bot.errors import Unavailable
from bot.ports import ChartDrawer
from bot.services import dashboard as data
from bot.services.export import FORMATS
from bot.services.plan import read_plans
from bot.text.dates import format_datetime
from bot.views.digests import warning_lines
from bot.views.items import history_line, item_fields
from bot.views.plain import plain_mentions

log = logging.getLogger("raidline.dashboard")

_HERE = Path(__file__).parent
STATIC = _HERE / "static"

#: Every dashboard response's security headers.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

FORBIDDEN_TEXT = (
    "This link is not valid: it was altered, has expired (links last 10 minutes) or was "
    "already used, or this browser is not signed in to this channel's dashboard. "
    "Type /raid dashboard in the channel for a new link."
)

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["people"] = lambda text: plain_mentions(str(text)) if text is not None else ""
    env.filters["age"] = trends.age_text
    return env


class Dashboard:
    """The dashboard's request handlers for one running raidline."""

    def __init__(self, core: Core, auth: DashboardAuth, charts: ChartDrawer | None) -> None:
        self.core = core
        self.auth = auth
        self.charts = charts
        self.templates = _environment()

    def add_routes(self, app: web.Application) -> None:
        guard = self._secured
        app.router.add_get(OPEN_PATH, guard(self.open_link))
        app.router.add_get(CHANNEL_PREFIX + "{slug}/", guard(self._channel(self.overview)))
        app.router.add_get(CHANNEL_PREFIX + "{slug}/items", guard(self._channel(self.items)))
        app.router.add_get(CHANNEL_PREFIX + "{slug}/items/{ref}", guard(self._channel(self.item)))
        app.router.add_get(
            CHANNEL_PREFIX + "{slug}/export.{fmt}", guard(self._channel(self.export))
        )
        app.router.add_get(CHANNEL_PREFIX + "{slug}/trend.svg", guard(self._channel(self.chart)))
        app.router.add_get("/dashboard/static/dashboard.css", guard(self.stylesheet))
        app.router.add_get("/favicon.ico", guard(self.favicon))

    # -- plumbing ------------------------------------------------------------------------

    def _secured(self, handler: _Handler) -> _Handler:
        async def secured(request: web.Request) -> web.StreamResponse:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                response = self._plain(exc.status, exc.reason)
            except Unavailable:
                response = self._plain(
                    503, "The database does not answer right now; try again in a minute."
                )
            response.headers.update(SECURITY_HEADERS)
            return response

        return secured

    def _channel(
        self, handler: Callable[[web.Request, ChannelKey], Awaitable[web.StreamResponse]]
    ) -> _Handler:
        """``handler`` for the channel whose session cookie this request carries; 403 without
        one, with an expired or altered one, or with another channel's."""

        async def scoped(request: web.Request) -> web.StreamResponse:
            slug = request.match_info["slug"]
            value = request.cookies.get(self.auth.cookie_name(slug))
            channel = self.auth.session_channel(slug, value, self.core.clock.now())
            if channel is None:
                return self.forbidden()
            return await handler(request, channel)

        return scoped

    def _plain(self, status: int, text: str) -> web.Response:
        page = self.templates.get_template("plain.html").render(
            status=status, text=text, prefix=self.auth.prefix
        )
        return web.Response(text=page, status=status, content_type="text/html")

    def forbidden(self) -> web.Response:
        return self._plain(403, FORBIDDEN_TEXT)

    def _page(self, name: str, **values: Any) -> web.Response:
        page = self.templates.get_template(name).render(prefix=self.auth.prefix, **values)
        return web.Response(text=page, content_type="text/html")

    async def _timezone(self, channel: ChannelKey) -> str:
        async with self.core.uow_factory() as uow:
            settings = await uow.channels.get_settings(channel)
        return settings.timezone or self.core.default_timezone

    # -- the link ------------------------------------------------------------------------

    async def open_link(self, request: web.Request) -> web.StreamResponse:
        now = self.core.clock.now()
        channel = await self.auth.redeem(request.query.get("t", ""), now)
        if channel is None:
            return self.forbidden()
        slug = self.auth.slug(channel)
        # relative, so that a path prefix in RAIDLINE_PUBLIC_URL is kept
        response = web.Response(status=303, headers={"Location": f"c/{slug}/"})
        response.set_cookie(
            self.auth.cookie_name(slug),
            self.auth.session(channel, now),
            max_age=int(SESSION_TTL.total_seconds()),
            path=f"{self.auth.prefix}{CHANNEL_PREFIX}{slug}/",
            httponly=True,
            samesite="Lax",
            secure=self.auth.secure,
        )
        return response

    # -- pages ---------------------------------------------------------------------------

    async def overview(self, request: web.Request, channel: ChannelKey) -> web.StreamResponse:
        now = self.core.clock.now()
        async with self.core.uow_factory() as uow:
            settings = await uow.channels.get_settings(channel)
            tz = settings.timezone or self.core.default_timezone
            view = await data.overview(uow, channel, now, timetable=self.core.timetable, tz=tz)
        return self._page(
            "overview.html",
            channel=channel,
            view=view,
            tz=tz,
            now=now,
            levels=trends.LEVELS,
            level_names=_LEVEL_WORDS,
            bands=view.heat.bands(),
            weeks=[w.astimezone(ZoneInfo(tz)).strftime("%a %d %b %Y") for w in view.trends.weeks],
            warnings=(
                warning_lines(view.digest.warnings, view.digest.totals, tz, now)
                if view.digest.warnings
                else ()
            ),
            when=lambda dt: format_datetime(dt, tz, now) if dt else "—",
            formats=FORMATS,
            chart=self.charts is not None,
        )

    async def items(self, request: web.Request, channel: ChannelKey) -> web.StreamResponse:
        now = self.core.clock.now()
        where, problems = _list_filter(request.query)
        async with self.core.uow_factory() as uow:
            settings = await uow.channels.get_settings(channel)
            found, total = await data.item_list(uow, channel, where, now)
        tz = settings.timezone or self.core.default_timezone
        return self._page(
            "items.html",
            channel=channel,
            items=found,
            total=total,
            where=where,
            problems=problems,
            kinds=list(Kind),
            statuses=list(Status),
            owners=sorted({i.owner for i in found if i.owner}),
            when=lambda dt: format_datetime(dt, tz, now) if dt else "—",
            now=now,
            limit=data.LIST_LIMIT,
        )

    async def item(self, request: web.Request, channel: ChannelKey) -> web.StreamResponse:
        ref = Ref.parse(request.match_info["ref"])
        if ref is None:
            return self._plain(404, "There is no such item: a ref looks like B-3.")
        now = self.core.clock.now()
        async with self.core.uow_factory() as uow:
            settings = await uow.channels.get_settings(channel)
            tz = settings.timezone or self.core.default_timezone
            found = await data.item_page(uow, channel, ref)
            if found is not None:
                places = await read_plans(uow, settings, self.core.timetable, now, tz, [found[0]])
        if found is None:
            return self._plain(404, f"There is no {ref} in this channel.")
        item, events = found
        return self._page(
            "item.html",
            channel=channel,
            item=item,
            fields=item_fields(item, tz, now, plan=places.get(item.stored_id)),
            links=places[item.stored_id].links if item.stored_id in places else (),
            history=[history_line(item.kind, e, tz, now, reporter=item.reporter) for e in events],
            kind_label=item.kind.label,
        )

    async def export(self, request: web.Request, channel: ChannelKey) -> web.StreamResponse:
        fmt = request.match_info["fmt"]
        if fmt not in FORMATS:
            return self._plain(404, "The exports are export.md, export.csv and export.json.")
        file = await self.core.export_channel(channel, fmt)
        return web.Response(
            body=file.content,
            headers={
                "Content-Type": file.mime_type,
                "Content-Disposition": f'attachment; filename="{file.filename}"',
            },
        )

    async def chart(self, request: web.Request, channel: ChannelKey) -> web.StreamResponse:
        if self.charts is None:
            return self._plain(404, "Charts are not available on this raidline.")
        now = self.core.clock.now()
        async with self.core.uow_factory() as uow:
            series, _heat = await data.chart(uow, channel, now)
        svg = await asyncio.to_thread(self.charts.draw, series, None, "svg")
        return web.Response(body=svg, headers={"Content-Type": "image/svg+xml"})

    async def stylesheet(self, request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=(STATIC / "dashboard.css").read_bytes(),
            headers={"Content-Type": "text/css; charset=utf-8"},
        )

    async def favicon(self, request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=(STATIC / "favicon.svg").read_bytes(), headers={"Content-Type": "image/svg+xml"}
        )


_LEVEL_WORDS = {1: "very low", 2: "low", 3: "medium", 4: "high", 5: "very high"}


def _list_filter(query: Any) -> tuple[data.ListFilter, list[str]]:
    """The item list's filters from the query string; what could not be understood is said
    (and left out) rather than refused."""
    problems: list[str] = []
    kind: Kind | None = None
    status: Status | None = None
    text = query.get("kind", "").strip().lower()
    if text:
        try:
            kind = Kind(text)
        except ValueError:
            problems.append(f"“{text}” is not a kind (blocker, risk, decision, change)")
    text = query.get("status", "").strip().lower()
    if text:
        try:
            status = Status(text)
        except ValueError:
            problems.append(f"“{text}” is not a status")
    numbers: dict[str, int | None] = {"likelihood": None, "impact": None}
    for name in numbers:
        text = query.get(name, "").strip()
        if text:
            if text.isdigit() and int(text) in trends.LEVELS:
                numbers[name] = int(text)
            else:
                problems.append(f"the {name} “{text}” is not 1 to 5")
    where = data.ListFilter(
        kind=kind,
        status=status,
        owner=query.get("owner", "").strip() or None,
        overdue=query.get("overdue") == "1",
        text=query.get("q", "")[:200],
        include_closed=query.get("closed") == "1",
        likelihood=numbers["likelihood"],
        impact=numbers["impact"],
    )
    return where, problems


__all__ = ["FORBIDDEN_TEXT", "SECURITY_HEADERS", "Dashboard"]
