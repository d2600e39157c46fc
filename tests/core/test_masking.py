"""Masking of personal data in free text: each kind, the spellings real messages use."""
import pytest

from analytics.core.privacy import mask_name, mask_phone, mask_text


@pytest.mark.parametrize("text,marker,secret", [
    ("请联系13812345678谢谢", "[手机号]", "13812345678"),
    ("电话 138 1234\n5678", "[手机号]", "5678"),          # split by a space and a line break
    ("+86-138-1234-5678", "[手机号]", "1234"),
    ("座机0571-82712345", "[电话]", "82712345"),
    ("座机 0571-8271 2345 白天有人", "[电话]", "8271"),   # a space inside the local number
    ("（0571）82712345", "[电话]", "82712345"),
    ("身份证330109199001011234", "[身份证号]", "330109199001011234"),
    ("身份证33010919900101123X。", "[身份证号]", "33010919900101123"),
    ("卡号6222 0212 3456 7890 123", "[银行卡号]", "7890"),
    ("邮箱 zhang.san@qq.com", "[邮箱]", "zhang.san"),
    ("车牌浙A·D1234F停了三天", "[车牌号]", "D1234F"),
])
def test_each_kind_of_personal_data_is_masked(text, marker, secret):
    masked = mask_text(text)
    assert marker in masked and secret not in masked


@pytest.mark.parametrize("text", ["2024年1月6日下午", "共12345户", "编号 20240106", "3号楼2单元"])
def test_ordinary_numbers_stay(text):
    assert mask_text(text) == text


def test_names_and_phone_columns():
    assert mask_name("张三") == "张*" and mask_name("欧阳娜娜") == "欧***"
    assert mask_phone("138 1234 5678") == "138****5678"


def test_a_text_too_long_for_an_excel_cell_is_cut_with_a_note_in_the_cell():
    import io

    import pandas as pd
    from openpyxl import load_workbook

    from analytics.core.safe_export import XLSX_CELL_MAX, to_xlsx

    long = "长" * 40_000
    wb = load_workbook(io.BytesIO(to_xlsx({"意见": pd.DataFrame({"内容": [long, "短"]})})))
    cell = wb.active["A2"].value
    assert len(cell) <= XLSX_CELL_MAX and cell.startswith("长" * 1000)
    assert "超出 Excel 单元格 32,767 字的上限" in cell and f"{40_000 - cell.count('长'):,} 字未写入" in cell
    assert wb.active["A3"].value == "短"
