"""The quarterly 晾晒 report: the .docx opens with python-docx and its ranking table has the 23 towns
in rank order (样本不足 last), every run carries an East Asian font, the charts are in; the .xlsx
opens with openpyxl and neutralises formula-like text; the summary is written from the numbers
(rising hot words only when there are some); the CLI writes both files.

Stores: the small demo of tests/conftest.py (``demo_db``: 1 year, scale 0.05, built by the first-start
bootstrap), and the five-town golden store of tests/domain/test_ranking.py (hand-computed ranks, a tie, a
样本不足 town).
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import docx
import openpyxl
import pandas as pd
import pytest
from docx.oxml.ns import qn

from analytics.reports import quarterly as report
from analytics.store import db as store
from analytics.__main__ import main
from analytics.core.contract import load_contract

from tests.domain.test_ranking import build_tie_store  # noqa: E402


@pytest.fixture(scope="module")
def written(demo_db, tmp_path_factory) -> dict:
    con = store.connect(demo_db, read_only=True)
    try:
        return report.write_report(con, tmp_path_factory.mktemp("out"))
    finally:
        con.close()


def ranking_table(document):
    for t in document.tables:
        if [c.text for c in t.rows[0].cells[:3]] == ["排名", "排名区间", "镇街"]:
            return t
    raise AssertionError("no ranking table in the document")


def test_docx_ranking_table_has_the_23_towns_in_rank_order(written):
    d = docx.Document(str(written["docx"]))
    t = ranking_table(d)
    rows = [[c.text for c in r.cells] for r in t.rows[1:]]
    assert len(rows) == 23
    assert sorted(r[2] for r in rows) == sorted(load_contract().towns)
    ranked = [int(r[0]) for r in rows if r[0] != "—"]
    assert ranked == sorted(ranked) and ranked[0] == 1
    # 样本不足 rows (if any) come after every ranked row.
    flags = [r[0] == "—" for r in rows]
    assert flags == sorted(flags)
    # Ties share a rank and the next rank skips ("1224"): a rank r is held by ≤ (next rank − r) towns.
    for a, b in zip(ranked, ranked[1:]):
        assert b == a or b == a + ranked.count(a)
    # Header row repeats on every page.
    assert t.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None


def test_docx_has_title_summary_charts_points_and_appendix(written):
    d = docx.Document(str(written["docx"]))
    text = "\n".join(p.text for p in d.paragraphs)
    assert report.REPORT_TITLE in text and "生成日期" in text and "数据截至" in text
    for heading in ("一、总体情况", "二、综合排名", "三、月度量化专项行动积分", "四、人均视图",
                    "附录一", "附录二", "附录三"):
        assert heading in text
    assert "综合指数居前的是" in text and "综合指数靠后的是" in text
    assert len(d.inline_shapes) == 3  # ranking with ranges, indices heat map, points progress
    points_table = next(t for t in d.tables if t.rows[0].cells[0].text == "镇街" and "季度积分" in
                        [c.text for c in t.rows[0].cells])
    assert len(points_table.rows) == 1 + 23
    assert "活跃指数" in text and "进站接待" in text  # definitions from the configurations


def test_every_run_has_an_east_asian_font(written):
    d = docx.Document(str(written["docx"]))
    runs = [r for p in d.paragraphs for r in p.runs if r.text]  # (a picture's run holds no text)
    runs += [r for t in d.tables for row in t.rows for c in row.cells for p in c.paragraphs for r in p.runs if r.text]
    assert len(runs) > 200
    for r in runs:
        fonts = r._element.rPr.find(qn("w:rFonts"))
        assert fonts is not None and fonts.get(qn("w:eastAsia")) in (report.FONT_BODY, report.FONT_HEAD), r.text
    # The styles too, without theme fonts that would override the names.
    for name in ("Normal", "Heading 1"):
        fonts = d.styles[name].element.rPr.find(qn("w:rFonts"))
        assert fonts.get(qn("w:eastAsia")) and fonts.get(qn("w:eastAsiaTheme")) is None


def test_xlsx_opens_with_the_same_ranking(written):
    wb = openpyxl.load_workbook(written["xlsx"])
    assert wb.sheetnames == ["综合排名", "各指数排名", "月度积分", "人均视图", "热点问题", "说明"]
    ws = wb["综合排名"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:5] == ("排名", "排名区间下限", "排名区间上限", "单元编号", "镇街")
    assert len(rows) == 24
    d = docx.Document(str(written["docx"]))
    assert [r[4] for r in rows[1:]] == [row.cells[2].text for row in ranking_table(d).rows[1:]]
    assert len(list(wb["月度积分"].iter_rows())) == 24 and len(list(wb["各指数排名"].iter_rows())) == 1 + 5 * 23


JARGON = ("beta", "gamma", "Hazen", "Poisson", "泊松", "二项分布", "百分位", "收缩", "data/", "docs/", ".toml", ".md")


def test_the_appendix_explains_the_methods_in_plain_chinese(written):
    """The chair reads the appendix: the pull towards the average, scores as places, the rank range
    in words, no file path and no statistician's name for a method."""
    d = docx.Document(str(written["docx"]))
    text = "\n".join(p.text for p in d.paragraphs)
    appendix = text[text.index("附录一"):]
    for word in JARGON:
        assert word not in text, word
    assert "平均水平拉近" in appendix and "位置" in appendix and "名次可能的范围" in appendix
    notes = "\n".join(str(r[0]) for r in openpyxl.load_workbook(written["xlsx"])["说明"].iter_rows(values_only=True))
    assert not [w for w in JARGON if w in notes]


