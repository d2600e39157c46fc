"""``export``: the store as a partitioned Parquet dataset."""
from __future__ import annotations

from pathlib import Path
import argparse
import sys

from analytics.cli.common import add_db_argument
from analytics.store.schema import StoreError


def _run_export(args: argparse.Namespace) -> int:
    if not args.parquet:
        print("请用 --parquet DIR 指定导出目录。", file=sys.stderr)
        return 2
    from analytics.reports.parquet_export import export_parquet

    try:
        marker = export_parquet(args.db, args.parquet)
    except StoreError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    root = Path(args.parquet)
    size = sum(p.stat().st_size for p in root.rglob("*.parquet"))
    for table, e in marker["tables"].items():
        parts = f"按 {'、'.join(e['partition_by'])} 分区" if e["partition_by"] else "单个文件"
        print(f"{table:<18}{e['rows']:>12,} 行  {parts}")
    print(f"已导出到 {root}（{size / 2**20:,.1f} MiB，用时 {marker['seconds']:.1f} 秒）。"
          f"用 --db {root} 或 COCKPIT_DB={root} 只读地运行命令行和应用。")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="把数据库导出为按年份、镇街分区的 Parquet 数据集（只读运行应用和命令行）",
        description="把 DuckDB 数据库的全部表导出为 Parquet：民情民意、履职活动、代表建议和分词结果按年份和镇街分区"
                    "（Hive 目录 year=…/town=…），其余小表各一个文件，另有说明文件 _cockpit_parquet.json。"
                    "之后 --db DIR 或 COCKPIT_DB=DIR 即可在该数据集上只读地运行命令行和应用。")
    p.add_argument("--parquet", metavar="DIR", required=True,
                   help="导出目录（不存在、为空，或是以前导出的数据集：整体替换）")
    add_db_argument(p)
    p.set_defaults(func=_run_export)
