"""``points``: the stations' monthly points."""
from __future__ import annotations

import argparse
import json

import duckdb
import pandas as pd

from analytics.cli.common import CommandError, NO_DATA, add_db_argument, open_store
from analytics.core.periods import Period, parse_period, period_of
from analytics.domain.metrics import data_months
from analytics.domain import points
from analytics.domain.points import as_month, progress


def latest_month(con: duckdb.DuckDBPyConnection) -> Period | None:
    """The latest month with any opinion, suggestion or activity."""
    months = data_months(con)
    return period_of(max(months), "month") if months else None


def progress_json(table: pd.DataFrame) -> list[dict]:
    out = []
    for r in table.to_dict("records"):
        out.append({"town": r["town"], "month": table.attrs.get("month"), "points": round(float(r["points"]), 2),
                    "target": float(r["target"]), "ratio": round(float(r["ratio"]), 4),
                    "ytd_points": round(float(r["ytd_points"]), 2), "ytd_target": float(r["ytd_target"]),
                    "ytd_ratio": round(float(r["ytd_ratio"]), 4)})
    return out


def progress_text(table: pd.DataFrame) -> str:
    month = parse_period(table.attrs["month"])
    lines = [f"月度量化专项行动积分 · {month.label}（本月 / 年度累计，积分 ÷ 目标）"]
    width = max(len(t) for t in table["town"])

    def bar(r: float) -> str:
        filled = int(round(min(r, 1.0) * 10))
        return "█" * filled + "░" * (10 - filled)

    for r in table.to_dict("records"):
        lines.append(f"{r['town'].ljust(width, '　')}  {bar(r['ratio'])} {r['points']:6.1f}/{r['target']:g} "
                     f"{r['ratio']:5.0%}   {bar(r['ytd_ratio'])} {r['ytd_points']:7.1f}/{r['ytd_target']:g} "
                     f"{r['ytd_ratio']:5.0%}")
    return "\n".join(lines)


def _run_points(args: argparse.Namespace) -> int:
    cfg = points.load_points_config()
    with open_store(args.db) as con:
        month = as_month(args.month) if args.month else latest_month(con)
        if month is None:
            raise CommandError(NO_DATA, 1)
        table = progress(con, month, cfg)
    print(json.dumps(progress_json(table), ensure_ascii=False, indent=2) if args.json else progress_text(table))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("points", help="月度量化专项行动积分：各镇街本月与年度累计的积分和目标完成进度")
    p.add_argument("--month", metavar="2024-05", help="月份（默认：有数据的最近一个月）")
    add_db_argument(p)
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.set_defaults(func=_run_points)
