"""Soak: minutes of mixed Slack traffic against the real adapter; memory flat, no errors.

``make soak`` (``python -m tests.reliability.soak --minutes 10``) serves raidline's real
:class:`~adapters.slack.SlackAdapter` over HTTP on an ephemeral port, on a real SQLite
database (migrated like production) with the real scheduler tick
(:func:`adapters.runtime.ticker.start_scheduler`: :class:`~bot.scheduler.Scheduler` in a
:class:`~adapters.runtime.ticker.TickRunner`) delivering through the adapter to the Slack Web API
stand-in (:mod:`tests.adapters.slack.fake_slack`). Every request is signed like Slack signs
it (:mod:`tests.adapters.slack.wire`).

Traffic. One worker per channel (six channels in two workspaces, three or four people
each) sends one request at a time, picked at random from a model of that channel's items:
slash commands (``/blocker``, ``/risk``, ``/decision``, ``/change``, ``/raid list|show|
history|resolve|assign|due|note|close|decide|approve|implemented|withdraw|reopen|settings``,
``/standup``, ``/standup answer``, ``/digest``), button clicks on the messages raidline
posted (resolve, take, assign, new date, close, decide, reject, approve, the standup's
Answer, a summary's "track it", a nudge's Snooze or Take it), the modals those open, and
App Home openings (Events API). Every request is checked: HTTP 200 with the body Slack
expects, and the reply it should produce (a channel post, an ephemeral ``response_url``
answer, an in-place ``chat.update``, a modal, the published App Home) must reach the
stand-in with the expected text. Workers run concurrently, so the adapter, the core and
SQLite see parallel load.

Scheduled work. A controllable clock (:class:`tests.fakes.FixedClock`) runs ``--speed``
times faster than the wall clock (600: ten simulated minutes per second; ten minutes of
soak are four simulated days). Each channel has a daily standup (one-hour window) and a
daily digest, and items fall due, so standups open, remind and close, digests and nudges
fire repeatedly. Every message the scheduler sends is checked to arrive at the stand-in
once.

Verdict. Every few seconds the soak samples RSS (``VmRSS``), Python's allocated blocks,
malloc's bytes in use, SQLite's heap, open files and asyncio tasks (:data:`GAUGES`). After a
warm-up (20 % of the run, at least 30 s) each gets a least-squares slope per minute and a
growth (median of the last quarter of the samples less that of the first quarter); a gauge
fails the soak when both pass its limits. RSS's limits are looser than the live-memory
gauges', because RSS also keeps what the allocators hold after it was freed (see
:data:`GAUGES` for the numbers). Every log record at ERROR or above, from any logger, and any
exception that escaped a task or thread fails the soak; so does a request whose HTTP answer
or reply was not what Slack would get, and a scheduled message that did not arrive once.
"""

from __future__ import annotations

import _sqlite3
import argparse
import asyncio
import contextlib
import ctypes
import functools
import itertools
import json
import logging
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from array import array
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from adapters.platform import AdapterDeps
from adapters.runtime.config import load_settings
from adapters.runtime.ticker import start_scheduler
from adapters.slack import SlackAdapter
from adapters.slack import blocks as kit
from bot.dispatcher import Core
from bot.messages import Outgoing
from storage.db import create_engine
from storage.migrate import upgrade
from storage.uow import make_uow_factory
from tests.adapters.slack import wire
from tests.adapters.slack.conftest import Harness, blocks_text, env
from tests.adapters.slack.fake_slack import Call, FakeSlack
from tests.fakes import FixedClock

log = logging.getLogger("raidline.soak")

#: Wed 25 Nov 2026, 15:30 in Berlin: standups open between 16:20 and 16:45, items "due today"
#: fall due at 17:00, digests go out between 17:30 and 17:55, nudges until 18:00: all within
#: the first four simulated hours (24 s at the default speed).
START = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
ZONE = "Europe/Berlin"
#: (workspace, channel) of each worker.
CHANNELS = (
    ("T1", "C11"),
    ("T1", "C12"),
    ("T1", "C13"),
    ("T1", "C14"),
    ("T2", "C21"),
    ("T2", "C22"),
)
#: Someone in every channel of T1, with their own time zone (Slack users.info).
SHARED_USER = "U1"
SHARED_USER_TZ = "America/New_York"
#: Active items per channel; above it, workers close items instead of logging new ones.
ACTIVE_CAP = 10
#: Seconds a request's reply may take to reach the stand-in.
REPLY_TIMEOUT = 20.0
#: Seconds between scheduler ticks (wall clock).
TICK_SECONDS = 0.5
#: Samples after the warm-up needed before trends are judged at all.
MIN_JUDGED_SAMPLES = 10

TOPICS = (
    "Firewall rule for the API gateway",
    "Test data for the billing import",
    "Load balancer certificate renewal",
    "SSO vendor contract",
    "Staging database size",
    "CRM export format",
    "Store listing for the mobile app",
    "Access to the analytics cluster",
)
LOGGED_RE = re.compile(r"^(?:Logged|Recorded decision|Tracked) ([BRDC]-\d+): ")
NUDGE_REF_RE = re.compile(r"\b([BRDC]-\d+) “")


# --- memory ---------------------------------------------------------------------------------


def rss_mb() -> float:
    """This process's resident set size in MB (``VmRSS`` of /proc/self/status)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


@functools.cache
def _sqlite_library() -> Any:
    """The SQLite library Python's sqlite3 module uses (dlsym also searches its
    dependencies), or None when it does not export ``sqlite3_memory_used``."""
    try:
        lib = ctypes.CDLL(_sqlite3.__file__)
        lib.sqlite3_memory_used.restype = ctypes.c_int64
    except (OSError, AttributeError):
        return None
    return lib


def sqlite_heap_mb() -> float | None:
    """Memory SQLite has allocated (page caches, statements), in MB; None if unknown."""
    lib = _sqlite_library()
    return None if lib is None else lib.sqlite3_memory_used() / 2**20


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


@functools.cache
def _mallinfo2() -> Any:
    try:
        function = ctypes.CDLL(None).mallinfo2  # glibc 2.33+
    except (OSError, AttributeError):
        return None
    function.restype = _MallInfo2
    return function


def malloc_in_use_mb() -> float | None:
    """Bytes malloc has handed out and not got back (glibc ``mallinfo2``), less SQLite's own,
    in MB: native memory in use, without the free space the allocator keeps. None if
    unknown."""
    mallinfo2, sqlite = _mallinfo2(), sqlite_heap_mb()
    if mallinfo2 is None:
        return None
    info = mallinfo2()
    return float(info.uordblks + info.hblkhd) / 2**20 - (sqlite or 0.0)


def open_files() -> float:
    return float(len(os.listdir("/proc/self/fd")))


def python_blocks_k() -> float:
    return sys.getallocatedblocks() / 1000


def asyncio_tasks() -> float:
    return float(len(asyncio.all_tasks()))


@dataclass(frozen=True)
class Gauge:
    """Something sampled every few seconds, and when its trend after the warm-up is a leak:
    a slope above ``slope_limit`` per minute *and* a growth above ``growth_limit`` (the median
    of the last quarter of the samples less that of the first quarter). Needing both keeps
    one jump, or a noisy slope over a short run, from failing the soak."""

    name: str
    unit: str
    read: Callable[[], float | None]
    slope_limit: float | None  # None: the growth alone decides
    growth_limit: float


#: What the soak samples and judges. RSS is what an operator sees, but it also counts memory
#: the allocators keep after it was freed (glibc heap fragmentation, pymalloc arenas): in
#: ten-minute runs whose live-memory gauges below were flat, RSS still drifted 0.6-2.2 MB/min
#: with the machine's load, so its limits are 3 MB/min and 10 MB, which a leak of 1 KB per
#: request (6 MB/min at the usual 100 requests/s) exceeds twice over. Smaller leaks show in
#: the live-memory gauges, which do not drift: Python's allocated blocks (in-flight objects
#: move them by about 2k; one object kept per request is at least 3k a minute and 24k over
#: the eight judged minutes of a ten-minute run) and malloc's bytes in use outside SQLite
#: (flat within 0.5 MB; 0.5 MB/min is 100 bytes per request). SQLite's page caches fill as
#: the database grows, up to 2 MiB for each pooled connection, so only growth past 32 MB
#: counts. Open files and asyncio tasks catch unclosed connections and tasks left behind.
GAUGES = (
    Gauge("RSS", "MB", rss_mb, 3.0, 10.0),
    Gauge("Python heap", "k blocks", python_blocks_k, 3.0, 15.0),
    Gauge("malloc in use (besides SQLite)", "MB", malloc_in_use_mb, 0.5, 3.0),
    Gauge("SQLite heap", "MB", sqlite_heap_mb, None, 32.0),
    Gauge("open files", "", open_files, None, 20.0),
    Gauge("asyncio tasks", "", asyncio_tasks, None, 50.0),
)


def least_squares_slope(points: Sequence[tuple[float, float]]) -> float:
    """Slope of the least-squares line through (x, y) points."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    if sxx == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx


