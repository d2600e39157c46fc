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
