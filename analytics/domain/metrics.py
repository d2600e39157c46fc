"""Headline figures of the cockpit: one definition per figure, used by the pages, the CLI and the indices.

``METRICS`` is the single table of definitions: for each figure its key, Chinese label, what it
counts in words, the formula, the unit and the SQL that computes its numerator and denominator.
The cockpit shows ``definition`` and ``formula`` on hover; ``python -m analytics summary`` prints the
same figures. Issues that build on these rates (indices, rankings) import them from here.

Common rules for every figure:
- a period is a half-open date range (``analytics.core.periods.Period``): start <= date < end;
- an opinion or a suggestion belongs to the period in which it was *submitted* (a cohort), and its
  status, evaluation and answer are as of the latest import — so a recent period's 办结率 can still
  rise as its items are closed;
- the town filter uses the row's own 镇街 column; a suggestion has none, so it belongs to the town
  of its 领衔代表 in the 代表名册 (matched by 代表编号, else by 姓名 when that name is in one town only;
  a suggestion whose lead cannot be placed counts for the district but for no town);
- a rate whose denominator is 0 has no value (shown as "—"), never 0 % or 100 %.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from analytics.core.config import ConfigError, load_file
from analytics.core.paths import DATA_DIR
from analytics.core.labels import ANSWER_CLASS_LABELS, DISTRICT, METRIC_LABELS, PREVIOUS_LABELS
from analytics.core.periods import GRAINS, Period, PeriodError, parse_period, period_of

ANSWERED_CLASSES = ("A", "B", "C")  # a suggestion with one of these has been answered
# Where the answer classes that count as 解决 are configured (the scheme differs by place).
ANSWERS_CONFIG = DATA_DIR / "indices.toml"


class AnswersConfigError(ConfigError):
    """The [answers] section of data/indices.toml is wrong; the message is Chinese and names it."""


def parse_solved(raw: dict, source: str = "indices.toml") -> tuple[str, ...]:
    """The answer classes counted as 解决 in 解决率: ``[answers] solved`` of the parsed TOML ``raw``.
    A non-empty list of distinct classes among ANSWERED_CLASSES, returned in A, B, C order."""
    where = f"指标配置文件 {source} 有误：[answers] 的 solved"
    answers = raw.get("answers")
    if not isinstance(answers, dict):
        raise AnswersConfigError(f"指标配置文件 {source} 有误：缺少 [answers] 段落（哪些答复类别算“解决”）")
    extra = sorted(set(answers) - {"solved"})
    if extra:
        raise AnswersConfigError(f"指标配置文件 {source} 有误：[answers] 有不认识的项“{'、'.join(extra)}”，可用：solved")
    solved = answers.get("solved")
    if not isinstance(solved, list) or not solved or not all(isinstance(c, str) for c in solved):
        raise AnswersConfigError(f"{where} 应是答复类别的非空列表，如 [\"A\"]，现在是“{solved}”")
    bad = [c for c in solved if c not in ANSWERED_CLASSES]
    if bad:
        raise AnswersConfigError(f"{where} 中“{'、'.join(bad)}”不是答复类别，可用：{'、'.join(ANSWERED_CLASSES)}")
    if len(set(solved)) != len(solved):
        raise AnswersConfigError(f"{where} 有重复的类别：{solved}")
    return tuple(c for c in ANSWERED_CLASSES if c in solved)


def load_solved(path: str | Path | None = None) -> tuple[str, ...]:
    """Read ``[answers] solved`` from data/indices.toml (or ``path``)."""
    return load_file(path, ANSWERS_CONFIG, "指标配置", AnswersConfigError, parse_solved)


# Answer classes that count as 解决 in 解决率 (shipped: A类 已解决或基本解决), read once at import.
RESOLVED_CLASSES = load_solved()
# Evaluations that count as 满意 in 满意率: 基本满意 is counted in full, as the published
# figures (e.g. the work report's 满意率 100 %) count it. The 解忧指数 may weigh it partly; that
# is its own definition, not this one.
SATISFIED = ("满意", "基本满意")
EVALUATED = ("满意", "基本满意", "不满意")  # 未评价 and empty are not evaluations
# Separators between names in 参与代表, as the platforms write them.
NAME_SEPARATORS = r"[、;；,，\s]+"

# The town a suggestion belongs to: its lead representative's 所属镇街 (see module docstring).
SUGGESTIONS_WITH_TOWN = """
    SELECT s.*, coalesce(
        (SELECT r.town FROM reps r WHERE r.rep_id = s.lead_rep),
        (SELECT min(r.town) FROM reps r WHERE r.name = s.lead_rep HAVING count(DISTINCT r.town) = 1)
    ) AS town
    FROM suggestions s
