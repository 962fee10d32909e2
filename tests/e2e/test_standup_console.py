"""A standup in the console, end to end: scheduled for the next minute, it opens, takes an
answer and posts its summary, with the real scheduler tick running in ``raidline console``."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.test_console import clean_env

WAIT = 150  # seconds: the next minute, plus a one-minute answer window, plus slack


class Console:
    def __init__(self, db: Path) -> None:
        env = clean_env(
            db,
            {"RAIDLINE_TIMEZONE": "UTC", "RAIDLINE_TICK_SECONDS": "0.5"},
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "adapters", "console", "--user", "ana", "--channel", "proj"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=env,
            cwd=db.parent,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.errors: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()
        # Read stderr as it comes: a full pipe would block the process.
        threading.Thread(target=self._pump_errors, daemon=True).start()

    def _pump_errors(self) -> None:
        assert self.process.stderr is not None
        self.errors.extend(self.process.stderr)

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def until(self, text: str, timeout: float = WAIT) -> str:
        deadline = datetime.now(UTC) + timedelta(seconds=timeout)
        while True:
            left = (deadline - datetime.now(UTC)).total_seconds()
            try:
                line = self.lines.get(timeout=max(left, 0.01))
            except queue.Empty:
                raise AssertionError(
                    f"no {text!r} in:\n"
                    + "\n".join(self.seen)
                    + "\nstderr:\n"
                    + "".join(self.errors)
                ) from None
            if line is None:
                raise AssertionError("raidline ended early:\n" + "\n".join(self.seen))
            self.seen.append(line)
            if text in line:
                return line

    def close(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(timeout=30)


@pytest.mark.e2e
@pytest.mark.long
def test_a_standup_scheduled_for_the_next_minute(tmp_path: Path) -> None:
    console = Console(tmp_path / "raidline.db")
    try:
        console.send("/standup members @ana @bob")
        console.until("Standup members: @ana @bob")
        console.send("/standup window 1m")
        console.until("Standup answers are taken for 0h01m")
        # Whatever day the test runs on is a working day (weekends are days off by default).
        console.send("/raid settings workweek mon-sun")
        console.until("This channel's work week: every day.")
        now = datetime.now(UTC)
        start = (now + timedelta(minutes=2 if now.second > 50 else 1)).strftime("%H:%M")
        console.send(f"/standup schedule daily {start}")
        console.until(f"every day at {start} UTC")

        console.until("Standup time!")
        console.send("/standup answer")
        console.send("shipped the login page")
        console.send("waiting on VPN access")
        console.send("none")
        console.until("Thanks, your standup answer is saved")

        console.until("<@bob> the standup closes at".replace("<@bob>", "@bob"))
        console.until("Standup summary: 1 answered, 1 did not")
        console.send("/raid list")
        console.until("Open items: none")
        assert console.close() == 0
        assert "Traceback" not in "".join(console.errors)
        rest = "\n".join(console.seen)
        assert "Answered: @ana" in rest and "No answer: @bob" in rest
        assert "waiting on VPN access" in rest
        assert rest.count("Standup time!") == 1
        assert rest.count("Standup summary") == 1
    finally:
        if console.process.poll() is None:
            console.process.kill()
