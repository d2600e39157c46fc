"""``hotissues``: 热点问题 — opinions about one concern at one place, hottest first."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta

from analytics.cli.common import COUNT, add_db_argument
from analytics.cli.hotwords import open_segmented, window_and_filters
from analytics.domain.hotissues import HEAT_FORMULA, hot_issues
from analytics.domain.hotwords import HotwordsError


def _run(args: argparse.Namespace) -> int:
    con = open_segmented(args)
    if con is None:
        return 2
    try:
        try:
            start, end, filters = window_and_filters(con, args)
            issues = hot_issues(con, start, end, top=args.top, **filters)
        except HotwordsError as exc:
            print(str(exc), file=sys.stderr)
            return 2
    finally:
        con.close()
    keys = ("rank", "title", "heat", "opinions", "submitters", "first", "last", "places", "terms", "opinion_ids")
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
        print(f"{it['rank']:>3}. {it['title']}  热度 {it['heat']:.1f}  意见 {it['opinions']} 条、{it['submitters']} 人  "
              f"{it['first'].isoformat()} 至 {it['last'].isoformat()}  地点：{'、'.join(it['places'][:3]) or '—'}  "
              f"词：{'、'.join(it['terms'][:5])}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("hotissues", help="热点问题：同一地点同一事项的意见归并，按热度排序",
                              description="热点问题（不给日期时取数据中最近 90 天）。")
    p.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="起始日期（含）")
    p.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="截止日期（含）")
    p.add_argument("--town", help="镇街（可用简称，如 瓜沥）")
    p.add_argument("--station", help="联络站")
    p.add_argument("--channel", help="来源渠道")
    p.add_argument("--category", help="分类")
    p.add_argument("--top", type=COUNT, default=10, help="列出前 N 个（默认 10）")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    add_db_argument(p)
    p.set_defaults(func=_run)
