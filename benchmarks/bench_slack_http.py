"""Signed ``/blocker`` slash commands over Slack's HTTP transport, at concurrency 16.

    .venv/bin/python -m benchmarks.bench_slack_http

**Two processes.** This process plays Slack: an aiohttp client sends the signed slash commands
and the Web API stand-in (:class:`FakeSlack`, in its own thread) receives raidline's replies.
A second process (this module with ``--serve``) plays the server, and holds only what a
production server holds: raidline's real HTTP endpoint, a :class:`SlackAdapter` on its own
aiohttp app, the way ``tests/adapters/slack/conftest.py`` builds it, over a migrated SQLite
file (and a second one over PostgreSQL when ``RAIDLINE_TEST_POSTGRES_URL`` is set), next to a
bare Bolt ``AsyncApp`` whose ``/blocker`` listener only calls ``await ack()``, served by the
same aiohttp stack (same request handler shape, ``AppRunner``/``TCPSite``) on another port.
On two cores that gives the server a core of its own instead of sharing one event loop (and
one GIL) with the load generator, and both servers run under exactly the same conditions.

**When a command counts as done.** raidline acknowledges a slash command at once and does the
work after the ack (Slack's 3-second rule), so the ack says nothing about how long the work
takes. A raidline command is done when both its ack and its *reply reached the stand-in*
(the channel message, ``chat.postMessage``, or for an error its ``response_url`` call),
whichever came last; its latency is from the moment the request was sent until then. For the
bare Bolt app there is nothing after the ack, so a command is done when the ack arrives.

**How the load comes.** As from Slack: each of the 16 client workers sends its next command
as soon as its previous one was *acknowledged*; nobody waits for replies. So at most 16
requests are waiting for their ack at any time, and a server that acknowledges faster than it
works lets its replies fall behind its acks, further with every command of the round (which
shows in the p99, and in "reply behind ack"). A round ends when every reply arrived, and its
rate is its commands over that time.

Rounds alternate between the servers (bare Bolt, raidline on SQLite, raidline on PostgreSQL,
again...) so that noise on the shared machine hits all of them alike; every figure is the
median over the rounds. Titles vary and some carry an owner and a due date
("Waiting on creds [000123] @dana due friday"); the bracketed number tells the stand-in which
command a reply belongs to. A failed command (no 200, an error reply, no reply in 30 s) is
counted in the "failed" column.

**Reading the figures.** The bare Bolt figure is bounded by latency, not CPU: Bolt's
``AsyncioListenerRunner`` checks for ``ack()`` every 10 ms, so each ack takes ~12 ms and 16
workers top out near 1,300/s with both processes mostly idle. "server CPU ms/cmd" (from
/proc) is the server process's CPU per command, the steadiest figure on a shared machine and
the one to compare before/after a change; "client CPU" is the share of a core this process
used (near 100 % would mean the load generator was the limit). To profile one server alone::

    .venv/bin/python -m benchmarks.bench_slack_http --only sqlite --rounds 8 &
    py-spy record -p "$(pgrep -f 'bench_slack_http --serve')" -d 10 -o profile.svg
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks._common import emit, median, p99, postgres_base_url, postgres_database
from tests.adapters.slack import wire
from tests.adapters.slack.fake_slack import Call, FakeSlack

ROOT = Path(__file__).resolve().parent.parent

CONCURRENCY = 16
ROUNDS = 5
#: Commands per measured round, and per warm-up round (not measured) of each server.
PER_ROUND = 400
WARM_UP = 100
#: Seconds one command may take before the round counts as broken.
STUCK = 30.0

TEAM = "T1"
CHANNELS = ("C01", "C02", "C03", "C04")
USERS = ("U01", "U02", "U03", "U04", "U05", "U06", "U07", "U08")

TITLES = (
    "Waiting on creds",
    "Staging database is read-only",
    "Vendor contract not signed",
    "Load balancer certificate expired",
    "Design review pending",
    "CI runners out of disk",
    "Legal sign-off on the privacy notice",
    "Payment sandbox keys missing",
    "Flaky integration tests block the release branch",
    "No access to the production logs",
)
#: What follows the title; "" means a bare title.
OPTIONS = (
    "@dana due friday",
    "",
    "<@U02> due tomorrow",
    "due in 3 days",
    "@lee",
    "",
    "<@U05|sam> due Dec 5",
    "due next tuesday",
)

_MARK = re.compile(r"\[(\d{6})\]")


def command_text(n: int) -> str:
    title = f"{TITLES[n % len(TITLES)]} [{n:06d}]"
    options = OPTIONS[(n // len(TITLES)) % len(OPTIONS)]
    return f"{title} {options}".strip()


# -- the server process ----------------------------------------------------------------------


async def _serve(api_url: str, sqlite_url: str, pg_url: str | None) -> None:
    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncAck, AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from adapters.platform import AdapterDeps
    from adapters.runtime.config import load_settings
    from adapters.runtime.heap import freeze_startup_objects
    from adapters.slack import SlackAdapter
    from bot.dispatcher import Core
    from storage.db import create_engine
    from storage.migrate import upgrade
    from storage.uow import make_uow_factory

    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": wire.SECRET,
            "SLACK_API_URL": api_url,
            "RAIDLINE_TIMEZONE": "Europe/Berlin",
        }
    )
    runners: list[web.AppRunner] = []
    cleanups: list[Callable[[], Any]] = []

    async def serve(app: web.Application) -> int:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    async def raidline(url: str) -> int:
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url)
        core = Core(make_uow_factory(engine), default_timezone="Europe/Berlin")
        web_app = web.Application()
        adapter = SlackAdapter(AdapterDeps(settings, core, web_app, engine))
        port = await serve(web_app)
        await adapter.start()
        cleanups.extend([engine.dispose, adapter.stop])  # run in reverse: stop, then dispose
        return port

    # The bare app: Bolt's own verification and dispatch, a listener that only acks, and the
    # same aiohttp handler shape as raidline's POST /slack/events.
    bare = AsyncApp(
        client=AsyncWebClient(token="xoxb-test", base_url=api_url),
        signing_secret=wire.SECRET,
    )

    @bare.command("/blocker")
    async def _ack_only(ack: AsyncAck) -> None:
        await ack()

    async def bare_events(request: web.Request) -> web.Response:
        response = await bare.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    bare_app = web.Application()
    bare_app.add_routes([web.post("/slack/events", bare_events)])

    ports = {"bare": await serve(bare_app), "sqlite": await raidline(sqlite_url)}
    if pg_url:
        ports["postgres"] = await raidline(pg_url)
    freeze_startup_objects()  # as `raidline run` does once it is up
    print(json.dumps(ports), flush=True)
    # Serve until the benchmark closes our stdin.
    await asyncio.to_thread(sys.stdin.read)
    for cleanup in reversed(cleanups):
        await cleanup()
    for runner in runners:
        await runner.cleanup()


# -- the Slack side: load generator and Web API stand-in ---------------------------------------


class ReplyWatch(FakeSlack):
    """The stand-in, telling the benchmark's loop when a command's reply arrived."""

    def __init__(self) -> None:
        super().__init__()
        #: called with (command number, when, whether it is the channel message) per reply
        self.on_reply: Callable[[int, float, bool], None] | None = None
        self.unmatched = 0

    async def _record(self, method: str, request: Any) -> Call:
        call = await super()._record(method, request)
        at = time.perf_counter()
        with self._lock:
            self.calls.clear()  # nothing reads them; don't keep thousands of replies
        n: int | None = None
        if method.startswith("response_url:q"):
            n = int(method.removeprefix("response_url:q"))
        elif method in ("chat.postMessage", "chat.postEphemeral"):
            mark = _MARK.search(str(call.body.get("text", "")))
            n = int(mark.group(1)) if mark else None
        if n is not None and self.on_reply is not None:
            self.on_reply(n, at, method == "chat.postMessage")
        elif method not in ("auth.test", "users.info"):
            self.unmatched += 1
        return call


@dataclass(frozen=True)
class Sample:
    """One command: from sending it until it was done (ack and reply both arrived), how far
    its reply came after its ack, and whether it went well."""

    ms: float
    behind_ms: float
    ok: bool


@dataclass
class Round:
    target: str
    seconds: float
    latencies_ms: list[float]
    failures: int = 0
    #: CPU seconds the server process used in the round (None where /proc is missing)
    server_cpu: float | None = None
    #: CPU seconds this process (client and stand-in) used in the round
    client_cpu: float | None = None
    #: per command, ms from its ack to its reply (0 when the reply came first, or for bare Bolt)
    behind_ms: list[float] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return len(self.latencies_ms) / self.seconds

    @property
    def cpu_ms(self) -> float | None:
        """Server CPU per command: less noisy than wall time on a shared machine."""
        if self.server_cpu is None:
            return None
        return self.server_cpu / len(self.latencies_ms) * 1000

    @property
    def client_busy(self) -> float | None:
        """Share of a core the load generator used: near 1.0 would mean it was the limit."""
        return None if self.client_cpu is None else self.client_cpu / self.seconds


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of process ``pid`` so far (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class LoadGenerator:
    fake: ReplyWatch
    ports: dict[str, int]
    session: aiohttp.ClientSession
    server_pid: int
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _waiting: dict[int, asyncio.Future[tuple[float, bool]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        loop = asyncio.get_running_loop()

        def arrived(n: int, at: float, posted: bool) -> None:  # in the stand-in's thread
            loop.call_soon_threadsafe(self._arrived, n, at, posted)

        self.fake.on_reply = arrived

    def _arrived(self, n: int, at: float, posted: bool) -> None:
        future = self._waiting.get(n)
        if future is not None and not future.done():
            future.set_result((at, posted))

    async def _send(self, target: str, n: int) -> tuple[float, float, bool]:
        """Send command ``n``: when it was sent, when its ack came, and whether it was a 200."""
        body = wire.slash(
            "/blocker",
            command_text(n),
            team=TEAM,
            channel=CHANNELS[n % len(CHANNELS)],
            user=USERS[n % len(USERS)],
            response_url=self.fake.response_url(f"q{n}"),
            trigger_id=f"trig-{n}",
        )
        headers = {"Content-Type": wire.FORM, **wire.sign(body)}
        url = f"http://127.0.0.1:{self.ports[target]}/slack/events"
        started = time.perf_counter()
        async with self.session.post(url, data=body, headers=headers) as resp:
            await resp.read()
            ok = resp.status == 200
        return started, time.perf_counter(), ok

    async def _reply(
        self, n: int, reply: asyncio.Future[tuple[float, bool]], started: float, acked: float
    ) -> Sample:
        """Wait for command ``n``'s reply; its latency counts until the later of ack and reply."""
        try:
            replied, ok = await asyncio.wait_for(reply, STUCK)
        except TimeoutError:  # no reply at all: a failure, at the longest latency
            replied, ok = time.perf_counter(), False
        finally:
            self._waiting.pop(n, None)
        done = max(acked, replied)
        return Sample((done - started) * 1000, max(0.0, replied - acked) * 1000, ok)

    async def round(self, target: str, commands: int) -> Round:
        """``commands`` commands from 16 senders, each sending its next one as soon as its
        last one was acknowledged, as Slack does (people don't wait for each other's replies).
        The round ends when every reply arrived."""
        numbers = [next(self.numbers) for _ in range(commands)]
        queue = iter(numbers)
        samples: list[Sample] = []
        replies: list[asyncio.Task[Sample]] = []
        loop = asyncio.get_running_loop()

        async def worker() -> None:
            for n in queue:
                reply: asyncio.Future[tuple[float, bool]] = loop.create_future()
                if target != "bare":
                    self._waiting[n] = reply
                try:
                    started, acked, ok = await self._send(target, n)
                except BaseException:
                    self._waiting.pop(n, None)
                    raise
                if target == "bare" or not ok:
                    self._waiting.pop(n, None)
                    samples.append(Sample((acked - started) * 1000, 0.0, ok))
                    continue
                replies.append(asyncio.create_task(self._reply(n, reply, started, acked)))

        server_before = cpu_seconds(self.server_pid)
        client_before = time.process_time()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        samples.extend(await asyncio.gather(*replies))
        seconds = time.perf_counter() - started
        client = time.process_time() - client_before
        server_after = cpu_seconds(self.server_pid)
        server = None
        if server_before is not None and server_after is not None:
            server = server_after - server_before
        return Round(
            target,
            seconds,
            [s.ms for s in samples],
            sum(not s.ok for s in samples),
            server,
            client,
            [s.behind_ms for s in samples],
        )