"""
def _sql_list(values: tuple[str, ...]) -> str:
    """A fixed list of code constants as an SQL list literal (never user input: those are bound)."""
    return "(" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + ")"


def _classes_words(classes: tuple[str, ...], described: bool = False) -> str:
    """'A、B 或 C'; described: 'A 类（已解决或基本解决）、B 类（…）'."""
    if described:
        return "、".join(f"{c} 类（{ANSWER_CLASS_LABELS[c]}）" for c in classes)
    return classes[0] if len(classes) == 1 else "、".join(classes[:-1]) + " 或 " + classes[-1]


_IN_PERIOD_TOWN = "{col} >= $start AND {col} < $end AND ($town IS NULL OR town = $town)"


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str  # 条 / 件 / 次 / 人次 for counts, % for rates
    is_rate: bool
    definition: str  # what is counted, in words (shown on hover)
    formula: str  # the formula in words
    sql: str  # one row: (numerator, denominator); denominator NULL for counts
    # Is a rise good news? None: neither (more opinions may mean more trouble or more trust).
    higher_is_better: bool | None = True

    @property
    def help(self) -> str:
        """The tooltip text: definition and formula."""
        return f"{self.definition}\n\n计算公式：{self.formula}"


def _m(key: str, unit: str, is_rate: bool, definition: str, formula: str, sql: str,
       higher_is_better: bool | None = True) -> Metric:
    return Metric(key, METRIC_LABELS[key], unit, is_rate, definition, formula, sql, higher_is_better)


_OPINIONS = f"FROM opinions WHERE {_IN_PERIOD_TOWN.format(col='submitted_at')}"
_SUGGESTIONS = f"FROM ({SUGGESTIONS_WITH_TOWN}) WHERE {_IN_PERIOD_TOWN.format(col='submitted_at')}"
_ACTIVITIES = f"FROM activities WHERE {_IN_PERIOD_TOWN.format(col='date')}"

METRICS: tuple[Metric, ...] = (
    _m("opinions", "条", False,
       "期内提交（提交时间在期内）的民情民意条数，含各种状态和来源渠道。",
       "期内提交的民情民意条数",
       f"SELECT count(*), NULL {_OPINIONS}", higher_is_better=None),
    _m("closure_rate", "%", True,
       "期内提交的民情民意中，状态为“已办结”的比例。不予受理的不计入分母；状态为空的计入分母"
       "（未知是否办结，不算办结）。状态以最近一次导入为准。",
       "期内提交且状态为已办结的条数 ÷ 期内提交且状态不是不予受理的条数",
       f"""SELECT count(*) FILTER (WHERE status = '已办结'),
                  count(*) FILTER (WHERE status IS DISTINCT FROM '不予受理') {_OPINIONS}"""),
    _m("satisfaction_rate", "%", True,
       "期内提交的民情民意中，已评价的那些里评价为“满意”或“基本满意”的比例（基本满意按满意计，"
       "与公开通报的口径一致）。未评价或评价为空的不计入分母。",
       "期内提交且评价为满意或基本满意的条数 ÷ 期内提交且评价为满意、基本满意或不满意的条数",
       f"""SELECT count(*) FILTER (WHERE satisfaction IN {_sql_list(SATISFIED)}),
                  count(*) FILTER (WHERE satisfaction IN {_sql_list(EVALUATED)}) {_OPINIONS}"""),
    _m("suggestions", "件", False,
       "期内提出（提出时间在期内）的代表建议件数。选镇街时按领衔代表在代表名册中的所属镇街归属。",
       "期内提出的代表建议件数",
       f"SELECT count(*), NULL {_SUGGESTIONS}", higher_is_better=None),
    _m("resolution_rate", "%", True,
       f"期内提出且已答复的代表建议中，答复类别为 {_classes_words(RESOLVED_CLASSES, True)}的比例。"
       "尚未答复（没有答复类别）的不计入分母。",
       f"期内提出且答复类别为 {_classes_words(RESOLVED_CLASSES)} 的件数 ÷ "
       f"期内提出且答复类别为 {_classes_words(ANSWERED_CLASSES)} 的件数",
       f"""SELECT count(*) FILTER (WHERE answer_class IN {_sql_list(RESOLVED_CLASSES)}),
                  count(*) FILTER (WHERE answer_class IN {_sql_list(ANSWERED_CLASSES)}) {_SUGGESTIONS}"""),
    _m("activities", "次", False,
       "期内（活动日期在期内）开展的代表履职活动次数，含进站接待、视察、调研等各类活动。",
       "期内活动日期的履职活动条数",
       f"SELECT count(*), NULL {_ACTIVITIES}"),
    _m("participations", "人次", False,
       "期内履职活动的参与代表人次之和：每次活动取导出文件中的“参与人次”；没有填写时，"
       "按“参与代表”中列出的姓名个数计。",
       "Σ 期内每次活动的参与人次（缺失时 = 参与代表姓名个数）",
       f"""SELECT coalesce(sum(coalesce(headcount,
                      len(list_filter(regexp_split_to_array(participants, '{NAME_SEPARATORS}'),
                                      lambda x: x <> '')),
                      0)), 0),
                  NULL {_ACTIVITIES}"""),
)
METRIC_BY_KEY = {m.key: m for m in METRICS}

# The tables whose dates say which periods have data.
_DATED = (("opinions", "submitted_at"), ("suggestions", "submitted_at"), ("activities", "date"))


@dataclass(frozen=True)
class Figure:
    """One figure for one period and scope; value is None when a rate's denominator is 0."""
    key: str
    period: Period
    town: str | None
    value: float | int | None  # int for counts, 0..1 for rates
    numerator: int
    denominator: int | None

    def as_dict(self) -> dict:
        return {"period": self.period.code, "value": self.value,
                "numerator": self.numerator, "denominator": self.denominator}


