"""Two ``raidline run`` processes on one PostgreSQL database: every stakeholder update is sent
once. Per channel, a decision needed and a risk that occurred (queued with the change), a
blocker long overdue and a milestone at risk (found by both replicas' sweeps) and the weekly
digest's copy (queued when the digest was posted): each stakeholder gets exactly one direct
message per event."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.runtime.timetable import CronTimetable
from bot.dispatcher import Core
from bot.domain.model import (
    WEEKDAYS,
    ChannelKey,
    ChannelSettings,
    Kind,
    RunKind,
    RunStatus,
    Schedule,
    ScheduleKind,
)
from bot.messages import Request, Tone
from storage.db import create_engine
from storage.migrate import upgrade
from storage.uow import make_uow_factory
from tests.e2e.test_console import postgres_url  # noqa: F401 - fixture
from tests.e2e.test_replicas import Replica
from tests.fakes import FixedClock

CHANNELS = 12
#: ``[#t-3, direct message to @cfo] Escalation from #t-3: blocker B-1 …``
DM = re.compile(
    r"^\[#(t-\d+), direct message to @(\w+)\] "
    r"(Decision needed|Escalation from #t-\d+: (?:risk|blocker|milestone)|Weekly digest of)"
)
#: What each stakeholder of a channel hears of.
EXPECTED = {
    ("cfo", "Decision needed"),
    ("cfo", "Escalation from: risk"),
    ("cfo", "Escalation from: blocker"),
    ("cfo", "Weekly digest of"),
    ("sponsor", "Escalation from: risk"),
    ("sponsor", "Escalation from: blocker"),
    ("cfo", "Escalation from: milestone"),
    ("sponsor", "Escalation from: milestone"),
}


def channel(n: int) -> ChannelKey:
    return ChannelKey("console", "local", f"t-{n}")


async def seed(url: str, due: datetime) -> None:
    """Stakeholders, items and a weekly digest due at ``due`` in every channel; the decision
    and the risk's notifications are queued (not sent) as the changes are made."""
    engine = create_engine(url)
    now = due - timedelta(seconds=5)
    try:
        uow_factory = make_uow_factory(engine)
        async with uow_factory() as uow:
            for n in range(CHANNELS):
                await uow.channels.save_settings(
                    ChannelSettings(
                        channel=channel(n),
                        timezone="UTC",
                        work_days=WEEKDAYS,  # every day a working day: nothing is held
                        stakeholders={
                            "cfo": ("weekly", "decisions", "escalations"),
                            "sponsor": ("escalations",),
                        },
                        escalate_after_days=1,
                    )
                )
                await uow.schedules.save(
                    Schedule(
                        channel=channel(n),
                        kind=ScheduleKind.DIGEST,
                        days=(WEEKDAYS[due.weekday()],),
                        at=due.strftime("%H:%M"),
                        timezone="UTC",
                        enabled=True,
                        next_run_at=due,
                    )
                )
            await uow.commit()
        core = Core(
            uow_factory, clock=FixedClock(now), default_timezone="UTC", timetable=CronTimetable()
        )
        for n in range(CHANNELS):
            for line in (
                "/milestone Launch due in 3 weeks @ana",
                "/blocker Waiting on API keys @dana for M-1",
                "/decision needed Pick the SSO vendor @cio",
                "/risk Vendor may slip @dana likelihood 3 impact 4",
                "/raid occurred R-1 it slipped",
            ):
                command, _, text = line.lstrip("/").partition(" ")
                reply = await core.handle(Request(channel(n), "ana", command=command, text=text))
                assert reply.tone is not Tone.ERROR, (line, reply.text)
        async with uow_factory() as uow:
            for n in range(CHANNELS):
                blocker = await uow.items.get(channel(n), Kind.BLOCKER, 1)
                assert blocker is not None
                await uow.items.update(replace(blocker, due_at=now - timedelta(days=10)))
            await uow.commit()
    finally:
        await engine.dispose()


async def stakeholder_runs(url: str) -> list[RunStatus]:
    engine = create_engine(url)
    try:
        async with make_uow_factory(engine)() as uow:
            found: list[RunStatus] = []
            for n in range(CHANNELS):
                runs = await uow.schedules.runs(channel(n), RunKind.STAKEHOLDER, limit=50)
                found += [r.status for r in runs]
            return found
    finally:
        await engine.dispose()


def heard(line: str) -> tuple[str, str, str] | None:
    m = DM.match(line)
    if m is None:
        return None
    what = m.group(3)
    if what.startswith("Escalation"):
        what = "Escalation from: " + what.rsplit(" ", 1)[1]
    return m.group(1), m.group(2), what


@pytest.mark.e2e
@pytest.mark.postgres
def test_two_processes_on_one_postgres_send_each_stakeholder_update_once(
    tmp_path: Path,
    postgres_url: str,  # noqa: F811 - the fixture
) -> None:
    upgrade(postgres_url)
    due = (datetime.now(UTC) + timedelta(seconds=6)).replace(microsecond=0)
    asyncio.run(seed(postgres_url, due))
    replicas = [Replica(tmp_path, postgres_url) for _ in range(2)]
    wanted = CHANNELS * len(EXPECTED)

    def received() -> Counter[tuple[str, str, str]]:
        return Counter(
            found for r in replicas for line in list(r.lines) if (found := heard(line)) is not None
        )

    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and sum(received().values()) < wanted:
            time.sleep(0.2)
        time.sleep(2)  # a few more ticks on both replicas: nothing may be sent twice
    finally:
        statuses = [r.stop() for r in replicas]
    assert statuses == [0, 0], [r.errors[-5:] for r in replicas]
    counts = received()
    expected = {(f"t-{n}", *each) for n in range(CHANNELS) for each in EXPECTED}
    assert set(counts) == expected, (counts, [r.errors[-5:] for r in replicas])
    assert set(counts.values()) == {1}  # one direct message per stakeholder and event
    assert not any("Traceback" in "".join(r.errors) for r in replicas)
    ledger = asyncio.run(stakeholder_runs(postgres_url))
    assert ledger == [RunStatus.DONE] * wanted  # one run each, and each delivered
