"""The DuckDB store: where it lives, its schema, and the migrations that bring an older file up to date.

One file holds everything (default ``data/cockpit.duckdb``; ``--db`` or ``COCKPIT_DB`` override it).
The schema is versioned in ``meta.schema_version``; ``connect`` applies the missing migrations in one
transaction, so an older file is brought up to date the first time a writer opens it.
"""
from __future__ import annotations

import os
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "data" / "cockpit.duckdb"
ENV_VAR = "COCKPIT_DB"

# Tables holding the five kinds of export, keyed by the export's own id.
# Every data table also carries batch_id (the import batch that last wrote the row) and row_hash
# (a digest of the stored values: equal hash = unchanged row on re-import).
_DATA_TABLES = {
    "units": """
        unit_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, level VARCHAR NOT NULL,
        parent VARCHAR, population BIGINT""",
    "reps": """
        rep_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, rep_level VARCHAR NOT NULL,
        town VARCHAR NOT NULL, station VARCHAR, sector VARCHAR""",
    "opinions": """
        opinion_id VARCHAR PRIMARY KEY, submitted_at TIMESTAMP NOT NULL, channel VARCHAR,
        town VARCHAR NOT NULL, station VARCHAR, title VARCHAR, content VARCHAR NOT NULL,
        category VARCHAR, submitter VARCHAR, phone VARCHAR, reception_rep VARCHAR, status VARCHAR,
        handler VARCHAR, assigned_at TIMESTAMP, closed_at TIMESTAMP, satisfaction VARCHAR""",
    "suggestions": """
        suggestion_id VARCHAR PRIMARY KEY, session VARCHAR NOT NULL, submitted_at DATE NOT NULL,
        submit_type VARCHAR, lead_rep VARCHAR NOT NULL, co_reps VARCHAR, title VARCHAR NOT NULL,
        content VARCHAR, category VARCHAR, main_handler VARCHAR, co_handlers VARCHAR,
        supervision VARCHAR, assigned_at DATE, due_at DATE, answered_at DATE, answer_class VARCHAR,
        evaluation VARCHAR, second_answered_at DATE, status VARCHAR""",
    "activities": """
        activity_id VARCHAR PRIMARY KEY, date DATE NOT NULL, town VARCHAR NOT NULL, station VARCHAR,
        type VARCHAR NOT NULL, topic VARCHAR, participants VARCHAR, headcount BIGINT,
        opinions_collected BIGINT""",
}

