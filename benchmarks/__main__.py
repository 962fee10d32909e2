"""``make bench``: every benchmark in a fresh process, then one table of every metric with
its target, and ``benchmarks/results.json`` (metric name -> number).

    python -m benchmarks                 # all of them
    python -m benchmarks digest nudges   # only modules whose name contains one of these words
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import TARGETS, postgres_base_url

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"
MODULES = [
    "bench_dates",
    "bench_commands",
    "bench_slack_http",
    "bench_digest",
    "bench_dashboard",
    "bench_scheduler",
    "bench_process",
]


def _run(module: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        started = time.perf_counter()
        print(f"== {module}", flush=True)
        status = subprocess.call([sys.executable, "-m", f"benchmarks.{module}", "--out", str(out)])
        print(f"   ({time.perf_counter() - started:.0f} s)\n", flush=True)
        if status != 0 or not out.exists():
            print(f"!! {module} failed (exit {status})", flush=True)
            return {}
        result: dict[str, float] = json.loads(out.read_text(encoding="utf-8"))
        return result


def table(results: dict[str, float]) -> tuple[str, bool]:
    """The summary table, and whether every target with a value was met."""
    lines = [f"{'metric':28} {'value':>10}  {'target':>9}  {'':4} what", "-" * 100]
    all_met = True
    for name, target in TARGETS.items():
        value = results.get(name)
        if value is None:
            lines.append(f"{name:28} {'—':>10}  {target.text:>9}  {'n/a':4} {target.what}")
            continue
        met = target.met(value)
        mark = "" if met is None else ("ok" if met else "MISS")
        all_met &= met is not False
        lines.append(f"{name:28} {value:10.3f}  {target.text:>9}  {mark:4} {target.what}")
    return "\n".join(lines), all_met


def main(argv: list[str]) -> int:
    wanted = [m for m in MODULES if not argv or any(word in m for word in argv)]
    previous: dict[str, float] = {}
    if argv and RESULTS.exists():  # a partial run updates the figures it measured
        previous = json.loads(RESULTS.read_text(encoding="utf-8"))
    results = dict(previous)
    for module in wanted:
        results.update(_run(module))
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    text, all_met = table(results)
    print(text)
    if postgres_base_url() is None:
        print("(set RAIDLINE_TEST_POSTGRES_URL to measure the PostgreSQL figures too)")
    print(f"\nwritten: {RESULTS.relative_to(HERE.parent)}")
    print("every target met" if all_met else "some targets missed: see benchmarks/README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
