"""The store as a Parquet dataset, and a read-only store over such a dataset — the first step past
one machine (docs/scaling.md).

``python -m analytics export --parquet DIR [--db PATH]`` writes every table of the store as Parquet:
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

import argparse
import json
import os
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb

from analytics.store import memo
from analytics.store.db import SCHEMA_VERSION, StoreError, data_version

MARKER = "_cockpit_parquet.json"
FORMAT_VERSION = 1

# Large tables and their Hive partition keys: key -> SQL expression over the table (alias t).
# A key that is also a column of the table (town) is not repeated inside the files: the directory
# name holds it and read_parquet puts it back. The suggestions' town is their lead representative's,
# by the one definition the metrics use (metrics._SUGGESTIONS_WITH_TOWN); NULL where unresolved.
_SUGGESTION_TOWN = """coalesce(
        (SELECT r.town FROM reps r WHERE r.rep_id = t.lead_rep),
        (SELECT min(r.town) FROM reps r WHERE r.name = t.lead_rep HAVING count(DISTINCT r.town) = 1))"""
PARTITIONS: dict[str, dict[str, str]] = {
    "opinions": {"year": "year(t.submitted_at)", "town": "t.town"},
    "activities": {"year": "year(t.date)", "town": "t.town"},
    "suggestions": {"year": "year(t.submitted_at)", "town": _SUGGESTION_TOWN},
    "opinion_seg": {"year": "year(t.day)", "town": "t.town"},
    "opinion_words": {"year": "year(t.day)", "town": "t.town"},
}
# Rows are written in this order inside each file (min/max statistics then skip row groups).
ORDER_BY = {
    "opinions": "submitted_at, opinion_id",
    "activities": "date, activity_id",
    "suggestions": "submitted_at, suggestion_id",
    "opinion_seg": "dict_version, day, doc_id",
    "opinion_words": "dict_version, day, doc_id, word_id",
    "candidate_events": "rowid",  # candidate_history orders by rowid: the view numbers the rows again
}
# Personal data never leaves the DuckDB file raw (docs/security.md §6): the store keeps submitters'
# names as imported (an admin may look one up when configured, audited), a dataset gets them masked
# by the one rule of the views (privacy.mask_name). Rejected rows keep the cells of the file as they
# were read, before-images the rows as stored: both are masked the same way the data page shows them.
# (table, column) -> SQL over the table (alias t) using the functions _register_masks defines.
MASKED_ON_EXPORT = {
    ("opinions", "submitter"): "cockpit_mask_name(t.submitter)",
    ("rejected_rows", "raw"): "cockpit_mask_reject(t.batch_id, t.sheet, CAST(t.raw AS VARCHAR))",
    ("row_history", "old_row"): "cockpit_mask_row(t.kind, CAST(t.old_row AS VARCHAR))",
}
# Tables copied into memory in file order instead of a view: queries order them by DuckDB's rowid.
_ROWID_TABLES = ("candidate_events",)
_PARTITION_TYPES = {"year": "INTEGER", "town": "VARCHAR"}
ROW_GROUP_SIZE = 122_880  # DuckDB's default row group: the unit that min/max statistics skip


class ReadOnlyStoreError(StoreError):
    """A write was asked of a Parquet dataset; the message is Chinese."""


def read_only_message(root: Path) -> str:
    return (f"{root} 是只读的 Parquet 数据集（由 python -m analytics export --parquet 导出）："
            "不能导入数据、修改监督项目备选库或词典。请在 DuckDB 数据库上操作后重新导出。")


def is_dataset(path: str | os.PathLike | None) -> bool:
    return path is not None and (Path(path) / MARKER).is_file()


def _q(ident: str) -> str:
    """An identifier from the store's own catalog (never user input), quoted."""
    return '"' + ident.replace('"', '""') + '"'


def _lit(text: str) -> str:
    """A path as an SQL string literal (COPY TO and read_parquet take no bound parameters)."""
    return "'" + text.replace("'", "''") + "'"


# ───────────────────────────── export ─────────────────────────────

def _tables(con) -> list[tuple[str, list[tuple[str, str]]]]:
    rows = con.execute("""
        SELECT table_name, column_name, data_type FROM information_schema.columns
        WHERE table_schema = 'main' AND table_catalog = current_database()
          AND table_name IN (SELECT table_name FROM information_schema.tables
                             WHERE table_type = 'BASE TABLE' AND table_schema = 'main'
                               AND table_catalog = current_database())
        ORDER BY table_name, ordinal_position""").fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, dtype in rows:
        out.setdefault(table, []).append((column, dtype))
    return list(out.items())