@contextlib.contextmanager
def _server(
    api_url: str, sqlite_url: str, pg_url: str | None
) -> Iterator[tuple[int, dict[str, int]]]:
    """The server process: its pid, and the port of each server it serves."""
    args = [sys.executable, "-m", "benchmarks.bench_slack_http", "--serve", api_url, sqlite_url]
    if pg_url:
        args.append(pg_url)
    process = subprocess.Popen(
        args, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the server process exited ({process.wait()})")
        yield process.pid, {str(k): int(v) for k, v in json.loads(line).items()}
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _measure(
    fake: ReplyWatch,
    server_pid: int,
    ports: dict[str, int],
    rounds: int,
    per_round: int,
    warm_up: int,
    only: Sequence[str],
) -> dict[str, list[Round]]:
    targets = [t for t in ("bare", "sqlite", "postgres") if t in ports and (not only or t in only)]
    results: dict[str, list[Round]] = {t: [] for t in targets}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY * 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        load = LoadGenerator(fake, ports, session, server_pid)
        for target in targets:  # connections, caches, Bolt's authorize, SQLAlchemy's pools
            await load.round(target, warm_up)
        for _ in range(rounds):
            for target in targets:
                results[target].append(await load.round(target, per_round))
    return results


def run(
    rounds: int = ROUNDS,
    per_round: int = PER_ROUND,
    warm_up: int = WARM_UP,
    only: Sequence[str] = (),
) -> dict[str, list[Round]]:
    fake = ReplyWatch()
    fake.start()
    try:
        with contextlib.ExitStack() as stack:
            tmp = stack.enter_context(tempfile.TemporaryDirectory())
            sqlite_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            base = postgres_base_url()
            pg_url = stack.enter_context(postgres_database(base)) if base else None
            pid, ports = stack.enter_context(_server(fake.api_url, sqlite_url, pg_url))
            results = asyncio.run(_measure(fake, pid, ports, rounds, per_round, warm_up, only))
    finally:
        fake.stop()
    if fake.unmatched:
        print(f"!! {fake.unmatched} Web API calls matched no command")
    return results


def _summary(rounds: Sequence[Round]) -> dict[str, float]:
    return {
        "behind_p99_ms": median([p99(r.behind_ms) for r in rounds]),
        "per_s": median([r.per_s for r in rounds]),
        "p50_ms": median([median(r.latencies_ms) for r in rounds]),
        "p99_ms": median([p99(r.latencies_ms) for r in rounds]),
        "max_ms": max(max(r.latencies_ms) for r in rounds),
        "failures": sum(r.failures for r in rounds),
        "cpu_ms": median([r.cpu_ms or 0.0 for r in rounds]),
        "client_busy": median([r.client_busy or 0.0 for r in rounds]),
    }


def main(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_slack_http")
    parser.add_argument("--serve", nargs="+", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--out")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--per-round", type=int, default=PER_ROUND)
    parser.add_argument(
        "--only",
        nargs="+",
        choices=("bare", "sqlite", "postgres"),
        default=(),
        help="measure only these servers (e.g. to profile one with py-spy)",
    )
    args = parser.parse_args(argv)
    if args.serve:
        api_url, sqlite_url, *pg = args.serve
        asyncio.run(_serve(api_url, sqlite_url, pg[0] if pg else None))
        return

    results = run(args.rounds, args.per_round, only=args.only)
    summary = {target: _summary(rounds) for target, rounds in results.items()}
    print(
        f"signed /blocker over Slack HTTP, concurrency {CONCURRENCY}, "
        f"{args.rounds} rounds of {args.per_round} (median of rounds)"
    )
    print(
        "raidline: done = ack and reply (at the Web API stand-in) both arrived; "
        "bare Bolt: done = the ack; senders wait for acks only"
    )
    print(
        f"{'server':20} {'cmds/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'failed':>7} {'server CPU ms/cmd':>18} {'client CPU':>11} {'reply behind ack p99':>21}"
    )
    names = {
        "bare": "bare Bolt (ack only)",
        "sqlite": "raidline, SQLite",
        "postgres": "raidline, PG",
    }
    for target, s in summary.items():
        print(
            f"{names[target]:20} {s['per_s']:8.0f} {s['p50_ms']:8.1f} {s['p99_ms']:8.1f} "
            f"{s['max_ms']:8.1f} {s['failures']:7.0f} {s['cpu_ms']:18.2f} "
            f"{s['client_busy']:10.0%} {s['behind_p99_ms']:18.1f} ms"
        )
    if "postgres" not in summary:
        print("(set RAIDLINE_TEST_POSTGRES_URL to measure PostgreSQL too)")
    metrics: dict[str, float] = {}
    if "sqlite" in summary:
        metrics["slack_http_cmds_per_s"] = summary["sqlite"]["per_s"]
    if "bare" in summary:
        metrics["slack_http_bare_bolt_per_s"] = summary["bare"]["per_s"]
    if "sqlite" in summary and "bare" in summary:
        metrics["slack_http_ratio"] = summary["sqlite"]["per_s"] / summary["bare"]["per_s"]
    if "sqlite" in summary:
        metrics["slack_http_p99_ms"] = summary["sqlite"]["p99_ms"]
    if "sqlite" in summary:
        metrics["slack_http_reply_behind_ack_p99_ms"] = summary["sqlite"]["behind_p99_ms"]
    if "postgres" in summary:
        metrics["slack_http_pg_p99_ms"] = summary["postgres"]["p99_ms"]
        metrics["slack_http_pg_reply_behind_ack_p99_ms"] = summary["postgres"]["behind_p99_ms"]
    emit(metrics, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
