"""``report``: write the quarterly 专报."""
from __future__ import annotations

import argparse
from pathlib import Path

from analytics.cli.common import CommandError, actor, add_db_argument, add_quarter_argument, open_store
from analytics.core.periods import PeriodError
from analytics.domain import points as points_mod
from analytics.domain.indices import IndexConfigError
from analytics.reports.quarterly import write_report
from analytics.store.db import default_db_path


def _run_report(args: argparse.Namespace) -> int:
    with open_store(args.db) as con:
        try:
            result = write_report(con, args.out, args.quarter)
        except (PeriodError, IndexConfigError, points_mod.PointsConfigError) as exc:
            raise CommandError(str(exc), 2) from exc
    from analytics.store import audit
    from analytics.store.dataset import is_dataset

    if not is_dataset(default_db_path(args.db)):  # a read-only Parquet dataset keeps no audit log
        audit.record_at(args.db, "export", actor(args), target=f"季度专报 {result['period']}",
                        detail={"files": [Path(result["docx"]).name, Path(result["xlsx"]).name], "out": str(args.out)})
    s = result["seconds"]
    print(f"已生成 {result['period']} 季度晾晒专报：\n  {result['docx']}\n  {result['xlsx']}\n"
          f"用时 {s['total']:.1f} 秒（取数 {s['gather']:.1f}，Word {s['docx']:.1f}，Excel {s['xlsx']:.1f}）")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="生成季度晾晒专报（.docx）及其表格（.xlsx）")
    add_quarter_argument(p)
    p.add_argument("--out", required=True, metavar="DIR", help="输出目录（不存在时创建）")
    add_db_argument(p)
    p.set_defaults(func=_run_report)