@dataclass(frozen=True)
class Headline:
    """A figure with the same figure for the previous period."""
    metric: Metric
    current: Figure
    previous: Figure

    @property
    def change(self) -> float | None:
        """Counts: relative change (0.1 = +10 %), None when the previous count is 0.
        Rates: difference in rate (0.012 = +1.2 个百分点)."""
        cur, prev = self.current.value, self.previous.value
        if cur is None or prev is None:
            return None
        if self.metric.is_rate:
            return cur - prev
        return None if prev == 0 else (cur - prev) / prev

    def as_dict(self) -> dict:
        m = self.metric
        return {"key": m.key, "label": m.label, "unit": m.unit, "is_rate": m.is_rate,
                **self.current.as_dict(), "previous": self.previous.as_dict(), "change": self.change}


def _params(period: Period, town: str | None) -> dict:
    return {"start": period.start, "end": period.end, "town": town}


def compute(con: duckdb.DuckDBPyConnection, key: str, period: Period, town: str | None = None) -> Figure:
    """One figure (``METRICS`` key) for a period and a town (None = the whole district)."""
    metric = METRIC_BY_KEY[key]
    num, den = con.cursor().execute(metric.sql, _params(period, town)).fetchone()
    num = int(num or 0)
    if metric.is_rate:
        den = int(den or 0)
        value = num / den if den else None
    else:
        den, value = None, num
    return Figure(key, period, town, value, num, den)


