"""Re-importing a file whose very bytes are already in the store: the importer recognises it by its
sha256 and records every row unchanged without reading it again — but only while that is certain
(issue 9: a re-import of unchanged exports must cost a small part of the first import)."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from analytics.ingest import importer as ingest
from analytics.ingest.importer import ingest_files
from analytics.store.db import connect

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"


@pytest.fixture
def con(tmp_path):
    c = connect(tmp_path / "s.duckdb")
    yield c
    c.close()


def _forbid_reading(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the file was read again")
    monkeypatch.setattr(ingest, "_parse", refuse)


def _one(con, path):
    (r,) = ingest_files(con, [path])
    assert r.error is None, r.error
    return r


def test_the_same_bytes_again_are_all_unchanged_without_reading(con, tmp_path, monkeypatch):
    f = tmp_path / "bad_rows.csv"
    shutil.copy(DATA / "bad_rows.csv", f)
    first = _one(con, f)
    assert first.imported and first.rejected
    _forbid_reading(monkeypatch)
    again = _one(con, f)
    assert (again.rows_read, again.imported, again.updated, again.rejected) == (first.rows_read, 0, 0, first.rejected)
    assert again.unchanged == first.imported + first.updated
    assert again.batch_id != first.batch_id and again.sha256 == first.sha256
    # the rejected rows are listed again for the new batch, with the same rows and reasons
    rej = "SELECT row_no, column_name, reason FROM rejected_rows WHERE batch_id = ? ORDER BY ALL"
    assert con.execute(rej, [again.batch_id]).fetchall() == con.execute(rej, [first.batch_id]).fetchall()
    n, unchanged = con.execute("SELECT count(*), sum(unchanged) FROM import_batches").fetchone()
    assert (n, unchanged) == (2, again.unchanged)
    # and once more, from the same earliest batch
    assert _one(con, f).unchanged == again.unchanged


def test_a_row_changed_since_by_another_file_means_reading_again(con, tmp_path, monkeypatch):
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    head = "编号,提交时间,来源渠道,镇街,内容,状态\n"
    a.write_text(head + "X1,2024-01-06 09:00,民声e,瓜沥镇,原来的内容,已受理\n"
                        "X2,2024-01-07 09:00,民声e,瓜沥镇,另一条,已受理\n", encoding="utf-8")
    b.write_text(head + "X1,2024-01-06 09:00,民声e,瓜沥镇,原来的内容,已办结\n", encoding="utf-8")
    status = "SELECT status FROM opinions WHERE opinion_id = 'X1'"
    _one(con, a)
    before = con.execute(status).fetchone()[0]
    assert _one(con, b).updated == 1
    again = _one(con, a)  # X1 goes back to a's status: an update, found only by reading
    assert (again.updated, again.unchanged) == (1, 1)
    assert con.execute(status).fetchone()[0] == before
    _forbid_reading(monkeypatch)  # now a's rows are all as a left them: no need to read
    assert _one(con, a).unchanged == 2


def test_an_undone_batch_or_a_newer_contract_means_reading_again(con, tmp_path, monkeypatch):
    f = tmp_path / "a.csv"
    f.write_text("编号,提交时间,来源渠道,镇街,内容,状态\nY1,2024-01-06 09:00,民声e,瓜沥镇,内容,已受理\n",
                 encoding="utf-8")
    first = _one(con, f)
    # the data contract edited after the import: the same bytes might be read differently now
    contract = tmp_path / "contract.toml"
    shutil.copy(ingest.CONTRACT_PATH, contract)
    later = time.time() + 5
    os.utime(contract, (later, later))
    monkeypatch.setattr(ingest, "CONTRACT_PATH", contract)
    calls = []
    real = ingest._parse
    monkeypatch.setattr(ingest, "_parse", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert _one(con, f).unchanged == 1 and calls == [1]
    monkeypatch.setattr(ingest, "CONTRACT_PATH", DATA.parent.parent.parent / "data" / "contract.toml")
    # every batch of these bytes undone: read again (and the row is new again)
    con.execute("UPDATE import_batches SET undone_at = now()")
    con.execute("DELETE FROM opinions")
    calls.clear()
    assert _one(con, f).imported == 1 and calls == [1]
    assert first.sha256


def test_the_live_store_records_an_unchanged_file_without_copying_the_store(tmp_path, monkeypatch):
    from analytics.store import db as store
    from analytics.ingest.importer import import_files

    db = tmp_path / "live.duckdb"
    f = tmp_path / "bad_rows.csv"
    shutil.copy(DATA / "bad_rows.csv", f)
    (first,) = import_files(db, [f])
    assert first.imported

    def no_copy(*args, **kwargs):
        raise AssertionError("the store was copied for an unchanged file")
    monkeypatch.setattr(store, "snapshot", no_copy)
    _forbid_reading(monkeypatch)
    (again,) = import_files(db, [f])
    assert (again.imported, again.unchanged, again.rejected) == (0, first.imported, first.rejected)
    con = connect(db, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM import_batches").fetchone()[0] == 2
        assert con.execute("SELECT count(*) FROM audit_log WHERE action = 'import'").fetchone()[0] == 2
    finally:
        con.close()


def test_an_import_that_changes_nothing_keeps_the_data_version(con, tmp_path):
    """The pages' caches are keyed by the data version: a re-import that changed no row (the same
    bytes, or another file with the same rows) must not send every session to recompute; the list
    of batches (its own key) shows the new batch."""
    from analytics.store.db import batches_version, data_version

    f = tmp_path / "bad_rows.csv"
    shutil.copy(DATA / "bad_rows.csv", f)
    _one(con, f)
    data, batches = data_version(con), batches_version(con)
    _one(con, f)  # the same bytes
    g = tmp_path / "again.csv"
    g.write_bytes(f.read_bytes() + b"\n")  # other bytes, the same rows: read, all unchanged
    assert _one(con, g).unchanged
    assert data_version(con) == data and batches_version(con) != batches
    h = tmp_path / "more.csv"
    lines = f.read_text(encoding="utf-8").splitlines()
    h.write_text("\n".join([lines[0], *[l.replace(l.split(",")[0], l.split(",")[0] + "-new", 1) for l in lines[1:]]]) + "\n",
                 encoding="utf-8")
    assert _one(con, h).imported
    assert data_version(con) != data


def test_an_import_bounds_the_memory_of_its_copy(tmp_path, monkeypatch):
    """[memory] import_duckdb_mb of data/limits.toml (512 when a limits file leaves it out) is set on
    the import's copy of the store, not on the live store the app reads."""
    from analytics.ingest import profiles as admin
    from analytics.store import db as store

    raw = {k: dict(v) for k, v in __import__("tomllib").loads(admin.limits_path().read_text(encoding="utf-8")).items()}
    assert admin.parse_limits(raw, "x").import_duckdb_mb == 512
    raw.pop("memory")
    assert admin.parse_limits(raw, "x").import_duckdb_mb == 512  # older files: the default
    raw["memory"] = {"import_duckdb_mb": 64}
    limits = admin.parse_limits(raw, "x")
    con = connect(tmp_path / "x.duckdb")
    ingest.bound_memory(con, limits)
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0].startswith("61.0 MiB")
    con.close()
    seen = []
    real = ingest.bound_memory
    monkeypatch.setattr(ingest, "bound_memory", lambda c, l: (seen.append(l.import_duckdb_mb), real(c, l)))
    db = tmp_path / "s.duckdb"
    store.connect(db).close()
    f = tmp_path / "bad_rows.csv"
    shutil.copy(DATA / "bad_rows.csv", f)
    assert ingest.import_files(db, [f])[0].imported
    assert seen == [512]
