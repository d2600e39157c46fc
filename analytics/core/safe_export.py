"""Files handed out by the app (xlsx, csv): one implementation of formula neutralisation for all of them.

A spreadsheet runs a cell that begins with ``=``, ``+``, ``-`` or ``@`` as a formula — and a tab or a
carriage return in front hides that from the eye (OWASP "CSV injection"). Citizens write the text
of opinions, so any such text cell is written with a leading apostrophe: Excel and WPS then show it as
text and never evaluate it. Numbers stay numbers (``-3`` as a number is not touched; ``"-3"`` as text
is). Headers are treated like cells, and sheet names are cleaned of the characters Excel forbids.

What an export holds is the frame the page shows, with the same (already masked) values: callers
pass that frame, this module only writes it.
"""
from __future__ import annotations

import io
import json
import re

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
# Characters an .xlsx (XML 1.0) cannot hold at all: openpyxl refuses the whole file for one of them.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe_cell(value):
    """A text cell a spreadsheet would run as a formula gets an apostrophe in front; others as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _cell_text(value):
    if isinstance(value, (list, dict, tuple, set)):
        value = json.dumps(list(value) if isinstance(value, (tuple, set)) else value, ensure_ascii=False, default=str)
    return safe_cell(value)


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell and every header neutralised (``safe_cell``)."""
    clean = df.copy()
    for col in clean.columns:
        s = clean[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            clean[col] = pd.Series([_cell_text(x) for x in s], index=s.index, dtype=object)
    clean.columns = [safe_cell(str(c)) for c in clean.columns]
    return clean


def sheet_name(name: str, taken: set[str] | None = None) -> str:
    """A valid, unique Excel sheet name: forbidden characters replaced, at most 31 characters."""
    base = _SHEET_BAD.sub("_", str(name)).strip("'") or "Sheet"
    base = base[:31]
    out, n = base, 2
    while taken is not None and out.casefold() in {t.casefold() for t in taken}:
        suffix = f"_{n}"
        out, n = base[: 31 - len(suffix)] + suffix, n + 1
    if taken is not None:
        taken.add(out)
    return out


def _xml_safe(value):
    return _XML_ILLEGAL.sub("\ufffd", value) if isinstance(value, str) else value


XLSX_CELL_MAX = 32_767  # characters an Excel cell holds
CUT_NOTE = "……（超出 Excel 单元格 32,767 字的上限，其余 {n:,} 字未写入；完整内容见驾驶舱页面）"


def _fit_cell(value):
    """A text too long for an Excel cell, cut with a note in the cell saying so and how much is missing."""
    if isinstance(value, str) and len(value) > XLSX_CELL_MAX:
        keep = XLSX_CELL_MAX - len(CUT_NOTE.format(n=len(value))) - 2
        return value[:keep] + CUT_NOTE.format(n=len(value) - keep)
    return value


# Number formats of a cell (Excel's codes): the value keeps its full precision, the sheet shows it
# the way the page does — a share as 84.8%, a score to one decimal — instead of 0.8476 or 12.3457.
PERCENT = "0.0%"
ONE_DECIMAL = "0.0"
TWO_DECIMALS = "0.00"
INTEGER = "0"


def number_formats(ws, header: list, formats: dict[str, str], first_row: int = 2) -> None:
    """Give the cells of the columns named in ``formats`` (header text → number format) that
    format, from ``first_row`` down; columns not named keep Excel's General."""
    for j, name in enumerate(header, start=1):
        fmt = formats.get(name)
        if fmt is None:
            continue
        for (cell,) in ws.iter_rows(min_row=first_row, min_col=j, max_col=j):
            cell.number_format = fmt


def to_xlsx(frames: dict[str, pd.DataFrame], formats: dict[str, dict[str, str]] | None = None) -> bytes:
    """An .xlsx workbook with one sheet per frame (in order), every text cell neutralised; control
    characters an .xlsx cannot hold (a NUL typed into a note) are shown as '�' instead of failing,
    and a text over Excel's 32,767 characters is cut with a visible note in its cell.
    ``formats``: per sheet (the key of ``frames``), column name → number format (PERCENT …)."""
    buf = io.BytesIO()
    taken: set[str] = set()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, df in frames.items():
            clean = safe_frame(df)
            clean.columns = [_xml_safe(c) for c in clean.columns]
            for col in clean.columns:
                if clean[col].dtype == object:
                    clean[col] = [_fit_cell(_xml_safe(v)) for v in clean[col]]
            sheet = sheet_name(name, taken)
            clean.to_excel(xw, sheet_name=sheet, index=False)
            wanted = {safe_cell(str(c)): f for c, f in (formats or {}).get(name, {}).items()}
            if wanted:
                number_formats(xw.sheets[sheet], list(clean.columns), wanted)
    return buf.getvalue()


def to_csv(df: pd.DataFrame) -> bytes:
    """UTF-8 with BOM (Excel on Windows then reads the Chinese right), every text cell neutralised."""
    return safe_frame(df).to_csv(index=False).encode("utf-8-sig")
