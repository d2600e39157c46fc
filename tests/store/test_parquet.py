"""The store exported as Parquet (``python -m analytics export --parquet DIR``) and run read-only:
every page renders on it, the command line answers exactly as on the DuckDB store, writes are
refused in Chinese, and the layout is the partitioned one docs/scaling.md describes.

The dataset is exported from a copy of the session's small demo store (tests/conftest.py), segmented
first if the importer did not, so the hot words have something to show.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import unquote

import duckdb
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from analytics.domain import hotwords as hw
from analytics.core import labels
from analytics.store import dataset as parquet
from analytics.reports import parquet_export
from analytics.core import privacy
from analytics.__main__ import main as cli
from analytics.store.db import StoreError, connect

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


@pytest.fixture(scope="module")
def stores(demo_db, tmp_path_factory) -> tuple[Path, Path]:
    """(a segmented copy of the demo store, its Parquet export)."""
    work = tmp_path_factory.mktemp("parquet")
    db = work / "cockpit.duckdb"
    shutil.copy(demo_db, db)
    con = connect(db)
    try:
        if hw.pending_count(con) or hw.active_version(con) is None:
            con.execute("BEGIN TRANSACTION")
            hw.segment_pending(con)
            con.execute("COMMIT")
        con.execute("BEGIN TRANSACTION")
        # A candidate with a history whose events share a timestamp: their order is the rowid's.
        start, end = hw.latest_window(con)
        word = hw.top_words(con, start, end, top=1)["word"].iloc[0]
        cid = hw.add_candidate(con, [word], start, end, "测试")
        for k in range(3):
            hw.add_candidate_note(con, cid, f"备注{k}", "测试")
        con.execute("UPDATE candidate_events SET event_at = TIMESTAMP '2024-12-31 12:00:00'")
        con.execute("COMMIT")
    finally:
        con.close()
    out = work / "dataset"
    assert cli(["export", "--parquet", str(out), "--db", str(db)]) == 0
    return db, out


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = cli(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


# ───────────────────────────── the layout ─────────────────────────────

def test_large_tables_are_partitioned_by_year_and_town(stores):
    db, out = stores
    marker = json.loads((out / parquet.MARKER).read_text(encoding="utf-8"))
    con = connect(db, read_only=True)
    try:
        for table in ("opinions", "activities", "suggestions", "opinion_seg", "opinion_words"):
            assert marker["tables"][table]["partition_by"] == ["year", "town"], table
            dirs = {(p.parent.parent.name, unquote(p.parent.name)) for p in (out / table).rglob("*.parquet")}
            assert dirs and all(y.startswith("year=") and t.startswith("town=") for y, t in dirs), dirs
        # One directory per year and town that holds opinions, named by the real town.
        want = {(f"year={y}", f"town={t}") for y, t in con.execute(
            "SELECT DISTINCT year(submitted_at), town FROM opinions").fetchall()}
        got = {(p.parent.parent.name, unquote(p.parent.name)) for p in (out / "opinions").rglob("*.parquet")}
        assert got == want
        for table, entry in marker["tables"].items():
            n = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            # The export's own audit record is written after the dataset: the store has that one more.
            assert entry["rows"] == n - (table == "audit_log"), table
        assert marker["tables"]["units"]["partition_by"] == [] and (out / "units.parquet").is_file()
    finally:
        con.close()


def test_views_have_the_store_tables_names_columns_types_and_rows(stores):
    db, out = stores
    a, b = connect(db, read_only=True), connect(out, read_only=True)
    a.create_function("cockpit_mask_name", privacy.mask_name, ["VARCHAR"], "VARCHAR")
    try:
        tables = [r[0] for r in a.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' ORDER BY 1").fetchall()]
        assert tables
        for t in tables:
            shape = f"SELECT column_name, column_type FROM (DESCRIBE {t})"  # keys and NOT NULL stay behind
            assert a.execute(shape).fetchall() == b.execute(shape).fetchall(), t
            if t in ("opinions", "suggestions", "activities", "words", "opinion_words"):
                order = a.execute(f"SELECT column_name FROM (DESCRIBE {t})").fetchall()
                cols = ", ".join(c for (c,) in order)
                # Submitters' names leave the store masked (parquet_export.MASKED_ON_EXPORT), by the views' rule.
                masked = ", ".join(f"cockpit_mask_name({c})" if (t, c) in parquet_export.MASKED_ON_EXPORT else c
                                   for (c,) in order)
                q = "SELECT {} FROM " + t + " ORDER BY ALL"
                assert a.execute(q.format(masked)).fetchall() == b.execute(q.format(cols)).fetchall(), t
    finally:
        a.close()
        b.close()


# ───────────────────────────── the same answers ─────────────────────────────

def test_candidate_history_keeps_its_order(stores):
    db, out = stores
    a, b = connect(db, read_only=True), connect(out, read_only=True)
    try:
        cid = a.execute("SELECT max(candidate_id) FROM candidates").fetchone()[0]
        hist = hw.candidate_history(a, cid)
        assert len(hist) == 4 and hist["note"].tolist()[1:] == ["备注0", "备注1", "备注2"]
        assert hw.candidate_history(b, cid).equals(hist)
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("command", [
    ["summary", "--json"],
    ["summary", "--town", "瓜沥镇", "--json"],
    ["indices", "--json"],
    ["indices", "--level", "station", "--json"],
    ["rank", "--json"],
    ["hotwords", "--json"],
    ["hotwords", "--rising", "--json"],
    ["hotwords", "--town", "瓜沥镇", "--json"],
    ["suggestions", "--json"],
    ["reps", "--json"],
], ids=lambda c: " ".join(c[:-1] if c[-1] == "--json" else c))
def test_command_line_answers_equal_on_store_and_parquet(stores, capsys, command):
    db, out = stores
    code_a, a, err_a = run_cli(capsys, *command, "--db", str(db))
    code_b, b, err_b = run_cli(capsys, *command, "--db", str(out))
    assert code_a == 0, err_a
    assert (code_b, err_b) == (0, err_a)
    assert json.loads(b) == json.loads(a)
    assert json.loads(a) or "--rising" in command  # the small demo may have no rising word


# ───────────────────────────── read-only ─────────────────────────────

def test_writes_are_refused_in_chinese(stores, capsys, tmp_path):
    db, out = stores
    with pytest.raises(parquet.ReadOnlyStoreError, match="只读的 Parquet 数据集"):
        connect(out)
    with pytest.raises(hw.HotwordsError, match="只读"):  # the candidate pool and the dictionary
        with hw.store_writer(out):
            pass
    before = sorted(p.name for p in out.rglob("*"))
    f = tmp_path / "x.csv"
    f.write_text("镇街编号,镇街名称\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "ingest", str(f), "--db", str(out))
    assert code != 0 and "只读的 Parquet 数据集" in err
    assert sorted(p.name for p in out.rglob("*")) == before


def test_a_folder_that_is_not_an_export_or_is_of_another_version_is_refused(stores, tmp_path):
    _, out = stores
    with pytest.raises(StoreError, match="不是 Parquet 数据集"):
        connect(tmp_path, read_only=True)
    old = tmp_path / "old"
    shutil.copytree(out, old)
    marker = json.loads((old / parquet.MARKER).read_text(encoding="utf-8"))
    marker["schema_version"] -= 1
    (old / parquet.MARKER).write_text(json.dumps(marker), encoding="utf-8")
    with pytest.raises(StoreError, match="重新导出"):
        connect(old, read_only=True)


def test_export_replaces_an_earlier_export_but_never_other_files(stores, capsys, tmp_path):
    db, out = stores
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("x", encoding="utf-8")
    code, _, err = run_cli(capsys, "export", "--parquet", str(other), "--db", str(db))
    assert code == 2 and "不是以前导出的 Parquet 数据集" in err
    assert [p.name for p in other.iterdir()] == ["keep.txt"]
    again = tmp_path / "again"
    shutil.copytree(out, again)
    (again / "opinions" / "stale.parquet").write_bytes(b"not parquet")
    code, _, err = run_cli(capsys, "export", "--parquet", str(again), "--db", str(db))
    assert code == 0, err
    assert not (again / "opinions" / "stale.parquet").exists()
    con = connect(again, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM opinions").fetchone()[0] > 0
    finally:
        con.close()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers beside it


def test_a_town_filter_reads_only_that_towns_files(stores):
    _, out = stores
    con = connect(out, read_only=True)
    try:
        plan = "\n".join(r[1] for r in con.execute(
            "EXPLAIN SELECT count(*) FROM opinions WHERE town = ?", ["瓜沥镇"]).fetchall())
    finally:
        con.close()
    n_files = sum(1 for p in (out / "opinions").rglob("*.parquet") if unquote(p.parent.name) == "town=瓜沥镇")
    total = sum(1 for _ in (out / "opinions").rglob("*.parquet"))
    assert f"Scanning Files: {n_files}/{total}" in plan, plan


# ───────────────────────────── every page ─────────────────────────────

@pytest.mark.parametrize("page", labels.PAGES, ids=lambda p: p.url_path)
def test_every_page_renders_on_the_parquet_dataset(stores, monkeypatch, page):
    _, out = stores
    monkeypatch.setenv("COCKPIT_DB", str(out))
    at = AppTest.from_file(APP, default_timeout=60)
    at._page_hash = calc_hash(page.url_path)  # as tests/pages/test_app.py opens a page by its URL
    at.run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == [page.title]
    assert at.sidebar.selectbox, "the shared sidebar is missing"
    assert "演示数据" in "\n".join(str(e.value) for e in at.info)  # meta came across: still the demo
