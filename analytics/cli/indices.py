"""``indices``: the five indices of every unit."""
from __future__ import annotations

import argparse

import pandas as pd

from analytics.cli.common import CommandError, NO_DATA, add_db_argument, emit, open_store
from analytics.core.labels import LEVEL_LABELS
from analytics.core.periods import Period, parse_period
from analytics.domain.indices import (
    INDEX_KEYS,
    IndexConfig,
    SCORE_COLUMNS,
    compute_indices,
    default_period,
    load_config,
)


def indices_json(scores: pd.DataFrame) -> list[dict]:
    """Rows as the CLI's --json prints them: scores rounded to 1 decimal, null when 样本不足."""
    out = []
    for r in scores.itertuples(index=False):
        item = {"unit_id": r.unit_id, "unit": r.unit, "level": r.level, "period": r.period}
        for k in SCORE_COLUMNS:
            v = getattr(r, k)
            item[k] = None if pd.isna(v) else round(float(v), 1)
        item["insufficient"] = bool(r.insufficient)
        out.append(item)
    return out


def indices_text(scores: pd.DataFrame, period: Period, level: str, cfg: IndexConfig) -> str:
    heads = [cfg.indices[k].label.removesuffix("指数") for k in INDEX_KEYS] + ["综合"]
    lines = [f"五大评价指标 · {LEVEL_LABELS[level]} · {period.label}（0–100，同级比较；— 为样本不足）"]
    ordered = scores.assign(_s=scores["composite"].fillna(-1)).sort_values(["_s", "unit_id"], ascending=[False, True])
    width = max([len(str(u)) for u in ordered["unit"]] + [4])
    lines.append("排名  " + "单元".ljust(width, "　") + "  " + "  ".join(f"{h:>4}" for h in heads))
    rank = 0
    for r in ordered.itertuples(index=False):
        rank_s = "  —" if r.insufficient else f"{(rank := rank + 1):>3}"
        vals = ["   —" if pd.isna(getattr(r, k)) else f"{getattr(r, k):6.1f}" for k in SCORE_COLUMNS]
        lines.append(f"{rank_s}   {str(r.unit).ljust(width, '　')}  " + "  ".join(vals)
                     + ("  样本不足" if r.insufficient else ""))
    return "\n".join(lines)


def _run_indices(args: argparse.Namespace) -> int:
    cfg = load_config()
    with open_store(args.db) as con:
        if args.period:
            period = parse_period(args.period)
        else:
            period = default_period(con)
            if period is None:
                raise CommandError(NO_DATA, 1)
        scores = compute_indices(con, period, args.level, cfg)
    return emit(args, scores, indices_json, lambda x: indices_text(x, period, args.level, cfg))


def register(subparsers) -> None:
    p = subparsers.add_parser("indices", help="五大评价指标得分（默认：有数据的最近一个季度、镇街）")
    p.add_argument("--period", help="期间：2024（年）、2024Q2（季度）或 2024-05（月）")
    p.add_argument("--level", choices=("town", "station", "district"), default="town",
                   help="层级：town 镇街（默认）、station 联络站、district 全区")
    add_db_argument(p)
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.set_defaults(func=_run_indices)
