"""``make bench``: every benchmark, each measured in one run on this machine."""

from __future__ import annotations

import subprocess
import sys


def main() -> int:
    status = 0
    for module in ("bench.bench_dates", "bench.bench_commands"):
        print(f"== {module}", flush=True)
        # A fresh process each, so cold-start numbers are really cold.
        status |= subprocess.call([sys.executable, "-m", module])  # noqa: S603
        print(flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