@dataclass
class Trend:
    gauge: Gauge
    first: float
    last: float
    max: float
    #: samples after the warm-up
    judged_samples: int
    #: per minute, after the warm-up (None: too few samples)
    slope: float | None = None
    #: median of the last quarter less the median of the first quarter, after the warm-up
    growth: float | None = None

    @property
    def leak(self) -> bool:
        g = self.gauge
        if self.slope is None or self.growth is None:
            return False
        return (g.slope_limit is None or self.slope > g.slope_limit) and (
            self.growth > g.growth_limit
        )

    def failure(self) -> str:
        g, u = self.gauge, f" {self.gauge.unit}" if self.gauge.unit else ""
        slope = f"{self.slope:+.2f}{u}/min and " if g.slope_limit is not None else ""
        limits = (f"{g.slope_limit:g}{u}/min and " if g.slope_limit is not None else "") + (
            f"{g.growth_limit:g}{u}"
        )
        return f"{g.name} grows {slope}{self.growth:+.1f}{u} after warm-up (limits {limits})"

    def describe(self) -> str:
        g, u = self.gauge, f" {self.gauge.unit}" if self.gauge.unit else ""
        text = (
            f"{g.name}: first {self.first:.1f}{u}, last {self.last:.1f}{u}, max {self.max:.1f}{u}"
        )
        if self.slope is None or self.growth is None:
            return text + f"; not judged ({self.judged_samples} samples after warm-up)"
        limits = f"{g.growth_limit:g}{u}"
        if g.slope_limit is not None:
            limits = f"{g.slope_limit:g}{u}/min and " + limits
        return (
            text + f"; after warm-up slope {self.slope:+.3f}{u}/min, growth "
            f"{self.growth:+.1f}{u} (leak above {limits})"
        )


@dataclass
class Series:
    """One gauge's samples as (seconds since the start, value), kept in two arrays: a list
    of tuples would itself grow the Python heap the soak watches."""

    times: array[float] = field(default_factory=lambda: array("d"))
    values: array[float] = field(default_factory=lambda: array("d"))

    def add(self, seconds: float, value: float) -> None:
        self.times.append(seconds)
        self.values.append(value)

    def points(self) -> list[tuple[float, float]]:
        return list(zip(self.times, self.values, strict=True))

    def __len__(self) -> int:
        return len(self.values)


def judge(gauge: Gauge, samples: Sequence[tuple[float, float]], warmup: float) -> Trend:
    """The trend of one gauge's samples: slope and quarter-median growth after the warm-up."""
    values = [v for _, v in samples]
    trend = Trend(gauge, values[0], values[-1], max(values), 0)
    after = [(t, v) for t, v in samples if t >= warmup]
    trend.judged_samples = len(after)
    if len(after) >= MIN_JUDGED_SAMPLES:
        trend.slope = least_squares_slope([(t / 60, v) for t, v in after])
        quarter = max(1, len(after) // 4)
        trend.growth = statistics.median(v for _, v in after[-quarter:]) - statistics.median(
            v for _, v in after[:quarter]
        )
    return trend


# --- result ---------------------------------------------------------------------------------


#: Upper bounds (seconds) of the reply-latency buckets.
LATENCY_BOUNDS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, REPLY_TIMEOUT)