def headline(con: duckdb.DuckDBPyConnection, period: Period, town: str | None = None) -> list[Headline]:
    """Every headline figure for the period and the one before it, in ``METRICS`` order."""
    prev = period.previous()
    return [Headline(m, compute(con, m.key, period, town), compute(con, m.key, prev, town)) for m in METRICS]


def unlocated_opinions(con: duckdb.DuckDBPyConnection, period: Period) -> int:
    """民情民意 submitted in the period without a town (未定位): the export had no town column or a
    value that names no town of the district. They are in every district figure and in no town's
    (a town's figures filter on its name), and take no part in the ranking."""
    return con.cursor().execute(
        "SELECT count(*) FROM opinions WHERE town IS NULL AND submitted_at >= ? AND submitted_at < ?",
        [period.start, period.end]).fetchone()[0]


UNLOCATED_NOTE = ("其中 {n:,} 条民情民意未定位（导出里没有镇街，或镇街认不出）：计入全区的各项数字，"
                  "不计入任何镇街，也不参加镇街排名；在“数据管理”页补上镇街后，全区数字不变，镇街数字随之增加。")


def data_months(con: duckdb.DuckDBPyConnection) -> list[date]:
    """The first day of every month that holds an opinion, a suggestion or an activity, ascending."""
    union = " UNION ".join(
        f"SELECT DISTINCT CAST(date_trunc('month', {col}) AS DATE) AS m FROM {table}"
        for table, col in _DATED
    )
    rows = con.cursor().execute(f"SELECT m FROM ({union}) WHERE m IS NOT NULL ORDER BY m").fetchall()
    return [r[0] for r in rows]


def periods_with_data(con: duckdb.DuckDBPyConnection, grain: str) -> list[Period]:
    """Periods of the grain that hold any opinion, suggestion or activity, latest first."""
    if grain not in GRAINS:
        raise PeriodError(f"期间粒度只能是 {'/'.join(GRAINS)}")
    return sorted({period_of(m, grain) for m in data_months(con)}, reverse=True)


def latest_period(con: duckdb.DuckDBPyConnection, grain: str = "quarter") -> Period | None:
    """The latest period of the grain with any data; None for an empty store."""
    periods = periods_with_data(con, grain)
    return periods[0] if periods else None


def opinions_by_month(con: duckdb.DuckDBPyConnection, period: Period, town: str | None = None,
                      months: int = 12) -> pd.DataFrame:
    """Opinions submitted per month (and how many of them are 已办结) for the ``months`` months
    ending with the period's last month — or every month of the period, if it is longer.
    Columns: month (Period code, e.g. 2024-05), opinions, closed. Months without data are 0."""
    months_of_period = period.months()
    last = months_of_period[-1]
    first = last
    for _ in range(months - 1):
        first = first.previous()
    first = min(first, months_of_period[0])
    rows = con.cursor().execute(
        f"""SELECT CAST(date_trunc('month', submitted_at) AS DATE) AS m, count(*),
                   count(*) FILTER (WHERE status = '已办结')
            FROM opinions WHERE {_IN_PERIOD_TOWN.format(col='submitted_at')}
            GROUP BY m""",
        {"start": first.start, "end": last.end, "town": town},
    ).fetchall()
    found = {period_of(m, "month"): (n, closed) for m, n, closed in rows}
    out, p = [], first
    while p <= last:
        n, closed = found.get(p, (0, 0))
        out.append({"month": p.code, "opinions": n, "closed": closed})
        p = p.next()
    return pd.DataFrame(out, columns=["month", "opinions", "closed"])


def format_value(metric: Metric, value: float | None) -> str:
    if value is None:
        return "—"
    if metric.is_rate:
        return f"{value * 100:.1f}%"
    return f"{int(value):,}"


def format_change(h: Headline) -> str | None:
    """'+1.2 个百分点' for rates, '+3.2%' for counts; None when there is nothing to compare."""
    c = h.change
    if c is None:
        return None
    if h.metric.is_rate:
        return f"{c * 100:+.1f} 个百分点"
    return f"{c * 100:+.1f}%"
