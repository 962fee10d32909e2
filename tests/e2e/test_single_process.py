"""SQLite serves one raidline process: a second one on the same file refuses to start."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_console import Session, raidline


@pytest.mark.e2e
def test_a_second_process_on_the_same_sqlite_file_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "raidline.db"
    first = Session(db, "--user", "ana", "--channel", "proj")
    try:
        first.send("/blocker Keep me running")
        first.until(lambda line: line.startswith("Logged B-1"))
        second = raidline("run", db=db, stdin="/raid list\n")
        assert second.returncode == 1
        (line,) = second.stderr.splitlines()
        assert line.startswith("raidline: another raidline process (pid ")
        assert "SQLite serves one process" in line and "PostgreSQL" in line
        assert second.stdout == ""
    finally:
        status, errors = first.close()
    assert status == 0, errors
    again = raidline("console", "--channel", "proj", db=db, stdin="/raid list\n")  # lock gone
    assert again.returncode == 0 and "B-1" in again.stdout
