"""Write the tiny export files the import tests read: ``python tests/data/ingest/make_fixtures.py``.

Each file carries the quirks real exports have — a title row, merged two-level headers, a trailing
合计 row, GBK and BOM encodings, a tab-delimited CSV, dates in every accepted spelling, padding with
full-width spaces and tabs — and the tests assert exact outcomes on them, so change both together.
The output is committed; run this only when changing a fixture.
"""
from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
FIXED_TIME = dt.datetime(2024, 2, 1, 10, 0, 0)


def _save(wb: Workbook, name: str) -> None:
    wb.properties.creator = "fixtures"
    wb.properties.created = wb.properties.modified = FIXED_TIME
    wb.save(HERE / name)


def opinions_merged() -> None:
    """民情民意 with a title, a subtitle, a two-level merged header and 合计/注 rows at the end."""
    wb = Workbook()
    ws = wb.active
    ws.title = "民情民意"
    ws["A1"] = "萧山区民情民意办理情况导出（2024年1月）"
    ws.merge_cells("A1:Q1")
    ws["A2"] = "导出时间：2024-02-01 10:00:00"
    ws.merge_cells("A2:Q2")
    single = {"A": "编号", "B": "反映时间", "C": "来源渠道", "D": "镇街（开发区）", "E": "联络站", "F": "标题",
              "G": "内容", "H": "分类", "I": "提交人", "J": "联系电话", "K": "接待代表", "L": "状态",
              "P": "满意度", "Q": "备注"}
    for col, text in single.items():
        ws[f"{col}3"] = text
        ws.merge_cells(f"{col}3:{col}4")  # header merged down over both header rows
    ws["M3"] = "办理情况"
    ws.merge_cells("M3:O3")  # group header over three sub-headers
    ws["M4"], ws["N4"], ws["O4"] = "承办单位", "交办时间", "办结时间"
    rows = [
        # 5: real Excel datetimes, padded text, a phone number stored as a number
        ["MQ001", dt.datetime(2024, 1, 6, 9, 32, 9), "民声e", "瓜沥镇", "瓜沥镇代表联络站", "路灯不亮",
         "\u3000您好，XX路路灯坏了，请联系13812345678\t", "城市管理", "张三", 13812345678, "王代表", "已办结",
         "区城管局", dt.date(2024, 1, 7), "2024/1/8 10:00:00", "满意", "备注一"],
        # 6: date text, short town name, a trailing newline, empty optional cells
        ["MQ002", "2024-01-06", "走访", "城厢", None, "噪声", "晚上施工噪声扰民\n", None, "李四", None, None,
         "办理中", "区住建局", "2024年1月7日", None, None, None],
        # 7: an Excel serial number as a number; 宁围街道 is merged down over rows 7-8
        ["MQ003", 45299, "进站接待", "宁围街道", None, " 停车难 ", "小区停车难", "交通", None, None, None,
         "已完成", None, "2024.1.9", "20240110", "非常满意", None],
        # 8: Chinese date-time; 镇街 cell empty under the merge
        ["MQ004", "2024年1月9日 9时32分", "座谈会", None, None, None, "希望增加学位", "教育", None, None, None,
         "已办结", None, None, 45301.5, "一般", None],
        None,  # 9: blank row
        ["MQ005", "2024/1/10 8:05", "民声E", "开发区", None, None, "河道有异味", None, None, None, None,
         "待受理", None, None, None, None, None],
        ["合 计", "5 条", None, None, None, None, None, None, None, None, None, None, None, None, None, None, None],
        ["制表人：区人大代表联络总站"],
    ]
    for r, values in enumerate(rows, start=5):
        for c, v in enumerate(values or [], start=1):
            if v is not None:
                ws.cell(row=r, column=c, value=v)
    ws.merge_cells("D7:D8")
    notes = wb.create_sheet("说明")
    notes["A1"] = "说明：本表由民声e平台导出"
    notes["A2"] = "字段含义见平台帮助"
    _save(wb, "opinions_merged.xlsx")


def units_reps() -> None:
    """One workbook, two kinds: 基层单元 (header in row 1) and 代表名册 (under a title row); an empty sheet."""
    wb = Workbook()
    ws = wb.active
    ws.title = "基层单元"
    ws.append(["单元编号", "单元名称", "层级", "上级单元", "常住人口（人）"])
    ws.append([1, "萧山区人大代表联络总站", "区代表联络总站", None, None])
    ws.append(["T01", "瓜沥镇人大", "镇", "萧山区人大代表联络总站", "1,234"])
    ws.append(["S001", "瓜沥镇航民村代表联络站", "联络站", "瓜沥镇人大", 5600.0])
    ws.append(["S002", "人口写错的联络站", "站", "瓜沥镇人大", "abc"])
    ws.append(["S003", "人口为负的联络站", "站", "瓜沥镇人大", -5])
    reps = wb.create_sheet("代表名册")
    reps.append(["萧山区人大代表名册"])
    reps.append(["代表编号", "姓名", "代表层级", "所属镇街", "进站联络站", "界别"])
    reps.append(["R001", "李明", "区人大代表", "瓜沥", "瓜沥镇航民村代表联络站", "工人"])
    reps.append(["R002", "王芳", "省", "城厢街道", None, "教育"])
    reps.append(["R003", "赵强", "市级", "开发区", None, None])
    wb.create_sheet("Sheet3")
    _save(wb, "units_reps.xlsx")


