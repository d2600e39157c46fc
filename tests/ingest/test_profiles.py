"""Column-mapping profiles for other systems' exports (docs/data-management.md §2): suggestions from
headers and values, the checks made when saving, detection by header signature, ``--profile``.

Fixtures in tests/data/admin (see make_fixtures.py): a message-board export the contract half knows
(no 镇街 column), and a hotline export with headers the contract does not know at all.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analytics.ingest import profiles as admin
from analytics.ingest import importer as ingest
from analytics.store import db as store
from analytics.ingest.readers import ReadError

DATA = Path(__file__).resolve().parents[1] / "data" / "admin"
ROOT = Path(__file__).resolve().parents[2]
BOARD = DATA / "message_board.csv"
HOTLINE = DATA / "hotline.xlsx"
HOTLINE_MARCH = DATA / "hotline_march.xlsx"


@pytest.fixture
def db(tmp_path) -> Path:
    p = tmp_path / "cockpit.duckdb"
    store.connect(p).close()
    return p


def guess_for(path: Path, kind: str | None = None) -> admin.MappingGuess:
    (sample,) = admin.sample_sheets(path)
    return admin.suggest_mapping(sample.headers, sample.columns, kind=kind, header_row=sample.header_row)


def save(db: Path, profile: admin.Profile, replace: bool = False) -> None:
    with store.writing(db) as con:
        admin.save_profile(con, profile, replace=replace)


def rows(db: Path, sql: str, params=()) -> list[tuple]:
    with store.reading(db) as con:
        return con.execute(sql, list(params)).fetchall()


# ───────────────────────────── suggestions ─────────────────────────────

def test_the_contract_alone_reads_the_board_without_towns_but_not_the_hotline():
    # The board has no town column: its messages are kept as 未定位, none is lost.
    (board,) = ingest.read_table(BOARD)
    assert (board.rows_read, len(board.frame), board.rejected, board.unlocated) == (5, 4, 1, 4)  # 1: "不是日期"
    assert board.frame["town"].isna().all()
    with pytest.raises(ReadError, match="找不到可识别的表头"):
        ingest.read_table(HOTLINE)


def test_suggestions_for_the_hotline_export_from_headers_and_values():
    g = guess_for(HOTLINE)
    assert g.kind == "opinions" and g.header_row == 3  # under the title row and a blank row
    assert g.mapping == {"工单号": "opinion_id", "来电时间": "submitted_at", "诉求描述": "content",
                         "所属区域": "town", "来电人": "submitter"}
    by = {c.header: c for c in g.columns}
    assert any("值像日期" in r for r in by["来电时间"].reasons)
    assert any("值是镇街名称" in r for r in by["所属区域"].reasons)
    assert any("长文本" in r for r in by["诉求描述"].reasons)
    assert any("工单编号" in r for r in by["工单号"].reasons)  # header likeness to a contract spelling
    # Samples shown on the page: names of callers masked, towns not.
    assert by["来电人"].samples[0] == "陈*" and by["所属区域"].samples[0] == "瓜沥镇"


def test_suggestions_for_the_message_board_keep_the_reply_text_out():
    g = guess_for(BOARD)
    assert g.kind == "opinions"
    assert g.mapping == {"留言编号": "opinion_id", "留言用户": "submitter", "留言主题": "title",
                         "留言时间": "submitted_at", "留言详情": "content", "答复意见": None,
                         "答复时间": "closed_at"}


def test_values_outweigh_a_similar_header():
    """A column named like a date field whose values are not dates is not suggested as one."""
    headers = ["编号", "提交时间", "镇街", "内容", "办结时间"]
    columns = [[f"A{i}" for i in range(5)], ["2024-01-0%d" % (i + 1) for i in range(5)], ["瓜沥镇"] * 5,
               ["路灯坏了很久没有人来修理，希望尽快处理"] * 5, ["已办结", "办理中", "已办结", "已办结", "办理中"]]
    g = admin.suggest_mapping(headers, columns)
    assert g.mapping["办结时间"] != "closed_at"


def test_choosing_another_kind_recomputes_the_suggestions():
    g = guess_for(HOTLINE, kind="activities")
    assert g.kind == "activities"
    assert g.mapping["来电时间"] == "date" and g.mapping["所属区域"] == "town"


# ───────────────────────────── saving a profile ─────────────────────────────

BOARD_HEADERS = ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情", "答复意见", "答复时间"]
BOARD_MAPPING = {"留言编号": "opinion_id", "留言用户": "submitter", "留言主题": "title", "留言时间": "submitted_at",
                 "留言详情": "content", "答复意见": None, "答复时间": "closed_at"}


def test_a_required_field_left_unmapped_is_named():
    with pytest.raises(admin.AdminError, match="必填字段 “内容” 还没有对应的列，也没有固定值"):
        admin.make_profile("留言板", "opinions", BOARD_HEADERS, {**BOARD_MAPPING, "留言详情": None})


@pytest.mark.parametrize("mapping,fixed,message", [
    ({**BOARD_MAPPING, "答复意见": "content"}, {"town": "瓜沥镇"}, "两列都对应到了“内容”"),
    (BOARD_MAPPING, {"town": "火星镇"}, "“火星镇”不是可接受的镇街"),
    (BOARD_MAPPING, {"town": "瓜沥", "channel": "微信"}, "“微信”不是可接受的来源渠道（可接受：民声e、"),
    (BOARD_MAPPING, {"town": "瓜沥", "opinion_id": "X"}, "不能设为固定值"),
    (BOARD_MAPPING, {"town": "瓜沥", "title": "固定标题"}, "已对应到“留言主题”列"),
    ({**BOARD_MAPPING, "不存在的列": "station"}, {"town": "瓜沥"}, "表头里没有“不存在的列”"),
])
def test_a_mapping_that_cannot_work_is_refused_with_a_reason(mapping, fixed, message):
    with pytest.raises(admin.AdminError, match=message):
        admin.make_profile("留言板", "opinions", BOARD_HEADERS, mapping, fixed)


def test_fixed_values_are_stored_in_their_canonical_spelling():
    p = admin.make_profile("留言板", "opinions", BOARD_HEADERS, BOARD_MAPPING,
                           {"town": "瓜沥", "channel": "其它", "status": ""}, user="管理员")
    assert p.fixed == {"town": "瓜沥镇", "channel": "其他"}
    assert p.mapping["留言编号"] == "opinion_id" and "答复意见" not in p.mapping


def test_names_and_header_sets_are_unique_unless_replaced(db):
    p = admin.make_profile("留言板", "opinions", BOARD_HEADERS, BOARD_MAPPING, {"town": "瓜沥"})
    save(db, p)
    with pytest.raises(admin.AdminError, match="已有名为“留言板”"):
        save(db, p)
    other = admin.make_profile("留言板二", "opinions", list(reversed(BOARD_HEADERS)), BOARD_MAPPING, {"town": "义桥"})
    assert other.signature == p.signature
    with pytest.raises(admin.AdminError, match="映射方案“留言板”已用于同样表头的文件"):
        save(db, other)
    save(db, other, replace=True)
    with store.reading(db) as con:
        assert [x.name for x in admin.load_profiles(con)] == ["留言板二"]


def test_the_signature_ignores_order_spacing_and_notes_but_not_columns():
    sig = admin.header_signature(["工单号", "来电时间", "诉求描述"])
    assert admin.header_signature(["诉求描述", " 工单号 ", "来电时间（北京时间）", None, ""]) == sig
    assert admin.header_signature(["工单号", "来电时间", "诉求描述", "备注"]) != sig


# ───────────────────────────── importing with a profile ─────────────────────────────

def test_message_board_imports_with_a_fixed_town_and_unknown_optional_fields(db):
    save(db, admin.make_profile("政府留言板", "opinions", BOARD_HEADERS, BOARD_MAPPING,
                                {"town": "瓜沥镇", "channel": "其他"}, user="管理员"))
    (r,) = ingest.import_files(db, [BOARD])
    assert r.error is None and (r.rows_read, r.imported, r.rejected) == (5, 4, 1)
    assert r.profiles == ["政府留言板"]
    (bad,) = r.rejects
    assert (bad.row_no, bad.column) == (6, "留言时间") and "“不是日期”不是可识别的日期" in bad.reason
    got = rows(db, """SELECT opinion_id, town, channel, title, submitted_at, closed_at, status, category, station
                      FROM opinions ORDER BY 1""")
    assert [g[0] for g in got] == ["LY2024001", "LY2024002", "LY2024003", "LY2024004"]
    assert {(g[1], g[2]) for g in got} == {("瓜沥镇", "其他")}
    assert got[0][3] == "小区门口路灯不亮" and got[0][4] == dt.datetime(2024, 3, 2, 8, 15)
    assert got[0][5] == dt.datetime(2024, 3, 5, 16, 0) and got[1][5] is None
    # Fields the export lacks are unknown (NULL), not zero or empty text.
    assert all(g[6] is None and g[7] is None and g[8] is None for g in got)
    assert rows(db, "SELECT profile FROM import_batches") == [("政府留言板",)]
    # The reply text (答复意见) went nowhere: it is no field of an opinion.
    assert not rows(db, "SELECT 1 FROM opinions WHERE content LIKE '%已转城管%' OR title LIKE '%已转城管%'")


def test_hotline_profile_is_found_again_by_its_headers_in_another_order(db):
    g = guess_for(HOTLINE)
    save(db, admin.make_profile("12345热线", g.kind, [c.header for c in g.columns], g.mapping))
    (r,) = ingest.import_files(db, [HOTLINE])
    assert (r.imported, r.rejected, r.warned, r.unlocated) == (6, 0, 1, 1)
    (bad,) = r.rejects
    assert bad.level == "warning" and bad.column == "所属区域" and "“火星镇”不是萧山区的镇街" in bad.reason
    assert r.sheets[0]["header_rows"] == [3] and r.sheets[0]["profile"] == "12345热线"
    assert rows(db, "SELECT town FROM opinions WHERE opinion_id = 'GD-240303-0011'") == [("义桥镇",)]
    # March: the same columns in another order, nothing said about a profile.
    (m,) = ingest.import_files(db, [HOTLINE_MARCH])
    assert m.error is None and (m.imported, m.unchanged) == (1, 1) and m.profiles == ["12345热线"]
    assert rows(db, "SELECT submitter FROM opinions WHERE opinion_id = 'GD-240310-0031'") == [("何敏",)]


def test_a_saved_profile_wins_over_the_contract_spellings(db, tmp_path):
    f = tmp_path / "swap.csv"
    f.write_text("编号,提交时间,镇街,内容,备注\nS1,2024-05-01,瓜沥镇,路灯,路灯坏了很久没人修\n", encoding="utf-8")
    (plain,) = ingest.read_table(f)
    assert plain.frame.loc[0, "content"] == "路灯"
    save(db, admin.make_profile("备注为内容", "opinions", ["编号", "提交时间", "镇街", "内容", "备注"],
                                {"编号": "opinion_id", "提交时间": "submitted_at", "镇街": "town",
                                 "内容": "title", "备注": "content"}))
    ingest.import_files(db, [f])
    assert rows(db, "SELECT title, content FROM opinions") == [("路灯", "路灯坏了很久没人修")]


def test_an_explicit_profile_that_does_not_fit_names_the_headers_it_needs(db):
    g = guess_for(HOTLINE)
    save(db, admin.make_profile("12345热线", g.kind, [c.header for c in g.columns], g.mapping))
    with store.reading(db) as con:
        r = ingest.plan_file(con, BOARD, profile="12345热线")
    assert "表头与映射方案“12345热线”不符" in r.error and "工单号" in r.error
    with store.reading(db) as con:
        r = ingest.plan_file(con, BOARD, profile="没有这个")
    assert "没有名为“没有这个”的映射方案。已有：12345热线" in r.error


def test_command_line_profile_option_and_profiles_command(db):
    save(db, admin.make_profile("政府留言板", "opinions", BOARD_HEADERS, BOARD_MAPPING, {"town": "瓜沥镇"}))
    env = dict(os.environ)
    run = lambda *a: subprocess.run([sys.executable, "-m", "analytics", *map(str, a)], cwd=ROOT, env=env,
                                    capture_output=True, text=True, timeout=120)
    r = run("ingest", "--profile", "不存在", BOARD, "--db", db)
    assert r.returncode == 2 and "没有名为“不存在”的映射方案。已有：政府留言板" in r.stderr
    r = run("ingest", "--profile", "政府留言板", BOARD, "--db", db, "--json")
    assert r.returncode == 0, r.stderr
    (f,) = json.loads(r.stdout)["files"]
    assert (f["imported"], f["rejected"], f["profile"]) == (4, 1, "政府留言板")
    r = run("profiles", "--db", db, "--json")
    (p,) = json.loads(r.stdout)
    assert p["name"] == "政府留言板" and p["fixed"] == {"town": "瓜沥镇"} and p["mapping"]["留言编号"] == "opinion_id"
    r = run("profiles", "--db", db, "--delete", "政府留言板")
    assert r.returncode == 0 and "已删除" in r.stdout
    with store.reading(db) as con:
        assert admin.load_profiles(con) == []


def test_profiles_frame_lists_the_mapping_in_words():
    p = admin.make_profile("政府留言板", "opinions", BOARD_HEADERS, BOARD_MAPPING, {"town": "瓜沥镇"}, user="管理员")
    row = admin.profiles_frame([p]).iloc[0]
    assert row["数据类别"] == "民情民意" and "留言编号→编号" in row["列对应"] and row["固定值"] == "镇街＝瓜沥镇"
