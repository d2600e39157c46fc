"""Support and oppose counts of citizens' opinions (issue 16): 点赞数 / 附议数 and 反对数 of
message-board exports. Optional counts: an empty cell is unknown (NULL, never 0), a value that is
not a count keeps its row with a warning, and a store of the previous schema migrates without its
rows turning "changed" on the next import of an export that has no such columns."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
from openpyxl import Workbook

from analytics.cli.ingest import format_report
from analytics.core.contract import load_contract
from analytics.ingest import profiles as admin
from analytics.ingest.importer import ingest_files
from analytics.store import db as store
from analytics.store import schema


from tests.ingest.test_other_exports import write


@pytest.fixture
def con(tmp_path):
    c = store.connect(tmp_path / "t.duckdb")
    yield c
    c.close()


def counts(con) -> list[tuple]:
    return con.execute("SELECT opinion_id, support, oppose FROM opinions ORDER BY 1").fetchall()


# ── the contract ──────────────────────────────────────────────────────────────

@pytest.mark.parametrize("header", ["支持数", "点赞数", "点赞", "点赞量", "赞同数", "赞成数", "附议数", "附议人数",
                                    "支持人数", " 点赞数（个） "])
def test_every_support_spelling_is_the_support(con, tmp_path, header):
    (r,) = ingest_files(con, [write(tmp_path / "s.csv", [f"编号,提交时间,镇街,内容,{header}",
                                                         "S1,2024-05-01,瓜沥镇,路灯坏了,7"])])
    assert r.error is None and {c["header"]: c["field"] for c in r.sheets[0]["columns"]}[header.strip()] == "support"
    assert counts(con) == [("S1", 7, None)]


@pytest.mark.parametrize("header", ["反对数", "反对", "踩", "不赞成数", "反对人数"])
def test_every_oppose_spelling_is_the_oppose(con, tmp_path, header):
    (r,) = ingest_files(con, [write(tmp_path / "o.csv", [f"编号,提交时间,镇街,内容,{header}",
                                                         "O1,2024-05-01,瓜沥镇,路灯坏了,4"])])
    assert r.error is None
    assert counts(con) == [("O1", None, 4)]


def test_both_fields_are_optional_counts_of_the_opinions():
    k = load_contract().kinds["opinions"]
    for name, label in (("support", "支持数"), ("oppose", "反对数")):
        f = k.field(name)
        assert (f.label, f.type, f.required) == (label, "int", False)


# ── values ────────────────────────────────────────────────────────────────────

def test_counts_are_read_in_every_spelling_and_empty_is_unknown(con, tmp_path):
    f = write(tmp_path / "c.csv", ["编号,提交时间,镇街,内容,点赞数,反对数",
                                   "C1,2024-05-01,瓜沥镇,路灯坏了,12,0",
                                   "C2,2024-05-02,瓜沥镇,路灯坏了,12.0, 3 ",
                                   "C3,2024-05-03,瓜沥镇,路灯坏了,\"1,234\",１２",
                                   "C4,2024-05-04,瓜沥镇,路灯坏了,,",
                                   "C5,2024-05-05,瓜沥镇,路灯坏了,\"１，２３４\",\u3000"])
    (r,) = ingest_files(con, [f])
    assert (r.rows_read, r.imported, r.rejected, r.warned) == (5, 5, 0, 0)
    assert counts(con) == [("C1", 12, 0), ("C2", 12, 3), ("C3", 1234, 12), ("C4", None, None), ("C5", 1234, None)]


def test_excel_number_cells_are_counts(con, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["留言编号", "留言时间", "留言详情", "点赞数", "反对数"])
    ws.append(["X1", dt.datetime(2024, 5, 1, 9), "路灯坏了", 15.0, 2])
    ws.append(["X2", dt.datetime(2024, 5, 2, 9), "路灯坏了", None, "1"])
    wb.save(tmp_path / "x.xlsx")
    (r,) = ingest_files(con, [tmp_path / "x.xlsx"])
    assert (r.imported, r.warned) == (2, 0)
    assert counts(con) == [("X1", 15, 2), ("X2", None, 1)]


def test_a_value_that_is_not_a_count_keeps_its_row_with_a_warning(con, tmp_path):
    f = write(tmp_path / "留言.csv", ["编号,提交时间,镇街,内容,点赞数,反对数",
                                      "W1,2024-05-01,瓜沥镇,路灯坏了,很多,-3",
                                      "W2,2024-05-02,瓜沥镇,路灯坏了,2.5,1",
                                      "W3,2024-05-03,瓜沥镇,路灯坏了,5,2"])
    (r,) = ingest_files(con, [f])
    # every row stored: the counts not understood are unknown (NULL), never 0
    assert (r.rows_read, r.imported, r.rejected, r.warned) == (3, 3, 0, 2)
    assert counts(con) == [("W1", None, None), ("W2", None, 1), ("W3", 5, 2)]
    got = con.execute("SELECT file_name, sheet, row_no, column_name, reason, level FROM rejected_rows "
                      "WHERE batch_id = ? ORDER BY row_no, column_name DESC", [r.batch_id]).fetchall()
    assert got == [("留言.csv", None, 2, "点赞数", "“很多”不是整数", "warning"),
                   ("留言.csv", None, 2, "反对数", "“-3”是负数，应为不小于 0 的整数", "warning"),
                   ("留言.csv", None, 3, "点赞数", "“2.5”不是整数", "warning")]
    # the command line names file, row and column, apart from rejections
    text = format_report([r])
    assert "已入库但有提醒的行（2 行" in text
    assert "留言.csv 第 2 行 【点赞数】“很多”不是整数" in text
    assert "留言.csv 第 2 行 【反对数】“-3”是负数" in text and "留言.csv 第 3 行 【点赞数】“2.5”不是整数" in text
    assert "拒收" not in text.split("已入库但有提醒的行")[1]


def test_a_changed_count_updates_the_row_and_undo_puts_it_back(con, tmp_path):
    header = "编号,提交时间,镇街,内容,点赞数"
    (a,) = ingest_files(con, [write(tmp_path / "a.csv", [header, "U1,2024-05-01,瓜沥镇,路灯坏了,3"])])
    (b,) = ingest_files(con, [write(tmp_path / "b.csv", [header, "U1,2024-05-01,瓜沥镇,路灯坏了,9"])])
    assert (b.updated, b.unchanged) == (1, 0) and counts(con) == [("U1", 9, None)]
    admin.undo_batch(con, b.batch_id)
    assert counts(con) == [("U1", 3, None)]


# ── the store of the previous schema ──────────────────────────────────────────

# The opinions' fields of schema 6, and the row hash as the code of schema 6 computed it (every
# field, NULL as 'N'): the rows of a store built before support and oppose existed carry it.
V6_FIELDS = ["opinion_id", "submitted_at", "channel", "town", "station", "title", "content", "category", "submitter",
             "phone", "reception_rep", "status", "handler", "assigned_at", "closed_at", "satisfaction"]
V6_HASH = "md5(concat_ws(chr(31), {}))".format(", ".join(
    f"CASE WHEN {c} IS NULL THEN 'N' ELSE 'V' || CAST({c} AS VARCHAR) END" for c in V6_FIELDS))

OLD_EXPORT = ["编号,提交时间,来源渠道,镇街,内容,状态,办结时间,提交人",
              "V1,2024-05-01 09:00,民声e,瓜沥镇,路灯坏了,已办结,2024-05-03 10:00,张三",
              "V2,2024-05-02 09:00,走访,城厢街道,噪声扰民,办理中,,李四",
              "V3,2024-05-03 09:00,,,停车难,,,"]


def _store_of_schema_6(tmp_path: Path) -> Path:
    """A store as schema 6 made it, holding OLD_EXPORT's rows with their schema-6 row hash."""
    scratch = tmp_path / "scratch.duckdb"
    c = store.connect(scratch)  # the rows exactly as the importer stores them
    ingest_files(c, [write(tmp_path / "old_scratch.csv", OLD_EXPORT)])
    stored = c.execute(f"SELECT {', '.join(V6_FIELDS)}, 1 FROM opinions ORDER BY 1").fetchall()
    c.close()
    path = tmp_path / "v6.duckdb"
    old = duckdb.connect(str(path))
    for version in range(1, 7):
        for stmt in schema.MIGRATIONS[version]:
            old.execute(stmt)
    old.execute("INSERT INTO meta VALUES ('schema_version', '6')")
    old.execute("INSERT INTO import_batches (batch_id, file_name, sha256, kinds, imported_at, imported, rows_read) "
                "VALUES (nextval('batch_seq'), 'old.csv', 'x', 'opinions', now()::TIMESTAMP, 3, 3)")
    marks = ", ".join("?" * (len(V6_FIELDS) + 1))
    old.executemany(f"INSERT INTO opinions ({', '.join(V6_FIELDS)}, batch_id) VALUES ({marks})", stored)
    old.execute(f"UPDATE opinions SET row_hash = {V6_HASH}")
    assert [c for (c,) in old.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'opinions'").fetchall()][-2:] == ["batch_id", "row_hash"]
    old.close()
    return path


def test_a_store_of_schema_6_migrates_and_its_rows_stay_unchanged(tmp_path):
    path = _store_of_schema_6(tmp_path)
    hashes = duckdb.connect(str(path), read_only=True)
    before = hashes.execute("SELECT opinion_id, row_hash FROM opinions ORDER BY 1").fetchall()
    hashes.close()
    con = store.connect(path)  # a writer migrates
    try:
        assert schema.schema_version(con) == schema.SCHEMA_VERSION == 7
        cols = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                "WHERE table_name = 'opinions'").fetchall())
        assert (cols["support"], cols["oppose"]) == ("BIGINT", "BIGINT")
        assert counts(con) == [("V1", None, None), ("V2", None, None), ("V3", None, None)]
        # the same export again, without the new columns: every row unchanged, nothing rewritten
        (r,) = ingest_files(con, [write(tmp_path / "old_again.csv", OLD_EXPORT)])
        assert (r.rows_read, r.imported, r.updated, r.unchanged) == (3, 0, 0, 3)
        assert con.execute("SELECT opinion_id, row_hash FROM opinions ORDER BY 1").fetchall() == before
        assert con.execute("SELECT DISTINCT batch_id FROM opinions").fetchall() == [(1,)]
        # a later export with the columns, one cell empty: the rows with a count change, the other not
        new = [OLD_EXPORT[0] + ",点赞数,反对数"] + [line + tail for line, tail in
                                                  zip(OLD_EXPORT[1:], [",5,1", ",,", ",2,"])]
        (r2,) = ingest_files(con, [write(tmp_path / "new.csv", new)])
        assert (r2.imported, r2.updated, r2.unchanged) == (0, 2, 1)
        assert counts(con) == [("V1", 5, 1), ("V2", None, None), ("V3", 2, None)]
        # the before-images of the update hold the unknown counts and the schema-6 hash: undo gives them back
        old_row = json.loads(con.execute("SELECT old_row FROM row_history WHERE row_key = 'V1' "
                                         "AND batch_id = ?", [r2.batch_id]).fetchone()[0])
        assert old_row["support"] is None and old_row["row_hash"] == dict(before)["V1"]
        admin.undo_batch(con, r2.batch_id)
        assert counts(con) == [("V1", None, None), ("V2", None, None), ("V3", None, None)]
        assert con.execute("SELECT opinion_id, row_hash FROM opinions ORDER BY 1").fetchall() == before
    finally:
        con.close()


