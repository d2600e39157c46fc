"""``reps``: representatives' duties, points and who needs a reminder."""
from __future__ import annotations

import argparse

import pandas as pd

from analytics.cli.common import CommandError, YEAR, add_db_argument, emit, open_store, records
from analytics.domain import duty
from analytics.domain.duty import Progress, QUARTERS, report, rule_table, years_with_data


def report_json(rep: dict) -> dict:
    prog: Progress = rep["progress"]
    return {
        "year": rep["year"], "as_of": rep["as_of"].isoformat(), "elapsed": float(rep["elapsed"]),
        "reps": rep["reps"], "on_track": rep["on_track"], "on_track_share": rep["on_track_share"],
        "duties": records(prog.duties.assign(
            on_pace_share=[float(prog.long.loc[prog.long["duty"] == k, "on_pace"].mean()) if len(prog.long) else None
                           for k in prog.duties["key"]])),
        "towns": records(prog.towns),
        "progress": records(prog.wide),
        "behind": records(rep["behind"]),
        "points": records(rep["points"]),
        "rules": records(rule_table()),
    }


def report_text(rep: dict) -> str:
    prog: Progress = rep["progress"]
    share = rep["on_track_share"]
    lines = [f"代表履职 · {rep['year']}年（截至 {rep['as_of']}，全年已过 {float(rep['elapsed']) * 100:.0f}%）",
             f"“十必做”进度正常的代表：{rep['on_track']} / {rep['reps']}"
             + (f"（{share * 100:.1f}%）" if share is not None else "")]
    lines.append("")
    lines.append("履职清单“十必做”（全年目标 / 目前应完成 / 达到进度的代表占比）")
    for d in prog.duties.itertuples():
        ok = prog.long.loc[prog.long["duty"] == d.key, "on_pace"]
        lines.append(f"  {d.label}：{d.target} / {d.due} / {ok.mean() * 100:.1f}%    {d.how}")
    lines.append("")
    lines.append("各镇街进度正常的代表占比")
    for t in prog.towns.sort_values(["share", "town"], ascending=[False, True]).itertuples():
        lines.append(f"  {t.town}：{t.on_track} / {t.reps}（{t.share * 100:.1f}%）")
    pts = rep["points"].sort_values(["rank", "rep_id"])
    lines.append("")
    lines.append("履职积分前 20 名（季度亮分 Q1 Q2 Q3 Q4 / 全年 / 全区百分位）")
    for r in pts.head(20).itertuples():
        qs = " ".join("—" if getattr(r, q) is None or pd.isna(getattr(r, q)) else f"{getattr(r, q):g}" for q in QUARTERS)
        lines.append(f"  {r.rank:>3}  {r.name}（{r.town}，{r.rep_level}）  {qs} / {r.total:g} / {r.percentile:.1f}")
    late = rep["behind"]
    lines.append("")
    lines.append(f"需要提醒的代表：{len(late)} 人" + ("（--json 可得全部）" if len(late) > 10 else ""))
    for r in late.head(10).itertuples():
        lines.append(f"  {r.name}（{r.town}）落后 {r.behind} 项：{r.missing}")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    cfg = duty.load_config()
    with open_store(args.db) as con:
        years = years_with_data(con)
        if not years:
            raise CommandError("数据库里还没有履职活动、代表建议或民情民意数据。", 1)
        year = args.year or years[0]
        rep = report(con, year, cfg=cfg)
    return emit(args, rep, report_json, report_text)


def register(subparsers) -> None:
    p = subparsers.add_parser("reps", help="代表履职：“十必做”进度、履职积分与季度亮分、需要提醒的代表")
    p.add_argument("--year", type=YEAR, help="年份，如 2024（默认：有数据的最近一年）")
    add_db_argument(p)
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.set_defaults(func=_run)
