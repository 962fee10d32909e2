"""Two ``raidline run`` processes on one PostgreSQL database: every standup opens once, and
every member's prompt of a named standup asked by direct message at each member's own time
(members in several time zones) is sent once; on one of its channel's days off (an extra day
off, a day outside the work week) no standup opens and no member is prompted, and each
occurrence is recorded as skipped once, with the reason."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.runtime.timetable import CronTimetable
from bot.domain.model import (
    WEEKDAYS,
    ChannelKey,
    ChannelSettings,
    Run,
    RunKind,
    RunStatus,
    Schedule,
    ScheduleKind,
)
from bot.services.standups import LOCAL_LEAD
from storage.db import create_engine
from storage.migrate import upgrade
from storage.uow import make_uow_factory
from tests.e2e.test_console import clean_env, postgres_url  # noqa: F401 - fixture

STANDUPS = 30
#: ``[#team-3] Standup time!``, ``[#team-3, direct message to @bob] Standup time (retro)!``
OPENING = re.compile(
    r"^\[#(team-\d+)(?:, direct message to @(\w+))?\] Standup time(?: \((\w+)\))?!"
)
#: Per channel: the default standup's opening, and the retro's notice and one DM per member.
PER_CHANNEL = {(None, None), (None, "retro"), ("ana", "retro"), ("bob", "retro")}


def day_off(n: int) -> str | None:
    """Which kind of day off team-n has on the test's day: none, an extra day off, or a day
    outside its work week; the others keep Bavaria's public holidays."""
    return (None, "extra", "work week")[n % 3]


async def schedule_standups(url: str, due: datetime) -> None:
    engine = create_engine(url)
    today = due.date()
    weekday = WEEKDAYS[today.weekday()]
    try:
        async with make_uow_factory(engine)() as uow:
            for n in range(STANDUPS):
                off = day_off(n)
                await uow.channels.save_settings(
                    ChannelSettings(
                        channel=ChannelKey("console", "local", f"team-{n}"),
                        holidays="DE-BY" if off is None else None,
                        days_off=(today.isoformat(),) if off == "extra" else (),
                        work_days=tuple(d for d in WEEKDAYS if off != "work week" or d != weekday),
                    )
                )
                await uow.schedules.save(
                    Schedule(
                        channel=ChannelKey("console", "local", f"team-{n}"),
                        kind=ScheduleKind.STANDUP,
                        days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
                        at=due.strftime("%H:%M"),
                        timezone="UTC",
                        enabled=True,
                        next_run_at=due,
                        members=("ana",),
                        # members' own zones, kept on the default standup
                        zones={"ana": "Asia/Kolkata", "bob": "America/New_York"},
                    )
                )
                # A named standup of the same channel, due at the same time, asked by DM at
                # each member's own time ("dm local"): Kolkata's is past (asked at once),
                # New York's after the close (asked at the channel's time).
                await uow.schedules.save(
                    Schedule(
                        channel=ChannelKey("console", "local", f"team-{n}"),
                        kind=ScheduleKind.STANDUP,
                        name="retro",
                        days=("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
                        at=due.strftime("%H:%M"),
                        timezone="UTC",
                        enabled=True,
                        next_run_at=due - LOCAL_LEAD,
                        members=("ana", "bob"),
                        mode="dm",
                        local_times=True,
                    )
                )
            await uow.commit()
    finally:
        await engine.dispose()


class Replica:
    def __init__(self, tmp_path: Path, url: str) -> None:
        env = clean_env(
            tmp_path / "unused.db", {"DATABASE_URL": url, "RAIDLINE_TICK_SECONDS": "0.3"}
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "adapters", "run"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        self.lines: list[str] = []
        self.errors: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_errors, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def _read_errors(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.errors.append(line)

    def openings(self) -> list[tuple[str, str | None, str | None]]:
        """(channel, the member of a DM or None, the standup's name or None) of each."""
        return [m.groups() for line in list(self.lines) if (m := OPENING.match(line))]

    def stop(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()  # end of input: the console quits with status 0
        return self.process.wait(timeout=30)


@pytest.mark.e2e
@pytest.mark.postgres
def test_two_processes_on_one_postgres_open_each_standup_once(
    tmp_path: Path,
    postgres_url: str,  # noqa: F811 - the fixture
) -> None:
    upgrade(postgres_url)
    due = (datetime.now(UTC) + timedelta(seconds=6)).replace(microsecond=0)
    asyncio.run(schedule_standups(postgres_url, due))
    holiday = CronTimetable().holiday("DE-BY", due.date())  # None on most days
    working = [n for n in range(STANDUPS) if day_off(n) is None and holiday is None]
    replicas = [Replica(tmp_path, postgres_url) for _ in range(2)]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if sum(len(r.openings()) for r in replicas) >= len(working) * len(PER_CHANNEL):
                break
            time.sleep(0.2)
        time.sleep(2)  # a few more ticks on both replicas: nothing may open twice
    finally:
        statuses = [r.stop() for r in replicas]
    assert statuses == [0, 0], [r.errors for r in replicas]
    counts = Counter(opening for r in replicas for opening in r.openings())
    expected = {(f"team-{n}", *each) for n in working for each in PER_CHANNEL}
    assert set(counts) == expected, (counts, [r.errors[-5:] for r in replicas])
    assert set(counts.values()) == {1}  # each standup, and each member's prompt, once
    assert not any("Traceback" in "".join(r.errors) for r in replicas)
    ledger = asyncio.run(standup_runs(postgres_url))
    for n in range(STANDUPS):
        (run, retro) = ledger[f"team-{n}"]  # one run per standup and occurrence
        for opened in (run, retro):
            if n in working:
                assert opened.status is RunStatus.DONE
            else:
                assert opened.status is RunStatus.SKIPPED, opened
                assert opened.reason is not None
                if day_off(n) == "extra":
                    assert opened.reason == "a day off of this channel"
                else:
                    assert opened.reason.startswith("outside the work week (")


async def standup_runs(url: str) -> dict[str, list[Run]]:
    """Each channel's scheduled standup openings (not the DMs), whichever replica made them."""
    engine = create_engine(url)
    try:
        async with make_uow_factory(engine)() as uow:
            found = {}
            for n in range(STANDUPS):
                channel = ChannelKey("console", "local", f"team-{n}")
                runs = await uow.schedules.runs(channel, RunKind.STANDUP_OPEN, limit=20)
                found[channel.channel] = [
                    r for r in runs if "person" not in r.payload and not r.payload.get("prepare")
                ]
            return found
    finally:
        await engine.dispose()
