"""``rank``: the towns' quarterly ranking."""
from __future__ import annotations

import argparse

import pandas as pd

from analytics.cli.common import (
    CommandError,
    NO_DATA,
    add_db_argument,
    add_quarter_argument,
    emit,
    open_store,
)
from analytics.core.periods import parse_period
from analytics.domain.indices import INDEX_KEYS, IndexConfig, load_config
from analytics.domain.ranking import as_quarter, change_text, default_quarter, rank_range_text, ranking


def _num(v, digits: int = 1):
    return None if v is None or pd.isna(v) else round(float(v), digits)


def _int(v):
    return None if v is None or pd.isna(v) else int(v)


def ranking_json(table: pd.DataFrame) -> list[dict]:
    """As ``rank --json`` prints it: rank, rank_low, rank_high, unit_id, unit, composite,
    change (places gained since the previous quarter), and the five index scores; scores to 0.1,
    null when 样本不足 / not comparable."""
    out = []
    for r in table.to_dict("records"):
        item = {"rank": _int(r["rank"]), "rank_low": _int(r["rank_low"]), "rank_high": _int(r["rank_high"]),
                "unit_id": r["unit_id"], "unit": r["unit"], "composite": _num(r["composite"]),
                "change": _int(r["change"])}
        item.update({k: _num(r[k]) for k in INDEX_KEYS})
        out.append(item)
    return out


def ranking_text(table: pd.DataFrame, cfg: IndexConfig) -> str:
    heads = [cfg.indices[k].label.removesuffix("指数") for k in INDEX_KEYS]
    lines = [f"镇街排名 · {parse_period(table.attrs['period']).label}（综合指数 0–100；"
             f"排名区间为 {table.attrs['replicates']} 次自助重抽样的 5%–95% 分位；较上季度 = 名次变化）"]
    width = max([len(str(u)) for u in table["unit"]] + [4])
    lines.append("排名  区间        " + "镇街".ljust(width, "　") + "  综合   较上季度  " + "  ".join(f"{h:>4}" for h in heads))
    for r in table.to_dict("records"):
        rank = "  —" if pd.isna(r["rank"]) else f"{int(r['rank']):>3}"
        rng = rank_range_text(r["rank_low"], r["rank_high"])
        comp = "   —" if pd.isna(r["composite"]) else f"{r['composite']:5.1f}"
        move = change_text(r["change"])
        if not pd.isna(r["score_change"]):
            move += f"({r['score_change']:+.1f})"
        vals = ["   —" if pd.isna(r[k]) else f"{r[k]:6.1f}" for k in INDEX_KEYS]
        lines.append(f"{rank}   {rng:<10}{str(r['unit']).ljust(width, '　')}  {comp}  {move:<10}"
                     + "  ".join(vals) + ("  样本不足" if r["insufficient"] else ""))
    return "\n".join(lines)


def _run_rank(args: argparse.Namespace) -> int:
    cfg = load_config()
    with open_store(args.db) as con:
        period = as_quarter(args.quarter) if args.quarter else default_quarter(con)
        if period is None:
            raise CommandError(NO_DATA, 1)
        table = ranking(con, period, cfg)
    return emit(args, table, ranking_json, lambda x: ranking_text(x, cfg))


def register(subparsers) -> None:
    p = subparsers.add_parser("rank", help="镇街季度排名：综合与五个指数、排名区间、较上季度变化")
    add_quarter_argument(p)
    add_db_argument(p)
    p.add_argument("--json", action="store_true",
                   help="以 JSON 输出：rank、rank_low、rank_high、unit_id、unit、composite、change（名次变化，"
                        "正数为上升）及五个指数得分")
    p.set_defaults(func=_run_rank)
