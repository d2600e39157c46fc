"""The pages' xlsx downloads carry number formats (a share as 84.8%, a score to one decimal), not
raw decimals such as 0.8476 or 12.3457: the 监督项目备选库 export of pages/candidates.py."""
from __future__ import annotations

import io

import openpyxl
import pandas as pd

from pages import candidates


def test_the_pool_export_formats_scores_and_shares():
    pool = pd.DataFrame({
        "candidate_id": [1], "title": ["老旧小区加装电梯"], "words": [["加装电梯", "电梯"]], "status": ["候选"],
        "score": [12.34567],
        "score_parts": [{"parts": {"volume": 4.1109, "burst": 1.2381, "spread": 0.4348, "persistence": 0.8333,
                                   "unresolved": 0.2167}}],
        "evidence": [{"period": {"start": "2024-04-01", "end": "2024-06-30"}, "docs": 60, "towns": [{"town": "北干街道"}]}],
        "notes": [[]], "created_by": ["演示用户"], "created_at": [pd.Timestamp("2024-07-01")],
        "updated_by": ["演示用户"], "updated_at": [pd.Timestamp("2024-07-02")],
    })
    ws = openpyxl.load_workbook(io.BytesIO(candidates.export_pool(pool)))[candidates.POOL_SHEET]
    header = [c.value for c in ws[1]]
    cell = {h: ws.cell(row=2, column=j + 1) for j, h in enumerate(header)}
    assert (cell["得分"].value, cell["得分"].number_format) == (12.34567, "0.0")
    assert (cell["突发"].value, cell["突发"].number_format) == (1.2381, "0.00")
    for share in ("广度", "持续", "未解决"):
        assert cell[share].number_format == "0.0%", share
    assert cell["涉及意见数"].number_format == "0" and cell["议题"].number_format == "General"
