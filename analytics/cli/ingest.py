"""``ingest``: import exports from the command line."""
from __future__ import annotations

from pathlib import Path
import argparse
import json
import sys

from analytics.cli.common import SECONDS, actor, add_db_argument
from analytics.ingest import profiles as admin
from analytics.ingest.importer import FileReport, REJECT, SHOWN_REJECTS, WARNING, expand_paths, import_files


# Words of the importer's messages for a file it could read but not recognise: a profile helps.
NOT_RECOGNISED = ("找不到可识别的表头", "缺少必填列", "没有名为")


def _rows_text(rows: list[int], shown: int = 8) -> str:
    head = "、".join(str(n) for n in rows[:shown])
    return f"第 {head} 行" + (f" 等 {len(rows)} 行" if len(rows) > shown else "")


def format_report(reports: list[FileReport], shown: int = SHOWN_REJECTS) -> str:
    """The human summary: one line per file, sheet warnings, then the first rejected rows, then the
    warnings (rows stored with a value not understood) grouped by column and value."""
    lines = []
    for r in reports:
        name = Path(r.file).name
        if r.error:
            lines.append(f"✗ {r.error}")
            if any(w in r.error for w in NOT_RECOGNISED):
                lines.append(f"    下一步：python -m analytics profiles suggest \"{r.file}\" --out 方案.toml ，"
                             "检查并修改方案文件后 python -m analytics profiles add 方案.toml ，再重新导入；"
                             "或在“数据管理”页上传这个文件，按提示建立映射方案。")
            continue
        labels = "、".join(s["kind_label"] for s in r.sheets if s["kind_label"] and not s["error"])
        extra = f"；跳过空行/合计行等 {r.skipped} 行" if r.skipped else ""
        warned = f"（其中 {r.warned} 行有提醒）" if r.warned else ""
        lines.append(f"✓ {name}（{labels}）：读取 {r.rows_read} 行 → 新增 {r.imported}、更新 {r.updated}、"
                     f"不变 {r.unchanged}、拒收 {r.rejected}{warned}{extra}"
                     + (f"  [批次 {r.batch_id}]" if r.batch_id is not None else ""))
        if r.unlocated:
            lines.append(f"    其中 {r.unlocated} 条意见没有镇街（或镇街认不出），按“未定位”保存：计入全区，不计入任何镇街；"
                         "可在“数据管理”页补定位")
        for s in r.sheets:
            if s["error"]:
                rows = f"，其中的 {s['not_imported']} 行没有导入" if s.get("not_imported") else ""
                lines.append(f"    注意：{s['error']}（该工作表未导入{rows}）")
            for header, rule in (s.get("date_rules") or {}).items():
                lines.append(f"    日期列【{header}】{rule}")
    rejects = [(Path(r.file).name, x) for r in reports for x in r.rejects if x.level == REJECT]
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
    groups: dict[tuple, list[int]] = {}
    for r in reports:
        for x in r.rejects:
            if x.level == WARNING:
                groups.setdefault((Path(r.file).name, x.sheet, x.column, x.reason), []).append(x.row_no)
    if groups:
        n_rows = sum(r.warned for r in reports)
        lines.append("")
        lines.append(f"已入库但有提醒的行（{n_rows} 行；相同的列和值合并列出）：")
        for (name, sheet, column, reason), rows in list(groups.items())[:shown]:
            where = f"工作表“{sheet}” " if sheet is not None else ""
            col = f"【{column}】" if column else ""
            lines.append(f"  {name} {where}{_rows_text(rows)} {col}{reason}")
        if len(groups) > shown:
            lines.append(f"  ……其余 {len(groups) - shown} 种见“数据管理”页")
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
        reports = import_files(args.db, files, user=actor(args), progress=progress, profile=args.profile,
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
    p.add_argument("--user", help="代谁导入：记在操作系统用户名旁边（操作人总是当前登录名）")
    p.add_argument("--profile", metavar="NAME",
                   help="按保存的列映射方案读取（其它系统的导出文件；方案在“数据管理”页建立，见 profiles 命令）")
    p.add_argument("--wait", type=SECONDS, metavar="SECONDS",
                   help="另一个导入正在进行时最多等待的秒数（默认见 data/limits.toml 的 [wait]）")
    p.set_defaults(func=_cli)
