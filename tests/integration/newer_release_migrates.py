"""The rolling-upgrade check's stand-in for the previous release's ``upgrade``.

``test_rolling_upgrade.py`` copies this file into the previous release's tree as
``storage/_newer_release.py`` and makes that release's ``storage.migrate.upgrade`` this one:
as during a rolling upgrade, the newer release migrates the database and the previous one only
runs on it. The previous release's code never runs its own migrations here.

It runs inside the previous release, so it uses only the standard library and SQLAlchemy.
A new SQLite file becomes a copy of one the newer release migrated to its head, which is
fast; any other database is migrated by the newer release's own ``storage.migrate.upgrade``
in a helper process (one for the whole run).

Environment: ``RAIDLINE_NEWER_ROOT`` (the newer release's source tree) and
``RAIDLINE_NEWER_SQLITE`` (a SQLite file at its head).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import sqlalchemy as sa

_HELPER = r"""
import sys
from storage.migrate import upgrade
for line in sys.stdin:
    try:
        upgrade(line.strip())
    except Exception as exc:
        print("error " + " ".join(repr(exc).split()), flush=True)
    else:
        print("ok", flush=True)
"""

_lock = threading.Lock()
_helper: subprocess.Popen[str] | None = None


def _stop_helper() -> None:
    if _helper is not None and _helper.stdin is not None:
        _helper.stdin.close()
        _helper.wait(timeout=30)


def _migrate_with_newer_release(url: str) -> None:
    global _helper
    if _helper is None:
        root = os.environ["RAIDLINE_NEWER_ROOT"]
        _helper = subprocess.Popen(
            [sys.executable, "-c", _HELPER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=root,
            env={**os.environ, "PYTHONPATH": root},
        )
        atexit.register(_stop_helper)
    assert _helper.stdin is not None and _helper.stdout is not None
    _helper.stdin.write(url + "\n")
    _helper.stdin.flush()
    answer = _helper.stdout.readline().strip()
    if answer != "ok":
        raise RuntimeError(f"the newer release could not migrate the database: {answer}")


def _sync(url: sa.URL) -> sa.URL:
    return url.set(drivername="sqlite" if url.drivername.startswith("sqlite") else url.drivername)


def _copy_sqlite(url: sa.URL) -> bool:
    path = Path(url.database or "")
    if path.exists() and path.stat().st_size > 0:
        return False
    shutil.copyfile(os.environ["RAIDLINE_NEWER_SQLITE"], path)
    return True


def upgrade(url: str, revision: str = "head") -> None:
    """What the previous release's tests call to migrate: the newer release's head, always."""
    if revision != "head":
        raise AssertionError(f"the previous release's own migrations ({revision}) are not run")
    parsed = _sync(sa.make_url(url))
    with _lock:
        if parsed.drivername != "sqlite" or not _copy_sqlite(parsed):
            _migrate_with_newer_release(url)


async def upgrade_async(url: str, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, url, revision)