def test_support_and_oppose_are_told_apart_in_the_row_hash(con, tmp_path):
    """support 5 with oppose unknown is not the same row as support unknown with oppose 5."""
    (a,) = ingest_files(con, [write(tmp_path / "a.csv", ["编号,提交时间,镇街,内容,点赞数,反对数",
                                                         "H1,2024-05-01,瓜沥镇,路灯坏了,5,"])])
    (b,) = ingest_files(con, [write(tmp_path / "b.csv", ["编号,提交时间,镇街,内容,点赞数,反对数",
                                                         "H1,2024-05-01,瓜沥镇,路灯坏了,,5"])])
    assert (a.imported, b.updated) == (1, 1) and counts(con) == [("H1", None, 5)]


# ── mapping suggestions ───────────────────────────────────────────────────────

def test_a_column_of_numbers_is_a_count_only_when_its_header_says_which():
    n = 200
    guess = admin.suggest_mapping(
        ["序号", "工单号", "来电时间", "诉求内容", "所属区域", "回访次数", "点赞次数", "踩"],
        [list(range(n)), [f"GD2024{i:05d}" for i in range(n)], ["2024-05-01 10:00"] * n,
         ["小区门口的路灯坏了两个星期，晚上很黑"] * n, ["瓜沥镇"] * n, [i % 3 for i in range(n)],
         [i % 7 for i in range(n)], [i % 2 for i in range(n)]], kind="opinions")
    m = guess.mapping
    assert m["点赞次数"] == "support" and m["踩"] == "oppose"
    assert m["序号"] is None and m["回访次数"] is None  # numbers, but no header of a count of supporters