def _register_masks(con) -> None:
    """The masking functions MASKED_ON_EXPORT uses, on the export's read-only connection."""
    from duckdb.sqltypes import BIGINT, VARCHAR

    from analytics.ingest.profiles import _masked_headers, _raw_text_values
    from analytics.core.privacy import mask_name

    sheets = {b: _masked_headers(json.loads(s or "[]"))
              for b, s in con.execute("SELECT batch_id, sheets FROM import_batches").fetchall()}

    def reject(batch_id, sheet, raw):
        if raw is None:
            return None
        values = _raw_text_values(raw, sheets.get(batch_id, {}).get(sheet, set()))
        return json.dumps(values, ensure_ascii=False)

    def row(kind, old):
        if old is None:
            return None
        values = json.loads(old)
        if kind == "opinions" and values.get("submitter") is not None:
            values["submitter"] = mask_name(values["submitter"])
        return json.dumps(values, ensure_ascii=False)

    con.create_function("cockpit_mask_name", mask_name, [VARCHAR], VARCHAR, side_effects=False)
    con.create_function("cockpit_mask_reject", reject, [BIGINT, VARCHAR, VARCHAR], VARCHAR, side_effects=False)
    con.create_function("cockpit_mask_row", row, [VARCHAR, VARCHAR], VARCHAR, side_effects=False)


def _select(table: str, column: str) -> str:
    return f"{MASKED_ON_EXPORT[(table, column)]} AS {_q(column)}" if (table, column) in MASKED_ON_EXPORT \
        else f"t.{_q(column)}"


def _copy_table(con, table: str, columns: list[tuple[str, str]], target: Path) -> dict:
    """Write one table under ``target``; return its entry for the marker."""
    names = [c for c, _ in columns]
    order = ORDER_BY.get(table)
    order_sql = f" ORDER BY {order}" if order else ""
    parts = PARTITIONS.get(table)
    n = con.execute(f"SELECT count(*) FROM {_q(table)}").fetchone()[0]
    entry: dict = {"columns": dict(columns), "rows": n, "partition_by": list(parts) if parts else []}
    if parts and n:
        keys = ", ".join(f"{expr} AS {_q(k)}" for k, expr in parts.items())
        inner = [_select(table, c) for c in names if c not in parts]
        (target / table).mkdir(parents=True)
        con.execute(f"""COPY (SELECT {', '.join(inner)}, {keys} FROM {_q(table)} t{order_sql})
                        TO {_lit(str(target / table))}
                        (FORMAT parquet, PARTITION_BY ({', '.join(map(_q, parts))}), COMPRESSION zstd,
                         ROW_GROUP_SIZE {ROW_GROUP_SIZE}, FILENAME_PATTERN 'part_{{i}}')""")
        entry["path"] = f"{table}/{'/'.join('*' for _ in parts)}/*.parquet"
    else:  # a small table, or an empty one (no partition to write): one file
        entry["partition_by"] = []
        path = target / f"{table}.parquet"
        con.execute(f"""COPY (SELECT {', '.join(_select(table, c) for c in names)} FROM {_q(table)} t{order_sql})
                        TO {_lit(str(path))} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_SIZE})""")
        entry["path"] = f"{table}.parquet"
    # Types as read back (Parquet has no JSON or every integer width): the view casts where they differ.
    src = _scan(target, entry)
    read = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {src})").fetchall())
    entry["cast"] = [c for c, t in columns if read.get(c) != t]
    return entry


