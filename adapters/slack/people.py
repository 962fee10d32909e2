"""People's Slack time zones (users.info), cached so most requests make no extra call."""

from __future__ import annotations

import asyncio
import logging
import time

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("raidline.slack")

#: Seconds a users.info look-up may take before the request goes on without a time zone.
TZ_LOOKUP_TIMEOUT = 1.5
#: Seconds a cached time zone is trusted.
TZ_TTL = 3600.0


class TimeZones:
    """(workspace, user) -> the person's time zone, each entry trusted for :data:`TZ_TTL`."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], tuple[str | None, float]] = {}

    async def of(self, client: AsyncWebClient, workspace: str, user: str) -> str | None:
        """The person's Slack time zone; on a failed look-up the last known one, or None."""
        key = (workspace, user)
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            async with asyncio.timeout(TZ_LOOKUP_TIMEOUT):
                response = await client.users_info(user=user)
            tz = (response.get("user") or {}).get("tz")
        except (SlackApiError, SlackClientError, TimeoutError, aiohttp.ClientError, OSError) as e:
            log.info("no time zone for %s: %s", user, type(e).__name__)
            return cached[0] if cached is not None else None
        self._cache[key] = (str(tz) if tz else None, now + TZ_TTL)
        return str(tz) if tz else None
