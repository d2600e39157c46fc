"""Other systems' exports go in as they are (issue 15): no town column, odd status words, day and
month before the year, values mapped by a profile. Every row is stored, stored with a warning, or
rejected with its reason — and rows without a town count for the district only."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from analytics.core import dates
from analytics.core.periods import parse_period
from analytics.domain import indices, metrics, ranking
from analytics.ingest import profiles as admin
from analytics.ingest.importer import ingest_files
from analytics.store import db as store

LOCATED = ["编号,提交时间,镇街,内容,状态",
           "L1,2024-05-02 09:00,瓜沥镇,路灯坏了,已办结",
           "L2,2024-05-03 09:00,瓜沥镇,垃圾没人清,办理中",
           "L3,2024-05-04 09:00,城厢街道,噪声扰民,已办结"]
# A message board's export: no town, its own status words, US dates.
BOARD = ["留言编号,留言时间,留言主题,留言详情,办理状态",
         "M1,12/31/2023 10:00,路灯,小区路灯不亮,已办理",
         "M2,05/06/2024,噪声,工地夜里施工,待回复",
         "M3,05/07/2024,停车,停车难，电话13812345678,已办理"]


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def con(tmp_path):
    c = store.connect(tmp_path / "t.duckdb")
    yield c
    c.close()


def test_a_board_without_towns_imports_every_row_as_unlocated(con, tmp_path):
    (r,) = ingest_files(con, [write(tmp_path / "board.csv", BOARD)])
    assert (r.error, r.rows_read, r.imported, r.rejected, r.unlocated, r.warned) == (None, 3, 3, 0, 3, 3)
    stored = con.execute("SELECT opinion_id, submitted_at, town, status FROM opinions ORDER BY 1").fetchall()
    assert stored == [("M1", dt.datetime(2023, 12, 31, 10), None, "已办理"),
                      ("M2", dt.datetime(2024, 5, 6), None, "待回复"),  # month first: 12/31 decides the column
                      ("M3", dt.datetime(2024, 5, 7), None, "已办理")]
    assert r.sheets[0]["date_rules"] == {"留言时间": "按月日年（12/31/2016）读取（依据：列中日大于 12 的日期）"}
    # the unknown status words are warnings, not rejections, and name the value and the column
    warnings = [(x.row_no, x.column, x.level) for x in r.rejects]
    assert warnings == [(2, "办理状态", "warning"), (3, "办理状态", "warning"), (4, "办理状态", "warning")]
    assert all("已按原样保存" in x.reason for x in r.rejects)


def test_unlocated_rows_count_for_the_district_and_for_no_town(con, tmp_path):
    q = parse_period("2024Q2")
    ingest_files(con, [write(tmp_path / "located.csv", LOCATED)])
    towns_before = indices.compute_indices(con, q, "town")
    rank_before = ranking.ranking(con, q)
    ingest_files(con, [write(tmp_path / "board.csv", BOARD)])
    # District: 3 located + 2 unlocated opinions of Q2 (M1 is December 2023). 瓜沥镇: its own 2.
    assert metrics.compute(con, "opinions", q).value == 5
    assert metrics.compute(con, "opinions", q, "瓜沥镇").value == 2
    assert metrics.unlocated_opinions(con, q) == 2
    # closure: 已办结 2 of 5 in the district (待回复/已办理 are unknown words: not closed), 1 of 2 in 瓜沥镇
    assert metrics.compute(con, "closure_rate", q).value == pytest.approx(2 / 5)
    assert metrics.compute(con, "closure_rate", q, "瓜沥镇").value == pytest.approx(1 / 2)
    # No town's index and no rank moves.
    pd.testing.assert_frame_equal(indices.compute_indices(con, q, "town"), towns_before)
    pd.testing.assert_frame_equal(ranking.ranking(con, q), rank_before)


def test_a_profile_maps_values_and_sets_the_date_order(con, tmp_path):
    lines = ["留言编号,留言时间,留言详情,办理状态,区域",
             "P1,03/04/2024,路灯不亮,已办理,瓜沥",
             "P2,05/04/2024,噪声,待回复,经开区"]
    f = write(tmp_path / "p.csv", lines)
    headers = lines[0].split(",")
    p = admin.make_profile("某留言板", "opinions", headers,
                           {"留言编号": "opinion_id", "留言时间": "submitted_at", "留言详情": "content",
                            "办理状态": "status", "区域": "town"},
                           options={"date_order": "dmy", "values": {"status": {"已办理": "已办结", "待回复": "办理中"},
                                                                      "town": {"经开区": "萧山经济技术开发区"}}})
    admin.save_profile(con, p)
    (r,) = ingest_files(con, [f])
    assert (r.imported, r.rejected, r.warned) == (2, 0, 0)
    assert con.execute("SELECT opinion_id, submitted_at, status, town FROM opinions ORDER BY 1").fetchall() == [
        ("P1", dt.datetime(2024, 4, 3), "已办结", "瓜沥镇"), ("P2", dt.datetime(2024, 4, 5), "办理中", "萧山经济技术开发区")]
    assert r.sheets[0]["date_rules"] == {"留言时间": "按日月年（31/12/2016）读取（依据：映射方案的日期顺序设置）"}


@pytest.mark.parametrize("options, message", [
    ({"date_order": "ymd"}, "date_order 应为"),
    ({"values": {"status": {"已办理": "办完了"}}}, "values.status.已办理：“办完了”不是可接受的状态"),
    ({"values": {"content": {"a": "b"}}}, "“内容”不是词表字段"),
    ({"colour": 1}, "不认识的项：colour"),
])
def test_profile_options_are_checked_with_the_key_named(options, message):
    with pytest.raises(admin.AdminError, match=message):
        admin.make_profile("x", "opinions", ["编号", "提交时间", "内容"],
                           {"编号": "opinion_id", "提交时间": "submitted_at", "内容": "content"}, options=options)


def test_ambiguous_dates_are_rejected_with_how_to_fix_them(con, tmp_path):
    (r,) = ingest_files(con, [write(tmp_path / "a.csv", ["编号,提交时间,内容", "A1,03/04/2024,路灯", "A2,04/04/2024,噪声"])])
    # 04/04 is the same either way; 03/04 is not, and nothing in the column decides
    assert (r.imported, r.rejected) == (1, 1)
    (x,) = r.rejects
    assert x.level == "reject" and "日和月分不清" in x.reason and 'date_order = "dmy"' in x.reason


def test_day_month_order_is_read_where_the_numbers_decide():
    assert dates.day_month_order("31/12/2016") == "dmy" and dates.day_month_order("12/31/2016") == "mdy"
    assert dates.day_month_order("03/04/2016") is None and dates.day_month_order("2016-03-04") is None
    s, errors = dates.parse_column(["31.12.2016 08:30", "01.02.2017"])
    assert list(s) == [pd.Timestamp(2016, 12, 31, 8, 30), pd.Timestamp(2017, 2, 1)] and not errors
    # two orders in one column: the unambiguous ones are read, the ambiguous one is not guessed
    s, errors = dates.parse_column(["12/31/2016", "31/12/2016", "01/02/2017"])
    assert list(errors) == [2] and s[0] == s[1] == pd.Timestamp(2016, 12, 31)
    # Excel serials and text dates keep working beside them
    s, errors = dates.parse_column([45297, "2024年1月6日", "12/31/2016"])
    assert not errors and s[0] == pd.Timestamp(2024, 1, 6)


def test_a_reason_quoting_personal_data_is_masked(con, tmp_path):
    (r,) = ingest_files(con, [write(tmp_path / "pii.csv", [
        "编号,提交时间,镇街,内容", "X1,2024-05-01,13812345678,路灯", "X2,330102199001011234,瓜沥镇,噪声"])])
    reasons = " ".join(x.reason for x in r.rejects)
    assert "13812345678" not in reasons and "330102199001011234" not in reasons
    stored = " ".join(x[0] for x in con.execute("SELECT reason FROM rejected_rows").fetchall())
    assert "13812345678" not in stored and "330102199001011234" not in stored
    assert (r.imported, r.rejected) == (1, 1)  # the phone in 镇街: a warning; the ID in 提交时间: rejected


PERSONAL = {"phone": "13812345678", "id": "330102199001011234", "card": "6222021234567890123",
            "mail": "zhang.san@example.com"}
# (kind's header, a valid row): every field that is not free text gets each personal value in turn
VALID = {
    "opinions": ({"编号": "X1", "提交时间": "2024-05-01", "来源渠道": "民声e", "镇街": "瓜沥镇", "内容": "路灯坏了",
                  "状态": "已办结", "交办时间": "2024-05-02", "办结时间": "2024-05-03", "满意度": "满意"}),
    "activities": ({"活动编号": "A1", "活动日期": "2024-05-01", "镇街": "瓜沥镇", "活动类型": "走访选民",
                    "参与人次": "12", "收集意见数": "3"}),
}


@pytest.mark.parametrize("kind", list(VALID))
def test_every_reason_template_masks_personal_values(con, tmp_path, kind):
    """Each field a reason can quote (ids, dates, numbers, vocabularies, towns) with a phone, an ID,
    a bank card and an e-mail address: a rejection or a warning names the column, never the value."""
    row = VALID[kind]
    fields = [h for h in row if h not in ("内容",)]
    lines = [",".join(row)]
    cases = []
    for i, (what, value) in enumerate((w, v) for h in fields for w, v in PERSONAL.items()):
        header = fields[i // len(PERSONAL)]
        cells = dict(row, **{header: value})
        first = next(iter(row))
        if header != first:
            cells[first] = f"{row[first]}-{i}"
        lines.append(",".join(cells.values()))
        cases.append((header, what))
    (r,) = ingest_files(con, [write(tmp_path / f"{kind}.csv", lines)])
    reasons = [x.reason for x in r.rejects]
    stored = [x[0] for x in con.execute("SELECT reason FROM rejected_rows").fetchall()]
    for text in reasons + stored:
        for value in PERSONAL.values():
            assert value not in text, text
    # every template was reached: each field's values drew a rejection or a warning for its column
    assert {x.column for x in r.rejects} >= set(fields) - {"编号", "活动编号"}, {x.column for x in r.rejects}
    assert r.rows_read == len(cases) and r.imported + r.updated + r.rejected == r.rows_read


# ───────────────────────────── locating 未定位 rows later ─────────────────────────────

NAMED = ["留言编号,留言时间,留言详情",
         "N1,2024-05-02,金城路上的路灯坏了",  # 金城路: a road of 北干街道 in data/gazetteer.csv
         "N2,2024-05-03,瓜沥的菜场太挤",  # a town's short name
         "N3,2024-05-04,浦阳江边垃圾多",  # a river through several towns: no proposal
         "N4,2024-05-05,金城路和瓜沥都有这个问题",  # two towns named: no proposal
         "N5,2024-05-06,我家门口的路不平"]


def test_towns_are_proposed_from_the_places_a_text_names():
    from analytics.ingest import locate

    gz = locate.load_gazetteer()
    assert gz.propose("金城路上的路灯坏了") == ("北干街道", "文中提到金城路")
    assert gz.propose("瓜沥的菜场太挤")[0] == "瓜沥镇"
    assert gz.propose("浦阳江边垃圾多")[0] is None
    town, why = gz.propose("金城路和瓜沥都有这个问题")
    assert town is None and "分属几个镇街" in why
    assert gz.propose(None, "") == (None, "文中没有地名表里的地名")


def test_locating_is_a_batch_that_undo_takes_back(tmp_path):
    from analytics.ingest import locate

    db = tmp_path / "s.duckdb"
    store.connect(db).close()
    from analytics.ingest.importer import import_files

    import_files(db, [write(tmp_path / "named.csv", NAMED)])
    q = parse_period("2024Q2")
    with store.reading(db) as con:
        assert metrics.compute(con, "opinions", q, "北干街道").value == 0
        proposed = locate.proposals(con)
    assert proposed == {"N1": "北干街道", "N2": "瓜沥镇"}
    result = locate.locate_at(db, {**proposed, "N5": "城厢街道"}, user="王管理")
    assert (result["located"], result["towns"]) == (3, {"北干街道": 1, "城厢街道": 1, "瓜沥镇": 1})
    with store.reading(db) as con:
        assert metrics.compute(con, "opinions", q).value == 5  # the district's figure does not move
        assert metrics.compute(con, "opinions", q, "北干街道").value == 1
        assert metrics.unlocated_opinions(con, q) == 2
        # the hot-word counts carry the town too
        assert con.execute("SELECT town FROM opinion_seg WHERE opinion_id = 'N1'").fetchall() == [("北干街道",)]
        assert con.execute("SELECT action, actor FROM audit_log WHERE action = 'locate'").fetchall() == [("locate", "王管理")]
    with pytest.raises(admin.AdminError, match="都已有镇街"):
        locate.locate_at(db, {"N1": "瓜沥镇"})  # a located row is not moved again by 补定位
    admin.undo_batch_at(db, result["batch_id"], user="王管理")
    with store.reading(db) as con:
        assert metrics.unlocated_opinions(con, q) == 5
        assert con.execute("SELECT town FROM opinion_seg WHERE opinion_id = 'N1'").fetchall() == [(None,)]


def test_the_data_page_accepts_the_proposals_in_bulk(tmp_path, monkeypatch):
    from tests.ingest.test_admin import _page, _texts
    from analytics.ingest.importer import import_files

    db = tmp_path / "cockpit.duckdb"
    store.connect(db).close()
    import_files(db, [write(tmp_path / "named.csv", NAMED)])
    at = _page(db, monkeypatch).run()
    assert not at.exception
    assert "5 条民情民意没有镇街（未定位）" in _texts(at) and "其中 2 条可以按文中的地名建议镇街" in _texts(at)
    at.button(key="data_locate_all").click().run()
    assert not at.exception
    assert "已为 2 条意见补上镇街（北干街道 1、瓜沥镇 1）" in _texts(at)
    with store.reading(db) as con:
        assert con.execute("SELECT count(*) FROM opinions WHERE town IS NULL").fetchone()[0] == 3


# ───────────────────────────── profiles from the command line ─────────────────────────────

def test_profiles_suggest_add_ingest_on_the_command_line(tmp_path, capsys):
    from analytics.__main__ import main

    export = write(tmp_path / "hotline.csv", [
        "工单编号,来电时间,诉求内容,处理状态,所属街镇,来电人",
        "H1,12/31/2016 09:30,路灯坏了,已经办结,瓜沥镇,张三",
        "H2,01/02/2017 10:00,噪声扰民,待回复,新街,李四",
        "H3,01/05/2017 11:00,河道有垃圾,已经办结,,王五"])
    db = tmp_path / "s.duckdb"
    out = tmp_path / "hotline.toml"
    assert main(["profiles", "suggest", str(export), "--name", "热线", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert 'name = "热线"' in text and 'kind = "opinions"' in text
    assert '"工单编号" = "opinion_id"' in text and '"诉求内容" = "content"' in text
    assert '"已经办结" = "已办结"' in text  # a value mapping proposed from the vocabulary, with why
    assert '# "待回复" = ""' in text  # not recognised: left for the clerk, commented out
    assert main(["profiles", "add", str(out), "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["ingest", str(export), "--db", str(db), "--json"]) == 0
    (r,) = __import__("json").loads(capsys.readouterr().out)["files"]
    assert (r["rows_read"], r["imported"], r["rejected"], r["profile"]) == (3, 3, 0, "热线")
    with store.reading(db) as con:
        assert con.execute("SELECT opinion_id, status, town FROM opinions ORDER BY 1").fetchall() == [
            ("H1", "已办结", "瓜沥镇"), ("H2", "待回复", "新街街道"), ("H3", "已办结", None)]
    assert main(["profiles", "show", "热线", "--db", str(db)]) == 0
    shown = capsys.readouterr().out
    assert '"已经办结" = "已办结"' in shown
    assert main(["profiles", "remove", "热线", "--db", str(db)]) == 0
    assert main(["profiles", "show", "热线", "--db", str(db)]) == 2
    assert "没有名为“热线”的映射方案" in capsys.readouterr().err


def test_a_profile_file_with_a_mistake_is_refused_with_the_key(tmp_path, capsys):
    from analytics.__main__ import main

    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nkind = "opinions"\nheaders = ["编号", "时间", "内容"]\n'
                   '[columns]\n"编号" = "opinion_id"\n"时间" = "submitted_at"\n"内容" = "body"\n', encoding="utf-8")
    assert main(["profiles", "add", str(bad), "--db", str(tmp_path / "s.duckdb")]) == 2
    err = capsys.readouterr().err
    assert "映射方案文件 bad.toml" in err and "“body”不是民情民意的字段" in err
    bad.write_text('name = "x"\nkind = "opinions"\n', encoding="utf-8")
    assert main(["profiles", "add", str(bad), "--db", str(tmp_path / "s.duckdb")]) == 2
    assert "headers：缺少这一项" in capsys.readouterr().err


def test_a_variant_of_a_profiles_export_uses_the_profile(con, tmp_path):
    headers = ["留言编号", "留言时间", "留言内容详情", "回复"]
    p = admin.make_profile("变体", "opinions", headers,
                           {"留言编号": "opinion_id", "留言时间": "submitted_at", "留言内容详情": "content", "回复": None})
    admin.save_profile(con, p)
    # the same export a month later: another order and one column more
    f = write(tmp_path / "v.csv", ["留言时间,留言编号,留言内容详情,回复,点赞数",
                                   "2024-05-01,V1,路灯坏了,已转交,3"])
    (r,) = ingest_files(con, [f])
    assert (r.imported, r.profiles) == (1, ["变体"])


def test_an_unrecognised_export_ends_with_the_command_to_run_next(tmp_path, capsys):
    from analytics.__main__ import main

    f = write(tmp_path / "odd.csv", ["甲,乙,丙", "1,2,3"])
    assert main(["ingest", str(f), "--db", str(tmp_path / "s.duckdb")]) == 1
    out = capsys.readouterr().out
    assert "找不到可识别的表头" in out and "下一步：python -m analytics profiles suggest" in out and "数据管理" in out


def test_the_quarterly_report_states_the_unlocated_count(con, tmp_path):
    from analytics.reports import quarterly

    ingest_files(con, [write(tmp_path / "located.csv", LOCATED), write(tmp_path / "board.csv", BOARD)])
    data = quarterly.gather(con, "2024Q2", with_hotwords=False)
    assert data.unlocated == 2
    assert any("另有未定位的民情民意 2 条" in p for p in quarterly.summary_paragraphs(data))
    assert not any(r == "未定位" for r in data.table["unit"])  # never a line of the ranking


def test_rows_of_a_sheet_that_is_not_imported_are_counted_with_the_reason(con, tmp_path):
    from openpyxl import Workbook

    from analytics.cli.ingest import format_report

    wb = Workbook()
    ws = wb.active
    ws.title = "意见"
    ws.append(["编号", "提交时间", "镇街", "内容"])
    ws.append(["S1", "2024-05-01", "瓜沥镇", "路灯"])
    other = wb.create_sheet("统计")
    other.append(["月份", "件数", "备注"])
    for m in range(1, 4):
        other.append([f"{m}月", m * 10, ""])
    other.append([None, None, None])
    wb.save(tmp_path / "two.xlsx")
    (r,) = ingest_files(con, [tmp_path / "two.xlsx"])
    assert (r.imported, r.not_imported) == (1, 4)  # no header found: every non-blank row counts
    (s,) = [s for s in r.sheets if s["sheet"] == "统计"]
    assert s["error"] and s["not_imported"] == 4
    assert "其中的 4 行没有导入" in format_report([r])


def test_a_formula_without_a_saved_value_is_reported_as_a_formula(con, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["编号", "提交时间", "镇街", "内容", "满意度"])
    ws.append(["F1", "2024-05-01", "瓜沥镇", "=B2&\"路灯\"", "满意"])  # openpyxl saves formulas without results
    ws.append(["F2", "2024-05-02", "瓜沥镇", "噪声", "=IF(1,\"满意\")"])
    wb.save(tmp_path / "f.xlsx")
    (r,) = ingest_files(con, [tmp_path / "f.xlsx"])
    assert (r.imported, r.rejected, r.warned) == (1, 1, 1)
    by_row = {x.row_no: x for x in r.rejects}
    assert by_row[2].level == "reject" and "公式" in by_row[2].reason and "没有保存计算结果" in by_row[2].reason
    assert "为空" not in by_row[2].reason
    assert by_row[3].level == "warning" and "公式" in by_row[3].reason
    assert con.execute("SELECT satisfaction FROM opinions WHERE opinion_id = 'F2'").fetchone() == (None,)


def test_a_column_of_counts_is_never_suggested_for_a_text_field():
    guess = admin.suggest_mapping(["留言编号", "留言时间", "留言详情", "反对数", "点赞数"],
                                  [[f"L{i}" for i in range(200)], ["2024-05-01"] * 200,
                                   ["小区门口的路灯坏了两个星期，晚上很黑"] * 200, [i % 3 for i in range(200)],
                                   [i % 2 for i in range(200)]], kind="opinions")
    # counts are no text field's values: they are the opinions' counts the contract names (issue 16)
    assert guess.mapping["反对数"] == "oppose" and guess.mapping["点赞数"] == "support"
    assert guess.mapping["留言详情"] == "content"


def test_a_fault_in_one_file_is_reported_and_audited_and_the_others_import(tmp_path, monkeypatch, caplog):
    from analytics.ingest import importer

    real = importer._run_file

    def faulty(con, path, *args, **kwargs):
        if Path(path).name == "b.csv":
            raise RuntimeError("unexpected")
        return real(con, path, *args, **kwargs)

    monkeypatch.setattr(importer, "_run_file", faulty)
    db = tmp_path / "s.duckdb"
    a = write(tmp_path / "a.csv", LOCATED)
    b = write(tmp_path / "b.csv", ["编号,提交时间,镇街,内容", "B1,2024-05-01,瓜沥镇,路灯"])
    c = write(tmp_path / "c.csv", ["编号,提交时间,镇街,内容", "C1,2024-05-01,瓜沥镇,噪声"])
    ra, rb, rc = importer.import_files(db, [a, b, c], user="王五")
    assert ra.error is None and rc.error is None and (ra.imported, rc.imported) == (3, 1)
    assert "导入“b.csv”时出错（错误编号" in rb.error and "其余文件照常导入" in rb.error and "unexpected" not in rb.error
    assert any("b.csv" in r.getMessage() and r.exc_info for r in caplog.records)
    with store.reading(db) as con:
        assert con.execute("SELECT count(*) FROM opinions WHERE opinion_id = 'B1'").fetchone() == (0,)
        assert con.execute("SELECT target, ok FROM audit_log WHERE action = 'import' ORDER BY event_id").fetchall() == [
            ("a.csv", True), ("c.csv", True), ("b.csv", False)]