def opinions_gbk() -> None:
    """GBK-encoded CSV with other header spellings, a title row and a 合计 row."""
    lines = [
        "民情民意导出,,,,,,,,",
        "意见编号,留言时间,渠道,所属镇街,站点,主题,留言内容,办理状态,群众评价",
        "GB001,2024-03-01 08:00:00,民声e,义桥镇,义桥镇代表联络站,垃圾分类,垃圾分类点太远,已办结,满意",
        "GB002,2024-03-02 09:15:00,走访,河上镇,,老旧小区改造,老旧小区改造进度慢,办理中,",
        "GB003,2024-03-03 10:30:00,座谈,楼塔镇,,居家养老,希望开设居家养老助餐点,已办结,基本满意",
        "合计,3,,,,,,,",
    ]
    (HERE / "opinions_gbk.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))


def activities_bom() -> None:
    """UTF-8 with BOM; 活动日期 in every accepted spelling, all meaning 2024-01-06."""
    spellings = ["2024/1/6 9:32:09", "2024-01-06", "2024-01-06 09:32", "2024年1月6日", "2024年1月6日 9时32分",
                 "2024.1.6", "20240106", "45297"]
    lines = ["活动编号,活动日期,镇街,联络站,活动类型,活动主题,参与代表,参与人次,收集意见数"]
    for i, s in enumerate(spellings, start=1):
        lines.append(f"A{i:02d},{s},瓜沥镇,瓜沥镇代表联络站,进站接待,主题{i},李明、王芳,{i},{i * 2}")
    (HERE / "activities_bom.csv").write_bytes(("\n".join(lines) + "\n").encode("utf-8-sig"))


def suggestions_tab() -> None:
    """Tab-delimited UTF-8 (what Excel's "Unicode text" users re-save), suggestions."""
    rows = [
        ["建议编号", "届次会次", "提出时间", "提出类型", "领衔代表", "附议代表", "标题", "主办单位", "督办方式",
         "答复期限", "答复时间", "答复类别", "代表评价", "状态"],
        ["JY001", "十八届三次", "2024-01-10", "大会", "李明", "王芳;赵强", "关于打通支小路的建议", "区交通局",
         "重点督办", "2024-04-10", "2024-03-20", "A类", "满意", "已办结"],
        ["JY002", "十八届三次", "2024/1/11", "闭会期间", "王芳", "", "关于亚运场馆利用的建议", "区体育局",
         "对口督办", "2024-04-11", "", "", "", "已交办"],
    ]
    (HERE / "suggestions_tab.csv").write_text("\n".join("\t".join(r) for r in rows) + "\n", encoding="utf-8")


def bad_rows() -> None:
    """民情民意 with one problem per row (and one row with two): good rows still import."""
    lines = [
        "编号,提交时间,来源渠道,镇街,内容,状态,办结时间",
        "G1,2024-01-06 09:00,民声e,瓜沥镇,好的一行,已办结,2024-01-08 10:00",  # 2 good
        "B1,2024-13-45,民声e,瓜沥镇,日期写错,已办结,",  # 3 bad date
        "B2,2024-01-06,民声e,火星镇,镇街写错,已办结,",  # 4 unknown town
        "B3,2024-01-06,民声e,瓜沥镇,,已办结,",  # 5 missing required 内容
        "B4,2024-01-06,民声e,瓜沥镇,状态写错,处理完毕,",  # 6 unknown status
        "B5,2024-01-06 09:00,民声e,瓜沥镇,办结早于提交,已办结,2024-01-05 10:00",  # 7 closed before submitted
        "G1,2024-01-07,民声e,瓜沥镇,编号重复,已办结,",  # 8 duplicate key of row 2
        "G2,2024-01-07,走访,城厢街道,另一行好的,办理中,",  # 9 good
        "B6,昨天,微信,瓜沥镇,两处问题,办理中,",  # 10 bad date and unknown channel
    ]
    (HERE / "bad_rows.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def unreadable() -> None:
    """Files that are not spreadsheets: each must give one clear message and change nothing."""
    png = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")
    (HERE / "picture.xlsx").write_bytes(png + b"\x00" * 64)
    (HERE / "random_bytes.xlsx").write_bytes(random.Random(7).randbytes(4096))
    (HERE / "notes.csv").write_text("会议纪要\n今天讨论了停车难的问题。\n下次会议时间另行通知。\n", encoding="utf-8")
    (HERE / "empty.csv").write_bytes(b"")
    (HERE / "old_excel.xls").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 504)
    (HERE / "web_export.xls").write_text("<html><body><table><tr><td>编号</td></tr></table></body></html>",
                                         encoding="utf-8")


if __name__ == "__main__":
    opinions_merged()
    units_reps()
    opinions_gbk()
    activities_bom()
    suggestions_tab()
    bad_rows()
    unreadable()
    print("fixtures written to", HERE)
