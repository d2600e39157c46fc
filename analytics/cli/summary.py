"""``summary``: the cockpit's headline figures."""
from __future__ import annotations

from datetime import date
import argparse
import json

from analytics.cli.common import CommandError, NO_DATA, add_db_argument, open_store
from analytics.core.labels import DISTRICT, PREVIOUS_LABELS
from analytics.core.periods import Period, parse_period
from analytics.domain.metrics import Headline, format_change, format_value, headline, latest_period


def summary_text(headlines: list[Headline], period: Period, town: str | None) -> str:
    end = date.fromordinal(period.end.toordinal() - 1)
    lines = [f"{town or DISTRICT} · {period.label}（{period.start:%Y-%m-%d} 至 {end:%Y-%m-%d}）"]
    width = max(len(h.metric.label) for h in headlines)
    for h in headlines:
        m, cur = h.metric, h.current
        value = format_value(m, cur.value) + ("" if m.is_rate else f" {m.unit}")
        parts = f"（{cur.numerator:,} / {cur.denominator:,}）" if m.is_rate else ""
        change = format_change(h)
        prev = f"{PREVIOUS_LABELS[period.grain]} {change}（上期 {format_value(m, h.previous.value)}）" if change else \
            f"{PREVIOUS_LABELS[period.grain]} 无可比数据"
        lines.append(f"  {m.label}{'　' * (width - len(m.label))}  {value}{parts}  {prev}")
    return "\n".join(lines)


def _run_summary(args: argparse.Namespace) -> int:
    import sys

    from analytics.core.contract import load_contract
    with open_store(args.db) as con:
        if args.period:
            period = parse_period(args.period)
        else:
            period = latest_period(con, "quarter")
            if period is None:
                raise CommandError(NO_DATA, 1)
        town = args.town
        if town is not None:
            canonical = load_contract().lookup("town", town)
            if canonical is None:
                print(f"“{town}”不是萧山区的镇街（开发区）。", file=sys.stderr)
                return 2
            town = canonical
        rows = headline(con, period, town)
    if args.json:
        print(json.dumps({"period": period.code, "grain": period.grain, "town": town,
                          "figures": [h.as_dict() for h in rows]}, ensure_ascii=False, indent=2))
    else:
        print(summary_text(rows, period, town))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("summary", help="驾驶舱核心数据（默认：有数据的最近一个季度、全区）")
    p.add_argument("--period", help="期间：2024（年）、2024Q2（季度）或 2024-05（月）")
    p.add_argument("--town", help="镇街，如 瓜沥镇（默认全区）")
    add_db_argument(p)
    p.add_argument("--json", action="store_true", help="以 JSON 输出")
    p.set_defaults(func=_run_summary)
