"""``batches``, ``undo`` and ``profiles``: import batches and mapping profiles."""
from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from pathlib import Path

from analytics.cli.common import CommandError, COUNT, ID, SECONDS, actor, add_db_argument
from analytics.ingest.profile_files import profile_from_file, profile_text, suggest_file
from analytics.store import audit
from analytics.ingest.profiles import (
    AdminError,
    get_profile,
    save_profile,
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
        report = undo_batch_at(args.db, args.batch_id, user=actor(args), wait=args.wait)
    except (AdminError, StoreError, LimitsError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(report.summary())
    return 0


def _profiles_cli(args: argparse.Namespace) -> int:
    from analytics.store.db import StoreError, reading, writing

    action = getattr(args, "action", None) or ("remove" if args.delete else "list")
    try:
        if action == "suggest":
            text = suggest_file(args.file, kind=args.kind, name=args.name, sheet=args.sheet)
            if args.out:
                Path(args.out).write_text(text, encoding="utf-8")
                print(f"已写出映射方案 {args.out}：请检查每一行（# 后面是理由），然后运行\n"
                      f"  python -m analytics profiles add {args.out}\n"
                      f"  python -m analytics ingest {args.file}")
            else:
                print(text, end="")
            return 0
        if action == "add":
            profile = profile_from_file(args.profile_file, user=actor(args))
            with writing(args.db, what=f"保存映射方案 {profile.name}", user=actor(args)) as con:
                save_profile(con, profile, replace=args.replace)
                audit.record(con, "profile", actor(args), target=profile.name,
                             detail={"kind": profile.kind, "file": Path(args.profile_file).name})
            print(f"已保存映射方案“{profile.name}”（{profile.kind}）：表头相同或相近的文件导入时会自动使用它。")
            return 0
        name = args.name if action in ("show", "remove") and getattr(args, "name", None) else args.delete
        if action == "remove":
            with writing(args.db, what=f"删除映射方案 {name}", user=actor(args)) as con:
                delete_profile(con, name)
                audit.record(con, "profile_delete", actor(args), target=name)
            print(f"已删除映射方案“{name}”。")
            return 0
        with reading(args.db) as con:
            profiles = load_profiles(con) if action == "list" else [get_profile(con, name)]
    except (AdminError, StoreError) as exc:
        raise CommandError(str(exc), 2) from exc
    if action == "show":
        print(profile_text(profiles[0]), end="")
        return 0
    if args.json:
        print(json.dumps([{"name": p.name, "kind": p.kind, "signature": p.signature, "headers": list(p.headers),
                           "mapping": p.mapping, "fixed": p.fixed, "options": p.options, "created_by": p.created_by,
                           "created_at": p.created_at.isoformat(sep=" ") if p.created_at else None}
                          for p in profiles], ensure_ascii=False, indent=1))
        return 0
    if not profiles:
        print("还没有保存任何映射方案。为一个导出文件建立：python -m analytics profiles suggest 文件 --out 方案.toml，"
              "检查后 python -m analytics profiles add 方案.toml（也可在“数据管理”页建立）。")
    for r in profiles_frame(profiles).itertuples():
        print(f"{r.方案}（{r.数据类别}）：{r.列对应}；固定值：{r.固定值}")
    return 0


def register(sub) -> None:
    """``batches``, ``undo`` and ``profiles``."""
    p = sub.add_parser("batches", help="列出导入批次（文件、sha256、时间、操作人、行数、是否已撤销）",
                       description="列出全部导入批次，最新的在前。")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.add_argument("--limit", type=COUNT, help="只列出最新的 N 个批次")
    add_db_argument(p)
    p.set_defaults(func=_batches_cli)

    p = sub.add_parser("undo", help="撤销一个导入批次",
                       description="撤销一个导入批次：它新增的行被删除，它改动的行恢复为导入前的样子；批次留在历史中并标为已撤销。"
                                   "若之后的批次又改动了同样的行，须先撤销那些较晚的批次（从最新的开始）。")
    p.add_argument("batch_id", type=ID, metavar="BATCH_ID", help="批次号（见 batches 命令）")
    p.add_argument("--user", help="记入历史的操作人（默认：当前登录名）")
    p.add_argument("--wait", type=SECONDS, help="另一个导入正在进行时最多等待的秒数（默认见 data/limits.toml）")
    add_db_argument(p)
    p.set_defaults(func=_undo_cli)

    p = sub.add_parser("profiles", help="列映射方案：列出、建议、保存、查看、删除",
                       description="其它系统的导出文件按映射方案（列与字段、取值的对应，日期顺序）导入。"
                                   "不带子命令时列出保存的方案。一般的步骤：profiles suggest 文件 --out 方案.toml → "
                                   "检查 → profiles add 方案.toml → ingest 文件。")
    p.add_argument("--delete", metavar="NAME", help="删除这个映射方案（同 profiles remove NAME）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    add_db_argument(p)
    p.set_defaults(func=_profiles_cli, action=None, user=None)
    acts = p.add_subparsers(dest="action", metavar="ACTION")
    q = acts.add_parser("list", help="列出保存的映射方案")
    q.add_argument("--json", action="store_true", help="以 JSON 输出")
    add_db_argument(q)
    q = acts.add_parser("suggest", help="为一个导出文件写出建议的映射方案（TOML，带理由，可编辑）")
    q.add_argument("file", metavar="FILE", help="导出文件（.xlsx / .csv）")
    q.add_argument("--kind", help="数据类别（opinions、suggestions、activities、reps、units；默认自动判断）")
    q.add_argument("--name", help="方案名（默认：文件名）")
    q.add_argument("--sheet", help="工作表名（默认：数据最多的一张）")
    q.add_argument("--out", metavar="PROFILE.toml", help="写到这个文件（默认：打印出来）")
    q = acts.add_parser("add", help="检查并保存一个映射方案文件")
    q.add_argument("profile_file", metavar="PROFILE.toml", help="profiles suggest 写出的（或手写的）方案文件")
    q.add_argument("--replace", action="store_true", help="覆盖同名、或表头相同的方案")
    q.add_argument("--user", help="记入审计日志的操作人（默认：当前登录名）")
    add_db_argument(q)
    q = acts.add_parser("show", help="以方案文件的格式显示一个保存的方案")
    q.add_argument("name", metavar="NAME")
    add_db_argument(q)
    q = acts.add_parser("remove", help="删除一个保存的方案")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--user", help="记入审计日志的操作人（默认：当前登录名）")
    add_db_argument(q)
