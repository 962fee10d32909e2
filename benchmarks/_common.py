"""What every benchmark shares: the targets, throwaway databases, and how results are handed
to ``python -m benchmarks`` (the runner behind ``make bench``).

A benchmark module is run in a fresh process as ``python -m benchmarks.<module> [--out FILE]``.
It prints what it measured for people and calls :func:`emit` with a flat dict of metric name
to number; with ``--out`` those numbers are also written to FILE as JSON, which the runner
merges into ``benchmarks/results.json``. Nothing here asserts on timing: the machine is shared.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.integration.conftest import POSTGRES_ENV, postgres_base_url, postgres_database


@dataclass(frozen=True)
class Target:
    """A metric the issue names: what it is, its unit, and the bound it must stay within."""

    what: str
    unit: str
    #: ">=" or "<="; None when the metric has no target (it is a reference figure)
    op: str | None = None
    bound: float | None = None

    def met(self, value: float) -> bool | None:
        if self.op is None or self.bound is None:
            return None
        return value >= self.bound if self.op == ">=" else value <= self.bound

    @property
    def text(self) -> str:
        if self.op is None or self.bound is None:
            return "—"
        return f"{'≥' if self.op == '>=' else '≤'} {self.bound:g}"


#: Every metric ``make bench`` must report, in the order it prints them.
# ruff: noqa: E501 - the table reads best one metric per line
TARGETS: dict[str, Target] = {
    "slack_http_cmds_per_s": Target("signed /blocker over Slack HTTP, concurrency 16, SQLite", "/s"),
    "slack_http_bare_bolt_per_s": Target("same load, bare Bolt AsyncApp that only acks", "/s"),
    "slack_http_ratio": Target("raidline / bare Bolt", "×", ">=", 0.5),
    "slack_http_p99_ms": Target("p99 from sending a command to its reply at the stand-in, SQLite", "ms", "<=", 60),
    "slack_http_pg_p99_ms": Target("the same, PostgreSQL", "ms", "<=", 100),
    "slack_http_reply_behind_ack_p99_ms": Target("p99 of how far a reply came after its ack, SQLite", "ms"),
    "core_create_ms_sqlite": Target("one /blocker through the core alone, SQLite", "ms", "<=", 0.5),
    "core_create_ms_postgres": Target("one /blocker through the core alone, PostgreSQL", "ms", "<=", 1.0),
    "digest_ms_100k": Target("one digest: 100,000 events of history, 5,000 open items", "ms", "<=", 50),
    "digest_growth": Target("digest time at 1,000,000 events / at 10,000", "×", "<=", 2),
    "dashboard_ms_100k": Target("dashboard overview page: 100,000 events, 5,000 items", "ms", "<=", 150),
    "dashboard_growth": Target("overview page at 1,000,000 events / at 100,000", "×", "<=", 2),
    "standup_fanout_10k_s": Target("10,000 standups due in one minute: claimed, rendered, queued", "s", "<=", 60),
    "tick_idle_ms_100k": Target("one tick, 100,000 schedules, none due", "ms", "<=", 10),
    "nudge_sweep_100k_ms": Target("finding due nudges among 100,000 open blockers", "ms", "<=", 1000),
    "dateparse_p50_ms": Target("median due-date parse after warm-up", "ms", "<=", 1),
    "startup_s": Target("`raidline run` to ready (console prompt)", "s", "<=", 3),
    "rss_mb_10k_channels": Target("resident memory, 10,000 channels configured", "MB", "<=", 200),
}  # fmt: skip


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def p99(samples: Sequence[float]) -> float:
    """The 99th percentile (nearest rank: the value 99 % of samples are at or under)."""
    ordered = sorted(samples)
    return ordered[max(0, -(-len(ordered) * 99 // 100) - 1)]


def emit(metrics: dict[str, float], argv: Sequence[str] | None = None) -> None:
    """Print the metrics and, with ``--out FILE`` on the command line, write them as JSON."""
    args = list(sys.argv[1:] if argv is None else argv)
    for name, value in metrics.items():
        print(f"  {name} = {value:.4g}")
    if "--out" in args:
        Path(args[args.index("--out") + 1]).write_text(json.dumps(metrics), encoding="utf-8")


# The tests' throwaway databases: the same server, the same clean-up.
__all__ = ["POSTGRES_ENV", "TARGETS", "Target", "emit", "median", "p99", "postgres_base_url",
           "postgres_database"]  # fmt: skip
