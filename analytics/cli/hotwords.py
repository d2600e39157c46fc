"""``hotwords``: hot words and rising words."""
from __future__ import annotations

from datetime import timedelta
import argparse
import json
import sys

from analytics.cli.common import COUNT, ID, add_db_argument
from analytics.domain.hotwords import (
    HotwordsError,
    as_date,
    latest_window,
    pending_count,
    rising_words,
    segment_pending_at,
)


def open_segmented(args: argparse.Namespace):
    """The store read-only, its opinions segmented first if some are not (or None: message printed)."""
    from analytics.store.dataset import is_dataset
    from analytics.store.db import StoreError, connect, default_db_path

    # The store is read read-only. Opinions not yet segmented (a store imported before the importer
    # segmented) are segmented first through the store's writer lock in short transactions, like the
    # page's background job, so a running app and an import are never disturbed. A Parquet export
    # is read as it is (segmented when it was exported).
    db = default_db_path(args.db)
    try:
        con = connect(db, read_only=True)
        if not is_dataset(db) and (pending := pending_count(con)):
            con.close()
            print(f"正在为 {pending:,} 条尚未分词的意见分词…", file=sys.stderr)
            segment_pending_at(db)
            con = connect(db, read_only=True)
    except StoreError as exc:
        print(str(exc), file=sys.stderr)
        return None
    return con


def window_and_filters(con, args: argparse.Namespace):
    """(start, end, filters) from --from/--to (inclusive) and the filter options; HotwordsError."""
    if args.date_from or args.date_to:
        if not (args.date_from and args.date_to):
            raise HotwordsError("--from 与 --to 需同时给出（或都不给：最近 90 天）。")
        start = as_date(args.date_from)
        end = as_date(args.date_to) + timedelta(days=1)  # --to is inclusive
        if end <= start:
            raise HotwordsError("--to 不能早于 --from。")
    else:
        start, end = latest_window(con, dict_version=getattr(args, "dict_version", None))
    filters = dict(town=args.town, station=getattr(args, "station", None), channel=getattr(args, "channel", None),
                   category=getattr(args, "category", None))
    if args.town:
        from analytics.core.contract import load_contract

        town = load_contract().lookup("town", args.town)
        if town is None:
            raise HotwordsError(f"“{args.town}”不是萧山区的镇街。")
        filters["town"] = town
    return start, end, filters


def run_query(args: argparse.Namespace, compute):
    """``compute(con, start, end, filters)`` on the store read-only: (result, start, end, filters), or
    None when the store cannot be opened or the request is wrong (the Chinese message printed)."""
    con = open_segmented(args)
    if con is None:
        return None
    try:
        start, end, filters = window_and_filters(con, args)
        return compute(con, start, end, filters), start, end, filters
    except HotwordsError as exc:
        print(str(exc), file=sys.stderr)
        return None
    finally:
        con.close()


def _words(con, start, end, filters, args):
    from analytics.domain.hotissues import top_terms

    if args.rising:
        return rising_words(con, start, end, top=args.top, dict_version=args.dict_version, **filters)
    return top_terms(con, start, end, top=args.top, dict_version=args.dict_version, **filters)


def _run(args: argparse.Namespace) -> int:
    got = run_query(args, lambda con, start, end, filters: _words(con, start, end, filters, args))
    if got is None:
        return 2
    df, start, end, filters = got
    if args.json:
        if args.rising:
            recs = [{"word": r.word, "strength": round(r.strength, 3), "rise_start": r.rise_start.isoformat(),
                     "ongoing": bool(r.ongoing), "docs_burst": int(r.docs_burst), "current": int(r.current),
                     "baseline": round(r.baseline, 2)} for r in df.itertuples()]
        else:
            recs = [{"word": r.word, "count": int(r.count), "docs": int(r.docs), "share": round(float(r.share), 6),
                     "change": int(r.change)} for r in df.itertuples()]
        print(json.dumps(recs, ensure_ascii=False, indent=1))
        return 0
    last = (end - timedelta(days=1)).isoformat()
    print(f"期间 {start.isoformat()} 至 {last}" + "".join(f" · {v}" for v in filters.values() if v))
    if args.rising:
        print(f"{'词':<12}{'强度':>8}  {'上升开始':<10} {'本期':>6} {'基线':>8}")
        for r in df.itertuples():
            print(f"{r.word:<12}{r.strength:>8.1f}  {r.rise_start.isoformat()[:7]:<10} {r.current:>6} {r.baseline:>8.1f}")
    else:
        print(f"{'词':<12}{'次数':>7}{'意见数':>8}{'占比':>8}{'较上期':>8}")
        for r in df.itertuples():
            print(f"{r.word:<12}{r.count:>7}{r.docs:>8}{r.share:>8.1%}{r.change:>+8}")
    return 0


def add_filter_arguments(p) -> None:
    """--from/--to and the filter options, read by ``window_and_filters``."""
    p.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="起始日期（含）")
    p.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="截止日期（含）")
    p.add_argument("--town", help="镇街（可用简称，如 瓜沥）")
    p.add_argument("--station", help="联络站")
    p.add_argument("--channel", help="来源渠道")
    p.add_argument("--category", help="分类")


def register(subparsers) -> None:
    p = subparsers.add_parser("hotwords", help="热词：期间内的词（按词分排序）或上升词",
                              description="群众意见热词（不给日期时取数据中最近 90 天）：按词分排序，地点不算热词"
                                          "（docs/hotwords.md §4a）。")
    add_filter_arguments(p)
    p.add_argument("--top", type=COUNT, default=50, help="列出前 N 个词（默认 50）")
    p.add_argument("--rising", action="store_true", help="列出上升词（Kleinberg 突发检测）")
    p.add_argument("--dict-version", type=ID, help="按某个词典版本复现（默认：当前版本）")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    add_db_argument(p)
    p.set_defaults(func=_run)
