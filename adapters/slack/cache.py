"""A bounded cache: at most ``size`` entries, each fresh for ``ttl`` seconds.

Every per-user and per-workspace memory of the Slack adapter (people's time zones and admin
flags, installations, refused tokens) is one of these, so none of them grows with the
number of people or workspaces that ever wrote to raidline. The least recently stored
entry goes first when the cache is full. An entry past its ``ttl`` is no longer
:meth:`~Bounded.fresh`, but it stays (until pushed out) as the last known value for when
the source cannot be asked (:meth:`~Bounded.last_known`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Bounded(Generic[K, V]):
    """``key -> value``, at most ``size`` of them; each fresh for ``ttl`` seconds."""

    def __init__(
        self, size: int, ttl: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if size < 1:
            raise ValueError("a cache holds at least one entry")
        self.size = size
        self.ttl = ttl
        self._clock = clock
        #: key -> (value, monotonic time it stops being fresh), least recently stored first
        self._entries: OrderedDict[K, tuple[V, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return self.fresh(key) is not None  # type: ignore[arg-type]

    def fresh(self, key: K) -> V | None:
        """The value stored under ``key`` less than ``ttl`` seconds ago, or None."""
        entry = self._entries.get(key)
        if entry is None or entry[1] <= self._clock():
            return None
        return entry[0]

    def last_known(self, key: K) -> V | None:
        """The value stored under ``key``, however old, or None."""
        entry = self._entries.get(key)
        return None if entry is None else entry[0]

    def put(self, key: K, value: V) -> None:
        self._entries.pop(key, None)
        self._entries[key] = (value, self._clock() + self.ttl)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def drop(self, key: K) -> None:
        self._entries.pop(key, None)

    def drop_where(self, test: Callable[[K], bool]) -> int:
        """Forget every entry whose key passes ``test``; returns how many went."""
        gone = [key for key in self._entries if test(key)]
        for key in gone:
            del self._entries[key]
        return len(gone)


__all__ = ["Bounded"]
