"""Reporting periods: a year (2024), a quarter (2024Q2) or a month (2024-05), as half-open date ranges."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

GRAINS = ("year", "quarter", "month")


class PeriodError(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Period:
    grain: str  # year | quarter | month
    year: int
    n: int = 1  # quarter 1-4 or month 1-12; 1 for a year

    @property
    def start(self) -> date:
        if self.grain == "year":
            return date(self.year, 1, 1)
        if self.grain == "quarter":
            return date(self.year, 3 * self.n - 2, 1)
        return date(self.year, self.n, 1)

    @property
    def end(self) -> date:
        """First day after the period (half-open range: start <= d < end)."""
        return self.next().start

    @property
    def code(self) -> str:
        if self.grain == "year":
            return f"{self.year}"
        if self.grain == "quarter":
            return f"{self.year}Q{self.n}"
        return f"{self.year}-{self.n:02d}"

    @property
    def label(self) -> str:
        if self.grain == "year":
            return f"{self.year}年"
        if self.grain == "quarter":
            return f"{self.year}年第{self.n}季度"
        return f"{self.year}年{self.n}月"

    def next(self) -> "Period":
        if self.grain == "year":
            return Period("year", self.year + 1)
        last = 4 if self.grain == "quarter" else 12
        return Period(self.grain, self.year + (self.n == last), 1 if self.n == last else self.n + 1)

    def previous(self) -> "Period":
        if self.grain == "year":
            return Period("year", self.year - 1)
        last = 4 if self.grain == "quarter" else 12
        return Period(self.grain, self.year - (self.n == 1), last if self.n == 1 else self.n - 1)

    def months(self) -> list["Period"]:
        out, p = [], Period("month", self.start.year, self.start.month)
        while p.start < self.end:
            out.append(p)
            p = p.next()
        return out

    def __str__(self) -> str:
        return self.code


def as_period(value: "Period | str") -> Period:
    """A period as the computations take it: a Period is passed down as it is — parsed once, where it
    entered (the page's selection, the command line) — and text is parsed here (PeriodError)."""
    return value if isinstance(value, Period) else parse_period(str(value))


def parse_period(text: str) -> Period:
    """'2024' | '2024Q2' (also 2024-Q2, 2024q2) | '2024-05' (also 2024-5, 202405)."""
    s = str(text).strip().upper()
    if m := re.fullmatch(r"(\d{4})", s):
        return Period("year", int(m[1]))
    if (m := re.fullmatch(r"(\d{4})-?Q([1-4])", s)):
        return Period("quarter", int(m[1]), int(m[2]))
    if (m := re.fullmatch(r"(\d{4})-?(\d{1,2})", s)) and 1 <= int(m[2]) <= 12:
        return Period("month", int(m[1]), int(m[2]))
    raise PeriodError(f"无法识别的期间“{text}”：请写成 2024、2024Q2 或 2024-05")


def period_of(d: date, grain: str) -> Period:
    if grain == "year":
        return Period("year", d.year)
    if grain == "quarter":
        return Period("quarter", d.year, (d.month - 1) // 3 + 1)
    if grain == "month":
        return Period("month", d.year, d.month)
    raise PeriodError(f"期间粒度只能是 {'/'.join(GRAINS)}")


def periods_between(first: date, last: date, grain: str) -> list[Period]:
    """Every period of the grain from the one holding ``first`` to the one holding ``last``."""
    out, p, stop = [], period_of(first, grain), period_of(last, grain)
    while p <= stop:
        out.append(p)
        p = p.next()
    return out
