"""How much acknowledged work may be waiting: replies must not fall behind their acks.

Slack wants every command, click and shortcut acknowledged within 3 seconds, and raidline
acknowledges first and works after. Acknowledging costs a fraction of the work, so under a
burst a server that acknowledges whatever arrives runs ahead of itself: the acks go out in
milliseconds while the replies queue up behind each other, seconds late. So a request is
acknowledged only once it can be worked on: at most :data:`LIMIT` acknowledged requests are
in the core at a time, and the next one's ack waits for one of them to finish. The wait ends
:data:`PATIENCE` seconds after the request arrived, well inside Slack's 3 seconds (Bolt's
own steps before and after take time too on a busy server): past it, the request is
acknowledged and worked on anyway, over the limit.

The posting of the reply (a Web API call, mostly waiting on the network) is outside the
limit: it must not hold up the next request's work.
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["ARRIVED", "LIMIT", "PATIENCE", "Backlog", "Place"]

#: Acknowledged requests in the core at a time, at most. Enough to keep PostgreSQL's
#: connections busy while others wait on the network (SQLite works on one unit of work at a
#: time anyway); few enough that a reply comes at most a few units of work after its ack.
LIMIT = 8
#: Seconds after its arrival a request waits for a place at most before it goes in over the
#: limit.
PATIENCE = 1.0
#: Where the HTTP endpoint notes, in Bolt's request context, when a request arrived
#: (the event loop's clock).
ARRIVED = "raidline_arrived"


class Place:
    """A request's place in the core; :meth:`leave` gives it to the next one (once)."""

    __slots__ = ("_backlog",)

    def __init__(self, backlog: Backlog | None) -> None:
        self._backlog = backlog

    def leave(self) -> None:
        backlog, self._backlog = self._backlog, None
        if backlog is not None:
            backlog._hand_on()


class Backlog:
    """At most ``limit`` requests at work; the others wait in order (up to ``patience``)."""

    def __init__(self, limit: int = LIMIT, patience: float = PATIENCE) -> None:
        self.limit = limit
        self.patience = patience
        self._working = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def working(self) -> int:
        return self._working

    async def enter(self, arrived: float | None = None) -> Place:
        """Wait for a place, until ``patience`` seconds after ``arrived`` (the event loop's
        time the request arrived; now when not known); leave it when the work is done."""
        if self._working < self.limit and not self._waiting:
            self._working += 1
            return Place(self)
        loop = asyncio.get_running_loop()
        now = loop.time()
        patience = max(0.0, min(self.patience, (arrived or now) + self.patience - now))
        turn: asyncio.Future[None] = loop.create_future()
        self._waiting.append(turn)
        try:
            await asyncio.wait_for(asyncio.shield(turn), patience)
        except TimeoutError:
            if not turn.done():
                # Slack's time is running out: in over the limit, holding no place.
                self._waiting.remove(turn)
                turn.cancel()
                return Place(None)
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._hand_on()  # the place was handed to us: pass it on
            else:
                self._waiting.remove(turn)
                turn.cancel()
            raise
        return Place(self)

    def _hand_on(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the place goes over as it is: _working stays
                return
        self._working -= 1
