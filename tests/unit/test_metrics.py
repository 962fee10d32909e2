"""Metrics: the core's observers count every request by kind, name and outcome; the
scheduler's tick reports become gauges and counters; the text parses as Prometheus'."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.logging import JsonFormatter, Redactor
from adapters.metrics import Metrics
from adapters.runtime.ticker import TickRunner
from bot.context import current_request_id
from bot.dispatcher import SHUTTING_DOWN, Core, Handled
from bot.domain.model import ChannelKey, Run, RunKind, RunStatus
from bot.errors import Unavailable
from bot.messages import Request
from bot.scheduler import Scheduler, TickReport
from tests.fakes import FakeStore, FixedClock
from tests.unit.conftest import BASE, Chat

CHANNEL = ChannelKey("console", "local", "proj")


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of the rendered text: (name, labels) -> value."""
    out: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(metrics: Metrics, metric: str, /, **labels: str) -> float:
    return samples(metrics).get((metric, frozenset(labels.items())), 0.0)


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def chat(metrics: Metrics) -> Chat:
    chat = Chat(FakeStore(), FixedClock(BASE))
    chat.core.observers.append(metrics.observe_request)
    return chat


async def test_requests_are_counted_by_kind_name_and_outcome(chat: Chat, metrics: Metrics) -> None:
    await chat.say("/blocker Waiting on creds @dana")
    await chat.say("/blocker Second one")
    await chat.say("/raid show B-99")  # not found
    await chat.say("/blockr typo")  # not a command
    await chat.say("/raid settings leads @ana")
    await chat.say("/raid settings nudges off", user="zoe")  # only a lead may
    await chat.click("resolve:B-1")
    await chat.click("frobnicate:B-1")
    await chat.click("new:blocker", {"title": ""})  # a form with a missing field

    def requests(kind: str, name: str, outcome: str) -> float:
        return value(metrics, "raidline_requests_total", kind=kind, name=name, outcome=outcome)

    assert requests("command", "blocker", "ok") == 2
    assert requests("command", "raid", "not_found") == 1
    assert requests("command", "unknown", "usage") == 1
    assert requests("command", "raid", "ok") == 1
    assert requests("command", "raid", "forbidden") == 1
    assert requests("click", "resolve", "ok") == 1
    assert requests("click", "unknown", "usage") == 1
    assert requests("form", "new", "usage") == 1
    assert value(metrics, "raidline_request_seconds_count", kind="command") == 6
    assert value(metrics, "raidline_request_seconds_count", kind="click") == 2
    assert value(metrics, "raidline_request_seconds_count", kind="form") == 1
    # Every bucket is there, and the +Inf bucket counts every request of the kind.
    assert value(metrics, "raidline_request_seconds_bucket", kind="command", le="+Inf") == 6
    assert value(metrics, "raidline_request_seconds_bucket", kind="command", le="10.0") == 6


async def test_a_conflict_and_an_unexpected_error_have_their_outcomes(
    chat: Chat, metrics: Metrics
) -> None:
    await chat.say("/blocker Waiting on creds")
    await chat.click("resolve:B-1")
    await chat.click("resolve:B-1")  # already resolved
    assert (
        value(metrics, "raidline_requests_total", kind="click", name="resolve", outcome="conflict")
        == 1
    )

    class Broken(FakeStore):
        def __call__(self):  # type: ignore[no-untyped-def]
            raise RuntimeError("boom")

    core = Core(Broken(), clock=FixedClock(BASE))
    core.observers.append(metrics.observe_request)
    reply = await core.handle(Request(CHANNEL, "ana", command="raid", text="list"))
    assert reply.incident_id is not None
    assert (
        value(metrics, "raidline_requests_total", kind="command", name="raid", outcome="error") == 1
    )


async def test_an_unreachable_database_is_unavailable_and_a_database_error(
    metrics: Metrics,
) -> None:
    class Down(FakeStore):
        def __call__(self):  # type: ignore[no-untyped-def]
            raise Unavailable()

    core = Core(Down(), clock=FixedClock(BASE))
    core.observers.append(metrics.observe_request)
    await core.handle(Request(CHANNEL, "ana", command="blocker", text="x"))
    assert (
        value(
            metrics,
            "raidline_requests_total",
            kind="command",
            name="blocker",
            outcome="unavailable",
        )
        == 1
    )
    assert value(metrics, "raidline_database_errors_total") == 1


async def test_a_core_that_stopped_accepting_answers_without_working(
    chat: Chat, metrics: Metrics
) -> None:
    chat.core.accepting = False
    reply = await chat.say("/blocker Late one")
    assert reply.text == SHUTTING_DOWN
    assert chat.store.commits == 0
    assert (
        value(
            metrics,
            "raidline_requests_total",
            kind="command",
            name="blocker",
            outcome="unavailable",
        )
        == 1
    )
    assert value(metrics, "raidline_database_errors_total") == 0


