"""Replay protection: a signed request Slack sent once is taken once.

Bolt checks each request's signature and refuses a timestamp more than five minutes away, but
within those five minutes the same signed request, sent again, would be processed again (two
items). :class:`SeenRequests` remembers what was taken for :data:`WINDOW` seconds and
:meth:`~SeenRequests.first_time` says whether a request is new:

- a request over HTTP by its ``X-Slack-Signature`` (which covers its timestamp and body), or
  an Events API delivery by its ``event_id``, so Slack's own retries (``X-Slack-Retry-Num``,
  the same event newly signed) are acknowledged without being processed twice;
- a Socket Mode envelope by its ``envelope_id`` (Slack re-sends the same envelope).

In memory (bounded; oldest first out), which covers one process; with PostgreSQL, where
several replicas serve one app, also in the database's ``seen_requests`` table, so a replay
sent to another replica is dropped too.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.errors import Unavailable
from storage import seen_requests

log = logging.getLogger("raidline.slack")

#: Seconds a request is remembered: its signature is valid five minutes either side of its
#: timestamp, and Slack retries an event for up to about five minutes.
WINDOW = 600.0
#: The most requests remembered in memory at once (about 100 bytes each).
KEPT = 100_000
#: Seconds between two sweeps of expired rows from the database.
SWEEP_EVERY = 60.0


class SeenRequests:
    """What was taken in the last :data:`WINDOW` seconds; ``engine`` shares it across replicas."""

    def __init__(self, engine: AsyncEngine | None = None, *, kept: int = KEPT) -> None:
        self._engine = engine
        self._kept = kept
        #: key -> monotonic time it expires, oldest first
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._next_sweep = 0.0

    async def first_time(self, key: str) -> bool:
        """True the first time ``key`` is seen within the window; remembers it."""
        now = time.monotonic()
        while self._seen:
            oldest, expires = next(iter(self._seen.items()))
            if expires > now and len(self._seen) < self._kept:
                break
            del self._seen[oldest]
        if key in self._seen:
            return False
        self._seen[key] = now + WINDOW
        if self._engine is None:
            return True
        wall = datetime.now(UTC)
        try:
            if now >= self._next_sweep:
                self._next_sweep = now + SWEEP_EVERY
                await seen_requests.sweep(self._engine, wall)
            return await seen_requests.remember(self._engine, key, wall + timedelta(seconds=WINDOW))
        except Unavailable:
            # The request itself will meet the outage and say so; this replica's memory
            # still drops replays sent to it.
            log.warning("couldn't check the database for a replayed Slack request")
            return True


__all__ = ["KEPT", "WINDOW", "SeenRequests"]
