"""What every command shares: ``--db``, opening the store or exiting 2, ``--period`` read once, JSON output
and one error that ends a command with a message instead of a traceback."""
from __future__ import annotations

import argparse
import json
import math
from contextlib import contextmanager
from typing import Iterator
from datetime import date, datetime

import duckdb
import numpy as np
import pandas as pd


def bounded(kind: type, low: float, high: float, what: str):
    """An argparse type: a number of ``kind`` in [low, high], or a Chinese usage error (exit 2)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"“{text}”不是{'整数' if kind is int else '数字'}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{what}应在 {low:g}–{high:g} 之间，现在是 {text}")
        return value
    parse.__name__ = what  # argparse names the type in its message
    return parse


COUNT = bounded(int, 1, 100_000, "个数")
YEAR = bounded(int, 1900, 2100, "年份")
SECONDS = bounded(float, 0, 86_400, "秒数")
ID = bounded(int, 1, 2**62, "编号")


class ChineseArgumentParser(argparse.ArgumentParser):
    """argparse with its usage errors said in Chinese (the messages of our types already are)."""

    _WORDS = (("the following arguments are required", "缺少必填参数"), ("unrecognized arguments", "不认识的参数"),
              ("invalid choice", "不是可选的值"), ("expected one argument", "需要一个值"), ("argument ", "参数 "),
              ("invalid ", "无效的 "), ("value", "值"), ("choose from", "可选"))

    def error(self, message: str):
        for en, zh in self._WORDS:
            message = message.replace(en, zh)
        self.exit(2, f"命令行参数有误：{message}\n用法见：{self.prog} --help\n")


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="PATH", help="DuckDB 文件（默认：环境变量 COCKPIT_DB 或 data/cockpit.duckdb）")


def add_quarter_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quarter", metavar="2024Q2", help="季度（默认：有数据的最近一个季度）")


def jsonable(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (pd.Timestamp, datetime)):
        return v.date().isoformat() if isinstance(v, pd.Timestamp) or v.time() == datetime.min.time() else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if np.isnan(v) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def records(df: pd.DataFrame | None) -> list[dict]:
    """A table as a list of plain JSON-able dicts (dates ISO, NaN → null)."""
    if df is None:
        return []
    return [{k: jsonable(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


NO_DATA = "数据库里还没有民情民意、代表建议或履职活动数据。"  # exit 1: a store without the data asked for


class CommandError(Exception):
    """A command cannot go on: ``python -m analytics`` prints the message (no traceback) and exits
    with ``code`` — 2 for a wrong argument, a missing or unreadable store or configuration, 1 for a
    store without the data asked for."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


@contextmanager
def open_store(db: str | None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The store at ``db`` (``--db``; default: COCKPIT_DB or data/cockpit.duckdb) opened read-only
    for the command, closed after it; a store that cannot be opened ends the command with exit 2."""
    from analytics.store.db import StoreError, connect

    try:
        con = connect(db, read_only=True)
    except StoreError as exc:
        raise CommandError(str(exc), 2) from exc
    try:
        yield con
    finally:
        con.close()


def parse_period_arg(text: str):
    """``--period`` read once, the way every page reads it; a wrong one ends the command with exit 2."""
    from analytics.core.periods import PeriodError, parse_period

    try:
        return parse_period(text)
    except PeriodError as exc:
        raise CommandError(str(exc), 2) from exc


def print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=2))


def emit(args, result, as_json, as_text) -> int:
    """Print a command's result as JSON (``--json``) or as text; exit status 0."""
    if getattr(args, "json", False):
        print_json(as_json(result))
    else:
        print(as_text(result))
    return 0


def actor(args) -> str:
    """Who a command-line run is recorded as: the operating-system user; a ``--user`` name is
    recorded beside it ("root（--user 王五）"), never instead of it."""
    from analytics.store.db import login_name

    who = login_name()
    named = (getattr(args, "user", None) or "").strip()
    return f"{who}（--user {named}）" if named and named != who else who
