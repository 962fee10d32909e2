"""The whole process: how fast ``raidline run`` is ready, and its memory with many channels.

    .venv/bin/python -m benchmarks.bench_process

* ``startup_s``: from starting ``raidline run`` (no Slack or Discord credentials, so the
  console on an embedded SQLite database) until its prompt appears on a terminal (a pty),
  the moment a user can type; median of 5 starts on an already-migrated database. The very
  first start, which also creates the database, is reported beside it.
* ``rss_mb_10k_channels``: resident memory (VmRSS) of that process once it is ready and has
  ticked the scheduler for a few seconds, on a database with 10,000 channels, each with
  settings, a standup schedule, a digest schedule and 5 open items. The same process on an
  empty database is reported beside it: the difference is what the channels cost.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks._common import emit, median
from benchmarks._data import add_channels, add_items, add_schedules, sync_engine
from storage.migrate import upgrade

PROMPT = b"raidline #"
TIMEOUT = 60.0


class Started:
    """``raidline run`` on a pseudo-terminal, until its prompt shows."""

    def __init__(self, db: Path) -> None:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SLACK_", "DISCORD_", "RAIDLINE_", "DATABASE_URL"))
        }
        env.update(DATABASE_URL=f"sqlite:///{db}", RAIDLINE_TICK_SECONDS="0.5")
        self.leader, follower = pty.openpty()
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [str(Path(sys.executable).with_name("raidline")), "run"],
            stdin=follower,
            stdout=follower,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=db.parent,
            close_fds=True,
        )
        os.close(follower)
        self.ready_after = self._wait_for(PROMPT)

    def _wait_for(self, wanted: bytes) -> float:
        seen = b""
        ends = time.monotonic() + TIMEOUT
        while wanted not in seen:
            if time.monotonic() > ends:
                raise RuntimeError(f"no prompt within {TIMEOUT} s; saw {seen[-300:]!r}")
            ready, _, _ = select.select([self.leader], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(self.leader, 4096)
                except OSError:  # the process ended
                    raise RuntimeError(f"raidline ended; it showed {seen[-300:]!r}") from None
        return time.perf_counter() - self.started

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text(encoding="utf-8")
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        return kb / 1024

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self.leader)


def _steady_rss(db: Path, seconds: float = 4.0) -> float:
    run = Started(db)
    try:
        peak = 0.0
        ends = time.monotonic() + seconds
        while time.monotonic() < ends:  # ticks every 0.5 s meanwhile
            peak = max(peak, run.rss_mb())
            time.sleep(0.25)
        return peak
    finally:
        run.stop()


def populate(db: Path, channels: int) -> None:
    # The process runs on the real clock, so the data is dated from it: with the fixed NOW
    # of the other benchmarks, every schedule fell due at start-up once that day had passed
    # and the figure measured 20,000 runs fanned out to the console, not a configured bot.
    now = datetime.now(UTC)
    url = f"sqlite:///{db}"
    upgrade(url)
    engine = sync_engine(url)
    try:
        ids = add_channels(engine, channels, platform="console", workspace="local",
                           created_at=now - timedelta(days=30))  # fmt: skip
        tomorrow = now + timedelta(days=1)
        add_schedules(engine, ids, next_run_at=tomorrow, at="09:30", now=now)
        add_schedules(engine, ids, next_run_at=tomorrow, at="17:00", kind="digest", now=now)
        for channel_id in ids:
            add_items(engine, channel_id, open_count=5, done_count=0, now=now, seed=channel_id)
    finally:
        engine.dispose()


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        first_db = Path(tmp) / "first" / "raidline.db"
        first_db.parent.mkdir()
        first = Started(first_db)
        first.stop()
        starts = []
        for _ in range(5):
            started = Started(first_db)
            starts.append(started.ready_after)
            started.stop()
        print(f"  first start (creates the database): {first.ready_after:6.2f} s")
        each = ", ".join(f"{s:.2f}" for s in starts)
        print(f"  start, median of 5:                 {median(starts):6.2f} s  ({each})")

        empty_rss = _steady_rss(first_db)
        many_db = Path(tmp) / "many" / "raidline.db"
        many_db.parent.mkdir()
        populate(many_db, 10_000)
        many_rss = _steady_rss(many_db)
        print(f"  resident memory, empty database:    {empty_rss:6.1f} MB")
        print(f"  resident memory, 10,000 channels:   {many_rss:6.1f} MB")
    return {
        "startup_s": median(starts),
        "startup_first_s": first.ready_after,
        "rss_mb_empty": empty_rss,
        "rss_mb_10k_channels": many_rss,
    }


def main() -> None:
    emit(run())


if __name__ == "__main__":
    main()
