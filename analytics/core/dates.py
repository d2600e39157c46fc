"""Dates as the platforms export them: several spellings in one column, Excel serials, real datetimes.

Accepted (each also with full-width digits and colons):
  2024/1/6 9:32:09 · 2024-01-06 · 2024-01-06 09:32 · 2024-01-06T09:32:09 · 2024.1.6 ·
  2024年1月6日 · 2024年1月6日 9时32分(15秒) · 20240106 · 202401060932(15) ·
  Excel serial numbers (45297, 45297.396, or the same as text) · datetimes/dates from openpyxl.
Day and month before the year (31/12/2016, 12/31/2016 10:05, 31.12.2016) are read when the order
is certain: a number above 12 is the day, and within one column the unambiguous dates decide the
order of the others (a column with 12/31/2016 reads 03/04/2016 as 4 March). Where nothing decides
— no date of the column has a day above 12 — ``order`` ("dmy" 日月年 or "mdy" 月日年, a mapping
profile's ``date_order``) does; without it such a date is an error that says how to set it.
Anything else is an error with a Chinese reason; nothing else is guessed (no 2-digit years). A column is parsed vectorised with its dominant format first (pandas), and the
rest value by value through a cache, so a million timestamps take about a second.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata

import numpy as np
import pandas as pd

YEAR_MIN, YEAR_MAX = 1900, 2100  # outside this a "date" is a typo, not a date
EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # Excel's day 0 (the 1900 leap-year bug makes this right from 1900-03-01)
SERIAL_MIN, SERIAL_MAX = 18264, 73051  # 1950-01-01 .. 2100-01-01: a bare number outside is not a date

FORMAT_HINT = "可用格式如 2024-01-06、2024/1/6 9:32:09、2024年1月6日、2024.1.6、20240106"

_DATE = r"(?P<y>\d{4})\s*(?:[-/.]|年)\s*(?P<m>\d{1,2})\s*(?:[-/.]|月)\s*(?P<d>\d{1,2})\s*[日号]?"
_TIME = (r"(?:\s*T?\s*(?P<H>\d{1,2})\s*(?::|时|点)\s*(?P<M>\d{1,2})\s*分?"
         r"(?:\s*:?\s*(?P<S>\d{1,2})(?:\.\d+)?\s*秒?)?)?")
_TEXT_RE = re.compile(rf"^{_DATE}{_TIME}$")
_DMY_RE = re.compile(rf"^(?P<a>\d{{1,2}})\s*[-/.]\s*(?P<b>\d{{1,2}})\s*[-/.]\s*(?P<y>\d{{4}}){_TIME}$")
ORDERS = {"dmy": "日月年（31/12/2016）", "mdy": "月日年（12/31/2016）"}
_DIGITS_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?$")  # 20240106[0932[15]]
_SERIAL_RE = re.compile(r"^\d{5}(?:\.\d+)?$")

# Formats tried vectorised on the whole column; the first one that fits the first value is used.
_FAST_FORMATS = (
    ("%Y-%m-%d %H:%M:%S", re.compile(r"^\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}:\d{2}$")),
    ("%Y-%m-%d %H:%M", re.compile(r"^\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}$")),
    ("%Y-%m-%d", re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$")),
    ("%Y/%m/%d %H:%M:%S", re.compile(r"^\d{4}/\d{1,2}/\d{1,2} \d{1,2}:\d{2}:\d{2}$")),
    ("%Y/%m/%d %H:%M", re.compile(r"^\d{4}/\d{1,2}/\d{1,2} \d{1,2}:\d{2}$")),
    ("%Y/%m/%d", re.compile(r"^\d{4}/\d{1,2}/\d{1,2}$")),
    ("%Y-%m-%dT%H:%M:%S", re.compile(r"^\d{4}-\d{1,2}-\d{1,2}T\d{1,2}:\d{2}:\d{2}$")),
)


class DateError(ValueError):
    """The value is not a date; str(exc) is the Chinese reason."""


class AmbiguousDate(DateError):
    """Day and month of a date before its year could be either way round."""


def day_month_order(text: str) -> str | None:
    """"dmy" or "mdy" when a date written day/month before the year shows its order (a number
    above 12 is the day), None when it does not or is not such a date."""
    m = _DMY_RE.match(unicodedata.normalize("NFKC", text).strip())
    if not m:
        return None
    a, b = int(m["a"]), int(m["b"])
    if a > 12 >= b:
        return "dmy"
    if b > 12 >= a:
        return "mdy"
    return None


def _check_year(value: dt.datetime, shown: object) -> dt.datetime:
    if not YEAR_MIN <= value.year <= YEAR_MAX:
        raise DateError(f"日期“{shown}”超出合理范围（{YEAR_MIN}–{YEAR_MAX} 年）")
    return value


def from_serial(number: float, shown: object = None) -> dt.datetime:
    """An Excel serial day number (days since 1899-12-30, fraction = time of day), to the second."""
    if not (SERIAL_MIN <= number < SERIAL_MAX) or math.isnan(number):
        raise DateError(f"数字“{shown if shown is not None else number}”不是合理的 Excel 日期序号"
                        f"（应在 {SERIAL_MIN}–{SERIAL_MAX} 之间），也不是日期")
    seconds = round(number * 86400)
    return EXCEL_EPOCH + dt.timedelta(seconds=seconds)


def _build(shown: object, y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> dt.datetime:
    try:
        value = dt.datetime(y, m, d, hh, mm, ss)
    except ValueError:
        raise DateError(f"“{shown}”不是有效的日期或时间（月、日或时分秒超出范围）") from None
    return _check_year(value, shown)


def parse_text(text: str, order: str | None = None) -> dt.datetime:
    """One date/datetime written as text; raises DateError with a Chinese reason. ``order`` reads
    dates with day and month before the year where the numbers do not decide ("dmy" / "mdy")."""
    s = unicodedata.normalize("NFKC", text).strip()
    m = _DMY_RE.match(s)
    if m:
        a, b = int(m["a"]), int(m["b"])
        seen = "dmy" if a > 12 else "mdy" if b > 12 else ("dmy" if a == b else order)
        if seen is None:
            raise AmbiguousDate(
                f"“{text}”的日和月分不清（可能是{b}月{a}日，也可能是{a}月{b}日）：本列其它日期也不能确定顺序；"
                "请在映射方案里设置日期顺序 date_order = \"dmy\"（日月年）或 \"mdy\"（月日年）后重新导入")
        d, mo = (a, b) if seen == "dmy" else (b, a)
        return _build(text, int(m["y"]), mo, d, int(m["H"] or 0), int(m["M"] or 0), int(m["S"] or 0))
    m = _TEXT_RE.match(s)
    if m:
        g = m.groupdict()
        return _build(text, int(g["y"]), int(g["m"]), int(g["d"]),
                      int(g["H"] or 0), int(g["M"] or 0), int(g["S"] or 0))
    m = _DIGITS_RE.match(s)
    if m:
        y, mo, d, hh, mi, ss = (int(x) if x else 0 for x in m.groups())
        return _build(text, y, mo, d, hh, mi, ss)
    if _SERIAL_RE.match(s):
        return from_serial(float(s), text)
    raise DateError(f"“{text}”不是可识别的日期（{FORMAT_HINT}）")


def parse_value(value: object, order: str | None = None) -> dt.datetime:
    """Any cell value (text, number, datetime, date) to a naive datetime; raises DateError."""
    if isinstance(value, dt.datetime):
        # Excel stores times as fractions of a day: 09:32:09 may come back as 09:32:08.999999.
        if value.microsecond:
            value = value + dt.timedelta(microseconds=500_000)
        return _check_year(value.replace(tzinfo=None, microsecond=0), value)
    if isinstance(value, dt.date):
        return _check_year(dt.datetime(value.year, value.month, value.day), value)
    if isinstance(value, dt.time):
        raise DateError(f"“{value}”只有时间，没有日期")
    if isinstance(value, bool):
        raise DateError(f"“{value}”不是日期")
    if isinstance(value, (int, float)):
        if isinstance(value, int) or float(value).is_integer():
            digits = str(int(value))
            if len(digits) in (8, 12, 14):  # 20240106 typed as a number
                return parse_text(digits)
        return from_serial(float(value), value)
    return parse_text(str(value), order)


def column_order(values: list, order: str | None = None) -> tuple[str | None, str | None]:
    """(order, how it was decided) for the day-before-year dates of a column: the column's own
    unambiguous dates when they all agree ("列中日大于 12 的日期"), else ``order`` (the profile's
    setting), else (None, None)."""
    seen = {day_month_order(v) for v in values if type(v) is str and v[:1].isdigit() and len(v) <= 25}
    seen.discard(None)
    if len(seen) == 1:
        return seen.pop(), "列中日大于 12 的日期"
    if order in ORDERS:
        return order, "映射方案的日期顺序设置"
    return None, None


def parse_column(values: list, date_only: bool = False, order: str | None = None,
                 rules: dict | None = None) -> tuple[pd.Series, dict[int, str]]:
    """Parse a column of cleaned cell values (None = empty).

    Returns a datetime64[us] Series (NaT where empty or invalid; midnight-truncated when
    ``date_only``) and {position: Chinese reason} for the invalid ones. Dates with day and month
    before the year are read in the column's order (``column_order``); ``rules``, when given,
    receives {order: how it was decided} for the report.
    """
    n = len(values)
    out = pd.Series(pd.NaT, index=pd.RangeIndex(n), dtype="datetime64[us]")
    errors: dict[int, str] = {}
    if n == 0:
        return out, errors
    str_pos = [i for i, v in enumerate(values) if type(v) is str]
    pending = [i for i, v in enumerate(values) if v is not None and type(v) is not str]
    if str_pos:
        first = values[str_pos[0]]
        fmt = next((f for f, rx in _FAST_FORMATS if rx.match(first)), None)
        if fmt is not None:
            strs = pd.Series([values[i] for i in str_pos], dtype=object)
            parsed = pd.to_datetime(strs, format=fmt, errors="coerce").astype("datetime64[us]")
            ok = parsed.notna().to_numpy().copy()
            if ok.any():
                years = parsed.dt.year.to_numpy()
                ok = ok & (years >= YEAR_MIN) & (years <= YEAR_MAX)
                pos = np.asarray(str_pos)
                out.iloc[pos[ok]] = parsed.to_numpy()[ok]
                pending.extend(pos[~ok].tolist())
            else:
                pending.extend(str_pos)
        else:
            pending.extend(str_pos)
    if pending:
        col_order, how = column_order([values[i] for i in pending], order)
        if col_order is not None and rules is not None and any(
                type(values[i]) is str and _DMY_RE.match(unicodedata.normalize("NFKC", values[i]).strip())
                for i in pending):
            rules[col_order] = how
        cache: dict[object, dt.datetime | str] = {}
        good_pos: list[int] = []
        good_val: list[dt.datetime] = []
        for i in pending:
            v = values[i]
            try:
                hit = cache[v]
            except (KeyError, TypeError):
                try:
                    hit = parse_value(v, col_order)
                except DateError as exc:
                    hit = str(exc)
                try:
                    cache[v] = hit
                except TypeError:
                    pass
            if isinstance(hit, str):
                errors[i] = hit
            else:
                good_pos.append(i)
                good_val.append(hit)
        if good_pos:
            out.iloc[np.asarray(good_pos)] = pd.to_datetime(pd.Series(good_val, dtype=object)).astype(
                "datetime64[us]").to_numpy()
    if date_only:
        out = out.dt.floor("D")
    return out, errors
