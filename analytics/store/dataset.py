"""A read-only store over a Parquet dataset — the first step past one machine (docs/scaling.md).

``python -m analytics export --parquet DIR [--db PATH]`` (``analytics.reports.parquet_export``) writes every table of the store as Parquet:
the large tables partitioned Hive-style by year and town (``opinions/year=2024/town=瓜沥镇/…``; the
directory names are percent-encoded, as Hive and Spark write them), the small ones as one file each,
and a marker file ``_cockpit_parquet.json`` that names the tables, their columns and types, their
row counts and the store's schema version.

``open_dataset(DIR)`` (what ``analytics.store.db.connect`` does when ``--db``/``COCKPIT_DB`` names such a
directory) returns an in-memory DuckDB connection with one view per table, named and typed like the
store's tables, over ``read_parquet(..., hive_partitioning = true)``. Every analytics function, the
command line and the app run on it unchanged, as they would on a shared warehouse that holds the
same tables. A filter on the town (or on the partition year) reads only that town's files.

A dataset is read-only: opening it for writing (an import, the candidate pool, the dictionary)
raises ``ReadOnlyStoreError`` with a Chinese message. Change the DuckDB store and export again.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb

from analytics.store.schema import DATASET_VIEW, SCHEMA_VERSION, StoreError

MARKER = "_cockpit_parquet.json"
FORMAT_VERSION = 1

# Tables copied into memory in file order instead of a view: queries order them by DuckDB's rowid.
_ROWID_TABLES = ("candidate_events",)
_PARTITION_TYPES = {"year": "INTEGER", "town": "VARCHAR"}


class ReadOnlyStoreError(StoreError):
    """A write was asked of a Parquet dataset; the message is Chinese."""


def read_only_message(root: Path) -> str:
    return (f"{root} 是只读的 Parquet 数据集（由 python -m analytics export --parquet 导出）："
            "不能导入数据、修改监督项目备选库或词典。请在 DuckDB 数据库上操作后重新导出。")


def is_dataset(path: str | os.PathLike | None) -> bool:
    return path is not None and (Path(path) / MARKER).is_file()


def quote_ident(ident: str) -> str:
    """An identifier from the store's own catalog (never user input), quoted."""
    return '"' + ident.replace('"', '""') + '"'


def sql_literal(text: str) -> str:
    """A path as an SQL string literal (COPY TO and read_parquet take no bound parameters)."""
    return "'" + text.replace("'", "''") + "'"


# ───────────────────────────── open ─────────────────────────────

def scan_sql(root: Path, entry: dict, row_numbers: bool = False) -> str:
    options = [sql_literal(str(root / entry["path"]))]
    if entry["partition_by"]:
        types = ", ".join(f"{sql_literal(k)}: {_PARTITION_TYPES.get(k, 'VARCHAR')}" for k in entry["partition_by"])
        options += ["hive_partitioning = true", f"hive_types = {{{types}}}"]
    if row_numbers:
        options.append("file_row_number = true")
    return f"read_parquet({', '.join(options)})"


def _view_sql(root: Path, table: str, entry: dict) -> str:
    cast = set(entry.get("cast", ()))
    cols = [f"CAST({quote_ident(c)} AS {t}) AS {quote_ident(c)}" if c in cast else quote_ident(c) for c, t in entry["columns"].items()]
    if table in _ROWID_TABLES:  # small: a table in memory, in file order, so that rowid exists
        scan = scan_sql(root, entry, row_numbers=True)
        return f"CREATE TABLE {quote_ident(table)} AS SELECT {', '.join(cols)} FROM {scan} ORDER BY file_row_number"
    return f"CREATE VIEW {quote_ident(table)} AS SELECT {', '.join(cols)} FROM {scan_sql(root, entry)}"


def read_marker(root: str | os.PathLike) -> dict:
    root = Path(root)
    marker = root / MARKER
    if not marker.is_file():
        raise StoreError(f"{root} 是目录但不是 Parquet 数据集（缺少 {MARKER}）：请指定 DuckDB 数据库文件，"
                         "或用 python -m analytics export --parquet 导出的目录。")
    try:
        meta = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"无法读取 {marker}：{exc}") from exc
    if meta.get("format") != "cockpit-parquet" or meta.get("format_version") != FORMAT_VERSION:
        raise StoreError(f"{marker} 不是本程序能读的 Parquet 数据集说明（格式 {meta.get('format_version')}）。")
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise StoreError(f"Parquet 数据集 {root} 的版本是 {meta.get('schema_version')}，需要 {SCHEMA_VERSION}："
                         "请用当前程序从 DuckDB 数据库重新导出。")
    return meta


def open_dataset(root: str | os.PathLike, read_only: bool = True,
                 config: dict | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection whose views are the store's tables over the dataset ``root``.

    ``read_only=False`` raises ``ReadOnlyStoreError``: a dataset is never written in place.
    """
    root = Path(root).resolve()
    if not read_only:
        raise ReadOnlyStoreError(read_only_message(root))
    meta = read_marker(root)
    con = duckdb.connect(":memory:", config=config or {})
    try:
        for table, entry in meta["tables"].items():
            con.execute(_view_sql(root, table, entry))
        # What analytics.store.memo keys results by: this dataset as exported (a new export changes it).
        stamp = f"{root}|{meta.get('exported_at')}|{(root / MARKER).stat().st_mtime_ns}"
        con.execute(f"CREATE VIEW {DATASET_VIEW} AS SELECT {sql_literal(stamp)} AS stamp")
    except duckdb.Error as exc:
        con.close()
        raise StoreError(f"无法打开 Parquet 数据集 {root}：{exc}") from exc
    return con
