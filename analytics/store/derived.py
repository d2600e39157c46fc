"""Results computed when data is written, read by every later process: the store's ``derived`` table.

Some figures need a pass over a whole year of records (the 践行 index counts every representative's
activities, suggestions and opinions from 1 January): seconds at a million opinions, while what it
yields is small. ``analytics.store.memo`` keeps such a result for the rest of a process's life; this module
keeps it in the store itself, so that the first call of a new process (the command line, the app
after a restart or after an import swapped the store in) reads it instead of recounting.

One row per result: ``name`` (what it is, e.g. ``duty.day_counts``), ``key`` (which one: the year and
a fingerprint of the settings it depends on), ``fingerprint`` (of the data it was computed from),
``built_at`` and the ``payload`` (bytes; each user encodes its own). A row is used only while the
data's fingerprint is the one it was built from — ``fingerprint(con)``: row counts and a hash of the
row hashes of the five data tables, so any import, update or undo that changes a row makes every
derived row stale, and a re-import that changes nothing leaves them valid. A stale or missing row is
simply not used: the caller computes as if this module did not exist (and the result is the same,
which tests check).

Rows are written by the importer after an import or an undo (``warm``, called from
``analytics.ingest.importer`` and ``analytics.ingest.profiles``) and by the first start's demo build, in one short write
of their own — never inside a page's request.
"""
from __future__ import annotations

import hashlib
import io
import json
from datetime import datetime

import duckdb
import numpy as np
from analytics.core.paths import DATA_DIR, PACKAGE_DIR, ROOT

# The data tables whose content the derived results depend on (fixed names, pasted into SQL).
SOURCE_TABLES = ("units", "reps", "activities", "suggestions", "opinions")

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS derived (
        name VARCHAR NOT NULL, key VARCHAR NOT NULL, fingerprint VARCHAR NOT NULL,
        built_at TIMESTAMP NOT NULL, payload BLOB NOT NULL, PRIMARY KEY (name, key))""",
]


def fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """Of the data tables' content and of the program (``code_stamp``): changes when any row is added,
    removed or changed (its row hash), and with another version of the program — so that counting
    ahead drops (``drop_stale``) what an older version stored as well as what older data gave."""
    sql = " UNION ALL ".join(
        f"SELECT '{t}', count(*), coalesce(sum(hash(row_hash)), 0)::VARCHAR FROM {t}" for t in SOURCE_TABLES)
    cur = con.cursor()
    try:
        rows = cur.execute(sql).fetchall()
    finally:
        cur.close()
    return hashlib.sha256(json.dumps([sorted(rows), code_stamp()], default=str).encode()).hexdigest()[:32]


FINGERPRINT = "fingerprint"  # the derived row keeping the data's fingerprint (key: the state it is valid for)


def state_key(con: duckdb.DuckDBPyConnection) -> str:
    """What moves whenever the data tables can have changed: the data version (the batches that
    added, updated or took back rows) and the tables' row counts — two cheap reads, against the
    fingerprint's pass over every row hash (~70 ms at a million opinions)."""
    from analytics.store.schema import data_version

    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in SOURCE_TABLES)
    cur = con.cursor()
    try:
        counts = sorted(cur.execute(sql).fetchall())
    finally:
        cur.close()
    return f"{data_version(con)}|{counts}"


def kept_fingerprint(con: duckdb.DuckDBPyConnection) -> str:
    """``fingerprint(con)``, read from the derived table where counting ahead kept it for the data as
    it is now (the same ``state_key``); computed otherwise. The first query of a process then reads
    its stored results without a pass over the data."""
    cur = con.cursor()
    try:
        if has_table(cur):
            rows = cur.execute("SELECT fingerprint FROM derived WHERE name = ? AND key = ?",
                               [FINGERPRINT, state_key(con)]).fetchall()
            if rows:
                return rows[0][0]
    finally:
        cur.close()
    return fingerprint(con)


def keep_fingerprint(con: duckdb.DuckDBPyConnection, key: str, fp: str) -> None:
    """Store the fingerprint ``fp`` of the data in state ``key`` (inside the caller's write transaction)."""
    con.execute("DELETE FROM derived WHERE name = ?", [FINGERPRINT])
    save(con, FINGERPRINT, key, fp, b"")