@dataclass
class Latencies:
    """Seconds from sending a request to its reply at the stand-in, in fixed buckets (a list
    of every latency would itself grow the memory the soak measures)."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS) + 1))
    max: float = 0.0

    def add(self, seconds: float) -> None:
        index = next((i for i, b in enumerate(LATENCY_BOUNDS) if seconds <= b), -1)
        self.counts[index] += 1
        self.max = max(self.max, seconds)

    def percentile(self, p: float) -> str:
        """The bucket bound below which ``p`` percent of the replies came, e.g. "<= 0.05 s"."""
        total = sum(self.counts)
        if not total:
            return "-"
        seen = 0
        for bound, count in zip(LATENCY_BOUNDS, self.counts, strict=False):
            seen += count
            if seen >= total * p / 100:
                return f"<={bound:g}s"
        return f">{LATENCY_BOUNDS[-1]:g}s"


@dataclass
class SoakResult:
    minutes: float
    speed: float
    wall_seconds: float = 0.0
    simulated_hours: float = 0.0
    requests: Counter[str] = field(default_factory=Counter)
    http_failures: int = 0
    #: modal submissions acknowledged with "still working" (the core took over 2.3 s)
    slow_submissions: int = 0
    replies_checked: int = 0
    latency: Latencies = field(default_factory=Latencies)
    reply_failures: int = 0
    unexpected_calls: int = 0
    #: scheduled messages the scheduler handed to the adapter, by run kind
    scheduled_sent: Counter[str] = field(default_factory=Counter)
    #: of those, seen at the stand-in
    scheduled_delivered: int = 0
    scheduled_missing: int = 0
    duplicate_runs: int = 0
    errors_logged: int = 0
    warnings_logged: Counter[str] = field(default_factory=Counter)
    #: the first problems (failed checks, errors), for the report
    problems: list[str] = field(default_factory=list)
    #: gauge name -> its samples
    samples: dict[str, Series] = field(default_factory=dict)
    warmup_seconds: float = 0.0
    trends: list[Trend] = field(default_factory=list)
    database_mb: float = 0.0

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def rss(self) -> list[tuple[float, float]]:
        return self.samples["RSS"].points() if "RSS" in self.samples else []

    @property
    def rss_first(self) -> float:
        return self.rss[0][1] if self.rss else 0.0

    @property
    def rss_last(self) -> float:
        return self.rss[-1][1] if self.rss else 0.0

    @property
    def rss_max(self) -> float:
        return max((mb for _, mb in self.rss), default=0.0)

    @property
    def failures(self) -> list[str]:
        out = []
        if self.total_requests == 0:
            out.append("no requests were sent")
        if self.http_failures:
            out.append(f"{self.http_failures} requests did not get the HTTP answer Slack expects")
        if self.reply_failures:
            out.append(f"{self.reply_failures} replies did not reach the stand-in as expected")
        if self.unexpected_calls:
            out.append(f"{self.unexpected_calls} calls to the stand-in that no request explains")
        if self.scheduled_missing:
            out.append(f"{self.scheduled_missing} scheduled messages never reached the stand-in")
        if self.duplicate_runs:
            out.append(f"{self.duplicate_runs} scheduled runs were sent twice")
        if self.errors_logged:
            out.append(f"{self.errors_logged} errors logged or raised in tasks")
        for trend in self.trends:
            if trend.leak:
                out.append(trend.failure())
        return out

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        kinds: Counter[str] = Counter()
        for label, n in self.requests.items():
            kinds[label.split(" ", 1)[0]] += n
        lines = [
            f"soak: {self.wall_seconds:.0f} s of traffic ({self.minutes:g} min asked), "
            f"{self.simulated_hours:.1f} simulated hours at {self.speed:g}x",
            f"requests: {self.total_requests} "
            f"({self.total_requests / max(self.wall_seconds, 1e-9):.0f}/s): "
            + ", ".join(f"{k} {n}" for k, n in kinds.most_common()),
        ]
        for label, n in sorted(self.requests.items()):
            lines.append(f"  {label:<34} {n}")
        lines += [
            f"HTTP failures: {self.http_failures}; slow modal submissions (answered after the "
            f"ack): {self.slow_submissions}",
            f"replies checked at the stand-in: {self.replies_checked} "
            f"(failures {self.reply_failures}, unexplained calls {self.unexpected_calls}); "
            f"reply latency p50 {self.latency.percentile(50)}, p99 "
            f"{self.latency.percentile(99)}, max {self.latency.max:.2f}s",
            f"scheduled messages: {sum(self.scheduled_sent.values())} sent, "
            f"{self.scheduled_delivered} seen at the stand-in, {self.scheduled_missing} missing, "
            f"{self.duplicate_runs} duplicates: "
            + ", ".join(f"{k} {n}" for k, n in sorted(self.scheduled_sent.items())),
            f"errors logged: {self.errors_logged}; warnings: {sum(self.warnings_logged.values())}"
            + "".join(f"\n  {n} x {msg[:100]}" for msg, n in self.warnings_logged.most_common(5)),
            f"database file: {self.database_mb:.1f} MB",
        ]
        lines.append(
            f"memory: {len(self.rss)} samples, warm-up {self.warmup_seconds:.0f} s; "
            "trends after it (slope per minute, last- less first-quarter median):"
        )
        lines += [f"  {trend.describe()}" for trend in self.trends]
        for problem in self.problems[:30]:
            lines.append(f"  ! {problem}")
        failures = self.failures
        lines.append("PASS" if not failures else "FAIL: " + "; ".join(failures))
        return "\n".join(lines)


# --- capture of errors ------------------------------------------------------------------------


class ErrorCapture(logging.Handler):
    """Counts every WARNING+ record; keeps the first few ERROR+ records in full."""

    def __init__(self, result: SoakResult) -> None:
        super().__init__(logging.WARNING)
        self.result = result
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.result.errors_logged += 1
            if self.result.errors_logged <= 10:
                try:
                    text = self.format(record)
                except Exception:  # a broken record is still an error
                    text = f"{record.name}: {record.msg!r}"
                self.result.problems.append("logged: " + text[:3000])
        else:
            self.result.warnings_logged[f"{record.name}: {record.msg}"] += 1


# --- the stand-in, drained -----------------------------------------------------------------


class SoakSlack(FakeSlack):
    """The stand-in, with its record of calls handed over (so it does not grow) and modal ids
    that follow from the trigger id (so a submission carries the id views.open returned)."""

    def drain(self) -> list[Call]:
        with self._lock:
            calls, self.calls = self.calls, []
        return calls

    def _canned(self, method: str, call: Call) -> dict[str, Any]:
        answer = super()._canned(method, call)
        if method == "views.open" and answer.get("ok"):
            answer["view"]["id"] = view_id(str(call.body.get("trigger_id")))
        return answer


def view_id(trigger_id: str) -> str:
    return f"V{trigger_id}"


# --- expectations ---------------------------------------------------------------------------


@dataclass
class Exp:
    """One call a request must cause at the stand-in."""

    method: str
    test: Callable[[Call], bool]
    what: str


def text_of(call: Call) -> str:
    return str(call.body.get("text") or "")


def is_warning(call: Call) -> bool:
    return text_of(call).startswith(":warning:")


@dataclass
class Pending:
    """A scheduled message on its way to the stand-in."""

    key: str
    kind: str
    channel: str  # the items' channel


class Recorder:
    """The scheduler's messenger: the adapter, noting what each run sends so the stand-in's
    calls can be checked against it."""

    def __init__(self, adapter: SlackAdapter, soak: Soak) -> None:
        self.adapter = adapter
        self.soak = soak
        self.keys: set[str] = set()

    async def send(self, message: Outgoing) -> str | None:
        key = message.key or "?"
        kind = key.split(":", 1)[0]
        conversation = f"D{message.to_user}" if message.to_user else message.channel.channel
        text = kit.message_text(message.reply)
        if key in self.keys:
            self.soak.result.duplicate_runs += 1
            self.soak.problem(f"run {key} was sent twice")
        expected = Pending(key, kind, message.channel.channel)
        self.soak.scheduled.setdefault((conversation, text), deque()).append(expected)
        try:
            ts = await self.adapter.send(message)
        except BaseException:
            queue = self.soak.scheduled.get((conversation, text))
            if queue and expected in queue:
                queue.remove(expected)
            raise
        self.keys.add(key)
        self.soak.result.scheduled_sent[kind] += 1
        return ts


# --- the channel model and its worker ----------------------------------------------------------


@dataclass
class Tracked:
    ref: str
    title: str
    status: str  # open | resolved | closed | pending | decided | proposed | approved | done
    owner: str | None = None
    decider: str | None = None
    approver: str | None = None
    blocks: list[dict[str, Any]] = field(default_factory=list)
    #: logged at set-up and never closed or re-dated, so nudges fall due every working day
    pinned: bool = False

    @property
    def kind(self) -> str:
        return self.ref[0]

    @property
    def active(self) -> bool:
        return self.status in ("open", "pending", "proposed", "approved")


def buttons(blocks: Sequence[dict[str, Any]]) -> list[str]:
    return [
        str(e.get("action_id"))
        for b in blocks
        if b.get("type") == "actions"
        for e in b.get("elements", ())
    ]


Op = Callable[[], Awaitable[None]]


class Worker:
    """One channel: a model of its items and one request at a time, each one checked."""

    def __init__(self, soak: Soak, index: int, team: str, channel: str) -> None:
        self.soak = soak
        self.index = index
        self.team = team
        self.channel = channel
        self.rng = random.Random(soak.seed * 1000 + index)
        own = [f"U{channel[1:]}{n}" for n in (1, 2, 3)]
        #: the people only in this channel (App Home is per person, so it is theirs)
        self.own = own
        self.users = own + ([SHARED_USER] if team == "T1" else [])
        #: never answers standups, so reminders and "no answer" happen every day
        self.quiet = own[2]
        self.items: dict[str, Tracked] = {}
        self.done: deque[Tracked] = deque(maxlen=20)
        self.mailbox: list[Call] = []
        self.arrived = asyncio.Event()
        self.seq = itertools.count(1)
        self.standup_open = False
        self.answered: set[str] = set()
        self.openings: deque[list[dict[str, Any]]] = deque(maxlen=2)
        self.summaries: deque[tuple[list[dict[str, Any]], list[str]]] = deque(maxlen=2)
        self.nudges: deque[tuple[str, list[dict[str, Any]], str]] = deque(maxlen=6)
        #: the last requests, shown with the first problems (a soak failure needs context)
        self.trace: deque[str] = deque(maxlen=12)
        #: when the request in flight was sent
        self.sent_at = 0.0

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def h(self) -> Harness:
        return self.soak.harness

    def deliver(self, call: Call) -> None:
        self.mailbox.append(call)
        self.arrived.set()

    def tags(self) -> tuple[str, str, str]:
        """A fresh response_url key, trigger id and message ts, each naming this worker."""
        n = next(self.seq)
        return f"w{self.index}n{n}", f"t{self.index}n{n}", f"18{self.index:02d}000000.{n:06d}"

    def flush_unexplained(self) -> None:
        for call in self.mailbox:
            self.soak.result.unexpected_calls += 1
            self.problem(f"unexplained {call.method}: {text_of(call)[:160]!r}")
        self.mailbox.clear()

    async def expect(self, label: str, *alternatives: list[Exp]) -> list[Call] | None:
        """Wait until the calls of one alternative have all reached the stand-in."""
        deadline = time.monotonic() + REPLY_TIMEOUT
        while True:
            self.arrived.clear()
            for alternative in alternatives:
                picked = self._pick(alternative)
                if picked is not None:
                    self.mailbox = [c for c in self.mailbox if all(c is not p for p in picked)]
                    self.soak.result.replies_checked += len(picked)
                    self.soak.result.latency.add(time.monotonic() - self.sent_at)
                    return picked
            left = deadline - time.monotonic()
            if left <= 0:
                self.soak.result.reply_failures += 1
                wanted = " or ".join(" + ".join(e.what for e in alt) for alt in alternatives)
                seen = "; ".join(f"{c.method} {text_of(c)[:80]!r}" for c in self.mailbox) or "none"
                self.problem(f"{label}: expected {wanted}; saw {seen}")
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), left)

    def _pick(self, alternative: list[Exp]) -> list[Call] | None:
        picked: list[Call] = []
        for exp in alternative:
            call = next(
                (
                    c
                    for c in self.mailbox
                    if all(c is not p for p in picked) and c.method == exp.method and exp.test(c)
                ),
                None,
            )
            if call is None:
                return None
            picked.append(call)
        return picked

    def problem(self, text: str) -> None:
        first = len(self.soak.result.problems) < 8
        self.soak.problem(f"{self.channel}: {text}")
        if first:
            self.soak.problem(f"{self.channel} before that: " + " | ".join(self.trace))

    def submitted(self, label: str, status: int, body: str) -> str:
        """How Slack's modal was answered: ``ok`` (closed; the answer follows), ``slow``
        ("still working"; the answer follows), ``notice`` (an error shown in the modal),
        ``errors`` (field errors) or ``bad``."""
        answer = json_body(body) if body else {}
        action = answer.get("response_action")
        if status == 200 and not body:
            return "ok"
        if status == 200 and action == "update":
            shown = blocks_text((answer.get("view") or {}).get("blocks") or [])
            if shown.startswith("Still working on it"):
                self.soak.result.slow_submissions += 1
                return "slow"
            return "notice"
        if status == 200 and action == "errors":
            return "errors"
        self.soak.result.http_failures += 1
        self.problem(f"{label}: HTTP {status} {body[:300]!r}")
        return "bad"

    def check_http(self, label: str, status: int, body: str, want: str | None = "") -> bool:
        if status == 200 and (want is None or body == want):
            return True
        self.soak.result.http_failures += 1
        self.problem(f"{label}: HTTP {status} {body[:300]!r}")
        return False

    # -- expectations ----------------------------------------------------------------------

    def post(self, prefix: str, *, thread: str | None = None) -> Exp:
        def test(c: Call) -> bool:
            return (
                c.body.get("channel") == self.channel
                and text_of(c).startswith(prefix)
                and (thread is None or c.body.get("thread_ts") == thread)
            )

        return Exp("chat.postMessage", test, f"a post {prefix!r}")

    @staticmethod
    def private(
        key: str, prefix: str | tuple[str, ...] | None = None, *, warning: bool = False
    ) -> Exp:
        """``prefix``: what the answer starts with (one of several)."""

        def test(c: Call) -> bool:
            if warning:
                return is_warning(c)
            return not is_warning(c) and (prefix is None or text_of(c).startswith(prefix))

        what = "a warning" if warning else f"an ephemeral {prefix or 'answer'!r}"
        return Exp(f"response_url:{key}", test, what)

    @staticmethod
    def update(ts: str, prefix: str) -> Exp:
        def test(c: Call) -> bool:
            return c.body.get("ts") == ts and text_of(c).startswith(prefix)

        return Exp("chat.update", test, f"an update {prefix!r}")

    @staticmethod
    def modal(trigger: str) -> Exp:
        return Exp("views.open", lambda c: c.body.get("trigger_id") == trigger, "a modal to open")

    # -- sending ----------------------------------------------------------------------------

    async def command(
        self, label: str, command: str, text: str, user: str
    ) -> tuple[str, str, bool]:
        self.flush_unexplained()
        key, trigger, _ = self.tags()
        self.soak.result.requests[f"command {label}"] += 1
        self.trace.append(f"{key} {user} {command} {text[:60]}")
        self.sent_at = time.monotonic()
        body = wire.slash(
            command,
            text,
            team=self.team,
            channel=self.channel,
            user=user,
            response_url=self.soak.fake.response_url(key),
            trigger_id=trigger,
        )
        status, answer = await self.send(body)
        return key, trigger, self.check_http(f"{command} {text[:40]}", status, answer)

    async def click(
        self,
        label: str,
        blocks: list[dict[str, Any]],
        action_id: str,
        user: str,
        *,
        conversation: str | None = None,
        ephemeral: bool = False,
    ) -> tuple[str, str, str, bool]:
        self.flush_unexplained()
        key, trigger, ts = self.tags()
        self.soak.result.requests[f"click {label}"] += 1
        self.trace.append(f"{key} {user} click {action_id} ts {ts}")
        self.sent_at = time.monotonic()
        block_id, button = wire.find_button(blocks, action_id)
        payload = wire.block_actions(
            button,
            block_id,
            team=self.team,
            channel=conversation or self.channel,
            user=user,
            message_blocks=blocks,
            message_ts=ts,
            ephemeral=ephemeral,
            response_url=self.soak.fake.response_url(key),
            trigger_id=trigger,
        )
        status, answer = await self.send(wire.interactive(payload))
        return key, trigger, ts, self.check_http(f"click {action_id}", status, answer)

    async def submit(
        self, label: str, opened: Call, trigger: str, values: dict[str, Any], user: str
    ) -> tuple[int, str]:
        self.soak.result.requests[f"submit {label}"] += 1
        self.trace.append(f"{trigger} {user} submit {label} {values}")
        self.sent_at = time.monotonic()
        view = dict(opened.body["view"])
        view["id"] = view_id(trigger)
        payload = wire.view_submission(view, values, team=self.team, user=user)
        return await self.send(wire.interactive(payload))

    async def send(self, body: bytes) -> tuple[int, str]:
        """POST a form body to /slack/events, signed; a transport error is status 0."""
        try:
            return await self.h.post(body, wire.FORM)
        except (aiohttp.ClientError, TimeoutError) as e:
            return 0, repr(e)

    # -- choosing -------------------------------------------------------------------------

    def user(self) -> str:
        return self.rng.choice(self.users)

    def title(self) -> str:
        return f"{self.rng.choice(TOPICS)} s{next(self.soak.titles)}"

    def date(self, user: str) -> str:
        zone = SHARED_USER_TZ if user == SHARED_USER else ZONE
        local = self.soak.clock.now().astimezone(ZoneInfo(zone))
        if local.hour < 16 and self.rng.random() < 0.5:
            return "today"
        return self.rng.choice(("tomorrow", "in 2 days", "next tuesday", "in 2 weeks"))

    def active(self, *kinds: str, status: str | None = None, pinned: bool = False) -> list[Tracked]:
        """Active items of these kinds; pinned ones only with ``pinned=True``."""
        return [
            i
            for i in self.items.values()
            if i.active
            and (pinned or not i.pinned)
            and (not kinds or i.kind in kinds)
            and (status is None or i.status == status)
        ]

    def choose(self) -> Op:
        ops: list[tuple[float, Op]] = []
        add = ops.append
        if len(self.active()) < ACTIVE_CAP:
            add((6, self.log_blocker))
            add((3, self.log_risk))
            add((2, self.log_decision_needed))
            add((1, self.log_decision_taken))
            add((2, self.log_change))
            add((1.5, self.log_with_modal))
        add((3, self.list_items))
        add((2, self.show_item))
        add((1, self.history))
        add((0.6, self.settings))
        add((0.5, self.app_home))
        add((0.4, self.digest_now))
        if self.active("B", status="open"):
            add((2, self.resolve_command))
            add((2, self.resolve_click))
            add((0.5, self.reopen))
        if self.active("B", "R", pinned=True):
            add((1, self.take_click))
        if self.active("B", "R"):
            add((1, self.assign_command))
            add((1, self.assign_click))
        if self.active("B", "R", "D"):
            add((1, self.due_command))
            add((0.5, self.due_click))
        if self.active(pinned=True):
            add((1, self.note))
        if self.active():
            add((0.5, self.withdraw))
        if self.active("R"):
            add((1, self.close_command))
            add((1, self.close_click))
        if self.active("D", status="pending"):
            add((1, self.decide_command))
            add((1, self.decide_click))
        if self.active("C", status="proposed"):
            add((1, self.approve_command))
            add((1, self.approve_click))
            add((0.3, self.reject_click))
        if self.active("C", status="approved"):
            add((0.5, self.implemented))
        if self.standup_open and self.answerers():
            add((8, self.answer_command))
            add((8, self.answer_click))
        if self.summaries and self.summaries[0][1]:
            add((2, self.track_click))
        if self.nudges:
            add((2, self.nudge_click))
        total = sum(w for w, _ in ops)
        pick = self.rng.uniform(0, total)
        for weight, op in ops:
            pick -= weight
            if pick <= 0:
                return op
        return ops[-1][1]

    def answerers(self) -> list[str]:
        return [u for u in self.users if u != self.quiet and u not in self.answered]

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.choose()()
            await asyncio.sleep(0)

    # -- model updates --------------------------------------------------------------------

    def logged(self, calls: list[Call] | None, status: str, **fields: Any) -> None:
        if not calls:
            return
        m = LOGGED_RE.match(text_of(calls[-1]))
        if m is None:
            self.problem(f"no ref in {text_of(calls[-1])[:100]!r}")
            return
        item = Tracked(m.group(1), fields.pop("title", ""), status, **fields)
        item.blocks = list(calls[-1].body.get("blocks") or [])
        if item.active:
            self.items[item.ref] = item
        else:
            self.done.append(item)

    def changed(self, item: Tracked, status: str | None, calls: list[Call] | None) -> None:
        if not calls:
            return
        if calls[-1].method in ("chat.update", "chat.postMessage"):
            item.blocks = list(calls[-1].body.get("blocks") or item.blocks)
        if status is not None:
            item.status = status
        if not item.active and item.ref in self.items:
            del self.items[item.ref]
            self.done.append(item)
        elif item.active and item.ref not in self.items:
            self.items[item.ref] = item
            with contextlib.suppress(ValueError):
                self.done.remove(item)

    # -- logging items ---------------------------------------------------------------------

    async def log_blocker(self) -> None:
        user, title = self.user(), self.title()
        owner = self.rng.choice([*self.users, None])
        text = title + (f" <@{owner}>" if owner else "")
        if self.rng.random() < 0.7:
            text += f" due {self.date(user)}"
        if self.rng.random() < 0.3:
            text += " waiting on NetOps"
        _, _, ok = await self.command("/blocker", "/blocker", text, user)
        if ok:
            calls = await self.expect("/blocker", [self.post("Logged B-")])
            self.check_title(calls, title)
            self.logged(calls, "open", title=title, owner=owner)

    def check_title(self, calls: list[Call] | None, title: str) -> None:
        if calls and f": {title}" not in text_of(calls[-1]):
            self.soak.result.reply_failures += 1
            self.problem(f"logged {title!r} but the post says {text_of(calls[-1])[:100]!r}")

    async def log_risk(self) -> None:
        user, title = self.user(), self.title()
        owner = self.rng.choice(self.users)
        likelihood = self.rng.choice(("low", "medium", "high", "4"))
        text = (
            f"{title} likelihood {likelihood} impact high <@{owner}> review {self.date(user)} "
            "mitigation weekly check-in"
        )
        _, _, ok = await self.command("/risk", "/risk", text, user)
        if ok:
            calls = await self.expect("/risk", [self.post("Logged R-")])
            self.check_title(calls, title)
            self.logged(calls, "open", title=title, owner=owner)

    async def log_decision_needed(self) -> None:
        user, title = self.user(), self.title()
        decider = self.rng.choice([*self.users, None])
        text = f"needed {title}" + (f" <@{decider}>" if decider else "")
        text += f" by {self.date(user)}"
        _, _, ok = await self.command("/decision needed", "/decision", text, user)
        if ok:
            calls = await self.expect("/decision", [self.post("Logged D-")])
            self.check_title(calls, title)
            self.logged(calls, "pending", title=title, decider=decider)

    async def log_decision_taken(self) -> None:
        user, title = self.user(), self.title()
        _, _, ok = await self.command("/decision", "/decision", title, user)
        if ok:
            calls = await self.expect("/decision", [self.post("Recorded decision D-")])
            self.check_title(calls, title)
            self.logged(calls, "decided", title=title)

    async def log_change(self) -> None:
        user, title = self.user(), self.title()
        approver = self.rng.choice([*self.users, None, None])
        text = f"{title} impact schedule +1 week, cost +2k"
        text += (f" <@{approver}>" if approver else "") + " because the pilot needs it"
        _, _, ok = await self.command("/change", "/change", text, user)
        if ok:
            calls = await self.expect("/change", [self.post("Logged C-")])
            self.check_title(calls, title)
            self.logged(calls, "proposed", title=title, approver=approver)

    async def log_with_modal(self) -> None:
        """A command with no text opens its form; sometimes a field error comes first."""
        user, title = self.user(), self.title()
        command, prefix, values, fields = self.rng.choice(
            (
                (
                    "/blocker",
                    "Logged B-",
                    {"title": title, "owner": user, "due": "tomorrow"},
                    {"status": "open", "owner": user},
                ),
                (
                    "/risk",
                    "Logged R-",
                    {"title": title, "likelihood": "4", "response": "mitigate"},
                    {"status": "open"},
                ),
                (
                    "/change",
                    "Logged C-",
                    {"title": title, "impact": "cost +8k", "approvers": [user]},
                    {"status": "proposed", "approver": user},
                ),
            )
        )
        key, trigger, ok = await self.command(f"{command} (form)", command, "", user)
        if not ok:
            return
        opened = await self.expect(f"{command} form", [self.modal(trigger)])
        if not opened:
            return
        if command == "/blocker" and self.rng.random() < 0.3:
            status, answer = await self.submit(
                "new (field error)", opened[0], trigger, {**values, "due": "next sprint"}, user
            )
            how = self.submitted("form with a bad date", status, answer)
            if how == "errors" and list(json_body(answer).get("errors") or {}) == ["due"]:
                self.soak.result.replies_checked += 1
            elif how == "slow":
                await self.expect("slow form with a bad date", [self.private(key, warning=True)])
            elif how != "bad":
                self.soak.result.reply_failures += 1
                self.problem(f"a bad date in a form was answered {answer[:200]!r}")
        status, answer = await self.submit(f"new:{command[1:]}", opened[0], trigger, values, user)
        if self.submitted(f"{command} form", status, answer) in ("ok", "slow"):
            calls = await self.expect(f"{command} form", [self.post(prefix)])
            self.check_title(calls, title)
            self.logged(calls, fields.pop("status"), title=title, **fields)
        elif answer:
            self.unexpected_answer(f"{command} form", answer)

    def unexpected_answer(self, label: str, answer: str) -> None:
        self.soak.result.reply_failures += 1
        self.problem(f"{label} was answered {answer[:300]!r}")

    # -- reading -----------------------------------------------------------------------------

    async def list_items(self) -> None:
        text = self.rng.choice(("list", "list blockers", "list mine", "list overdue", "list risks"))
        key, _, ok = await self.command(f"/raid {text}", "/raid", text, self.user())
        if ok:
            await self.expect(f"/raid {text}", [self.private(key)])

    def any_item(self) -> Tracked | None:
        known = [*self.items.values(), *self.done]
        return self.rng.choice(known) if known else None

    async def show_item(self) -> None:
        item = self.any_item()
        if item is None:
            return await self.list_items()
        key, _, ok = await self.command("/raid show", "/raid", f"show {item.ref}", self.user())
        if ok:
            await self.expect("/raid show", [self.private(key, f"{item.ref}: ")])

    async def history(self) -> None:
        item = self.any_item()
        if item is None:
            return await self.list_items()
        key, _, ok = await self.command(
            "/raid history", "/raid", f"history {item.ref.lower().replace('-', '')}", self.user()
        )
        if ok:
            await self.expect("/raid history", [self.private(key, f"History of {item.ref}: ")])

    async def app_home(self) -> None:
        """An Events API request: someone opens raidline's App Home, which is published."""
        self.flush_unexplained()
        user = self.rng.choice(self.own)
        self.soak.result.requests["event app_home_opened"] += 1
        self.trace.append(f"{user} app_home_opened")
        self.sent_at = time.monotonic()
        try:
            status, answer = await self.h.post(wire.home_opened(user, team=self.team), wire.JSON)
        except (aiohttp.ClientError, TimeoutError) as e:
            status, answer = 0, repr(e)
        if self.check_http("app_home_opened", status, answer):
            published = Exp(
                "views.publish", lambda c: c.body.get("user_id") == user, "App Home published"
            )
            await self.expect("app_home_opened", [published])

    async def settings(self) -> None:
        command, text, prefix = self.rng.choice(
            (
                ("/raid", "settings", "Settings of this channel"),
                # while a standup is open, /standup leads with it (who answered, who not)
                ("/standup", "", ("Standup of this channel", "The standup of ")),
                ("/digest", "status", "Digest: every day"),
            )
        )
        key, _, ok = await self.command(f"{command} {text}".strip(), command, text, self.user())
        if ok:
            await self.expect(f"{command} {text}", [self.private(key, prefix)])

    async def digest_now(self) -> None:
        _, _, ok = await self.command("/digest", "/digest", "", self.user())
        if ok:
            await self.expect("/digest", [self.post("Digest: ")])

    # -- changing items ----------------------------------------------------------------------

    async def by_command(
        self, label: str, item: Tracked, text: str, verb: str, status: str | None, user: str
    ) -> None:
        _, _, ok = await self.command(label, "/raid", text, user)
        if ok:
            calls = await self.expect(label, [self.post(f"{verb} {item.ref}: ")])
            self.changed(item, status, calls)

    async def by_click(
        self, label: str, item: Tracked, action_id: str, verb: str, status: str | None, user: str
    ) -> None:
        if action_id not in buttons(item.blocks):
            return await self.show_item()
        _, _, ts, ok = await self.click(label, item.blocks, action_id, user)
        if ok:
            calls = await self.expect(label, [self.update(ts, f"{verb} {item.ref}: ")])
            self.changed(item, status, calls)

    async def by_form(
        self,
        label: str,
        item: Tracked,
        action_id: str,
        values: dict[str, Any],
        verb: str,
        status: str | None,
        user: str,
    ) -> None:
        if action_id not in buttons(item.blocks):
            return await self.show_item()
        _, trigger, ts, ok = await self.click(label, item.blocks, action_id, user)
        if not ok:
            return
        opened = await self.expect(label, [self.modal(trigger)])
        if not opened:
            return
        status_code, answer = await self.submit(label, opened[0], trigger, values, user)
        how = self.submitted(f"{label} form", status_code, answer)
        if how in ("ok", "slow"):
            calls = await self.expect(f"{label} form", [self.update(ts, f"{verb} {item.ref}: ")])
            self.changed(item, status, calls)
        elif how != "bad":
            self.unexpected_answer(f"{label} form", answer)

    def pick(self, *kinds: str, status: str | None = None, pinned: bool = False) -> Tracked:
        return self.rng.choice(self.active(*kinds, status=status, pinned=pinned))

    async def resolve_command(self) -> None:
        item = self.pick("B", status="open")
        await self.by_command(
            "/raid resolve",
            item,
            f"resolve {item.ref} fixed upstream",
            "Resolved",
            "resolved",
            self.user(),
        )

    async def resolve_click(self) -> None:
        item = self.pick("B", status="open")
        await self.by_click(
            "resolve", item, f"resolve:{item.ref}", "Resolved", "resolved", self.user()
        )

    async def reopen(self) -> None:
        resolved = [i for i in self.done if i.status == "resolved"]
        if not resolved:
            return await self.resolve_command()
        item = self.rng.choice(resolved)
        await self.by_command(
            "/raid reopen", item, f"reopen {item.ref}", "Reopened", "open", self.user()
        )

    async def take_click(self) -> None:
        item = self.pick("B", "R", pinned=True)
        user = self.user()
        await self.by_click("take", item, f"take:{item.ref}", "Taken", None, user)
        item.owner = user

    async def assign_command(self) -> None:
        item = self.pick("B", "R")
        owner = self.user()
        await self.by_command(
            "/raid assign", item, f"assign {item.ref} <@{owner}>", "Assigned", None, self.user()
        )
        item.owner = owner

    async def assign_click(self) -> None:
        item = self.pick("B", "R")
        owner = self.user()
        await self.by_form(
            "assign", item, f"assign:{item.ref}", {"owner": owner}, "Assigned", None, self.user()
        )
        item.owner = owner

    async def due_command(self) -> None:
        item = self.pick("B", "R", "D")
        user = self.decider(item)
        await self.by_command(
            "/raid due", item, f"due {item.ref} {self.date(user)}", "Re-dated", None, user
        )

    async def due_click(self) -> None:
        item = self.pick("B", "R", "D")
        user = self.decider(item)
        await self.by_form(
            "due", item, f"due:{item.ref}", {"due": "next tuesday"}, "Re-dated", None, user
        )

    async def note(self) -> None:
        item = self.pick(pinned=True)
        await self.by_command(
            "/raid note",
            item,
            f"note {item.ref} checked with the vendor",
            "Noted on",
            None,
            self.user(),
        )

    async def withdraw(self) -> None:
        item = self.pick()
        user = self.decider(item)
        await self.by_command(
            "/raid withdraw", item, f"withdraw {item.ref}", "Withdrew", "done", user
        )

    async def close_command(self) -> None:
        item = self.pick("R")
        await self.by_command(
            "/raid close", item, f"close {item.ref}", "Closed", "closed", self.user()
        )

    async def close_click(self) -> None:
        item = self.pick("R")
        await self.by_click("close", item, f"close:{item.ref}", "Closed", "closed", self.user())

    def decider(self, item: Tracked) -> str:
        """Who may decide (or approve) ``item``: its named decider or approver, else anyone."""
        return item.decider or item.approver or self.user()

    async def decide_command(self) -> None:
        item = self.pick("D", status="pending")
        await self.by_command(
            "/raid decide",
            item,
            f"decide {item.ref} Okta, best SCIM support",
            "Decided",
            "decided",
            self.decider(item),
        )

    async def decide_click(self) -> None:
        item = self.pick("D", status="pending")
        await self.by_form(
            "decide",
            item,
            f"decide:{item.ref}",
            {"outcome": "Okta", "rationale": "SCIM"},
            "Decided",
            "decided",
            self.decider(item),
        )

    async def approve_command(self) -> None:
        item = self.pick("C", status="proposed")
        await self.by_command(
            "/raid approve",
            item,
            f"approve {item.ref}",
            "Approved",
            "approved",
            self.decider(item),
        )

    async def approve_click(self) -> None:
        item = self.pick("C", status="proposed")
        await self.by_click(
            "approve", item, f"approve:{item.ref}", "Approved", "approved", self.decider(item)
        )

    async def reject_click(self) -> None:
        item = self.pick("C", status="proposed")
        await self.by_form(
            "reject",
            item,
            f"reject:{item.ref}",
            {"reason": "no budget this quarter"},
            "Rejected",
            "done",
            self.decider(item),
        )

    async def implemented(self) -> None:
        item = self.pick("C", status="approved")
        await self.by_command(
            "/raid implemented",
            item,
            f"implemented {item.ref}",
            "Implemented",
            "done",
            self.decider(item),
        )

    # -- scheduled messages and their buttons -------------------------------------------------

    def scheduled(self, pending: Pending, call: Call) -> None:
        """A scheduled message of this channel reached the stand-in."""
        blocks = list(call.body.get("blocks") or [])
        if pending.kind in ("standup_open", "standup_now"):
            self.standup_open = True
            self.answered.clear()
            self.openings.clear()
            self.openings.append(blocks)
        elif pending.kind == "standup_remind":
            self.openings.append(blocks)
        elif pending.kind == "standup_close":
            self.standup_open = False
            self.openings.clear()
            tracks = [a for a in buttons(blocks) if a.startswith("track:")]
            self.summaries.append((blocks, tracks))
        elif pending.kind == "nudge":
            m = NUDGE_REF_RE.search(text_of(call))
            if m is not None:
                self.nudges.append((str(call.body.get("channel")), blocks, m.group(1)))

    async def answer_command(self) -> None:
        user = self.rng.choice(self.answerers())
        key, trigger, ok = await self.command("/standup answer", "/standup", "answer", user)
        if not ok:
            return
        got = await self.expect(
            "/standup answer", [self.modal(trigger)], [self.private(key, warning=True)]
        )
        if got and got[0].method == "views.open":
            await self.answer(got[0], trigger, user, key)

    async def answer_click(self) -> None:
        if not self.openings:
            return await self.answer_command()
        blocks = self.openings[-1]
        action = next((a for a in buttons(blocks) if a.startswith("standup_answer:")), None)
        if action is None:
            return await self.answer_command()
        user = self.rng.choice(self.answerers())
        key, trigger, _, ok = await self.click("standup Answer", blocks, action, user)
        if not ok:
            return
        got = await self.expect(
            "standup Answer", [self.modal(trigger)], [self.private(key, warning=True)]
        )
        if got and got[0].method == "views.open":
            await self.answer(got[0], trigger, user, key)

    async def answer(self, opened: Call, trigger: str, user: str, key: str) -> None:
        n = next(self.soak.titles)
        values = {
            "q0": f"Shipped the import fix s{n}",
            "q1": f"waiting on test data s{n}" if self.rng.random() < 0.4 else "none",
            "q2": f"pick a load test tool s{n}" if self.rng.random() < 0.2 else "nothing",
        }
        status, answer = await self.submit("standup answer", opened, trigger, values, user)
        how = self.submitted("standup answer form", status, answer)
        if how == "notice":
            # It closed while the form was open: the modal says so, nothing else is sent.
            self.soak.result.replies_checked += 1
            return
        if how not in ("ok", "slow"):
            if how != "bad":
                self.unexpected_answer("standup answer", answer)
            return
        saved = [self.private(key, "Thanks, your standup answer is saved")]
        closed = [self.private(key, warning=True)]
        got = await self.expect("standup answer", saved, *([closed] if how == "slow" else []))
        if got and not is_warning(got[0]):
            self.answered.add(user)

    async def track_click(self) -> None:
        blocks, tracks = self.summaries[0]
        action = tracks.pop(0)
        if not tracks:
            self.summaries.popleft()
        user = self.user()
        key, _, ts, ok = await self.click("track it", blocks, action, user)
        if not ok:
            return
        got = await self.expect(
            "track it",
            [self.post("Tracked ", thread=ts)],
            [self.private(key, "Already tracked as ")],
            [self.private(key, warning=True)],
        )
        if got and got[0].method == "chat.postMessage":
            m = LOGGED_RE.match(text_of(got[0]))
            status = "open" if m and m.group(1).startswith("B") else "pending"
            self.logged(got, status, title=text_of(got[0]).split(": ", 1)[-1])

    async def nudge_click(self) -> None:
        conversation, blocks, ref = self.nudges.popleft()
        item = self.items.get(ref)
        if item is None:
            return await self.list_items()  # done since; nothing to nudge about
        choices = [a for a in buttons(blocks) if a in (f"snooze:{ref}:1d", f"take:{ref}")]
        if not choices:
            return await self.list_items()
        action = self.rng.choice(choices)
        verb = "Snoozed" if action.startswith("snooze") else "Taken"
        # A direct message is clicked by the person it went to.
        user = conversation[1:] if conversation.startswith("D") else self.user()
        _, _, ts, ok = await self.click(
            f"nudge {verb.lower()}", blocks, action, user, conversation=conversation
        )
        if ok:
            await self.expect(
                f"nudge {action}",
                [self.update(ts, f"{verb} {ref}: ")],
                [self.post(f"{verb} {ref}: ", thread=ts)],
            )
            if verb == "Taken":
                item.owner = user


