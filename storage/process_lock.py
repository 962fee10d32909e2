"""One raidline process per SQLite file.

SQLite serialises writers, but two bots ticking on one file would still race on everything
outside the database (and fight for its lock). The second process is refused at start-up with
a message that says why and what to do instead; PostgreSQL is the way to run several.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from storage.db import normalize_url


class AlreadyRunning(Exception):
    """Another raidline process holds the SQLite file; ``str()`` is one line for the operator."""


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for any other database."""
    try:
        parsed = make_url(normalize_url(url))
    except ValueError:
        return None  # not a usable URL: start-up reports that, not this lock
    if not parsed.drivername.startswith("sqlite") or not parsed.database:
        return None
    return Path(parsed.database).resolve()


@contextlib.contextmanager
def single_process(url: str) -> Iterator[None]:
    """Hold an exclusive lock next to the SQLite file for as long as the block runs.

    The operating system drops the lock when the process dies, so a crash never leaves a
    stale lock behind. Other databases need no lock.
    """
    path = sqlite_path(url)
    if path is None:
        yield
        return
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        # No such directory, or not writable: opening the database fails the same way and
        # says so clearly; there is no second process to keep out of a file nobody can open.
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise AlreadyRunning(
                f"another raidline process (pid {holder}) is already running on the SQLite "
                f"database {path}; SQLite serves one process. Stop the other one, or use "
                "PostgreSQL (DATABASE_URL=postgresql+psycopg://…) to run several."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
