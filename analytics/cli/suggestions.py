"""``suggestions``: representatives' suggestions followed to their answers."""
from __future__ import annotations

import argparse
import math
import sys

import pandas as pd

from analytics.cli.common import CommandError, add_db_argument, emit, jsonable, open_store, records
from analytics.core.periods import parse_period
from analytics.domain.suggestions import (
    ALL_TYPES,
    CLI_RATE_KEYS,
    RATES,
    Scope,
    latest_session,
    load_config,
    report,
    sessions,
)


def report_json(rep: dict) -> dict:
    total = rep["rates"][ALL_TYPES].set_index("key")
    out = {**rep["scope"].as_dict(), "as_of": jsonable(rep["as_of"]), "suggestions": rep["n"]}
    for k in CLI_RATE_KEYS:
        out[k] = jsonable(total.at[k, "value"])
    out["rates"] = {t: records(r.drop(columns=["definition", "formula"])) for t, r in rep["rates"].items()}
    out["funnel"] = {t: records(f.drop(columns=["definition"])) for t, f in rep["funnel"].items()}
    out["open"], out["overdue_count"] = rep["open"], rep["overdue_n"]
    for k in ("clocks", "overdue", "departments", "promises", "rising"):
        out[k] = records(rep[k])
    return out


def _text(v, missing: str = "") -> str:
    return v if isinstance(v, str) and v else missing


def _pct(v) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v * 100:.1f}%"


def report_text(rep: dict) -> str:
    lines = [f"代表建议 · {rep['scope'].label}（数据截至 {rep['as_of']}）：共 {rep['n']} 件，"
             f"未答复 {rep['open']} 件，其中逾期 {rep['overdue_n']} 件"]
    lines.append("")
    head = ["指标", *rep["rates"].keys()]
    lines.append("  ".join(f"{h:　<6}" for h in head))
    frames = {t: r.set_index("key") for t, r in rep["rates"].items()}
    for r in RATES:
        cells = [f"{_pct(f.at[r.key, 'value'])}（{f.at[r.key, 'numerator']:g}/{f.at[r.key, 'denominator']}）"
                 for f in frames.values()]
        lines.append(f"{r.label:　<6}  " + "  ".join(f"{c:<18}" for c in cells))
    lines.append("")
    lines.append("环节漏斗（件数，占提出的比例）")
    for t, f in rep["funnel"].items():
        lines.append(f"  {t}：" + " → ".join(
            f"{'其中' if s.subset else ''}{s.label} {s.count}（{_pct(s.share)}）" for s in f.itertuples()))
    lines.append("")
    lines.append("各环节用时（天，全部）：")
    for c in rep["clocks"][rep["clocks"]["submit_type"] == ALL_TYPES].itertuples():
        if isinstance(c.note, str):
            lines.append(f"  {c.label}：{c.note}")
        else:
            med = "—" if c.median is None or pd.isna(c.median) else f"{c.median:.0f}"
            p90 = "—" if c.p90 is None or pd.isna(c.p90) else f"{c.p90:.0f}"
            lines.append(f"  {c.label}：{c.n} 件，中位数 {med}，90% 分位 {p90}")
    od = rep["overdue"]
    lines.append("")
    lines.append(f"逾期未答复 {len(od)} 件" + ("：" if len(od) else ""))
    for r in od.head(20).itertuples():
        lines.append(f"  {r.suggestion_id}  逾期 {r.days_overdue} 天  {_text(r.main_handler, '—')}  "
                     f"{_text(r.supervision, '未督办')}  {r.title}")
    if len(od) > 20:
        lines.append(f"  …… 另有 {len(od) - 20} 件（--json 可得全部）")
    lines.append("")
    lines.append("承办单位（按综合得分；已答复不足 {} 件的不排名）".format(load_config().dept_min_answered))
    for d in rep["departments"].itertuples():
        rank = "—" if pd.isna(d.rank) else f"{int(d.rank):>2}"
        lines.append(f"  {rank}  {d.main_handler}  {d.suggestions} 件  按期 {_pct(d.on_time_rate)}  "
                     f"解决 {_pct(d.solved_rate)}  满意 {_pct(d.satisfied_rate)}  得分 {d.score:.1f}"
                     + ("  样本少" if d.small else ""))
    s = rep["promise_summary"]
    lines.append("")
    lines.append("承诺跟踪（B/C 类答复）：" + "，".join(f"{k} {v} 件" for k, v in s.items()))
    ris = rep["rising"]
    if ris is not None:
        lines.append("")
        lines.append(f"答复已解决、群众仍在反映：{len(ris)} 件")
        for r in ris.head(10).itertuples():
            lines.append(f"  {r.suggestion_id}  {r.town}  {r.title}  —— {r.evidence}")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    from analytics.core.contract import load_contract
    cfg = load_config()
    with open_store(args.db) as con:
        town = None
        if args.town:
            town = load_contract().lookup("town", args.town)
            if town is None:
                print(f"“{args.town}”不是萧山区的镇街（开发区）。", file=sys.stderr)
                return 2
        if args.period:
            scope = Scope(period=parse_period(args.period), town=town)
        else:
            session = args.session or latest_session(con)
            if session is None:
                raise CommandError("数据库里还没有代表建议数据。", 1)
            if session not in sessions(con):
                print(f"没有届次会次为“{session}”的代表建议。现有：{'、'.join(sessions(con))}", file=sys.stderr)
                return 2
            scope = Scope(session=session, town=town)
        rep = report(con, scope, cfg)
    return emit(args, rep, report_json, report_text)


def register(subparsers) -> None:
    p = subparsers.add_parser("suggestions", help="代表建议闭环：各环节、办结率/按期答复率/解决率/满意率/办成率、逾期与承办单位")
    p.add_argument("--session", help="届次会次，如 区十八届人大四次会议（默认：最近一次）")
    p.add_argument("--period", help="改按提出时间的期间统计：2024、2024Q2 或 2024-05")
    p.add_argument("--town", help="镇街（按领衔代表所属镇街），默认全区")
    add_db_argument(p)
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.set_defaults(func=_run)