_CODE: list[str] = []


def code_stamp() -> str:
    """A digest of the code and settings the results are computed with: every ``.py`` file of the
    ``analytics`` package, in every sub-package, and ``data/*.toml``/``*.txt``. Part of every stored
    key (``memo.stored_key``), so results stored by another version of the program — or with other
    settings — are never used. Read once per process."""
    if not _CODE:
        h = hashlib.sha256()
        files = [*PACKAGE_DIR.rglob("*.py"), *DATA_DIR.glob("*.toml"), *DATA_DIR.glob("*.txt")]
        for p in sorted(files):
            h.update(p.relative_to(ROOT).as_posix().encode())
            h.update(p.read_bytes())
        _CODE.append(h.hexdigest()[:16])
    return _CODE[0]


def settings_key(*parts) -> str:
    """A short stable key for the settings a result depends on (their repr)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def has_table(cur) -> bool:
    return bool(cur.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'derived' "
                            "AND database_name = current_database()").fetchall()[0][0]) or bool(
        cur.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'derived' "
                    "AND database_name = current_database()").fetchall()[0][0])


def load(con: duckdb.DuckDBPyConnection, name: str, key: str, fp: str) -> bytes | None:
    """The payload of (name, key) if it was built from the data whose fingerprint is ``fp``; else None."""
    return load_all(con, name, fp).get(key)


def load_all(con: duckdb.DuckDBPyConnection, name: str, fp: str) -> dict[str, bytes]:
    """Every payload of ``name`` built from the data whose fingerprint is ``fp``, by key — one read:
    reading one row costs DuckDB as much as reading them all (the blobs of a vector are fetched
    together: ~90 ms at a million opinions, whichever row is asked for)."""
    cur = con.cursor()
    try:
        if not has_table(cur):
            return {}
        return {k: bytes(p) for k, p in cur.execute(
            "SELECT key, payload FROM derived WHERE name = ? AND fingerprint = ?", [name, fp]).fetchall()}
    finally:
        cur.close()


def keys(con: duckdb.DuckDBPyConnection, name: str, fp: str) -> set[str]:
    """Keys of ``name`` that are valid for the data's fingerprint ``fp``."""
    cur = con.cursor()
    try:
        if not has_table(cur):
            return set()
        return {k for (k,) in cur.execute("SELECT key FROM derived WHERE name = ? AND fingerprint = ?",
                                          [name, fp]).fetchall()}
    finally:
        cur.close()


def save(con: duckdb.DuckDBPyConnection, name: str, key: str, fp: str, payload: bytes) -> None:
    """Store (replace) one result, inside the caller's write transaction."""
    con.execute("DELETE FROM derived WHERE name = ? AND key = ?", [name, key])
    con.execute("INSERT INTO derived VALUES (?, ?, ?, ?, ?)", [name, key, fp, datetime.now(), payload])


def drop_stale(con: duckdb.DuckDBPyConnection, fp: str) -> int:
    """Remove rows built from other data than ``fp`` (inside the caller's write transaction)."""
    n = con.execute("SELECT count(*) FROM derived WHERE fingerprint <> ?", [fp]).fetchall()[0][0]
    con.execute("DELETE FROM derived WHERE fingerprint <> ?", [fp])
    return int(n)


# ───────────────────────────── numpy payloads ─────────────────────────────

def pack(**arrays) -> bytes:
    """Arrays (and JSON-able values under ``meta``) as one compressed npz; no pickles."""
    meta = arrays.pop("meta", None)
    if meta is not None:
        arrays["meta"] = np.array(json.dumps(meta, ensure_ascii=False, default=str))
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def frame_bytes(df, index: bool | None = None) -> bytes:
    """A table as Parquet bytes (types and index kept), for payloads that hold tables."""
    buf = io.BytesIO()
    df.to_parquet(buf, index=index)
    return buf.getvalue()


def frame_from(data: bytes):
    import pandas as pd

    return pd.read_parquet(io.BytesIO(data))


def unpack(payload: bytes) -> dict:
    with np.load(io.BytesIO(payload), allow_pickle=False) as z:
        out = {k: z[k] for k in z.files}
    if "meta" in out:
        out["meta"] = json.loads(str(out["meta"]))
    return out
