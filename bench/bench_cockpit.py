"""Time the cockpit page's server-side run through AppTest: the first run (cold caches) and warm runs.

    python bench/bench_cockpit.py [--db PATH] [--runs 5]

Without --db the store of COCKPIT_DB / data/cockpit.duckdb is used (the app's first start fills it
with the demo data at full scale). Prints seconds per run for the normal page, a town with its
stations (?town=瓜沥镇) and the big screen (?screen=1).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="the store (default: COCKPIT_DB or data/cockpit.duckdb)")
    ap.add_argument("--runs", type=int, default=5, help="warm runs per view")
    args = ap.parse_args()
    if args.db:
        os.environ["COCKPIT_DB"] = str(Path(args.db).resolve())
    from streamlit.testing.v1 import AppTest

    for name, query in (("驾驶舱", {}), ("驾驶舱 ?town=瓜沥镇", {"town": "瓜沥镇"}), ("大屏 ?screen=1", {"screen": "1"})):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        for k, v in query.items():
            at.query_params[k] = v
        t0 = time.perf_counter()
        at.run()
        first = time.perf_counter() - t0
        if at.exception:
            print(f"{name}: 出错 {at.exception[0].message}", file=sys.stderr)
            return 1
        warm = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - t0)
        print(f"{name}: first run {first:.2f} s; warm runs median {statistics.median(warm):.3f} s, "
              f"min {min(warm):.3f} s, max {max(warm):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
