"""Import benchmark: generate N opinions of demo data, import them, print measured figures.

    python bench/bench_import.py --opinions 100000

Prints rows/s and characters/s of the first import, the time of a second import of the same
files (every row unchanged), the store's size on disk and the importer's peak resident memory.
The import runs in a child process (`python -m analytics ingest --json`), so its peak memory is
measured alone (getrusage of the children) and the figures are what the command line gives.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OPINIONS_PER_YEAR_AT_SCALE_1 = 22_000


def run_ingest(files: list[Path], db: Path) -> tuple[float, dict, int]:
    """Wall time, parsed --json output and the child's peak RSS in KiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "analytics", "ingest", *map(str, files), "--db", str(db), "--json"],
        cwd=ROOT, capture_output=True, text=True,
    )
    elapsed = time.perf_counter() - t0
    if out.returncode != 0:
        sys.exit(f"ingest failed ({out.returncode}):\n{out.stderr}\n{out.stdout[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the max over all children so far: only a new maximum is exact.
    return elapsed, json.loads(out.stdout), max(peak, before)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--opinions", type=int, default=100_000, help="opinions to generate (default 100000)")
    ap.add_argument("--years", type=int, default=2)
    ap.add_argument("--workdir", type=Path, help="keep files here instead of a temporary folder")
    args = ap.parse_args()

    from analytics.demo.exports import write_demo
    import duckdb

    work = args.workdir or Path(tempfile.mkdtemp(prefix="cockpit-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    scale = args.opinions / (OPINIONS_PER_YEAR_AT_SCALE_1 * args.years)
    t0 = time.perf_counter()
    files = write_demo(work / "exports", seed=0, years=args.years, scale=scale)
    gen_s = time.perf_counter() - t0

    db = work / "bench.duckdb"
    for p in (db, db.with_suffix(".duckdb.wal")):
        p.unlink(missing_ok=True)
    first_s, first, peak_kib = run_ingest(files, db)
    second_s, second, _ = run_ingest(files, db)

    con = duckdb.connect(str(db), read_only=True)
    n_op, chars = con.execute(
        "SELECT count(*), sum(length(coalesce(title, '')) + length(content)) FROM opinions"
    ).fetchone()
    con.close()
    rows_all = sum(f["rows_read"] for f in first["files"])
    unchanged2 = sum(f["unchanged"] for f in second["files"])
    rows2 = sum(f["rows_read"] for f in second["files"])
    size_mb = sum(p.stat().st_size for p in work.glob("bench.duckdb*")) / 2**20

    rows = [
        ("opinions in store", f"{n_op:,}"),
        ("rows read, all files (first import)", f"{rows_all:,}"),
        ("generate demo files", f"{gen_s:.1f} s"),
        ("first import, all files", f"{first_s:.1f} s"),
        ("  rows/s (all rows)", f"{rows_all / first_s:,.0f}"),
        ("  opinion chars/s (title+content)", f"{chars / first_s:,.0f}"),
        ("second import (same files)", f"{second_s:.1f} s ({second_s / first_s:.0%} of first)"),
        ("  unchanged on second import", f"{unchanged2:,} of {rows2:,}"),
        ("store size", f"{size_mb:.1f} MiB"),
        ("importer peak RSS", f"{peak_kib / 1024:.0f} MiB"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"bench_import: {args.opinions:,} opinions requested, scale {scale:.2f}, {os.cpu_count()} cores")
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
