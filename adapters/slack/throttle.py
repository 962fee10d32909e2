"""A rate limit per client address, in bounded memory (for the public OAuth install routes).

Each address gets a bucket of :data:`INSTALL_BURST` requests that refills by one every
:data:`INSTALL_EVERY` seconds. At most :data:`CLIENTS_KEPT` addresses are remembered; the
one heard from least recently is forgotten first (it starts again with a full bucket).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

#: Requests one address may make at once.
INSTALL_BURST = 10
#: Seconds after which an address may make one more.
INSTALL_EVERY = 30.0
#: The most addresses remembered at once (about 150 bytes each).
CLIENTS_KEPT = 10_000


class PerClient:
    """A token bucket per client: ``burst`` at once, then one every ``every`` seconds."""

    def __init__(
        self,
        burst: int = INSTALL_BURST,
        every: float = INSTALL_EVERY,
        *,
        kept: int = CLIENTS_KEPT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.every = every
        self.kept = kept
        self._clock = clock
        #: client -> (requests left, when that was counted), least recently heard first
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, client: str) -> int:
        """0 when ``client`` may go ahead (and counts the request), else the whole seconds
        until it may (for ``Retry-After``)."""
        now = self._clock()
        left, then = self._buckets.pop(client, (float(self.burst), now))
        left = min(float(self.burst), left + (now - then) / self.every)
        wait = 0
        if left >= 1.0:
            left -= 1.0
        else:
            wait = max(1, math.ceil((1.0 - left) * self.every))
        self._buckets[client] = (left, now)
        while len(self._buckets) > self.kept:
            self._buckets.popitem(last=False)
        return wait


__all__ = ["PerClient"]