def json_body(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# --- the soak ---------------------------------------------------------------------------------


class Soak:
    def __init__(self, result: SoakResult, seed: int) -> None:
        self.result = result
        self.seed = seed
        self.titles = itertools.count(1)
        self.scheduled: dict[tuple[str, str], deque[Pending]] = {}
        self.workers: dict[str, Worker] = {}
        #: set whenever a scheduled message was seen at the stand-in
        self.matched = asyncio.Event()
        self.fake: SoakSlack
        self.harness: Harness
        self.clock: FixedClock

    def problem(self, text: str) -> None:
        if len(self.result.problems) < 60:
            self.result.problems.append(text)

    def unexplained(self, call: Call, where: str) -> None:
        self.result.unexpected_calls += 1
        self.problem(f"unexplained {call.method} {where}: {text_of(call)[:120]!r}")

    def route(self, call: Call) -> None:
        """Hand a call the stand-in received to the request (or scheduled run) it answers."""
        method = call.method
        if method.startswith("response_url:"):
            worker = self._worker_of_tag(method.split(":", 1)[1], "w")
        elif method == "views.open":
            worker = self._worker_of_tag(str(call.body.get("trigger_id")), "t")
        elif method == "chat.update":
            ts = str(call.body.get("ts"))
            worker = self._worker_by_index(int(ts[2:4])) if ts.startswith("18") else None
        elif method in ("chat.postMessage", "chat.postEphemeral"):
            conversation = str(call.body.get("channel"))
            queue = self.scheduled.get((conversation, text_of(call)))
            if method == "chat.postMessage" and queue:
                pending = queue.popleft()
                if not queue:
                    del self.scheduled[(conversation, text_of(call))]
                self.result.scheduled_delivered += 1
                self.matched.set()
                owner = self.workers.get(pending.channel)
                if owner is not None:
                    owner.scheduled(pending, call)
                return
            worker = self.workers.get(conversation)
        elif method == "views.publish":
            worker = self._worker_of_user(str(call.body.get("user_id")))
        elif method in ("auth.test", "users.info", "conversations.open"):
            return
        else:
            worker = None
        if worker is None:
            self.unexplained(call, "(no request to match it)")
        else:
            worker.deliver(call)

    def _worker_of_tag(self, tag: str, prefix: str) -> Worker | None:
        m = re.fullmatch(prefix + r"(\d+)n\d+", tag)
        return self._worker_by_index(int(m.group(1))) if m else None

    def _worker_of_user(self, user: str) -> Worker | None:
        return next((w for w in self.workers.values() if user in w.own), None)

    def _worker_by_index(self, index: int) -> Worker | None:
        return next((w for w in self.workers.values() if w.index == index), None)

    async def pump(self, stop: asyncio.Event) -> None:
        while True:
            for call in self.fake.drain():
                self.route(call)
            if stop.is_set():
                return
            await asyncio.sleep(0.01)


async def run_soak(
    minutes: float,
    *,
    speed: float = 600.0,
    seed: int = 7,
    sample_seconds: float = 2.0,
    progress_seconds: float = 30.0,
    progress: Callable[[str], None] | None = None,
    workdir: Path | None = None,
) -> SoakResult:
    """Run the soak for ``minutes`` of wall time; the verdict is ``result.passed``."""
    result = SoakResult(minutes=minutes, speed=speed)
    soak = Soak(result, seed)
    capture = ErrorCapture(result)
    root = logging.getLogger()
    root.addHandler(capture)
    loop = asyncio.get_running_loop()
    old_loop_handler = loop.get_exception_handler()
    old_thread_hook = threading.excepthook

    def loop_exception(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        result.errors_logged += 1
        error = context.get("exception")
        soak.problem(f"asyncio: {context.get('message')} {error!r}")

    def thread_exception(args: threading.ExceptHookArgs) -> None:
        result.errors_logged += 1
        soak.problem(f"thread {args.thread}: {args.exc_value!r}")

    loop.set_exception_handler(loop_exception)
    threading.excepthook = thread_exception
    tmp = tempfile.TemporaryDirectory(prefix="raidline-soak-", dir=workdir)
    try:
        await _soak(
            soak, Path(tmp.name), minutes, speed, sample_seconds, progress_seconds, progress
        )
    finally:
        root.removeHandler(capture)
        loop.set_exception_handler(old_loop_handler)
        threading.excepthook = old_thread_hook
        tmp.cleanup()
    return result


async def _soak(
    soak: Soak,
    tmp: Path,
    minutes: float,
    speed: float,
    sample_seconds: float,
    progress_seconds: float,
    progress: Callable[[str], None] | None,
) -> None:
    result = soak.result
    db_file = tmp / "raidline.db"
    url = f"sqlite:///{db_file}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    fake = soak.fake = SoakSlack()
    fake.start()
    fake.timezones[SHARED_USER] = SHARED_USER_TZ
    clock = soak.clock = FixedClock(START)
    core = Core(make_uow_factory(engine), clock=clock, default_timezone=ZONE)
    settings = load_settings(env(fake, RAIDLINE_TICK_SECONDS=str(TICK_SECONDS)))
    web_app = web.Application()
    adapter = SlackAdapter(AdapterDeps(settings, core, web_app, engine))
    runner = web.AppRunner(web_app, access_log=None)
    session: aiohttp.ClientSession | None = None
    ticks = None
    stop_pump = asyncio.Event()
    pump = asyncio.create_task(soak.pump(stop_pump), name="soak-pump")
    background: list[asyncio.Task[None]] = []
    try:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REPLY_TIMEOUT))
        soak.harness = Harness(fake, adapter, core, None, f"http://127.0.0.1:{port}", session)
        await adapter.start()
        for index, (team, channel) in enumerate(CHANNELS, start=1):
            soak.workers[channel] = Worker(soak, index, team, channel)
        await asyncio.gather(*(_set_up(w) for w in soak.workers.values()))
        ticks = start_scheduler(settings, core, {"slack": Recorder(adapter, soak)})

        started = time.monotonic()
        duration = minutes * 60
        result.warmup_seconds = max(0.2 * duration, 30.0)
        stop = asyncio.Event()

        async def advance_clock() -> None:
            last = time.monotonic()
            while not stop.is_set():
                await asyncio.sleep(0.1)
                now = time.monotonic()
                clock.advance(seconds=(now - last) * speed)
                last = now

        async def sample() -> None:
            next_report = progress_seconds
            while True:
                elapsed = time.monotonic() - started
                for gauge in GAUGES:
                    value = gauge.read()
                    if value is not None:
                        result.samples.setdefault(gauge.name, Series()).add(elapsed, value)
                if progress is not None and elapsed >= next_report:
                    next_report += progress_seconds
                    progress(_progress_line(result, elapsed, clock))
                if stop.is_set():
                    return
                await asyncio.sleep(sample_seconds)

        background = [
            asyncio.create_task(advance_clock(), name="soak-clock"),
            asyncio.create_task(sample(), name="soak-gauges"),
        ]
        workers = [
            asyncio.create_task(w.run(stop), name=f"soak-{w.channel}")
            for w in soak.workers.values()
        ]
        await asyncio.wait(workers, timeout=duration)
        stop.set()
        for task in workers:
            try:
                await task
            except Exception as e:
                log.error("soak worker %s failed", task.get_name(), exc_info=e)
        result.wall_seconds = time.monotonic() - started
        result.simulated_hours = (clock.now() - START).total_seconds() / 3600
        await asyncio.gather(*background)
        await ticks.stop()
        ticks = None
        # Whatever the last tick sent must still arrive.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(10):
                while soak.scheduled:
                    soak.matched.clear()
                    await soak.matched.wait()
    finally:
        stop_pump.set()
        with contextlib.suppress(Exception):
            await pump
        for task in background:
            task.cancel()
        if ticks is not None:
            await ticks.stop()
        await adapter.stop()
        if session is not None:
            await session.close()
        await runner.cleanup()
        await engine.dispose()
        for call in fake.drain():
            soak.route(call)
        fake.stop()
    for worker in soak.workers.values():
        worker.flush_unexplained()
    for queue in soak.scheduled.values():
        for pending in queue:
            result.scheduled_missing += 1
            soak.problem(f"scheduled {pending.key} never reached the stand-in")
    result.database_mb = db_file.stat().st_size / 2**20 if db_file.exists() else 0.0
    result.trends = [
        judge(gauge, result.samples[gauge.name].points(), result.warmup_seconds)
        for gauge in GAUGES
        if result.samples.get(gauge.name)
    ]


