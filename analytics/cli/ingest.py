"""``ingest``: import exports from the command line."""
from __future__ import annotations

from pathlib import Path
import argparse
import json
import sys

from analytics.cli.common import add_db_argument
from analytics.ingest import profiles as admin
from analytics.ingest.importer import FileReport, SHOWN_REJECTS, expand_paths, import_files


def format_report(reports: list[FileReport], shown: int = SHOWN_REJECTS) -> str:
    """The human summary: one line per file, sheet warnings, then the first rejected rows."""
    lines = []
    for r in reports:
        name = Path(r.file).name
        if r.error:
            lines.append(f"✗ {r.error}")
            continue
        labels = "、".join(s["kind_label"] for s in r.sheets if s["kind_label"] and not s["error"])
        extra = f"；跳过空行/合计行等 {r.skipped} 行" if r.skipped else ""
        lines.append(f"✓ {name}（{labels}）：读取 {r.rows_read} 行 → 新增 {r.imported}、更新 {r.updated}、"
                     f"不变 {r.unchanged}、拒收 {r.rejected}{extra}"
                     + (f"  [批次 {r.batch_id}]" if r.batch_id is not None else ""))
        for s in r.sheets:
            if s["error"]:
                lines.append(f"    注意：{s['error']}（该工作表未导入）")
    rejects = [(Path(r.file).name, x) for r in reports for x in r.rejects]
    if rejects:
        n_rows = sum(r.rejected for r in reports)
        lines.append("")
        lines.append(f"拒收的行（{n_rows} 行，{len(rejects)} 处问题；列出前 {min(shown, len(rejects))} 处）：")
        for name, x in rejects[:shown]:
            where = f"工作表“{x.sheet}” " if x.sheet is not None else ""
            col = f"【{x.column}】" if x.column else ""
            lines.append(f"  {name} {where}第 {x.row_no} 行 {col}{x.reason}")
        if len(rejects) > shown:
            batches = ", ".join(str(r.batch_id) for r in reports if r.rejects and r.batch_id is not None)
            lines.append(f"  ……其余 {len(rejects) - shown} 处见“数据管理”页，或数据库表 rejected_rows"
                         f"（batch_id = {batches}）")
    return "\n".join(lines)


def _cli(args: argparse.Namespace) -> int:
    from analytics.store.db import StoreError, default_db_path, reading

    files = expand_paths(args.files)
    if not files:
        print("没有找到要导入的 .xlsx 或 .csv 文件。", file=sys.stderr)
        return 2
    try:
        admin.load_limits()
        if args.profile:
            db = default_db_path(args.db)
            if not db.exists():
                raise admin.AdminError(f"数据库 {db} 还不存在，其中没有映射方案“{args.profile}”")
            with reading(db) as con:
                admin.get_profile(con, args.profile)
    except (StoreError, admin.AdminError, admin.LimitsError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    progress = None
    if not args.json and sys.stderr.isatty():
        def progress(done: int, total: int | None, message: str) -> None:
            pct = f"{100 * done / total:.0f}% " if total else ""
            print(f"\r{pct}{message}\033[K", end="", file=sys.stderr, flush=True)
    try:
        reports = import_files(args.db, files, user=args.user, progress=progress, profile=args.profile,
                               wait=args.wait)
    except StoreError as exc:  # another import held the store past the wait: nothing was changed
        print(str(exc), file=sys.stderr)
        return 3
    finally:
        if progress:
            print(file=sys.stderr)
    if args.json:
        print(json.dumps({"db": str(default_db_path(args.db)), "files": [r.to_json() for r in reports]},
                         ensure_ascii=False, indent=1))
    else:
        print(format_report(reports))
    return 1 if any(r.error for r in reports) else 0


def register(sub) -> None:
    p = sub.add_parser(
        "ingest", help="导入平台导出的 .xlsx / .csv 文件",
        description="导入平台导出的 .xlsx / .csv 文件（可给文件夹：导入其中全部 .xlsx/.csv）。"
                    "每个文件一个事务：能读的文件导入其合格行、记录被拒收的行；读不了的文件不做任何改动。"
                    "应用正在使用数据库时也可以导入：每个文件导入完成后整体替换，读者不会看到导入一半的数据。"
                    "有文件读不了时退出码为 1；另一个导入占用数据库超过等待时间时退出码为 3。")
    p.add_argument("files", nargs="+", metavar="FILE", help="导出文件或文件夹")
    add_db_argument(p)
    p.add_argument("--json", action="store_true", help="以 JSON 输出每个文件的结果")
    p.add_argument("--user", help="记入导入批次的操作人（默认：当前登录名）")
    p.add_argument("--profile", metavar="NAME",
                   help="按保存的列映射方案读取（其它系统的导出文件；方案在“数据管理”页建立，见 profiles 命令）")
    p.add_argument("--wait", type=float, metavar="SECONDS",
                   help="另一个导入正在进行时最多等待的秒数（默认见 data/limits.toml 的 [wait]）")
    p.set_defaults(func=_cli)