async def test_observers_see_the_request_id_and_a_failing_observer_changes_nothing(
    chat: Chat,
) -> None:
    seen: list[Handled] = []
    ids_during: list[str | None] = []

    def broken(_handled: Handled) -> None:
        raise RuntimeError("observer bug")

    def record(handled: Handled) -> None:
        seen.append(handled)
        ids_during.append(current_request_id.get())

    chat.core.observers[:0] = [broken]
    chat.core.observers.append(record)
    reply = await chat.say("/blocker Still answered")
    assert reply.item_ref == "B-1"
    (handled,) = seen
    assert handled.kind == "command" and handled.name == "blocker" and handled.outcome == "ok"
    assert ids_during == [handled.request_id] and len(handled.request_id) == 16
    # Left on the task, for the adapter's records about answering; the next request gets its own.
    assert current_request_id.get() == handled.request_id
    await chat.say("/raid list")
    assert seen[1].request_id != handled.request_id == ids_during[0]
    assert current_request_id.get() == seen[1].request_id
    assert chat.core.in_flight == 0


async def test_tick_reports_become_gauges_and_counters(metrics: Metrics) -> None:
    finished = datetime(2026, 11, 25, 9, 0, 5, tzinfo=UTC)
    metrics.observe_tick(
        TickReport(
            delivered=2,
            deliveries=[("digest", 1.5), ("standup_open", 42.0)],
            delivery_errors=1,
            database_errors=2,
            outbox_depth=7,
            finished_at=finished,
        )
    )
    assert value(metrics, "raidline_scheduler_lag_seconds") == 42.0
    assert value(metrics, "raidline_scheduler_last_tick_timestamp") == finished.timestamp()
    assert value(metrics, "raidline_outbox_depth") == 7
    assert value(metrics, "raidline_deliveries_total", kind="digest") == 1
    assert value(metrics, "raidline_deliveries_total", kind="standup_open") == 1
    assert value(metrics, "raidline_delivery_failures_total") == 1
    assert value(metrics, "raidline_database_errors_total") == 2
    # A failed tick counts its errors but moves neither the lag nor the last tick.
    metrics.observe_tick(TickReport(database_errors=1))
    assert value(metrics, "raidline_scheduler_lag_seconds") == 42.0
    assert value(metrics, "raidline_scheduler_last_tick_timestamp") == finished.timestamp()
    assert value(metrics, "raidline_database_errors_total") == 3
    # A tick that delivered nothing: no lag.
    metrics.observe_tick(TickReport(outbox_depth=0, finished_at=finished + timedelta(seconds=15)))
    assert value(metrics, "raidline_scheduler_lag_seconds") == 0
    assert value(metrics, "raidline_outbox_depth") == 0


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.fail = False

    async def send(self, message):  # type: ignore[no-untyped-def]
        if self.fail:
            raise RuntimeError("platform down")
        self.sent.append(message.reply.text)
        return f"ref-{len(self.sent)}"


async def add_nudge(store: FakeStore, due: datetime, key: str = "x") -> None:
    async with store() as uow:
        await uow.schedules.add_run(
            Run(key=f"test:{key}", kind=RunKind.DIGEST, channel=CHANNEL, due_at=due)
        )
        await uow.commit()


async def test_the_scheduler_reports_lag_kinds_failures_and_outbox_depth(
    metrics: Metrics,
) -> None:
    chat = Chat(FakeStore(), FixedClock(BASE))
    await chat.say("/blocker Something to digest")
    outbox = Recorder()
    scheduler = Scheduler(chat.store, outbox, clock=chat.clock)
    scheduler.observers.append(metrics.observe_tick)
    await add_nudge(chat.store, BASE - timedelta(seconds=30), "a")
    await add_nudge(chat.store, BASE + timedelta(hours=1), "later")
    report = await scheduler.tick()
    assert report.delivered == 1 and report.deliveries == [("digest", 30.0)]
    assert report.outbox_depth == 1  # the one due later
    assert value(metrics, "raidline_scheduler_lag_seconds") == 30.0
    assert value(metrics, "raidline_deliveries_total", kind="digest") == 1
    assert value(metrics, "raidline_outbox_depth") == 1

    chat.clock.advance(hours=2)
    outbox.fail = True
    report = await scheduler.tick()
    assert report.delivery_errors == 1 and report.delivered == 0
    assert value(metrics, "raidline_delivery_failures_total") == 1
    assert value(metrics, "raidline_outbox_depth") == 1  # back to pending, retried later