async def _set_up(worker: Worker) -> None:
    """Each channel: a daily standup with its people and a one-hour window, a daily digest."""
    offset = 15 + 5 * worker.index
    people = " ".join(f"<@{u}>" for u in worker.users)
    steps = (
        ("/standup", f"schedule daily 16:{offset:02d}", "Standup scheduled: every day"),
        ("/standup", f"members {people}", "Standup members: "),
        ("/standup", "window 1h", "Standup answers are taken for 1h00m"),
        ("/digest", f"daily 17:{offset + 10:02d}", "Digest scheduled: every day"),
    )
    for command, text, prefix in steps:
        _, _, ok = await worker.command(
            f"{command} {text.split()[0]}", command, text, worker.users[0]
        )
        if ok:
            await worker.expect(f"{command} {text}", [worker.post(prefix)])
    # Items that stay open, so that every working day has nudges: overdue from 17:00 today,
    # a decision late from 17:00, a risk due for review tomorrow, a change request waiting
    # for its approver for more than two working days.
    first, second = worker.users[0], worker.users[1]
    pinned = (
        ("/blocker", "due today", f"<@{first}> due today", "Logged B-", "open", {"owner": first}),
        (
            "/decision",
            "needed",
            f"<@{second}> by today",
            "Logged D-",
            "pending",
            {"decider": second},
        ),
        ("/risk", "review", f"<@{first}> review tomorrow", "Logged R-", "open", {"owner": first}),
        (
            "/change",
            "approver",
            f"impact cost +1k <@{second}> because audit",
            "Logged C-",
            "proposed",
            {"approver": second},
        ),
    )
    for command, label, options, prefix, status, fields in pinned:
        title = "Pinned " + worker.title()
        text = f"needed {title} {options}" if command == "/decision" else f"{title} {options}"
        _, _, ok = await worker.command(f"{command} {label} (set-up)", command, text, first)
        if ok:
            calls = await worker.expect(command, [worker.post(prefix)])
            worker.check_title(calls, title)
            worker.logged(calls, status, title=title, pinned=True, **fields)


