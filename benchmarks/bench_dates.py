"""How fast is bot.text.dates.parse_date? First (cold) parse versus steady state.

Run in a fresh process so the first parse is really cold (dateparser not yet imported)::

    .venv/bin/python -m benchmarks.bench_dates

``run()`` returns the numbers as a dict; nothing here asserts on timing.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime

from benchmarks._common import emit
from bot.text.dates import parse_date

# SPEC.md §1 phrases, plus the other forms the brief lists.
SPEC_PHRASES = [
    "today",
    "tomorrow",
    "friday",
    "next tuesday",
    "tomorrow 3pm",
    "in 3 days",
    "in 2 weeks",
    "Dec 5",
    "5 Dec",
    "2026-12-05",
    "EOD",
    "end of week",
    "end of month",
]
EXTRA_PHRASES = [
    "friday 5pm",
    "in 3 hours",
    "December 5",
    "Dec 5 2026",
    "2026-12-05 14:00",
    "eod friday",
    "next week",
    "noon",
    "15:00",
    "by Friday",
]
#: Phrases raidline's own rules do not cover, so they go to dateparser.
DATEPARSER_PHRASES = ["5th of December", "tonight", "the 5th of dec"]
PHRASES = SPEC_PHRASES + EXTRA_PHRASES + DATEPARSER_PHRASES

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)  # Wed 25 Nov 10:00 in Berlin
TZ = "Europe/Berlin"


def _time_one(text: str) -> float:
    """Milliseconds for one parse_date call."""
    start = time.perf_counter()
    parse_date(text, NOW, TZ)
    return (time.perf_counter() - start) * 1000


def run(calls: int = 2000) -> dict[str, float]:
    """First parse, first parse that needs dateparser, then ``calls`` parses cycling through
    PHRASES. Times in milliseconds."""
    cold_import = "dateparser" not in sys.modules
    first_ms = _time_one("today")  # own rules only
    first_dateparser_ms = _time_one("5th of December")  # imports dateparser, builds the parser

    samples: list[float] = []
    by_phrase: dict[str, list[float]] = {text: [] for text in PHRASES}
    for i in range(calls):
        text = PHRASES[i % len(PHRASES)]
        elapsed = _time_one(text)
        samples.append(elapsed)
        by_phrase[text].append(elapsed)

    mean = statistics.fmean(samples)
    median = statistics.median(samples)
    per_phrase = {text: statistics.fmean(values) for text, values in by_phrase.items()}
    dateparser_phrases = DATEPARSER_PHRASES
    return {
        "calls": float(calls),
        "cold_import": float(cold_import),
        "first_ms": first_ms,
        "first_dateparser_ms": first_dateparser_ms,
        "mean_ms": mean,
        "median_ms": median,
        "p99_ms": statistics.quantiles(samples, n=100)[98],
        "max_ms": max(samples),
        "dateparser_path_mean_ms": statistics.fmean(per_phrase[t] for t in dateparser_phrases),
        "own_rules_mean_ms": statistics.fmean(
            v for t, v in per_phrase.items() if t not in dateparser_phrases
        ),
        "ratio_first_to_mean": first_dateparser_ms / mean,
        "ratio_first_to_median": first_dateparser_ms / median,
        **{f"phrase:{text}": value for text, value in per_phrase.items()},
    }


def main() -> None:
    result = run()
    print(f"parse_date, {int(result['calls'])} calls over {len(PHRASES)} phrases ({TZ})")
    if not result["cold_import"]:
        print("(dateparser was already imported: the first-call numbers are not cold)")
    rows = [
        ("steady ms/call, mean", result["mean_ms"]),
        ("steady ms/call, median", result["median_ms"]),
        ("steady ms/call, p99", result["p99_ms"]),
        ("steady ms/call, max", result["max_ms"]),
        ("  own-rule phrases, mean", result["own_rules_mean_ms"]),
        ("  dateparser phrases, mean", result["dateparser_path_mean_ms"]),
        ("first call (`today`), ms", result["first_ms"]),
        ("first dateparser call (`5th of December`), ms", result["first_dateparser_ms"]),
        ("ratio first / steady mean", result["ratio_first_to_mean"]),
        ("ratio first / steady median", result["ratio_first_to_median"]),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:10.3f}")
    print()
    print("per phrase, mean ms:")
    for text in PHRASES:
        print(f"  {text:<{width - 2}}  {result[f'phrase:{text}']:10.3f}")
    emit(
        {
            "dateparse_p50_ms": result["median_ms"],
            "dateparse_mean_ms": result["mean_ms"],
            "dateparse_p99_ms": result["p99_ms"],
            "dateparse_first_dateparser_ms": result["first_dateparser_ms"],
        }
    )


if __name__ == "__main__":
    main()
