"""``hotissues``: 热点问题 — opinions about one concern at one place, hottest first."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta

from analytics.cli.common import COUNT, add_db_argument
from analytics.cli.hotwords import add_filter_arguments, run_query
from analytics.domain.hotissues import HEAT_FORMULA, hot_issues


def _run(args: argparse.Namespace) -> int:
    got = run_query(args, lambda con, start, end, filters: hot_issues(con, start, end, top=args.top, **filters))
    if got is None:
        return 2
    issues, start, end, filters = got
    keys = ("rank", "title", "heat", "opinions", "submitters", "support", "first", "last", "places", "terms",
            "opinion_ids")
    if args.json:
        recs = [{k: (it[k].isoformat() if k in ("first", "last") else it[k]) for k in keys} for it in issues]
        print(json.dumps(recs, ensure_ascii=False, indent=1))
        return 0
    last = (end - timedelta(days=1)).isoformat()
    print(f"期间 {start.isoformat()} 至 {last}" + "".join(f" · {v}" for v in filters.values() if v))
    print(HEAT_FORMULA)
    if not issues:
        print("这一期间没有热点问题（至少两人、两条意见说同一件事）。")
    for it in issues:
        support = f"、支持 {it['support']}" if it.get("support") else ""
        print(f"{it['rank']:>3}. {it['title']}  热度 {it['heat']:.1f}  意见 {it['opinions']} 条、{it['submitters']} 人{support}  "
              f"{it['first'].isoformat()} 至 {it['last'].isoformat()}  地点：{'、'.join(it['places'][:3]) or '—'}  "
              f"词：{'、'.join(it['terms'][:5])}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("hotissues", help="热点问题：同一地点同一事项的意见归并，按热度排序",
                              description="热点问题（不给日期时取数据中最近 90 天）。")
    add_filter_arguments(p)
    p.add_argument("--top", type=COUNT, default=10, help="列出前 N 个（默认 10）")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    add_db_argument(p)
    p.set_defaults(func=_run)
