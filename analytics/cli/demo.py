"""``demo``: write the demo exports."""
from __future__ import annotations

import argparse
import sys
import time

from analytics.cli.common import bounded
from analytics.demo.exports import LAST_YEAR, OPINIONS_PER_YEAR, write_demo_counted


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="生成演示用的导出文件（xlsx/csv）",
                       description="生成演示数据：五类导出文件，带真实导出的各种格式特点；同一 seed 生成的文件逐字节相同。")
    p.add_argument("--seed", type=int, default=0, help="随机种子（默认 0）")
    p.add_argument("--years", type=bounded(int, 1, 20, "年数"), default=2, help=f"覆盖的年数，截止 {LAST_YEAR} 年底（默认 2）")
    p.add_argument("--scale", type=bounded(float, 0.001, 100, "规模"), default=1.0,
                   help=f"规模系数：民情民意约 {OPINIONS_PER_YEAR:,} 条/年 × 系数，建议、活动同比放大（默认 1）")
    p.add_argument("--out", required=True, metavar="DIR", help="输出目录")
    p.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    try:
        results = write_demo_counted(args.out, seed=args.seed, years=args.years, scale=args.scale)
    except ValueError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    for path, n in results:
        print(f"{path}\t{n} 行")
    print(f"共 {len(results)} 个文件，{sum(n for _, n in results):,} 行，用时 {time.perf_counter() - t0:.1f} 秒")
    return 0
