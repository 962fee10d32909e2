"""The one aiohttp web server: Slack HTTP mode (routes added by the Slack adapter), health."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger("raidline.web")

HealthCheck = Callable[[], Awaitable[dict[str, object]]]


def build_app(health: HealthCheck | None = None) -> web.Application:
    """The application adapters add their routes to before the server starts."""
    app = web.Application()

    async def healthz(_request: web.Request) -> web.Response:
        body: dict[str, object] = {"status": "ok"}
        if health is not None:
            body.update(await health())
        return web.json_response(body)

    app.router.add_get("/healthz", healthz)
    return app


class WebServer:
    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        log.info("HTTP server listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
