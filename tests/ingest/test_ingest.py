"""Import: every quirk of real exports, on tiny files in tests/data/ingest (see make_fixtures.py).

Each test says what an admin would notice: rows counted, values stored, reasons given, nothing
changed when a file cannot be read.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook

from analytics.ingest import importer as ingest
from analytics.store import db as store
from analytics.__main__ import main
from analytics.cli.ingest import format_report
from analytics.core.dates import DateError, parse_column, parse_value
from analytics.ingest.importer import FileReport, ingest_files, plan_file, read_table
from analytics.ingest.readers import ReadError, estimate_rows

DATA = Path(__file__).resolve().parents[1] / "data" / "ingest"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def con(tmp_path):
    c = store.connect(tmp_path / "t.duckdb")
    yield c
    c.close()


def rows(con, sql, params=()):
    return con.execute(sql, list(params)).fetchall()


def one(con, sql, params=()):
    return con.execute(sql, list(params)).fetchone()


def snapshot(con) -> dict:
    """Everything an import may touch, to prove an unreadable file changed nothing."""
    out = store.table_counts(con)
    for t in ("import_batches", "rejected_rows", "row_history"):
        out[t] = one(con, f"SELECT count(*) FROM {t}")[0]
    return out


def ingest_one(con, name_or_path) -> FileReport:
    path = name_or_path if isinstance(name_or_path, Path) else DATA / name_or_path
    (report,) = ingest_files(con, [path])
    return report


def write_csv(path: Path, lines: list[str], encoding="utf-8") -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


OPINION_HEADER = "编号,提交时间,来源渠道,镇街,内容,状态,办结时间"


# ── a real workbook: title rows, merged two-level header, 合计 ────────────────

def test_title_rows_merged_header_and_total_row(con):
    r = ingest_one(con, "opinions_merged.xlsx")
    assert r.error is None
    assert (r.kind, r.rows_read, r.imported, r.rejected, r.skipped) == ("opinions", 5, 5, 0, 3)
    sheet = r.sheets[0]
    assert sheet["sheet"] == "民情民意" and sheet["header_rows"] == [3, 4]  # under a title and a subtitle
    assert sheet["header_row"] == 4  # data starts below it
    fields = {c["header"]: c["field"] for c in sheet["columns"]}
    # sub-headers under the merged group header 办理情况, and headers merged down two rows
    assert fields["承办单位"] == "handler" and fields["办结时间"] == "closed_at"
    assert fields["编号"] == "opinion_id" and fields["满意度"] == "satisfaction"
    assert sheet["unmapped"] == ["备注"]
    # the 说明 sheet is reported, not imported, and does not fail the file
    notes = r.sheets[1]
    assert notes["sheet"] == "说明" and notes["kind"] is None and notes["rows_read"] == 0
    assert notes["error"].startswith("工作表“说明”") and "找不到可识别的表头" in notes["error"]
    assert "工作表“说明”" in format_report([r])  # the admin is told about it
    got = {row[0]: row[1:] for row in rows(con, "SELECT opinion_id, submitted_at, town, content, phone, "
                                                 "status, satisfaction, assigned_at, closed_at FROM opinions")}
    assert set(got) == {"MQ001", "MQ002", "MQ003", "MQ004", "MQ005"}
    # trimmed (full-width space, tab, newline), masked, vocabularies applied
    assert got["MQ001"][2] == "您好，XX路路灯坏了，请联系[手机号]"
    assert got["MQ001"][3] == "138****5678"
    assert got["MQ002"][2] == "晚上施工噪声扰民"
    assert got["MQ002"][1] == "城厢街道"  # short name
    assert got["MQ005"][1] == "萧山经济技术开发区"
    assert got["MQ003"][4:6] == ("已办结", "满意")  # 已完成 / 非常满意 are spellings of these
    assert got["MQ004"][5] == "基本满意"  # 一般
    # 宁围街道 is merged down over rows 7 and 8: both rows get it
    assert got["MQ003"][1] == got["MQ004"][1] == "宁围街道"
    # dates: a real datetime, text, an Excel serial number, Chinese date-time, a float serial
    assert got["MQ001"][0] == dt.datetime(2024, 1, 6, 9, 32, 9)
    assert got["MQ002"][0] == dt.datetime(2024, 1, 6)
    assert got["MQ003"][0] == dt.datetime(2024, 1, 8)
    assert got["MQ004"][0] == dt.datetime(2024, 1, 9, 9, 32)
    assert got["MQ001"][6:] == (dt.datetime(2024, 1, 7), dt.datetime(2024, 1, 8, 10, 0))
    assert got["MQ002"][6] == dt.datetime(2024, 1, 7)
    assert got["MQ003"][6:] == (dt.datetime(2024, 1, 9), dt.datetime(2024, 1, 10))
    assert got["MQ004"][7] == dt.datetime(2024, 1, 10, 12, 0)
    # empty optional values are NULL, never 0 or ''
    assert got["MQ005"][3:] == (None, "待受理", None, None, None)
    # submitter is stored as given (views mask it)
    assert one(con, "SELECT submitter FROM opinions WHERE opinion_id = 'MQ001'")[0] == "张三"


def test_two_level_header_without_vertical_merges(con, tmp_path):
    """Group header above sub-headers, other headers only in the upper row."""
    wb = Workbook()
    ws = wb.active
    ws.append(["民情民意台账"])
    ws.append(["编号", "提交时间", "镇街", "内容", "办理情况", None])
    ws.merge_cells("E2:F2")
    ws.append([None, None, None, None, "承办单位", "办结时间"])
    ws.append(["X1", "2024-05-01 10:00", "瓜沥镇", "噪声", "区环保局", "2024-05-03"])
    wb.save(tmp_path / "two_level.xlsx")
    (sheet,) = read_table(tmp_path / "two_level.xlsx")
    assert sheet.header_rows == [2, 3]
    assert sheet.mapping == {"A": "opinion_id", "B": "submitted_at", "C": "town", "D": "content",
                             "E": "handler", "F": "closed_at"}
    r = ingest_one(con, tmp_path / "two_level.xlsx")
    assert (r.imported, r.rejected) == (1, 0)
    assert one(con, "SELECT handler, closed_at FROM opinions")[0:2] == ("区环保局", dt.datetime(2024, 5, 3))


def test_group_header_joins_its_sub_headers(con, tmp_path):
    """答复 merged over 时间 / 类别 means 答复时间 / 答复类别 — not 类别 (which alone is 分类)."""
    wb = Workbook()
    ws = wb.active
    for col, text in zip("ABCDE", ["建议编号", "届次会次", "提出时间", "领衔代表", "标题"]):
        ws[f"{col}1"] = text
        ws.merge_cells(f"{col}1:{col}2")
    ws["F1"] = "答复"
    ws.merge_cells("F1:G1")
    ws["F2"], ws["G2"] = "时间", "类别"
    ws.append(["J1", "十八届三次", "2024-01-10", "李明", "关于学位的建议", "2024-03-01", "乙类"])
    wb.save(tmp_path / "group.xlsx")
    (sheet,) = read_table(tmp_path / "group.xlsx")
    assert sheet.header_rows == [1, 2]
    assert sheet.mapping["F"] == "answered_at" and sheet.mapping["G"] == "answer_class"
    assert [c.header for c in sheet.columns[5:]] == ["答复时间", "答复类别"]
    assert ingest_one(con, tmp_path / "group.xlsx").imported == 1
    assert one(con, "SELECT answered_at, answer_class, category FROM suggestions") == (dt.date(2024, 3, 1), "B", None)


def _package(path: Path, sheets: dict[str, str], *, shared: str = "", styles: str = "",
             date1904: bool = False, hidden: tuple[str, ...] = ()) -> Path:
    """A minimal .xlsx written by hand, to exercise SpreadsheetML features openpyxl never writes."""
    import zipfile
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ' \
         'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    state = {n: ' state="hidden"' if n in hidden else "" for n in sheets}
    entries = "".join(f'<sheet name="{n}" sheetId="{i}" r:id="rId{i}"{state[n]}/>' for i, n in enumerate(sheets, 1))
    pr = '<workbookPr date1904="1"/>' if date1904 else "<workbookPr/>"
    rels = "".join(f'<Relationship Id="rId{i}" Type="{rel}/worksheet" Target="/xl/worksheets/s{i}.xml"/>'
                   for i in range(1, len(sheets) + 1))
    rels += f'<Relationship Id="rS" Type="{rel}/sharedStrings" Target="strings.xml"/>' if shared else ""
    rels += f'<Relationship Id="rT" Type="{rel}/styles" Target="styles.xml"/>' if styles else ""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("_rels/.rels", f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                                   f'relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" '
                                   f'Target="xl/book.xml"/></Relationships>')
        zf.writestr("xl/book.xml", f"<workbook {ns}>{pr}<sheets>{entries}</sheets></workbook>")
        zf.writestr("xl/_rels/book.xml.rels", f'<Relationships xmlns="http://schemas.openxmlformats.org/package/'
                                              f'2006/relationships">{rels}</Relationships>')
        if shared:
            zf.writestr("xl/strings.xml", f"<sst {ns}>{shared}</sst>")
        if styles:
            zf.writestr("xl/styles.xml", f"<styleSheet {ns}>{styles}</styleSheet>")
        for i, body in enumerate(sheets.values(), 1):
            zf.writestr(f"xl/worksheets/s{i}.xml", f"<worksheet {ns}><sheetData>{body}</sheetData></worksheet>")
    return path


def test_hand_written_workbook_features(con, tmp_path):
    """Inline and rich-text strings (phonetic runs left out), _xHHHH_ escapes, formula text, error
    cells, custom date formats, the 1904 date system, missing rows, cells without references, and a
    hidden sheet — in a package whose parts are not where openpyxl puts them."""
    shared = ("<si><t>编号</t></si><si><t>提交时间</t></si><si><t>镇街</t></si><si><t>内容</t></si>"
              "<si><r><t>瓜沥</t></r><r><t>镇</t></r><rPh><t>ガリ</t></rPh></si>"
              "<si><t>第一行_x000D_\n第二行</t></si>")
    styles = ('<numFmts><numFmt numFmtId="164" formatCode="yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;"/>'
              '</numFmts><cellXfs><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="22"/></cellXfs>')
    body = ('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c t="s"><v>2</v></c>'
            '<c t="s"><v>3</v></c></row>'
            # row 2 missing entirely (a blank row); row 3: serial in a custom date style, 1904 system
            '<row r="3"><c r="A3"><v>1001</v></c><c r="B3" s="1"><v>43836</v></c><c r="C3" t="s"><v>4</v></c>'
            '<c r="D3" t="s"><v>5</v></c></row>'
            '<row r="4"><c r="A4" t="inlineStr"><is><t>1002</t></is></c><c r="B4" s="2"><v>43836.5</v></c>'
            '<c r="C4" t="str"><f>A1</f><v>城厢</v></c><c r="D4" t="inlineStr"><is><r><t>内</t></r>'
            '<r><t>容</t></r></is></c></row>'
            '<row r="5"><c r="A5"><v>1003</v></c><c r="B5" t="e"><v>#N/A</v></c><c r="C5" t="s"><v>4</v></c>'
            '<c r="D5" t="b"><v>1</v></c></row>')
    hidden_body = '<row r="1"><c r="A1" t="inlineStr"><is><t>下拉选项</t></is></c></row>'
    path = _package(tmp_path / "hand.xlsx", {"数据": body, "字典": hidden_body}, shared=shared,
                    styles=styles, date1904=True, hidden=("字典",))
    assert estimate_rows(path) == 5  # no <dimension> in these sheets: row ends are counted instead
    r = ingest_one(con, path)
    assert (r.error, r.rows_read, r.imported, r.rejected, r.skipped) == (None, 3, 2, 1, 1)
    assert r.sheets[1]["note"] == "隐藏工作表" and r.sheets[1]["error"]
    assert rows(con, "SELECT opinion_id, submitted_at, town, content FROM opinions ORDER BY 1") == [
        ("1001", dt.datetime(2024, 1, 7), "瓜沥镇", "第一行\r\n第二行"),  # 43836 in the 1904 system
        ("1002", dt.datetime(2024, 1, 7, 12), "城厢街道", "内容")]
    assert r.rejects[0].row_no == 5 and "#N/A" in r.rejects[0].reason


def test_workbook_with_two_kinds_and_an_empty_sheet(con):
    r = ingest_one(con, "units_reps.xlsx")
    assert r.error is None
    assert r.kind == "units,reps"
    by_sheet = {s["sheet"]: s for s in r.sheets}
    # 常住人口 is optional: "abc" and "-5" keep their rows, with the population unknown and a warning
    assert (by_sheet["基层单元"]["rows_read"], by_sheet["基层单元"]["imported"], by_sheet["基层单元"]["rejected"],
            by_sheet["基层单元"]["warned"]) == (5, 5, 0, 2)
    assert (by_sheet["代表名册"]["header_row"], by_sheet["代表名册"]["imported"]) == (2, 3)
    assert by_sheet["Sheet3"]["note"] == "空工作表" and by_sheet["Sheet3"]["error"] is None
    assert [u for u in rows(con, "SELECT unit_id, level, population FROM units ORDER BY unit_id")
            if u[0] in ("1", "S001", "T01")] == [
        ("1", "总站", None), ("S001", "联络站", 5600), ("T01", "镇街", 1234)]  # 1.0 -> "1"; "1,234" -> 1234
    assert rows(con, "SELECT rep_id, rep_level, town FROM reps ORDER BY rep_id") == [
        ("R001", "区", "瓜沥镇"), ("R002", "省", "城厢街道"), ("R003", "市", "萧山经济技术开发区")]
    reasons = rows(con, "SELECT sheet, row_no, column_name, reason, level FROM rejected_rows ORDER BY row_no")
    assert reasons == [("基层单元", 5, "常住人口（人）", "“abc”不是整数", "warning"),
                       ("基层单元", 6, "常住人口（人）", "“-5”是负数，应为不小于 0 的整数", "warning")]


# ── encodings and delimiters ──────────────────────────────────────────────────

def test_gbk_csv_with_title_and_total_row(con):
    r = ingest_one(con, "opinions_gbk.csv")
    assert (r.error, r.encoding, r.rows_read, r.imported, r.skipped) == (None, "GBK/GB18030", 3, 3, 1)
    assert r.sheets[0]["header_row"] == 2
    assert rows(con, "SELECT opinion_id, town, content, satisfaction FROM opinions ORDER BY 1") == [
        ("GB001", "义桥镇", "垃圾分类点太远", "满意"),
        ("GB002", "河上镇", "老旧小区改造进度慢", None),
        ("GB003", "楼塔镇", "希望开设居家养老助餐点", "基本满意")]


def test_bom_csv_and_every_date_spelling(con):
    r = ingest_one(con, "activities_bom.csv")
    assert (r.error, r.encoding, r.imported, r.rejected) == (None, "UTF-8（带 BOM）", 8, 0)
    assert r.sheets[0]["columns"][0]["header"] == "活动编号"  # the BOM is not part of the first header
    assert rows(con, "SELECT DISTINCT date FROM activities") == [(dt.date(2024, 1, 6),)]
    assert rows(con, "SELECT headcount, opinions_collected FROM activities WHERE activity_id = 'A03'") == [(3, 6)]


def test_tab_delimited_csv(con):
    r = ingest_one(con, "suggestions_tab.csv")
    assert (r.error, r.imported) == (None, 2)
    assert rows(con, "SELECT suggestion_id, submitted_at, submit_type, supervision, answer_class, co_reps, "
                     "answered_at FROM suggestions ORDER BY 1") == [
        ("JY001", dt.date(2024, 1, 10), "大会期间", "常委会重点督办", "A", "王芳;赵强", dt.date(2024, 3, 20)),
        ("JY002", dt.date(2024, 1, 11), "闭会期间", "各委办对口督办", None, None, None)]


def test_utf16_tab_text_as_excel_saves_unicode_text(con, tmp_path):
    path = tmp_path / "unicode.txt"
    path.write_text("编号\t提交时间\t镇街\t内容\nU1\t2024-01-06\t衙前镇\t路面破损\n", encoding="utf-16")
    r = ingest_one(con, path)
    assert (r.error, r.encoding, r.imported) == (None, "UTF-16", 1)
    assert one(con, "SELECT town, content FROM opinions") == ("衙前镇", "路面破损")


def test_csv_row_numbers_count_records_as_excel_shows_them(con, tmp_path):
    """A quoted value with a line break is one row in Excel; later row numbers must agree."""
    path = write_csv(tmp_path / "nl.csv", [OPINION_HEADER, 'N1,2024-01-06,民声e,瓜沥镇,"第一行\n第二行",办理中,',
                                           "N2,坏日期,民声e,瓜沥镇,内容,办理中,"])
    r = ingest_one(con, path)
    assert r.rejects[0].row_no == 3
    assert one(con, "SELECT content FROM opinions") == ("第一行\n第二行",)


def test_semicolon_lists_do_not_fool_the_delimiter(con, tmp_path):
    names = ";".join(f"代表{i}" for i in range(12))  # more semicolons than the header has commas
    path = write_csv(tmp_path / "act.csv", ["活动编号,活动日期,镇街,活动类型,参与代表",
                                            f"H1,2024-07-01,义桥镇,讲座,{names}"])
    r = ingest_one(con, path)
    assert (r.error, r.imported) == (None, 1)
    assert one(con, "SELECT type, participants FROM activities")[0:2] == ("法治讲座", names)


# ── dates ─────────────────────────────────────────────────────────────────────

@pytest.mark.parametrize("value, expected", [
    ("2024/1/6 9:32:09", dt.datetime(2024, 1, 6, 9, 32, 9)),
    ("2024-01-06", dt.datetime(2024, 1, 6)),
    ("2024-01-06 09:32", dt.datetime(2024, 1, 6, 9, 32)),
    ("2024-01-06T09:32:09", dt.datetime(2024, 1, 6, 9, 32, 9)),
    ("2024年1月6日", dt.datetime(2024, 1, 6)),
    ("2024年1月6日 9时32分", dt.datetime(2024, 1, 6, 9, 32)),
    ("2024年1月6日9时32分15秒", dt.datetime(2024, 1, 6, 9, 32, 15)),
    ("2024.1.6", dt.datetime(2024, 1, 6)),
    ("20240106", dt.datetime(2024, 1, 6)),
    ("202401060932", dt.datetime(2024, 1, 6, 9, 32)),
    ("45297", dt.datetime(2024, 1, 6)),
    ("45297.5", dt.datetime(2024, 1, 6, 12)),
    (45297, dt.datetime(2024, 1, 6)),
    (45297.25, dt.datetime(2024, 1, 6, 6)),
    (20240106, dt.datetime(2024, 1, 6)),
    ("２０２４－０１－０６", dt.datetime(2024, 1, 6)),  # full-width digits
    (dt.datetime(2024, 1, 6, 9, 32, 9), dt.datetime(2024, 1, 6, 9, 32, 9)),
    (dt.date(2024, 1, 6), dt.datetime(2024, 1, 6)),
    (dt.datetime(2024, 1, 6, 9, 32, 8, 999999), dt.datetime(2024, 1, 6, 9, 32, 9)),  # Excel float noise
])
def test_every_accepted_date_spelling(value, expected):
    assert parse_value(value) == expected
    series, errors = parse_column([value, None])
    assert errors == {} and series.iloc[0] == expected and series.isna().iloc[1]


@pytest.mark.parametrize("value, words", [
    ("2024-13-45", "不是有效的日期"), ("2024-02-30", "不是有效的日期"), ("昨天", "不是可识别的日期"),
    ("2024-01", "不是可识别的日期"), ("1850-01-01", "超出合理范围"), (12, "不是合理的 Excel 日期序号"),
    (dt.time(9, 30), "只有时间"),
])
def test_bad_dates_have_chinese_reasons(value, words):
    with pytest.raises(DateError, match=words):
        parse_value(value)
    _, errors = parse_column(["2024-01-06", value])
    assert words in errors[1]


def test_mixed_formats_in_one_column_take_the_fast_path_and_the_slow_one():
    values = ["2024-01-06 09:00:00"] * 3 + ["2024/1/7", "2024年1月8日", "2024-02-30 00:00:00", None]
    series, errors = parse_column(values, date_only=True)
    assert [x.date() if x == x else None for x in series] == [
        dt.date(2024, 1, 6)] * 3 + [dt.date(2024, 1, 7), dt.date(2024, 1, 8), None, None]
    assert list(errors) == [5]


# ── bad rows ──────────────────────────────────────────────────────────────────

def test_bad_rows_are_listed_and_good_rows_imported(con):
    r = ingest_one(con, "bad_rows.csv")
    # Rejected: a required field missing or unreadable, a repeated id, dates out of order. An
    # optional value not understood (an unknown town, status) keeps its row, with a warning.
    assert (r.error, r.rows_read, r.imported, r.rejected, r.warned) == (None, 9, 4, 5, 2)
    assert sorted(x[0] for x in rows(con, "SELECT opinion_id FROM opinions")) == ["B2", "B4", "G1", "G2"]
    got = rows(con, "SELECT file_name, sheet, row_no, column_name, reason, level FROM rejected_rows "
                    "WHERE batch_id = ? ORDER BY row_no, column_name", [r.batch_id])
    assert [(g[2], g[3], g[5]) for g in got] == [
        (3, "提交时间", "reject"), (4, "镇街", "warning"), (5, "内容", "reject"), (6, "状态", "warning"),
        (7, "办结时间", "reject"), (8, "编号", "reject"), (10, "提交时间", "reject"), (10, "来源渠道", "reject")]
    assert all(g[0] == "bad_rows.csv" and g[1] is None for g in got)
    reasons = {(g[2], g[3]): g[4] for g in got}
    assert "2024-13-45" in reasons[(3, "提交时间")]
    assert "火星镇" in reasons[(4, "镇街")] and "未定位" in reasons[(4, "镇街")]
    assert reasons[(5, "内容")] == "必填项“内容”为空"
    assert "处理完毕" in reasons[(6, "状态")] and "已办结" in reasons[(6, "状态")]  # names accepted values
    assert "早于提交时间" in reasons[(7, "办结时间")]
    assert reasons[(8, "编号")] == "与第2行编号重复"
    assert "微信" in reasons[(10, "来源渠道")]  # a rejected row lists every problem it has
    # The stored rows: the unknown town is 未定位 (NULL), the unknown status kept as given.
    assert rows(con, "SELECT opinion_id, town, status FROM opinions WHERE opinion_id IN ('B2', 'B4') "
                     "ORDER BY 1") == [("B2", None, "已办结"), ("B4", "瓜沥镇", "处理完毕")]
    assert r.unlocated == 1
    raw = json.loads(one(con, "SELECT raw FROM rejected_rows WHERE row_no = 3")[0])
    assert raw == {"编号": "B1", "提交时间": "2024-13-45", "来源渠道": "民声e", "镇街": "瓜沥镇",
                   "内容": "日期写错", "状态": "已办结", "办结时间": ""}
    # the command line shows file, row, column and reason; warnings apart, grouped by value
    text = format_report([r])
    assert "bad_rows.csv 第 3 行 【提交时间】“2024-13-45”" in text
    assert "已入库但有提醒的行（2 行" in text and "bad_rows.csv 第 4 行 【镇街】“火星镇”不是萧山区的镇街" in text
    assert "1 条意见没有镇街" in text


def test_rejected_raw_values_are_masked_like_stored_ones(con, tmp_path):
    path = write_csv(tmp_path / "o.csv", ["编号,提交时间,镇街,内容,联系电话",
                                          "P1,坏日期,瓜沥镇,请回电13812345678,13812345678"])
    r = ingest_one(con, path)
    assert r.rejected == 1
    raw = one(con, "SELECT raw FROM rejected_rows")[0]
    assert "13812345678" not in raw and "[手机号]" in raw and "138****5678" in raw


def test_personal_data_in_full_width_characters_is_masked_too(con, tmp_path):
    path = write_csv(tmp_path / "fw.csv", ["编号,提交时间,镇街,标题,内容",
                                           "F1,2024-01-06,瓜沥镇,回电１３８１２３４５６７８,邮箱ａｂ＠ｑｑ．ｃｏｍ，谢谢"])
    assert ingest_one(con, path).imported == 1
    assert one(con, "SELECT title, content FROM opinions") == ("回电[手机号]", "邮箱[邮箱]，谢谢")


def test_integers_accept_commas_and_units_and_reject_the_rest(con, tmp_path):
    path = write_csv(tmp_path / "u.csv", ["单元编号,单元名称,层级,常住人口",
                                          "U1,甲,联络站,\"1,234\"", "U2,乙,联络站,12.0", "U3,丙,联络站,800人",
                                          "U4,丁,联络站,3.5", "U5,戊,联络站,-1", "U6,己,联络站,"])
    r = ingest_one(con, path)
    assert (r.imported, r.rejected, r.warned) == (6, 0, 2)  # an optional count that is not one: unknown
    assert rows(con, "SELECT unit_id, population FROM units ORDER BY 1") == [
        ("U1", 1234), ("U2", 12), ("U3", 800), ("U4", None), ("U5", None), ("U6", None)]
    assert [x.reason for x in r.rejects] == ["“3.5”不是整数", "“-1”是负数，应为不小于 0 的整数"]
    # a 23-digit number is not a count either, and says so (it used to crash the import)
    big = ingest_one(con, write_csv(tmp_path / "big.csv", ["单元编号,单元名称,层级,常住人口",
                                                           "U7,庚,联络站,12345678901234567890123"]))
    assert (big.error, big.imported, big.warned) == (None, 1, 1) and "太大" in big.rejects[0].reason


def test_missing_required_column_names_it(con, tmp_path):
    path = write_csv(tmp_path / "no_content.csv", ["编号,提交时间,镇街,标题", "1,2024-01-01,瓜沥镇,路灯"])
    before = snapshot(con)
    r = ingest_one(con, path)
    assert r.error and "民情民意" in r.error and "缺少必填列" in r.error and "内容" in r.error
    assert "意见内容" in r.error  # says how else the column may be written
    assert snapshot(con) == before


@pytest.mark.parametrize("header, message", [
    ("编号,名字,金额", "文件前 20 行中找不到可识别的表头；各类导出需要的表头见 docs/data-contract.md"),
    ("建议编号,标题,分类", "文件无法识别为任何一类导出：最接近的是“代表建议”，但缺少必填列 届次会次、提出时间、领衔代表"),
    ("编号,单元名称,金额", "文件是“基层单元”导出，但缺少必填列：层级（也可写作 单元层级、级别、单元类型）"),
])
def test_unknown_or_incomplete_kind_is_one_clear_message(con, tmp_path, header, message):
    path = write_csv(tmp_path / "other.csv", [header, "1,甲,3"])
    r = ingest_one(con, path)
    assert r.error.startswith(f"无法导入“other.csv”：{message}")


# ── files that are not spreadsheets ───────────────────────────────────────────

@pytest.mark.parametrize("name, words", [
    ("picture.xlsx", "PNG 图片"),
    ("random_bytes.xlsx", "内容不是 Excel 工作簿"),
    ("notes.csv", "找不到可识别的表头"),
    ("empty.csv", "文件是空的"),
    ("old_excel.xls", "另存为"),
    ("web_export.xls", "网页"),
])
def test_unreadable_file_changes_nothing(con, name, words):
    ingest_one(con, "opinions_gbk.csv")
    before = snapshot(con)
    r = ingest_one(con, name)
    assert r.error.startswith(f"无法导入“{name}”：") and words in r.error
    assert (r.batch_id, r.rows_read, r.kind) == (None, 0, None)
    assert snapshot(con) == before


def test_other_unreadable_files(con, tmp_path):
    import zipfile
    with zipfile.ZipFile(tmp_path / "doc.xlsx", "w") as zf:
        zf.writestr("word/document.xml", "<w/>")
    good = (DATA / "opinions_merged.xlsx").read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(good[: len(good) // 2])
    (tmp_path / "latin.csv").write_bytes("编号,提交时间\n".encode("utf-8") + b"\xff\xfe\xfa\x80\x81\n")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    before = snapshot(con)
    reports = ingest_files(con, [tmp_path / n for n in ("doc.xlsx", "cut.xlsx", "latin.csv", "photo.png", "missing.csv")])
    messages = [r.error for r in reports]
    assert "不是 Excel 工作簿" in messages[0]
    assert "损坏" in messages[1]
    assert "编码" in messages[2]
    assert "PNG" in messages[3]
    assert "不存在" in messages[4]
    assert snapshot(con) == before


# ── idempotency and history ───────────────────────────────────────────────────

def test_same_file_twice_is_all_unchanged(con):
    first = ingest_files(con, [DATA / "opinions_merged.xlsx", DATA / "units_reps.xlsx"])
    second = ingest_files(con, [DATA / "opinions_merged.xlsx", DATA / "units_reps.xlsx"])
    for a, b in zip(first, second):
        assert b.unchanged == a.imported + a.updated and b.imported == b.updated == 0
        assert b.rejected == a.rejected  # bad rows stay bad, and are listed again
    # unchanged rows are not rewritten: they still belong to the first batch
    assert rows(con, "SELECT DISTINCT batch_id FROM opinions") == [(first[0].batch_id,)]
    assert one(con, "SELECT count(*) FROM row_history WHERE batch_id = ?", [second[0].batch_id])[0] == 0
    assert one(con, "SELECT count(*) FROM import_batches")[0] == 4


def test_changed_row_is_updated_and_history_keeps_the_old_row(con, tmp_path):
    a = write_csv(tmp_path / "a.csv", [OPINION_HEADER,
                                       "K1,2024-01-01 08:00,民声e,瓜沥镇,第一条,办理中,",
                                       "K2,2024-01-02 08:00,民声e,瓜沥镇,第二条,办理中,",
                                       "K3,2024-01-03 08:00,民声e,瓜沥镇,第三条,办理中,"])
    ra = ingest_one(con, a)
    assert ra.imported == 3
    assert rows(con, "SELECT row_key, action, old_row FROM row_history ORDER BY row_key") == [
        ("K1", "insert", None), ("K2", "insert", None), ("K3", "insert", None)]
    # a later, overlapping export: K1 dropped out, K2 the same, K3 closed since, K4 new
    b = write_csv(tmp_path / "b.csv", [OPINION_HEADER,
                                       "K2,2024-01-02 08:00,民声e,瓜沥镇,第二条,办理中,",
                                       "K3,2024-01-03 08:00,民声e,瓜沥镇,第三条,已办结,2024-01-05 09:00",
                                       "K4,2024-01-04 08:00,走访,城厢街道,第四条,办理中,"])
    rb = ingest_one(con, b)
    assert (rb.rows_read, rb.imported, rb.updated, rb.unchanged, rb.rejected) == (3, 1, 1, 1, 0)
    assert rows(con, "SELECT opinion_id, status, closed_at, batch_id FROM opinions ORDER BY 1") == [
        ("K1", "办理中", None, ra.batch_id), ("K2", "办理中", None, ra.batch_id),
        ("K3", "已办结", dt.datetime(2024, 1, 5, 9), rb.batch_id), ("K4", "办理中", None, rb.batch_id)]
    hist = rows(con, "SELECT row_key, action, old_row FROM row_history WHERE batch_id = ? ORDER BY 1", [rb.batch_id])
    assert [(h[0], h[1]) for h in hist] == [("K3", "update"), ("K4", "insert")]
    old = json.loads(hist[0][2])
    assert old["status"] == "办理中" and old["closed_at"] is None and old["batch_id"] == ra.batch_id
    # importing b again: nothing to do
    rc = ingest_one(con, b)
    assert (rc.imported, rc.updated, rc.unchanged) == (0, 0, 3)


def test_same_rows_from_xlsx_and_csv_hash_alike(con, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(OPINION_HEADER.split(","))
    ws.append(["K1", dt.datetime(2024, 1, 1, 8, 0), "民声e", "瓜沥镇", "第一条", "办理中", None])
    wb.save(tmp_path / "a.xlsx")
    csv_path = write_csv(tmp_path / "a.csv", [OPINION_HEADER, "K1,2024/1/1 8:00:00,民声E,瓜沥,第一条 ,办理中,"])
    assert ingest_one(con, tmp_path / "a.xlsx").imported == 1
    assert ingest_one(con, csv_path).unchanged == 1


def test_batch_records_file_hash_counts_and_sheets(con):
    r = ingest_one(con, "units_reps.xlsx")
    b = one(con, "SELECT file_name, sha256, kinds, imported_by, rows_read, imported, updated, unchanged, "
                 "rejected, skipped, sheets FROM import_batches WHERE batch_id = ?", [r.batch_id])
    import hashlib
    assert b[0] == "units_reps.xlsx"
    assert b[1] == hashlib.sha256((DATA / "units_reps.xlsx").read_bytes()).hexdigest()
    assert b[2] == "units,reps" and b[4:10] == (8, 8, 0, 0, 0, 0)
    assert [s["sheet"] for s in json.loads(b[10])] == ["基层单元", "代表名册", "Sheet3"]


def test_duplicate_key_across_sheets_names_the_sheet(con, tmp_path):
    wb = Workbook()
    for title in ("一月", "二月"):
        ws = wb.create_sheet(title)
        ws.append(["编号", "提交时间", "镇街", "内容"])
        ws.append(["D1", "2024-01-01", "瓜沥镇", f"{title}的内容"])
    del wb["Sheet"]
    wb.save(tmp_path / "two.xlsx")
    r = ingest_one(con, tmp_path / "two.xlsx")
    assert (r.imported, r.rejected) == (1, 1)
    assert r.rejects[0].reason == "与工作表“一月”第2行编号重复" and r.rejects[0].sheet == "二月"


def test_repeated_header_rows_and_notes_are_skipped(con, tmp_path):
    path = write_csv(tmp_path / "paged.csv", [OPINION_HEADER, "R1,2024-01-01,民声e,瓜沥镇,一,办理中,",
                                              "", OPINION_HEADER, "R2,2024-01-02,民声e,瓜沥镇,二,办理中,",
                                              "小计,2", "注：本表数据截至2024年1月31日", "", ""])
    r = ingest_one(con, path)
    # blank line 3, header line 4, 小计, 注; trailing blank lines are not rows at all
    assert (r.rows_read, r.imported, r.skipped) == (2, 2, 4)


# ── atomicity ─────────────────────────────────────────────────────────────────

def test_failure_while_writing_rolls_the_file_back(con, monkeypatch):
    ingest_one(con, "opinions_gbk.csv")
    before = snapshot(con)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ingest, "_write_rejects", boom)
    with pytest.raises(RuntimeError):
        ingest_one(con, "bad_rows.csv")
    assert snapshot(con) == before
    monkeypatch.undo()
    assert ingest_one(con, "bad_rows.csv").imported == 4  # the connection is still usable


def test_one_bad_file_does_not_stop_the_others(con):
    reports = ingest_files(con, [DATA / "picture.xlsx", DATA / "opinions_gbk.csv"])
    assert reports[0].error and reports[1].error is None and reports[1].imported == 3


# ── preview without storing ───────────────────────────────────────────────────

def test_read_table_previews_without_a_store():
    sheets = read_table(DATA / "bad_rows.csv")
    (s,) = sheets
    assert (s.kind, s.header_row, s.rows_read, s.rejected) == ("opinions", 1, 9, 5)
    assert s.mapping["D"] == "town"
    assert list(s.frame["opinion_id"]) == ["G1", "B2", "B4", "G2"] and list(s.frame["row_no"]) == [2, 4, 6, 9]
    assert [x.row_no for x in s.rejects if x.level == "reject"][:3] == [3, 5, 7]
    with pytest.raises(ReadError, match="PNG"):
        read_table(DATA / "picture.xlsx")


def test_read_table_limit_reads_only_the_first_rows():
    (s, _) = read_table(DATA / "opinions_merged.xlsx", limit=2)
    assert s.rows_read == 2 and len(s.frame) == 2


def test_plan_file_counts_without_writing(con):
    ingest_one(con, "opinions_gbk.csv")
    before = snapshot(con)
    plan = plan_file(con, DATA / "opinions_gbk.csv")
    assert (plan.unchanged, plan.imported, plan.batch_id) == (3, 0, None)
    plan = plan_file(con, DATA / "bad_rows.csv")
    assert (plan.imported, plan.rejected, plan.error) == (4, 5, None)
    assert snapshot(con) == before


def test_progress_is_reported(con):
    calls = []
    ingest_files(con, [DATA / "opinions_gbk.csv", DATA / "activities_bom.csv"],
                 progress=lambda done, total, msg: calls.append((done, total, msg)))
    assert calls and all(isinstance(d, int) and isinstance(m, str) for d, _, m in calls)
    assert calls[-1][2] == "导入完成" and calls[-1][0] == calls[-1][1] == 3 + 1 + 8
    # a workbook's total comes from its sheets' sizes (see also the hand-written workbook test)
    calls.clear()
    ingest_files(con, [DATA / "opinions_merged.xlsx"], progress=lambda d, t, m: calls.append((d, t, m)))
    assert calls[0][1] == 14


# ── command line ──────────────────────────────────────────────────────────────

JSON_KEYS = {"file", "kind", "rows_read", "imported", "updated", "unchanged", "rejected", "error"}


def test_cli_json_and_exit_status_in_a_subprocess(tmp_path):
    db = tmp_path / "cli.duckdb"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("COCKPIT_DB", None)
    run = subprocess.run([sys.executable, "-m", "analytics", "ingest", str(DATA / "bad_rows.csv"),
                          str(DATA / "notes.csv"), "--db", str(db), "--json"],
                         cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert run.returncode == 1, run.stderr
    out = json.loads(run.stdout)
    good, bad = out["files"]
    assert JSON_KEYS <= set(good) and JSON_KEYS <= set(bad)
    assert (good["kind"], good["rows_read"], good["imported"], good["rejected"], good["error"]) == (
        "opinions", 9, 4, 5, None)
    assert bad["error"].startswith("无法导入“notes.csv”") and bad["kind"] is None and bad["rows_read"] == 0


def test_cli_human_output_and_success(tmp_path, capsys):
    db = tmp_path / "h.duckdb"
    assert main(["ingest", str(DATA / "bad_rows.csv"), str(DATA / "units_reps.xlsx"), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "bad_rows.csv（民情民意）：读取 9 行 → 新增 4、更新 0、不变 0、拒收 5（其中 2 行有提醒）" in out
    assert "units_reps.xlsx 工作表“基层单元” 第 5 行 【常住人口（人）】“abc”不是整数" in out
    assert main(["ingest", str(DATA), "--db", str(db), "--json"]) == 1  # a folder: all files, some unreadable
    files = json.loads(capsys.readouterr().out)["files"]
    assert {Path(f["file"]).name for f in files if f["error"] is None} == {
        "activities_bom.csv", "bad_rows.csv", "opinions_gbk.csv", "opinions_merged.xlsx",
        "suggestions_tab.csv", "units_reps.xlsx"}


def test_cli_lists_only_the_first_rejects(tmp_path, capsys):
    lines = [OPINION_HEADER] + [f"Z{i},坏,民声e,瓜沥镇,x,办理中," for i in range(30)]
    path = write_csv(tmp_path / "many.csv", lines)
    assert main(["ingest", str(path), "--db", str(tmp_path / "m.duckdb")]) == 0
    out = capsys.readouterr().out
    assert out.count("【提交时间】") == ingest.SHOWN_REJECTS
    assert "其余 10 处" in out and "rejected_rows" in out


# ── speed guard ───────────────────────────────────────────────────────────────

def test_ten_thousand_rows_import_quickly(con, tmp_path):
    """A regression guard, far below the measured ~20k rows/s: per-row SQL would fail it."""
    import time
    lines = [OPINION_HEADER] + [f"S{i:06d},2024-01-{i % 28 + 1:02d} 08:00:00,民声e,瓜沥镇,内容{i}电话13812345678,办理中,"
                                for i in range(10_000)]
    path = write_csv(tmp_path / "big.csv", lines)
    t0 = time.perf_counter()
    r = ingest_one(con, path)
    assert r.imported == 10_000
    assert time.perf_counter() - t0 < 15
