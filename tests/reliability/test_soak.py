"""The soak, short: about 25 s of the mixed Slack traffic ``make soak`` sends for ten minutes.

Same function as the CLI (:func:`tests.reliability.soak.run_soak`), in-process: the real
Slack adapter over signed HTTP, SQLite, the scheduler ticking on a fast clock. Memory is
only checked loosely here; the ten-minute run judges its slope.
"""

from __future__ import annotations

import random
from pathlib import Path

from tests.reliability.soak import Gauge, judge, run_soak

#: Four simulated hours at the default speed: each channel's standup opens, reminds and
#: closes, its digest is posted, and the items due today are nudged.
SHORT_MINUTES = 0.4
SCHEDULED_KINDS = ("standup_open", "standup_remind", "standup_close", "digest", "nudge")


async def test_short_soak_answers_every_request_and_logs_no_error(tmp_path: Path) -> None:
    result = await run_soak(SHORT_MINUTES, workdir=tmp_path)
    report = result.summary()

    assert result.errors_logged == 0, report
    kinds = {label.split(" ", 1)[0] for label in result.requests}
    assert kinds == {"command", "click", "submit", "event"}, report
    assert result.total_requests >= 100, report
    # Every request got its HTTP answer and its reply reached the Slack stand-in.
    assert result.http_failures == 0, report
    assert result.reply_failures == 0, report
    assert result.replies_checked >= result.total_requests, report
    assert result.unexpected_calls == 0, report
    # Scheduled work of every kind was sent once and arrived.
    for kind in SCHEDULED_KINDS:
        assert result.scheduled_sent[kind] >= 1, report
    assert result.scheduled_delivered == sum(result.scheduled_sent.values()), report
    assert result.scheduled_missing == 0 and result.duplicate_runs == 0, report
    # Loosely: nothing runaway (the ten-minute soak judges the slope).
    assert result.rss_max - result.rss_first < 200, report
    assert result.passed, report


def samples(per_minute: float, noise: float, *, minutes: int = 10) -> list[tuple[float, float]]:
    """A sample every 2 s: 100 plus ``per_minute`` a minute, plus uniform noise."""
    rng = random.Random(1)
    return [
        (t, 100 + per_minute * t / 60 + rng.uniform(-noise, noise))
        for t in range(0, minutes * 60, 2)
    ]


def test_a_steady_climb_is_a_leak_and_noise_or_a_plateau_is_not() -> None:
    gauge = Gauge("RSS", "MB", lambda: None, 3.0, 10.0)
    assert judge(gauge, samples(4.0, 3.0), 120).leak
    assert not judge(gauge, samples(0.0, 3.0), 120).leak
    # A jump that stays (an arena kept by the allocator) is growth without a slope.
    jump = [(t, v + (8.0 if t > 300 else 0.0)) for t, v in samples(0.0, 1.0)]
    trend = judge(gauge, jump, 120)
    assert trend.growth is not None and trend.growth > 7
    assert not trend.leak
    # Too short to judge: no verdict either way.
    short = judge(gauge, samples(50.0, 0.0, minutes=1), 60)
    assert short.slope is None and not short.leak
