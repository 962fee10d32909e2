"""The garbage collector and what a server makes once, at start.

A running raidline holds a few hundred thousand objects made while starting: the modules,
the tables' metadata, SQLAlchemy's compiled statements, the templates, Bolt's and
discord.py's machinery. They live as long as the process. Python's collector still walks
all of them at every full collection, and with a burst of commands coming in, those walks
were the slowest replies: over Slack HTTP on SQLite, the 99th percentile to the reply was
79–85 ms with them and 43–49 ms without (benchmarks/README.md). ``gc.freeze`` moves what
exists once the process is up out of the collector's sight; objects made later are
collected as before, and objects frozen but freed later by reference counting still go.
"""

from __future__ import annotations

import gc

__all__ = ["freeze_startup_objects", "thaw_startup_objects"]


def freeze_startup_objects() -> int:
    """Collect once, then freeze what is left; how many objects are frozen now."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def thaw_startup_objects() -> None:
    """Give the frozen objects back to the collector (at shutdown, for an embedding process
    such as the tests, which starts raidline many times)."""
    gc.unfreeze()