def _progress_line(result: SoakResult, elapsed: float, clock: FixedClock) -> str:
    sim = clock.now().astimezone(ZoneInfo(ZONE)).strftime("%a %H:%M")
    return (
        f"[soak {int(elapsed) // 60:02d}:{int(elapsed) % 60:02d}] "
        f"{result.total_requests} requests ({result.total_requests / max(elapsed, 1e-9):.0f}/s), "
        f"{result.replies_checked} replies checked, "
        f"{result.reply_failures + result.http_failures} failed, "
        f"{result.errors_logged} errors, {result.scheduled_delivered} scheduled delivered, "
        f"sim {sim}, RSS {result.rss_last:.1f} MB"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.reliability.soak",
        description="Mixed Slack traffic against raidline; memory must stay flat, no errors.",
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="wall-clock minutes")
    parser.add_argument(
        "--speed", type=float, default=600.0, help="simulated seconds per wall second"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sample-seconds", type=float, default=2.0, help="RSS sampling")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.speed <= 0:
        parser.error("--minutes and --speed must be positive")
    print(
        f"soak: {args.minutes:g} min of Slack traffic over HTTP, SQLite, scheduler at "
        f"{args.speed:g}x; progress every 30 s",
        flush=True,
    )
    result = asyncio.run(
        run_soak(
            args.minutes,
            speed=args.speed,
            seed=args.seed,
            sample_seconds=args.sample_seconds,
            progress=lambda line: print(line, flush=True),
        )
    )
    print(result.summary(), flush=True)
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