def test_xlsx_cells_have_number_formats(written):
    """Shares read 84.8%, scores one decimal, ranks whole: the number format, not rounded text."""
    wb = openpyxl.load_workbook(written["xlsx"])

    def formats(ws, name):
        j = [c.value for c in ws[1]].index(name)
        return {r[j].number_format for r in ws.iter_rows(min_row=2) if r[j].value is not None}

    ranking_ws, points_ws = wb["综合排名"], wb["月度积分"]
    assert formats(ranking_ws, "综合指数") == {"0.0"} and formats(ranking_ws, "排名") == {"0"}
    assert formats(ranking_ws, "得分变化") == {"+0.0;-0.0;0.0"}
    assert formats(points_ws, "季度完成进度") == {"0.0%"} and formats(points_ws, "季度积分") == {"0.0"}
    assert formats(wb["各指数排名"], "得分") == {"0.0"}


def test_safe_export_number_formats():
    frame = pd.DataFrame({"议题": ["=1+1"], "得分": [12.34567], "未解决": [0.8476]})
    wb = openpyxl.load_workbook(io.BytesIO(report.safe_export.to_xlsx(
        {"表": frame}, formats={"表": {"得分": report.safe_export.ONE_DECIMAL, "未解决": report.safe_export.PERCENT}})))
    ws = wb["表"]
    assert [(c.value, c.number_format) for c in ws[2]] == [("'=1+1", "General"), (12.34567, "0.0"), (0.8476, "0.0%")]


def test_xlsx_neutralises_formula_like_text(tmp_path):
    db = build_tie_store(tmp_path / "evil.duckdb", {"T2": "=HYPERLINK(\"http://x\")", "T3": "@SUM(A1)"})
    con = store.connect(db, read_only=True)
    try:
        data = report.gather(con, "2024Q2")
    finally:
        con.close()
    wb = openpyxl.load_workbook(io.BytesIO(report.build_xlsx(data)))
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            for v in row:
                assert not (isinstance(v, str) and v[:1] in "=+-@"), (ws.title, v)
    names = [r[4] for r in wb["综合排名"].iter_rows(min_row=2, values_only=True)]
    assert "'=HYPERLINK(\"http://x\")" in names and "'@SUM(A1)" in names
    assert report.safe_cell("-3") == "'-3" and report.safe_cell(-3) == -3 and report.safe_cell("甲") == "甲"


