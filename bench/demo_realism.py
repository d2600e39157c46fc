"""How real the demo data looks: month-to-month changes of every town's indices and the share of
representatives behind on 十必做, measured on a store (default: a fresh demo store as the app's
first start builds it, in a temporary folder).

    python bench/demo_realism.py [--db STORE] [--year 2024]

Prints, for the towns' monthly scores of the year (five indices and the composite): how many
month-to-month changes there are, the share within ±15 points, the median and 95th percentile of
|change|, the largest swing; the largest quarter-to-quarter change of an index; and how many of
the representatives are on track on 十必做 at the year's end (the others 需要提醒).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.domain import duty, hierarchy, indices  # noqa: E402
from analytics.domain.indices import SCORE_COLUMNS  # noqa: E402
from analytics.services import bootstrap  # noqa: E402
from analytics.store.db import connect  # noqa: E402

WITHIN = 15.0


def measure(db: Path, year: int) -> dict:
    con = connect(db, read_only=True)
    try:
        cfg = indices.load_config()
        tree = hierarchy.unit_tree(con, cfg)
        towns = tree[tree["level"] == "town"]
        changes, worst, per_index = [], (0.0, ""), {k: [] for k in SCORE_COLUMNS}
        for t in towns.itertuples():
            df = indices.index_trend(con, t.unit_id, f"{year}-01", f"{year}-12", "month", cfg)
            for k in SCORE_COLUMNS:
                d = df[k].astype(float).diff().dropna()
                changes += d.abs().tolist()
                per_index[k] += d.abs().tolist()
                if len(d) and d.abs().max() > abs(worst[0]):
                    i = d.abs().idxmax()
                    worst = (float(d[i]), f"{t.unit} {k} {df['period'][i - 1]}→{df['period'][i]}")
        quarters = [indices.compute_indices(con, f"{year}Q{q}", "town", cfg).set_index("unit") for q in (1, 2, 3, 4)]
        qworst = (0.0, "")
        for a, b, q in zip(quarters, quarters[1:], (2, 3, 4)):
            d = (b[list(SCORE_COLUMNS)] - a[list(SCORE_COLUMNS)].reindex(b.index)).stack()
            if len(d) and d.abs().max() > abs(qworst[0]):
                idx = d.abs().idxmax()
                qworst = (float(d[idx]), f"{idx[0]} {idx[1]} {year}Q{q - 1}→Q{q}")
        prog = duty.progress(con, year)
        on_track, reps = int(prog.wide["on_track"].sum()), len(prog.wide)
        targets = {d.key: d.target for d in duty.load_config().duties}
        per_duty = {k: int((prog.wide[f"{k}_done"] < t).sum()) for k, t in targets.items() if f"{k}_done" in prog.wide}
    finally:
        con.close()
    a = np.array(changes)
    return {"monthly_changes": len(a), "within_15": float((a <= WITHIN).mean()), "median_abs": float(np.median(a)),
            "p95_abs": float(np.percentile(a, 95)), "largest": worst, "largest_quarter": qworst,
            "per_index_within_15": {k: float((np.array(v) <= WITHIN).mean()) for k, v in per_index.items()},
            "reps": reps, "on_track": on_track, "behind": reps - on_track,
            "per_duty_behind": per_duty}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path)
    ap.add_argument("--year", type=int, default=2024)
    ap.add_argument("--keep", type=Path, help="build the demo store here and keep it")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None and args.keep:
            db = args.keep
            bootstrap.ensure_store(db)
        if db is None:
            db = Path(tmp) / "cockpit.duckdb"
            t0 = time.perf_counter()
            bootstrap.ensure_store(db)
            print(f"demo store built in {time.perf_counter() - t0:.1f} s")
        m = measure(db, args.year)
    print(f"towns' monthly index changes in {args.year}: {m['monthly_changes']}, "
          f"within ±{WITHIN:g} points: {m['within_15']:.1%}, median |change| {m['median_abs']:.1f}, "
          f"95th percentile {m['p95_abs']:.1f}, largest {m['largest'][0]:+.1f} ({m['largest'][1]})")
    print("within ±15 per index:", ", ".join(f"{k} {v:.0%}" for k, v in m["per_index_within_15"].items()))
    print(f"largest quarter-to-quarter change of a town's index: {m['largest_quarter'][0]:+.1f} ({m['largest_quarter'][1]})")
    print(f"十必做 at the end of {args.year}: {m['on_track']} of {m['reps']} on track, {m['behind']} 需要提醒 "
          f"({m['behind'] / max(m['reps'], 1):.0%})")
    if m["per_duty_behind"]:
        print("short of the year's target, per duty:", m["per_duty_behind"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
