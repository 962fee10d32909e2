"""The composition root's wiring: the adapter table, ``bootstrap_for_tests`` on fakes, and
that the settings load without the rest of the runtime."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.platform import AdapterDeps
from adapters.runtime.bootstrap import (
    ADAPTERS,
    Parts,
    bootstrap_for_tests,
    enabled_adapters,
)
from adapters.runtime.config import load_settings
from adapters.runtime.timetable import CronTimetable
from bot.domain.model import ChannelKey, Run, RunKind, RunStatus
from bot.messages import Outgoing, Request
from tests.fakes import FakeStore, FixedClock
from tests.unit.conftest import BASE

ROOT = Path(__file__).resolve().parents[2]
CHANNEL = ChannelKey("fake", "w", "c")


class FakeAdapter:
    """A platform adapter that remembers how it was built and what it sent."""

    def __init__(self, deps: AdapterDeps) -> None:
        self.deps = deps
        self.name = "fake"
        self.connected = False
        self.sent: list[Outgoing] = []

    async def start(self) -> None:
        self.connected = True

    async def stop(self) -> None:
        self.connected = False

    async def send(self, message: Outgoing) -> str | None:
        self.sent.append(message)
        return f"ref-{len(self.sent)}"


def wired(**env: str) -> tuple[Parts, FakeStore, FixedClock]:
    store, clock = FakeStore(), FixedClock(BASE)
    settings = load_settings({"RAIDLINE_TIMEZONE": "Europe/Berlin", **env})
    parts = bootstrap_for_tests(
        store, settings=settings, clock=clock, adapters={"fake": FakeAdapter}
    )
    return parts, store, clock


def test_every_adapter_is_built_with_the_same_deps() -> None:
    parts, store, clock = wired()
    (adapter,) = parts.adapters
    assert isinstance(adapter, FakeAdapter)
    deps = adapter.deps
    assert deps.settings is parts.settings and deps.core is parts.core
    assert deps.web_app is parts.web_app is not None and deps.engine is None
    assert parts.core.uow_factory is store is parts.uow_factory
    assert parts.core.clock is clock and parts.core.default_timezone == "Europe/Berlin"
    # Serving adapters means metrics: the core reports every request to them.
    assert parts.metrics is not None
    assert parts.core.observers == [parts.metrics.observe_request]
    assert parts.readiness is None  # no database to check


def test_without_adapters_nothing_is_served() -> None:
    parts = bootstrap_for_tests(FakeStore())
    assert parts.adapters == [] and parts.web_app is None and parts.metrics is None
    assert parts.core.observers == []
    assert parts.engine is None and parts.settings.timezone == "UTC"


async def test_the_ticker_delivers_through_the_adapters_and_wakes_on_schedule_changes() -> None:
    parts, store, clock = wired(RAIDLINE_TICK_SECONDS="7", RAIDLINE_DELIVERY_CONCURRENCY="3")
    ticks = parts.ticker()
    scheduler = ticks.scheduler
    assert ticks.interval == 7 and scheduler.delivery_concurrency == 3
    assert scheduler.platforms == frozenset({"fake"}) and scheduler.clock is clock
    assert scheduler.default_timezone == "Europe/Berlin"
    assert parts.metrics is not None and scheduler.observers == [parts.metrics.observe_tick]
    assert parts.core.on_schedule_change == ticks.wake

    await parts.core.handle(Request(CHANNEL, "ana", command="blocker", text="Something"))
    async with store() as uow:
        await uow.schedules.add_run(
            Run("test:1", RunKind.DIGEST, CHANNEL, BASE - timedelta(minutes=1))
        )
        await uow.commit()
    report = await scheduler.tick()
    (adapter,) = parts.adapters
    assert isinstance(adapter, FakeAdapter)
    assert report.delivered == 1 and [m.key for m in adapter.sent] == ["test:1"]
    assert [r.status for r in store.state.runs.values()] == [RunStatus.DONE]
    assert parts.metrics is not None
    assert 'raidline_deliveries_total{kind="digest"} 1.0' in parts.metrics.render().decode()


def test_commands_and_the_ticker_share_the_apscheduler_timetable() -> None:
    """Next runs and holidays come from APScheduler's triggers and the holiday data, not from
    the core's zoneinfo-only fallback."""
    parts, _, _ = wired()
    assert isinstance(parts.core.timetable, CronTimetable)
    assert parts.ticker().scheduler.timetable is parts.core.timetable


def test_the_ticker_can_deliver_elsewhere() -> None:
    parts = bootstrap_for_tests(FakeStore())
    console = FakeAdapter(AdapterDeps(settings=parts.settings, core=parts.core))
    ticks = parts.ticker({"console": console})
    assert ticks.scheduler.platforms == frozenset({"console"})
    assert ticks.scheduler.observers == []


def test_the_adapter_table_has_one_row_per_platform_enabled_by_its_credentials() -> None:
    assert list(ADAPTERS) == ["slack", "discord"]
    assert enabled_adapters(load_settings({})) == {}
    slack = load_settings({"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s"})
    assert list(enabled_adapters(slack)) == ["slack"]
    both = load_settings(
        {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-1", "DISCORD_BOT_TOKEN": "d"}
    )
    assert enabled_adapters(both) == {name: row.build for name, row in ADAPTERS.items()}


def test_each_row_builds_its_adapter_from_the_deps() -> None:
    settings = load_settings(
        {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s", "DISCORD_BOT_TOKEN": "d"}
    )
    parts = bootstrap_for_tests(FakeStore(), settings=settings, adapters=enabled_adapters(settings))
    assert [a.name for a in parts.adapters] == ["slack", "discord"]
    assert all(a.connected is False for a in parts.adapters)


@pytest.mark.parametrize(
    ("imported", "heavy"),
    [
        # The adapters import ``adapters.runtime.config``: it must stay cheap.
        (
            "adapters.runtime.config",
            "slack_bolt slack_sdk discord aiohttp sqlalchemy "
            "adapters.runtime.bootstrap adapters.runtime.lifecycle",
        ),
        # ``raidline run`` on the console never talks to Slack or Discord and may never serve
        # a calendar feed or read a holiday calendar: those libraries wait until they are
        # needed (they were about 20 MB of the console's resident memory).
        ("adapters.runtime.cli, adapters.console", "slack_bolt discord icalendar holidays"),
    ],
)
def test_importing_loads_no_library_it_does_not_need_yet(imported: str, heavy: str) -> None:
    code = (
        f"import sys, {imported}\nprint(sorted(m for m in {heavy.split()!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
