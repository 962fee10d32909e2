"""Prometheus metrics: what the core handled and what the scheduler delivered.

One :class:`Metrics` per process, with its own registry (never prometheus_client's global one,
so tests and several instances do not collide). The core and the scheduler know nothing about
Prometheus: the runtime registers :meth:`Metrics.observe_request` as a ``Core.observers``
entry and :meth:`Metrics.observe_tick` as a ``Scheduler.observers`` entry, and the web server
serves :meth:`Metrics.render` on ``/metrics``.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.dispatcher import Handled
from bot.scheduler import TickReport

#: request kinds and outcomes, created at zero so dashboards see them before the first one
KINDS = ("command", "click", "form")
OUTCOMES = ("ok", "usage", "forbidden", "not_found", "conflict", "unavailable", "error")

#: seconds; a command is a few database statements, a slow one waits on a busy database
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "raidline_requests",
            "Requests handled by the core: commands, button clicks and form submissions.",
            ["kind", "name", "outcome"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "raidline_request_seconds",
            "Seconds the core took to answer a request.",
            ["kind"],
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.scheduler_lag = Gauge(
            "raidline_scheduler_lag_seconds",
            "Longest wait past its due time of the runs delivered by the last tick (0: none).",
            registry=r,
        )
        self.last_tick = Gauge(
            "raidline_scheduler_last_tick_timestamp",
            "Unix time the last successful scheduler tick finished.",
            registry=r,
        )
        self.outbox_depth = Gauge(
            "raidline_outbox_depth",
            "Scheduled messages waiting to be sent (pending or sending runs), after the last tick.",
            registry=r,
        )
        self.deliveries = Counter(
            "raidline_deliveries",
            "Scheduled messages delivered, by run kind.",
            ["kind"],
            registry=r,
        )
        self.delivery_failures = Counter(
            "raidline_delivery_failures",
            "Delivery attempts of scheduled messages that failed (retried later or given up).",
            registry=r,
        )
        self.database_errors = Counter(
            "raidline_database_errors",
            "Times a request or a scheduler tick could not reach the database.",
            registry=r,
        )
        for kind in KINDS:
            self.request_seconds.labels(kind=kind)

    def observe_request(self, handled: Handled) -> None:
        """A ``Core.observers`` entry."""
        self.requests.labels(kind=handled.kind, name=handled.name, outcome=handled.outcome).inc()
        self.request_seconds.labels(kind=handled.kind).observe(handled.seconds)
        if handled.database_error:
            self.database_errors.inc()

    def observe_tick(self, report: TickReport) -> None:
        """A ``Scheduler.observers`` entry: called after every tick, also a failed one."""
        for kind, _lag in report.deliveries:
            self.deliveries.labels(kind=kind).inc()
        if report.delivery_errors:
            self.delivery_failures.inc(report.delivery_errors)
        if report.database_errors:
            self.database_errors.inc(report.database_errors)
        if report.outbox_depth is not None:
            self.outbox_depth.set(report.outbox_depth)
        if report.finished_at is not None:
            self.scheduler_lag.set(report.max_lag_seconds)
            self.last_tick.set(report.finished_at.timestamp())

    def render(self) -> bytes:
        """Every metric in the Prometheus text format (:attr:`content_type`)."""
        return generate_latest(self.registry)


__all__ = ["CONTENT_TYPE_LATEST", "KINDS", "OUTCOMES", "Metrics"]