def test_small_store_report_keeps_ties_and_lists_insufficient_last(tmp_path):
    db = build_tie_store(tmp_path / "tie.duckdb")
    con = store.connect(db, read_only=True)
    try:
        data = report.gather(con, "2024Q2")
    finally:
        con.close()
    header, rows = report.ranking_rows(data)
    assert [r[0] for r in rows] == ["1", "2", "2", "4", "—"]
    assert [r[2] for r in rows] == ["瓜沥镇", "城厢街道", "河上镇", "楼塔镇", "义桥镇"]
    assert rows[-1][1] == "样本不足" and rows[0][4].startswith("↑3")
    summary = "\n".join(report.summary_paragraphs(data))
    assert "1 个因数据不足（样本不足）未排名：义桥镇" in summary
    assert "上升最多的是瓜沥镇（上升 3 位，+75.0 分）" in summary
    assert "下降最多的是楼塔镇（下降 3 位，-75.0 分）" in summary
    d = docx.Document(io.BytesIO(report.build_docx(data)))
    assert len(ranking_table(d).rows) == 1 + 5
    # Per-capita: a missing 常住人口 is 未知, never 0.
    header, rows = report.per_capita_rows(data)
    by_town = {r[0]: r for r in rows}
    assert by_town["城厢街道"][1] == "未知" and by_town["城厢街道"][3] == "未知"
    assert by_town["瓜沥镇"][1] == "4.0"


def test_rising_words_sentence_only_when_there_are_some(tmp_path):
    db = build_tie_store(tmp_path / "tie.duckdb")
    con = store.connect(db, read_only=True)
    try:
        data = report.gather(con, "2024Q2")
    finally:
        con.close()
    assert data.rising is None  # no segmented opinions in this store: the sentence is left out
    assert not any("热词" in p for p in report.summary_paragraphs(data))
    data.rising = pd.DataFrame({"word": ["加装电梯", "停车"]})
    assert any("“加装电梯”、“停车”" in p for p in report.summary_paragraphs(data))


def test_cli_report_defaults_to_the_latest_quarter(demo_db, tmp_path, capsys):
    assert main(["report", "--db", str(demo_db), "--out", str(tmp_path / "专报")]) == 0
    out = capsys.readouterr().out
    files = sorted(p.name for p in (tmp_path / "专报").iterdir())
    assert len(files) == 2 and files[0].endswith(".docx") and files[1].endswith(".xlsx")
    assert files[0] in out
    con = store.connect(demo_db, read_only=True)
    try:
        from analytics.domain.metrics import latest_period
        assert latest_period(con, "quarter").code in files[0]
        # the report is an export: in the audit log, by the system user
        (who, target), = con.execute("SELECT actor, target FROM audit_log WHERE action = 'export' "
                                     "AND target LIKE '季度专报%' ORDER BY event_id DESC LIMIT 1").fetchall()
        assert who == store.login_name() and target == f"季度专报 {out.split('已生成 ')[1].split(' 季度')[0]}"
    finally:
        con.close()
    assert main(["report", "--db", str(demo_db), "--out", str(tmp_path), "--quarter", "2024-05"]) == 2
    assert "季度" in capsys.readouterr().err


def test_charts_use_a_cjk_font():
    family = report.cjk_font_family()
    if family is None:
        pytest.skip("no CJK font on this machine")
    assert "CJK" in family or "Hei" in family or "PingFang" in family or "YaHei" in family


def test_report_lists_the_quarters_hot_issues(demo_db):
    import docx
    import openpyxl

    from analytics.domain import hotissues

    con = store.connect(demo_db, read_only=True)
    try:
        data = report.gather(con)
        expected = hotissues.quarter_hot_issues(con, data.period, top=report.HOT_ISSUES)
    finally:
        con.close()
    assert expected and [it["title"] for it in data.hot_issues] == [it["title"] for it in expected]
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(report.build_docx(data))).paragraphs)
    assert "五、群众反映的热点问题" in text and "热度 = " in text
    cells = [c.text for t in docx.Document(io.BytesIO(report.build_docx(data))).tables for r in t.rows for c in r.cells]
    assert expected[0]["title"] in cells
    wb = openpyxl.load_workbook(io.BytesIO(report.build_xlsx(data)))
    assert [c.value for c in wb["热点问题"][2]][1] == expected[0]["title"]
    data.hot_issues = None  # none: no section, no sheet
    assert "热点问题" not in "\n".join(p.text for p in docx.Document(io.BytesIO(report.build_docx(data))).paragraphs)