async def test_stopping_hands_back_claimed_runs_unsent() -> None:
    store = FakeStore()
    clock = FixedClock(BASE)
    for key in ("a", "b", "c"):
        await add_nudge(store, BASE - timedelta(minutes=1), key)

    class StopAfterFirst(Recorder):
        async def send(self, message):  # type: ignore[no-untyped-def]
            scheduler.stop_delivering()  # SIGTERM arrives while the first one is sent
            return await super().send(message)

    outbox = StopAfterFirst()
    scheduler = Scheduler(store, outbox, clock=clock)
    # Make the digests worth sending.
    chat = Chat(store, clock)
    await chat.say("/blocker Something")
    report = await scheduler.tick()
    assert len(outbox.sent) == 1 and report.delivered == 1
    assert report.released == 2
    runs = sorted(store.state.runs.values(), key=lambda r: r.key)
    assert [r.status for r in runs] == [RunStatus.DONE, RunStatus.PENDING, RunStatus.PENDING]
    assert [r.attempts for r in runs] == [1, 0, 0]  # the claim's attempt is undone
    assert all(r.lease_until is None for r in runs)
    # A stopping scheduler claims nothing more.
    assert (await scheduler.tick()).delivered == 0


def test_every_metric_is_described_and_parses(metrics: Metrics) -> None:
    names = {f.name for f in text_string_to_metric_families(metrics.render().decode())}
    assert names >= {
        "raidline_requests",
        "raidline_request_seconds",
        "raidline_scheduler_lag_seconds",
        "raidline_scheduler_last_tick_timestamp",
        "raidline_outbox_depth",
        "raidline_deliveries",
        "raidline_delivery_failures",
        "raidline_database_errors",
    }
    assert metrics.content_type.startswith("text/plain")
    # Two instances do not share (or collide in) a registry.
    other = Metrics()
    metrics.database_errors.inc()
    assert value(other, "raidline_database_errors_total") == 0


def test_json_logs_carry_the_request_id(caplog: pytest.LogCaptureFixture) -> None:
    formatter = JsonFormatter(Redactor(()))
    from adapters.logging import ContextFilter

    record = logging.LogRecord("x", logging.INFO, "x", 1, "hello", None, None)
    token = current_request_id.set("abc123")
    try:
        ContextFilter().filter(record)
    finally:
        current_request_id.reset(token)
    assert '"request_id": "abc123"' in formatter.format(record)


async def test_a_slow_channel_does_not_hold_up_the_others_and_each_keeps_its_order() -> None:
    store = FakeStore()
    clock = FixedClock(BASE)
    slow, fast = ChannelKey("console", "local", "slow"), ChannelKey("console", "local", "fast")
    for channel in (slow, fast):
        chat = Chat(store, clock)
        chat.channel = channel
        await chat.say("/blocker Something to digest")
    async with store() as uow:
        for n, channel in enumerate([slow, fast, slow, fast]):
            due = BASE - timedelta(minutes=10 - n)
            await uow.schedules.add_run(
                Run(key=f"d{n}", kind=RunKind.DIGEST, channel=channel, due_at=due)
            )
        await uow.commit()
    gate, fast_done = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    class SlowChannel(Recorder):
        async def send(self, message):  # type: ignore[no-untyped-def]
            if message.channel == slow and not gate.is_set():
                await gate.wait()  # the platform takes its time for this channel
            order.append(message.key)
            if order == ["d1", "d3"]:
                fast_done.set()
            return await super().send(message)

    scheduler = Scheduler(store, SlowChannel(), clock=clock, delivery_concurrency=4)
    tick = asyncio.create_task(scheduler.tick())
    await asyncio.wait_for(fast_done.wait(), 5)  # the fast channel's runs, while slow waits
    assert scheduler.delivering is not None and scheduler.delivering.key == "d0"
    gate.set()
    report = await tick
    assert order == ["d1", "d3", "d0", "d2"] and report.delivered == 4


async def test_a_full_batch_is_followed_by_the_next_at_once_not_after_the_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A smaller batch than raidline's: the in-memory store copies itself per unit of work.
    monkeypatch.setattr("bot.scheduler.DELIVERY_BATCH", 40)
    from bot.scheduler import DELIVERY_BATCH

    store = FakeStore()
    clock = FixedClock(BASE)
    chat = Chat(store, clock)
    await chat.say("/blocker Something to digest")
    backlog = DELIVERY_BATCH * 2 + 10
    for n in range(backlog):
        await add_nudge(store, BASE - timedelta(minutes=1), f"n{n}")
    all_sent = asyncio.Event()

    class Counting(Recorder):
        async def send(self, message):  # type: ignore[no-untyped-def]
            ref = await super().send(message)
            if len(self.sent) == backlog:
                all_sent.set()
            return ref

    outbox = Counting()
    scheduler = Scheduler(store, outbox, clock=clock)
    first = await scheduler.tick()
    assert first.busy and first.delivered == DELIVERY_BATCH
    runner = TickRunner(scheduler, interval_seconds=3600)  # the interval never comes
    runner.start()
    try:
        await asyncio.wait_for(all_sent.wait(), 10)
    finally:
        await runner.stop()
    assert len(outbox.sent) == backlog
    last = await scheduler.tick()
    assert not last.busy and last.delivered == 0
