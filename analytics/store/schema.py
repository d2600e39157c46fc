"""The store's schema: where the file lives, its tables, and the migrations that bring an older file up
to date (``meta.schema_version``). The lowest module of ``analytics.store``: every other one builds on it.
"""
from __future__ import annotations

import os
from pathlib import Path

import duckdb
from analytics.core.paths import ROOT

DEFAULT_DB = ROOT / "data" / "cockpit.duckdb"
ENV_VAR = "COCKPIT_DB"

# Tables holding the five kinds of export, keyed by the export's own id.
# Every data table also carries batch_id (the import batch that last wrote the row) and row_hash
# (a digest of the stored values: equal hash = unchanged row on re-import).
DATA_TABLE_SPECS = {
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
            for name, cols in DATA_TABLE_SPECS.items()
        ],
    ],
    # Hot words (analytics/domain/hotwords.py, docs/hotwords.md): dictionary versions, per-opinion word
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
    # Data management (analytics/ingest/profiles.py, docs/data-management.md): undo marks a batch instead of
    # deleting it, a batch remembers the mapping profile it was read with, and the profiles
    # themselves (column mappings for other systems' exports, found again by their headers).
    3: [
        "ALTER TABLE import_batches ADD COLUMN undone_at TIMESTAMP",
        "ALTER TABLE import_batches ADD COLUMN undone_by VARCHAR",
        "ALTER TABLE import_batches ADD COLUMN profile VARCHAR",
        """CREATE TABLE IF NOT EXISTS profiles (
            name VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, signature VARCHAR NOT NULL,
            headers JSON NOT NULL, mapping JSON NOT NULL, fixed JSON NOT NULL,
            created_by VARCHAR, created_at TIMESTAMP NOT NULL)""",
    ],
    # The audit log (analytics/store/audit.py, docs/security.md): who did what and when. The statements
    # are analytics.store.audit.SCHEMA (a test keeps the two equal).
    4: [
        "CREATE SEQUENCE IF NOT EXISTS audit_seq START 1",
        """CREATE TABLE IF NOT EXISTS audit_log (
            event_id BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'), event_at TIMESTAMP NOT NULL,
            actor VARCHAR NOT NULL, role VARCHAR, action VARCHAR NOT NULL, target VARCHAR,
            ok BOOLEAN NOT NULL, detail JSON, client VARCHAR)""",
    ],
    # Results computed when data is written and read by later processes (analytics/store/derived.py:
    # the statements are derived.SCHEMA; a test keeps the two equal).
    5: [
        """CREATE TABLE IF NOT EXISTS derived (
        name VARCHAR NOT NULL, key VARCHAR NOT NULL, fingerprint VARCHAR NOT NULL,
        built_at TIMESTAMP NOT NULL, payload BLOB NOT NULL, PRIMARY KEY (name, key))""",
    ],
    # Other systems' exports (issue 15, docs/data-management.md): an opinion without a town is kept
    # as 未定位 (town NULL: counted for the district, never for a town); a value of an optional field
    # that is not understood no longer rejects its row: it is stored and noted as a warning
    # (rejected_rows.level = 'warning'), and a batch counts the rows it warned about.
    6: [
        "ALTER TABLE opinions ALTER COLUMN town DROP NOT NULL",
        "ALTER TABLE rejected_rows ADD COLUMN level VARCHAR DEFAULT 'reject'",
        "ALTER TABLE import_batches ADD COLUMN warned BIGINT DEFAULT 0",
        # A profile's reading options: date_order ("dmy"/"mdy") and value mappings {field: {as
        # exported: ours}}.
        "ALTER TABLE profiles ADD COLUMN options JSON",
    ],
    # Support / oppose counts of an opinion (issue 16: 点赞数 / 附议数 and 反对数 of message-board exports;
    # the hot issues' heat reads the support). NULL = unknown: the export had no such column or cell.
    # The row hash leaves them out while they are NULL (importer.row_hash_sql), so the rows of a store
    # migrated here are unchanged when the same export without the columns is imported again.
    7: [
        "ALTER TABLE opinions ADD COLUMN support BIGINT",
        "ALTER TABLE opinions ADD COLUMN oppose BIGINT",
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
    # fetchall, not fetchone: DuckDB 2 refuses some later calls (create_function) on a connection
    # whose last result was not read to the end.
    has_meta = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
    ).fetchall()[0][0]
    if not has_meta:
        return 0
    rows = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    return int(rows[0][0]) if rows else 0


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


def data_version(con: duckdb.DuckDBPyConnection) -> str:
    """The key for caches of computed views: changes whenever an import, a locating or an undo
    changes data (a row added, updated or taken back). A batch that changed nothing — every row
    unchanged or rejected, as a repeated weekly export mostly is — leaves it as it was, so the
    readers' cached results stay valid and nobody recomputes (docs/scaling.md)."""
    n, last, undone = con.execute(
        "SELECT count(*), coalesce(max(batch_id), 0), count(undone_at) FROM import_batches "
        "WHERE coalesce(imported, 0) + coalesce(updated, 0) > 0 OR undone_at IS NOT NULL").fetchone()
    return f"{n}-{last}-{undone}"


def batches_version(con: duckdb.DuckDBPyConnection) -> str:
    """Changes with every batch, also one that changed nothing: the key for the list of batches and
    their rejected rows (数据管理)."""
    n, last, undone = con.execute(
        "SELECT count(*), coalesce(max(batch_id), 0), count(undone_at) FROM import_batches").fetchone()
    return f"{n}-{last}-{undone}"


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {name: con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in DATA_TABLE_SPECS}


DATA_TABLES = tuple(DATA_TABLE_SPECS)

def has_data(con: duckdb.DuckDBPyConnection) -> bool:
    """Any row in any of the five data tables."""
    cur = con.cursor()
    return any(cur.execute(f"SELECT EXISTS (SELECT 1 FROM {t})").fetchone()[0] for t in DATA_TABLES)


# A one-row view (stamp) that analytics.store.dataset.open_dataset creates: which export this is, what
# analytics.store.memo keys results by on such a connection. (A view, not a variable: DuckDB variables
# belong to one connection, and the analytics use cursors.)
DATASET_VIEW = "_cockpit_dataset"
