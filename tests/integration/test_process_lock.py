"""A second raidline process on the same SQLite file is refused; PostgreSQL is not locked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from storage.process_lock import AlreadyRunning, single_process, sqlite_path


def test_the_second_holder_is_refused_with_the_first_ones_pid(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'raidline.db'}"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from storage.process_lock import single_process\n"
            f"with single_process({url!r}):\n"
            "    print('locked', flush=True)\n"
            "    sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        with pytest.raises(AlreadyRunning) as refused, single_process(url):
            pass
        message = str(refused.value)
        assert f"pid {child.pid}" in message and "use PostgreSQL" in message
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=10)
    with single_process(url):  # released when the holder ended
        pass


def test_a_crashed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'raidline.db'}"
    code = (
        "import os\nfrom storage.process_lock import single_process\n"
        f"with single_process({url!r}):\n    os._exit(9)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2])
    with single_process(url):
        assert (tmp_path / "raidline.db.lock").read_text() == str(os.getpid())


def test_postgres_urls_take_no_lock() -> None:
    assert sqlite_path("postgresql+psycopg://u@h/db") is None
    with single_process("postgresql+psycopg://u@h/db"), single_process("postgresql://u@h/db"):
        pass


@pytest.mark.parametrize("url", ["mysql://db/raid", "sqlite:////nonexistent/dir/raidline.db"])
def test_unusable_urls_are_left_to_start_up_to_report(url: str) -> None:
    with single_process(url):
        pass
    assert not Path("/nonexistent").exists()
