"""``batches``, ``undo`` and ``profiles``: import batches and mapping profiles."""
from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from analytics.cli.common import add_db_argument
from analytics.ingest.profiles import (
    AdminError,
    LimitsError,
    UNKNOWN,
    delete_profile,
    list_batches,
    load_profiles,
    profiles_frame,
    undo_batch_at,
)


def _batches_cli(args: argparse.Namespace) -> int:
    from analytics.store.db import StoreError, reading

    try:
        with reading(args.db) as con:
            df = list_batches(con, limit=args.limit)
    except StoreError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.json:
        recs = []
        for r in df.itertuples():
            recs.append({"batch_id": int(r.batch_id), "file": r.file_name, "sha256": r.sha256,
                         "imported_at": r.imported_at.isoformat(sep=" "), "imported_by": r.imported_by,
                         "kinds": r.kinds, "rows_read": int(r.rows_read), "imported": int(r.imported),
                         "updated": int(r.updated), "unchanged": int(r.unchanged), "rejected": int(r.rejected),
                         "skipped": int(r.skipped), "profile": r.profile if isinstance(r.profile, str) else None,
                         "undone_at": r.undone_at.isoformat(sep=" ") if pd.notna(r.undone_at) else None,
                         "undone_by": r.undone_by if isinstance(r.undone_by, str) else None})
        print(json.dumps({"batches": recs}, ensure_ascii=False, indent=1))
        return 0
    if df.empty:
        print("还没有任何导入批次。")
        return 0
    for r in df.itertuples():
        print(f"批次 {r.batch_id:>4}  {r.imported_at:%Y-%m-%d %H:%M}  {r.imported_by or UNKNOWN:<8} {r.file_name}"
              f"（{r.kinds}）读取 {r.rows_read}：新增 {r.imported}、更新 {r.updated}、不变 {r.unchanged}、"
              f"拒收 {r.rejected}  sha256 {r.sha256[:12]}…  {r.status}")
    return 0


def _undo_cli(args: argparse.Namespace) -> int:
    from analytics.store.db import StoreError

    try:
        report = undo_batch_at(args.db, args.batch_id, user=args.user, wait=args.wait)
    except (AdminError, StoreError, LimitsError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(report.summary())
    return 0


def _profiles_cli(args: argparse.Namespace) -> int:
    from analytics.store.db import StoreError, reading, writing

    try:
        if args.delete:
            with writing(args.db, what=f"删除映射方案 {args.delete}") as con:
                delete_profile(con, args.delete)
            print(f"已删除映射方案“{args.delete}”。")
            return 0
        with reading(args.db) as con:
            profiles = load_profiles(con)
    except (AdminError, StoreError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([{"name": p.name, "kind": p.kind, "signature": p.signature, "headers": list(p.headers),
                           "mapping": p.mapping, "fixed": p.fixed, "created_by": p.created_by,
                           "created_at": p.created_at.isoformat(sep=" ") if p.created_at else None}
                          for p in profiles], ensure_ascii=False, indent=1))
        return 0
    if not profiles:
        print("还没有保存任何映射方案（在“数据管理”页导入无法识别的文件时可以建立）。")
    for r in profiles_frame(profiles).itertuples():
        print(f"{r.方案}（{r.数据类别}）：{r.列对应}；固定值：{r.固定值}")
    return 0


def register(sub) -> None:
    """``batches``, ``undo`` and ``profiles``."""
    p = sub.add_parser("batches", help="列出导入批次（文件、sha256、时间、操作人、行数、是否已撤销）",
                       description="列出全部导入批次，最新的在前。")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.add_argument("--limit", type=int, help="只列出最新的 N 个批次")
    add_db_argument(p)
    p.set_defaults(func=_batches_cli)

    p = sub.add_parser("undo", help="撤销一个导入批次",
                       description="撤销一个导入批次：它新增的行被删除，它改动的行恢复为导入前的样子；批次留在历史中并标为已撤销。"
                                   "若之后的批次又改动了同样的行，须先撤销那些较晚的批次（从最新的开始）。")
    p.add_argument("batch_id", type=int, metavar="BATCH_ID", help="批次号（见 batches 命令）")
    p.add_argument("--user", help="记入历史的操作人（默认：当前登录名）")
    p.add_argument("--wait", type=float, help="另一个导入正在进行时最多等待的秒数（默认见 data/limits.toml）")
    add_db_argument(p)
    p.set_defaults(func=_undo_cli)

    p = sub.add_parser("profiles", help="列出或删除列映射方案",
                       description="列出保存的列映射方案（其它系统导出文件的列与字段的对应）；--delete NAME 删除一个。")
    p.add_argument("--delete", metavar="NAME", help="删除这个映射方案")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    add_db_argument(p)
    p.set_defaults(func=_profiles_cli)
