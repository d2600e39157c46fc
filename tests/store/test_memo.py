"""analytics.store.memo: a result is reused only while the store it came from is unchanged."""
from __future__ import annotations

import duckdb

from analytics.store import memo


def _store(path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()


def _sum(path, calls: list) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        def compute():
            calls.append(1)
            return con.execute("SELECT sum(x) FROM t").fetchone()[0]
        return memo.remember(con, "test.sum", (), compute)
    finally:
        con.close()


def test_a_read_only_store_is_remembered_until_it_changes(tmp_path):
    db = tmp_path / "s.duckdb"
    _store(db)
    calls: list = []
    assert _sum(db, calls) == 1 and _sum(db, calls) == 1
    assert len(calls) == 1  # the second call, on a new connection, reused the first
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO t VALUES (41)")
    con.close()
    assert _sum(db, calls) == 42 and len(calls) == 2
    # what was kept for the store before the change is let go at once
    assert [k[1] for k in memo._entries if k[0] == "test.sum"] == [memo._current[str(db)]]


def test_writers_and_in_memory_databases_are_never_remembered(tmp_path):
    db = tmp_path / "w.duckdb"
    _store(db)
    for con in (duckdb.connect(str(db)), duckdb.connect()):
        calls: list = []
        try:
            for _ in range(2):
                memo.remember(con, "test.rw", (), lambda: calls.append(1))
        finally:
            con.close()
        assert len(calls) == 2


def test_a_parquet_dataset_is_keyed_by_its_export(tmp_path):
    con = duckdb.connect()
    try:
        con.execute(f"CREATE VIEW {memo.DATASET_VIEW} AS SELECT 'dir|2024-12-31T00:00:00' AS stamp")
        calls: list = []
        for _ in range(2):
            memo.remember(con.cursor(), "test.pq", (), lambda: calls.append(1))  # cursors see it too
        assert len(calls) == 1
        con.execute(f"CREATE OR REPLACE VIEW {memo.DATASET_VIEW} AS SELECT 'dir|2025-01-01T00:00:00' AS stamp")
        memo.remember(con, "test.pq", (), lambda: calls.append(1))
        assert len(calls) == 2
    finally:
        con.close()


def test_values_are_kept_within_a_byte_budget_least_recently_used_going_first(tmp_path, monkeypatch):
    import numpy as np
    import pandas as pd

    db = tmp_path / "s.duckdb"
    _store(db)
    memo.clear()
    frame = pd.DataFrame({"a": np.zeros(1000, dtype=np.int64), "b": np.ones(1000)})
    assert 16_000 <= memo.size_of(frame) <= 17_000  # two columns of 8,000 bytes, and a little
    assert memo.size_of([np.zeros(100, dtype=np.uint8)] * 10) >= 1000
    monkeypatch.setattr(memo, "MAX_BYTES", 40_000)  # room for two such frames
    con = duckdb.connect(str(db), read_only=True)
    try:
        for k in range(3):
            memo.remember(con, "test.frame", k, lambda: frame.copy())
        memo.remember(con, "test.frame", 1, lambda: 1 / 0)  # used again: now the most recent
        memo.remember(con, "test.frame", 3, lambda: frame.copy())
    finally:
        con.close()
    assert sorted(k[2] for k in memo._entries if k[0] == "test.frame") == [1, 3]
    assert memo._bytes == sum(memo._sizes.values()) <= 40_000
    memo.clear()


def test_a_read_only_connection_works_its_state_out_once(tmp_path, monkeypatch):
    db = tmp_path / "s.duckdb"
    _store(db)
    calls = []
    real = memo._state_of
    monkeypatch.setattr(memo, "_state_of", lambda con: calls.append(1) or real(con))
    con = duckdb.connect(str(db), read_only=True)
    try:
        states = {memo.store_state(con) for _ in range(5)}
    finally:
        con.close()
    assert len(states) == 1 and None not in states and len(calls) == 1
    con = duckdb.connect(str(db))  # a writer: never remembered, and known to be so at once
    try:
        assert {memo.store_state(con) for _ in range(5)} == {None} and len(calls) == 2
    finally:
        con.close()