# Migration n brings a store from version n-1 to n. Never edit a released step: add a new one.
MIGRATIONS: dict[int, list[str]] = {
    1: [
        "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
        "CREATE SEQUENCE IF NOT EXISTS batch_seq START 1",
        """CREATE TABLE IF NOT EXISTS import_batches (
            batch_id BIGINT PRIMARY KEY, file_name VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
            kinds VARCHAR, imported_at TIMESTAMP NOT NULL, imported_by VARCHAR,
            rows_read BIGINT, imported BIGINT, updated BIGINT, unchanged BIGINT, rejected BIGINT,
            skipped BIGINT, sheets JSON)""",
        """CREATE TABLE IF NOT EXISTS rejected_rows (
            batch_id BIGINT NOT NULL, file_name VARCHAR NOT NULL, sheet VARCHAR, row_no INTEGER,
            column_name VARCHAR, reason VARCHAR NOT NULL, raw JSON)""",
        # Before-images for undo: what a batch inserted (old_row NULL) or replaced (old_row).
        """CREATE TABLE IF NOT EXISTS row_history (
            batch_id BIGINT NOT NULL, kind VARCHAR NOT NULL, row_key VARCHAR NOT NULL,
            action VARCHAR NOT NULL, old_row JSON)""",
        *[
            f"CREATE TABLE IF NOT EXISTS {name} ({cols},\n batch_id BIGINT, row_hash VARCHAR)"
            for name, cols in _DATA_TABLES.items()
        ],
    ],
    # Hot words (analytics/hotwords.py, docs/hotwords.md): dictionary versions, per-opinion word
    # counts per version, and the supervision candidate pool with its history.
    2: [
        """CREATE TABLE IF NOT EXISTS dict_versions (
            version INTEGER PRIMARY KEY, created_at TIMESTAMP NOT NULL, created_by VARCHAR,
            note VARCHAR, userdict_sha VARCHAR NOT NULL, stopwords_sha VARCHAR NOT NULL,
            userdict VARCHAR NOT NULL, stopwords VARCHAR NOT NULL,
            state VARCHAR NOT NULL, active BOOLEAN NOT NULL DEFAULT FALSE, activated_at TIMESTAMP)""",
        # Vocabulary shared by all versions: word counts are stored with integer word ids.
        "CREATE TABLE IF NOT EXISTS words (word_id INTEGER PRIMARY KEY, word VARCHAR NOT NULL UNIQUE)",
        "CREATE SEQUENCE IF NOT EXISTS doc_seq START 1",
        # One row per opinion segmented with a dictionary version; row_hash says which text it was.
        # The filter columns are copied from the opinion so hot-word queries need no join.
        """CREATE TABLE IF NOT EXISTS opinion_seg (
            dict_version INTEGER NOT NULL, opinion_id VARCHAR NOT NULL, doc_id BIGINT NOT NULL,
            row_hash VARCHAR, day DATE NOT NULL, town VARCHAR, station VARCHAR, channel VARCHAR,
            category VARCHAR, n_chars INTEGER, n_words INTEGER, segmented_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS opinion_words (
            dict_version INTEGER NOT NULL, doc_id BIGINT NOT NULL, word_id INTEGER NOT NULL,
            cnt INTEGER NOT NULL, day DATE NOT NULL, town VARCHAR, station VARCHAR, channel VARCHAR,
            category VARCHAR)""",
        "CREATE SEQUENCE IF NOT EXISTS candidate_seq START 1",
        """CREATE TABLE IF NOT EXISTS candidates (
            candidate_id BIGINT PRIMARY KEY, title VARCHAR NOT NULL, words JSON NOT NULL,
            status VARCHAR NOT NULL, score DOUBLE, score_parts JSON, evidence JSON,
            notes VARCHAR, created_by VARCHAR, created_at TIMESTAMP NOT NULL,
            updated_by VARCHAR, updated_at TIMESTAMP NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS candidate_events (
            candidate_id BIGINT NOT NULL, event_at TIMESTAMP NOT NULL, actor VARCHAR,
            action VARCHAR NOT NULL, from_status VARCHAR, to_status VARCHAR, note VARCHAR)""",
    ],
}
SCHEMA_VERSION = max(MIGRATIONS)


class StoreError(RuntimeError):
    """The store cannot be opened or is newer than this code; the message is Chinese."""


def default_db_path(explicit: str | os.PathLike | None = None) -> Path:
    """``--db`` wins, then the ``COCKPIT_DB`` environment variable, then ``data/cockpit.duckdb``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else DEFAULT_DB


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    has_meta = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
    ).fetchone()[0]
    if not has_meta:
        return 0
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply the missing migrations in one transaction; return the version reached."""
    current = schema_version(con)
    if current > SCHEMA_VERSION:
        raise StoreError(f"数据库版本 {current} 比程序支持的版本 {SCHEMA_VERSION} 新，请升级程序。")
    if current == SCHEMA_VERSION:
        return current
    con.execute("BEGIN TRANSACTION")
    try:
        for version in range(current + 1, SCHEMA_VERSION + 1):
            for stmt in MIGRATIONS[version]:
                con.execute(stmt)
        con.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION


def connect(path: str | os.PathLike | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the store; a writer creates or migrates it, a reader requires it to be current."""
    db = default_db_path(path)
    if db.is_dir():  # a Parquet export of the store: read-only views (analytics/parquet.py)
        from analytics.parquet import open_dataset

        return open_dataset(db, read_only=read_only)
    if read_only and not db.exists():
        raise StoreError(f"数据库文件不存在：{db}")
    if not read_only:
        db.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(db), read_only=read_only)
    except duckdb.IOException as exc:
        raise StoreError(f"无法打开数据库 {db}：{exc}") from exc
    if read_only:
        version = schema_version(con)
        if version != SCHEMA_VERSION:
            con.close()
            raise StoreError(f"数据库 {db} 的版本是 {version}，需要 {SCHEMA_VERSION}：请先运行一次导入或启动应用以升级。")
    else:
        migrate(con)
    return con


def data_version(con: duckdb.DuckDBPyConnection) -> str:
    """Changes whenever an import or an undo commits: the key for caches of computed views."""
    n, last = con.execute("SELECT count(*), coalesce(max(batch_id), 0) FROM import_batches").fetchone()
    return f"{n}-{last}"


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {name: con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in _DATA_TABLES}


DATA_TABLES = tuple(_DATA_TABLES)
