"""Time a page's server-side run through AppTest: the first run (cold caches) and warm runs.

    python bench/bench_cockpit.py [--db PATH] [--runs 5]
    python bench/bench_cockpit.py --db PATH --page ranking [--json]   # any page (bench_scale.py)

Without --db the store of COCKPIT_DB / data/cockpit.duckdb is used (the app's first start fills it
with the demo data at full scale). Without --page it prints seconds per run for the cockpit, a town
with its stations (?town=瓜沥镇) and the big screen (?screen=1).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COCKPIT_VIEWS = (("驾驶舱", {}), ("驾驶舱 ?town=瓜沥镇", {"town": "瓜沥镇"}), ("大屏 ?screen=1", {"screen": "1"}))


def time_view(url_path: str | None = None, query: dict | None = None, runs: int = 5) -> dict:
    """One AppTest of app.py (COCKPIT_DB must be set) opened at /<url_path>?<query>: seconds of the
    first run and of ``runs`` warm reruns, the titles shown, and the first exception if any."""
    from streamlit.testing.v1 import AppTest
    from streamlit.util import calc_hash

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    if url_path:
        at._page_hash = calc_hash(url_path)  # what a browser requests for /<url_path> (tests/pages/test_app.py)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    t0 = time.perf_counter()
    at.run()
    first = time.perf_counter() - t0
    out = {"first": first, "warm": [], "titles": [t.value for t in at.title], "error": None}
    if at.exception:
        out["error"] = at.exception[0].message
        return out
    for _ in range(runs):
        t0 = time.perf_counter()
        at.run()
        out["warm"].append(time.perf_counter() - t0)
    if at.exception:
        out["error"] = at.exception[0].message
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="the store (default: COCKPIT_DB or data/cockpit.duckdb)")
    ap.add_argument("--runs", type=int, default=5, help="warm runs per view")
    ap.add_argument("--page", help="url_path of one page (cockpit, ranking, hotwords, …)")
    ap.add_argument("--json", action="store_true", help="print the figures of --page as JSON")
    args = ap.parse_args()
    if args.db:
        os.environ["COCKPIT_DB"] = str(Path(args.db).resolve())
    if args.page:
        views = ((args.page, args.page, {}),)
    else:
        views = tuple((name, None, q) for name, q in COCKPIT_VIEWS)
    for name, url_path, query in views:
        r = time_view(url_path, query, args.runs)
        if args.json:
            print(json.dumps(r, ensure_ascii=False))
            continue
        if r["error"]:
            print(f"{name}: 出错 {r['error']}", file=sys.stderr)
            return 1
        warm = r["warm"]
        print(f"{name}: first run {r['first']:.2f} s; warm runs median {statistics.median(warm):.3f} s, "
              f"min {min(warm):.3f} s, max {max(warm):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