def export_parquet(db: str | os.PathLike | None, out: str | os.PathLike, progress=None,
                   user: str | None = None, role: str | None = None) -> dict:
    """Write the store ``db`` as a Parquet dataset in ``out``; return the marker's contents.

    Personal data is masked on the way (``MASKED_ON_EXPORT``) and the export is recorded in the
    store's audit log (who, where, how many rows).

    ``out`` must not exist, be empty, or hold an earlier export (it is replaced whole: the new
    dataset is written beside it and moved into place). The store is read through one read-only
    connection, so the dataset is one consistent state of it.
    """
    from analytics.store.db import connect, default_db_path

    out = Path(out).resolve()
    src = default_db_path(db).resolve()
    if is_dataset(src):
        raise StoreError(f"{src} 已经是 Parquet 数据集，请指定 DuckDB 数据库文件（--db）。")
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not is_dataset(out))):
        raise StoreError(f"目录 {out} 已存在且不是以前导出的 Parquet 数据集：为免覆盖其他文件，请换一个目录或先清空它。")
    con = connect(src, read_only=True)
    tmp = out.with_name(f".{out.name}.exporting-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    t0 = time.perf_counter()
    try:
        con.execute("BEGIN TRANSACTION")  # one snapshot for every table
        _register_masks(con)
        tables = {}
        listing = _tables(con)
        for i, (table, columns) in enumerate(listing):
            if progress:
                progress(f"正在导出 {table}", i / len(listing))
            tables[table] = _copy_table(con, table, columns, tmp)
        marker = {
            "format": "cockpit-parquet", "format_version": FORMAT_VERSION,
            "schema_version": SCHEMA_VERSION, "data_version": data_version(con),
            "source": str(src), "exported_at": datetime.now().replace(microsecond=0).isoformat(),
            "tables": tables,
        }
        con.execute("COMMIT")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        con.close()
    marker["seconds"] = round(time.perf_counter() - t0, 2)
    (tmp / MARKER).write_text(json.dumps(marker, ensure_ascii=False, indent=1), encoding="utf-8")
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(out)
    from analytics.store import audit
    from analytics.store.db import _user

    audit.record_at(src, "export", user or _user(), role=role, target=str(out),
                    detail={"what": "Parquet 数据集（提交人姓名已脱敏）",
                            "rows": {t: e["rows"] for t, e in tables.items() if t != "audit_log"}})
    return marker


# ───────────────────────────── open ─────────────────────────────

def _scan(root: Path, entry: dict, row_numbers: bool = False) -> str:
    options = [_lit(str(root / entry["path"]))]
    if entry["partition_by"]:
        types = ", ".join(f"{_lit(k)}: {_PARTITION_TYPES.get(k, 'VARCHAR')}" for k in entry["partition_by"])
        options += ["hive_partitioning = true", f"hive_types = {{{types}}}"]
    if row_numbers:
        options.append("file_row_number = true")
    return f"read_parquet({', '.join(options)})"


def _view_sql(root: Path, table: str, entry: dict) -> str:
    cast = set(entry.get("cast", ()))
    cols = [f"CAST({_q(c)} AS {t}) AS {_q(c)}" if c in cast else _q(c) for c, t in entry["columns"].items()]
    if table in _ROWID_TABLES:  # small: a table in memory, in file order, so that rowid exists
        scan = _scan(root, entry, row_numbers=True)
        return f"CREATE TABLE {_q(table)} AS SELECT {', '.join(cols)} FROM {scan} ORDER BY file_row_number"
    return f"CREATE VIEW {_q(table)} AS SELECT {', '.join(cols)} FROM {_scan(root, entry)}"


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
        con.execute(f"CREATE VIEW {memo.DATASET_VIEW} AS SELECT {_lit(stamp)} AS stamp")
    except duckdb.Error as exc:
        con.close()
        raise StoreError(f"无法打开 Parquet 数据集 {root}：{exc}") from exc
    return con


# ───────────────────────────── command line ─────────────────────────────

def _run_export(args: argparse.Namespace) -> int:
    if not args.parquet:
        print("请用 --parquet DIR 指定导出目录。", file=sys.stderr)
        return 2
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


def cli_register(subparsers) -> None:
    from analytics.__main__ import add_db_argument

    p = subparsers.add_parser(
        "export", help="把数据库导出为按年份、镇街分区的 Parquet 数据集（只读运行应用和命令行）",
        description="把 DuckDB 数据库的全部表导出为 Parquet：民情民意、履职活动、代表建议和分词结果按年份和镇街分区"
                    "（Hive 目录 year=…/town=…），其余小表各一个文件，另有说明文件 _cockpit_parquet.json。"
                    "之后 --db DIR 或 COCKPIT_DB=DIR 即可在该数据集上只读地运行命令行和应用。")
    p.add_argument("--parquet", metavar="DIR", required=True,
                   help="导出目录（不存在、为空，或是以前导出的数据集：整体替换）")
    add_db_argument(p)
    p.set_defaults(func=_run_export)
