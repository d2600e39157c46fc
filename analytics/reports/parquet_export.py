"""The store exported as a Parquet dataset (``python -m analytics export --parquet DIR``).

Every table of the store is written as Parquet: the large tables partitioned Hive-style by year and
town (``opinions/year=2024/town=瓜沥镇/…``; the directory names are percent-encoded, as Hive and Spark
write them), the small ones as one file each, and a marker file ``_cockpit_parquet.json`` that names
the tables, their columns and types, their row counts and the store's schema version. Submitters'
names and rejected rows are masked on the way. ``analytics.store.dataset`` opens the result.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from datetime import datetime
from pathlib import Path

from analytics.core.privacy import mask_name
from analytics.ingest.profiles import masked_headers_of, raw_text_values
from analytics.store import audit
from analytics.store.dataset import FORMAT_VERSION, MARKER, is_dataset, quote_ident, scan_sql, sql_literal
from analytics.store.db import SCHEMA_VERSION, StoreError, login_name, connect, data_version, default_db_path

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
ROW_GROUP_SIZE = 122_880  # DuckDB's default row group: the unit that min/max statistics skip


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


    sheets = {b: masked_headers_of(json.loads(s or "[]"))
              for b, s in con.execute("SELECT batch_id, sheets FROM import_batches").fetchall()}

    def reject(batch_id, sheet, raw):
        if raw is None:
            return None
        values = raw_text_values(raw, sheets.get(batch_id, {}).get(sheet, set()))
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
    return f"{MASKED_ON_EXPORT[(table, column)]} AS {quote_ident(column)}" if (table, column) in MASKED_ON_EXPORT \
        else f"t.{quote_ident(column)}"


def _copy_table(con, table: str, columns: list[tuple[str, str]], target: Path) -> dict:
    """Write one table under ``target``; return its entry for the marker."""
    names = [c for c, _ in columns]
    order = ORDER_BY.get(table)
    order_sql = f" ORDER BY {order}" if order else ""
    parts = PARTITIONS.get(table)
    n = con.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchone()[0]
    entry: dict = {"columns": dict(columns), "rows": n, "partition_by": list(parts) if parts else []}
    if parts and n:
        keys = ", ".join(f"{expr} AS {quote_ident(k)}" for k, expr in parts.items())
        inner = [_select(table, c) for c in names if c not in parts]
        (target / table).mkdir(parents=True)
        con.execute(f"""COPY (SELECT {', '.join(inner)}, {keys} FROM {quote_ident(table)} t{order_sql})
                        TO {sql_literal(str(target / table))}
                        (FORMAT parquet, PARTITION_BY ({', '.join(map(quote_ident, parts))}), COMPRESSION zstd,
                         ROW_GROUP_SIZE {ROW_GROUP_SIZE}, FILENAME_PATTERN 'part_{{i}}')""")
        entry["path"] = f"{table}/{'/'.join('*' for _ in parts)}/*.parquet"
    else:  # a small table, or an empty one (no partition to write): one file
        entry["partition_by"] = []
        path = target / f"{table}.parquet"
        con.execute(f"""COPY (SELECT {', '.join(_select(table, c) for c in names)} FROM {quote_ident(table)} t{order_sql})
                        TO {sql_literal(str(path))} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_SIZE})""")
        entry["path"] = f"{table}.parquet"
    # Types as read back (Parquet has no JSON or every integer width): the view casts where they differ.
    src = scan_sql(target, entry)
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
    audit.record_at(src, "export", user or login_name(), role=role, target=str(out),
                    detail={"what": "Parquet 数据集（提交人姓名已脱敏）",
                            "rows": {t: e["rows"] for t, e in tables.items() if t != "audit_log"}})
    return marker
