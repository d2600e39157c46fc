"""Write the exports of other systems that the profile tests read: ``python tests/data/admin/make_fixtures.py``.

- ``message_board.csv``: a government message-board export (留言编号, 留言用户, 留言主题, 留言时间,
  留言详情, 答复意见, 答复时间). Most headers are aliases in data/contract.toml, but it has no 镇街
  column: the contract alone cannot import it (a required column is missing).
- ``hotline.xlsx`` / ``hotline_march.xlsx``: a 12345 hotline export whose headers the contract does not
  know at all (工单号, 来电时间, 诉求描述, 所属区域, 来电人), under a title row; the March file has the
  same headers in another order, so a saved profile must find it by its header signature.
The output is committed; run this only when changing a fixture (and the tests with it).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
FIXED_TIME = dt.datetime(2024, 4, 1, 9, 0, 0)

BOARD = [
    ("LY2024001", "张伟", "小区门口路灯不亮", "2024/3/2 8:15:00", "我们小区门口的路灯坏了两个星期，晚上很黑，请尽快修理。", "已转城管部门处理", "2024/3/5 16:00:00"),
    ("LY2024002", "李娜", "菜市场周边停车难", "2024-03-04 19:40", "菜市场周边停车位太少，早上经常堵车，建议增设停车位。", "", ""),
    ("LY2024003", "王芳", "工地夜间施工噪声", "2024年3月6日 22时10分", "隔壁工地夜里十点以后还在施工，噪声扰民，请相关部门管一管。", "已责成施工单位整改", "2024/3/8 10:30:00"),
    ("LY2024004", "", "河道有异味", "2024/3/9", "村口的河道最近有异味，垃圾也多，希望加强整治。", "", ""),
    ("LY2024005", "赵敏", "老年食堂用餐", "不是日期", "希望社区老年食堂增加周末供餐。", "", ""),
]

HOTLINE_HEADERS = ["工单号", "来电时间", "诉求描述", "所属区域", "来电人"]
HOTLINE = [
    ("GD-240301-0001", dt.datetime(2024, 3, 1, 9, 12, 5), "反映瓜沥镇航民村附近道路破损严重，电动车经过容易摔倒，希望尽快修复路面。", "瓜沥镇", "陈刚"),
    ("GD-240301-0002", dt.datetime(2024, 3, 1, 10, 3, 44), "来电人称所住小区电梯经常停运，老人上下楼很不方便，请求物业加快维修。", "城厢街道", "刘洋"),
    ("GD-240302-0007", dt.datetime(2024, 3, 2, 14, 20, 0), "反映学校门口早晚高峰停车难、接送孩子拥堵，建议设置临时停车区。", "北干街道", "周杰"),
    ("GD-240303-0011", dt.datetime(2024, 3, 3, 8, 45, 30), "反映河道沿岸垃圾堆放，夏天气味大，希望环卫部门定期清理。", "义桥", "吴静"),
    ("GD-240304-0015", dt.datetime(2024, 3, 4, 16, 5, 10), "咨询居家养老助餐服务的报名方式和收费标准，希望社区多做宣传。", "宁围街道", "郑丽"),
    ("GD-240305-0020", dt.datetime(2024, 3, 5, 11, 30, 0), "反映夜间渣土车噪声扰民，凌晨还在运输，影响休息。", "火星镇", "孙磊"),
]
HOTLINE_MARCH = [
    ("GD-240310-0031", dt.datetime(2024, 3, 10, 9, 0, 0), "反映菜市场周边道路积水，下雨天行人难以通行。", "新塘街道", "何敏"),
    ("GD-240301-0001", dt.datetime(2024, 3, 1, 9, 12, 5), "反映瓜沥镇航民村附近道路破损严重，电动车经过容易摔倒，希望尽快修复路面。", "瓜沥镇", "陈刚"),
]


def _save(wb: Workbook, name: str) -> None:
    wb.properties.creator = "fixtures"
    wb.properties.created = wb.properties.modified = FIXED_TIME
    wb.save(HERE / name)


def message_board() -> None:
    lines = ["留言编号,留言用户,留言主题,留言时间,留言详情,答复意见,答复时间"]
    for row in BOARD:
        lines.append(",".join(f'"{v}"' if "," in v else v for v in row))
    (HERE / "message_board.csv").write_text("\n".join(lines) + "\n", encoding="utf-8-sig")


def hotline(name: str, rows, order: list[int]) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "工单"
    ws["A1"] = "12345 政务服务热线工单导出"
    ws.append([])
    ws.append([HOTLINE_HEADERS[i] for i in order])
    for r in rows:
        ws.append([r[i] for i in order])
    _save(wb, name)


if __name__ == "__main__":
    message_board()
    hotline("hotline.xlsx", HOTLINE, [0, 1, 2, 3, 4])
    hotline("hotline_march.xlsx", HOTLINE_MARCH, [4, 0, 3, 1, 2])
    print("written to", HERE)
