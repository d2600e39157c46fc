"""代表建议闭环: every suggestion followed from 提出 to 代表评价 and 二次答复.

One function, ``suggestion_rows``, says which stage every suggestion has reached (the only place
the stage memberships are defined; ``docs/suggestions.md`` repeats them in words). Everything else —
the funnel, the rates, the stage clocks, the overdue list, the departments, the promise tracker, the
"solved but still rising" flag and one suggestion's timeline — is computed from those rows.

Common rules:
- a scope is a 届次会次 (``session``) or a period (suggestions *submitted* in it, as the cockpit
  counts them), optionally one town: the town of the lead representative, by the rule of
  ``analytics.domain.metrics`` (a suggestion whose lead cannot be placed counts for the district only);
- "now" is ``suggestions_as_of``: the latest date found in the suggestions, never the wall clock,
  so the same data gives the same overdue list on every machine and every day;
- 答复 means a 答复时间 or an answer class A/B/C (``metrics.ANSWERED_CLASSES``); 解决率 counts,
  as the cockpit does, only answers with a class; the classes counted as 解决 are
  ``metrics.RESOLVED_CLASSES`` (data/indices.toml ``[answers] solved``); 满意/已评价 are
  ``metrics.SATISFIED`` / ``metrics.EVALUATED``; the weight of 基本满意 in 加权满意率 is the
  indices' ``basic_satisfied_weight``. Nothing here restates those lists;
- a rate whose denominator is 0 has no value (None, shown as "—").
Nothing here caches: the pages cache by ``store.data_version``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analytics.core.config import ConfigError, load_file
from analytics.core.paths import DATA_DIR
from analytics.domain import metrics
from analytics.core.periods import Period, parse_period

CONFIG_PATH = DATA_DIR / "suggestions.toml"
SUBMIT_TYPES = ("大会期间", "闭会期间")  # contract vocabulary submit_type
ALL_TYPES = "全部"

# ───────────────────────────── configuration ─────────────────────────────


class SuggestionConfigError(ConfigError):
    """data/suggestions.toml is wrong; the message is Chinese and names the file and the key."""


@dataclass(frozen=True)
class SuggestionConfig:
    follow_up_months: dict[str, int]  # answer class -> months after the answer a follow-up is due
    due_soon_days: int
    dept_min_answered: int
    dept_prior_strength: float
    rising_history_months: int
    rising_window_months: int
    rising_min_after: int
    rising_ratio: float
    title_stopwords: tuple[str, ...]
    source: str = "suggestions.toml"


_SECTIONS = {
    "promises": {"follow_up_months", "due_soon_days"},
    "departments": {"min_answered", "prior_strength"},
    "rising": {"history_months", "window_months", "min_after", "ratio", "title_stopwords"},
}


def load_config(path: str | Path | None = None) -> SuggestionConfig:
    """Read and validate the configuration (default ``data/suggestions.toml``)."""
    return load_file(path, CONFIG_PATH, "代表建议配置", SuggestionConfigError, parse_config)


def parse_config(raw: dict, source: str = "suggestions.toml") -> SuggestionConfig:
    def fail(where: str, msg: str):
        raise SuggestionConfigError(f"代表建议配置文件 {source} 有误：{where} {msg}")

    extra = sorted(set(raw) - set(_SECTIONS))
    if extra:
        fail("文件顶层", f"有不认识的段落“{'、'.join(extra)}”，可用：{'、'.join(_SECTIONS)}")
    sec = {}
    for name, keys in _SECTIONS.items():
        s = raw.get(name)
        if not isinstance(s, dict):
            fail(f"[{name}]", "整段缺失")
        unknown = sorted(set(s) - keys)
        if unknown:
            fail(f"[{name}]", f"有不认识的项“{'、'.join(unknown)}”，可用：{'、'.join(sorted(keys))}")
        missing = sorted(keys - set(s))
        if missing:
            fail(f"[{name}]", f"缺少 {'、'.join(missing)}")
        sec[name] = s

    def number(name: str, key: str, *, integer=False, minimum=0.0) -> float:
        v = sec[name][key]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            fail(f"[{name}] 的 {key}", f"应是数字，现在是“{v}”")
        if integer and v != int(v):
            fail(f"[{name}] 的 {key}", f"应是整数，现在是 {v}")
        if v < minimum:
            fail(f"[{name}] 的 {key}", f"不能小于 {minimum:g}，现在是 {v}")
        return int(v) if integer else float(v)

    months = sec["promises"]["follow_up_months"]
    if not isinstance(months, dict) or not months:
        fail("[promises] 的 follow_up_months", "应写成 { B = 6, C = 12 } 这样的表")
    follow = {}
    for cls, m in months.items():
        if cls not in metrics.ANSWERED_CLASSES:
            fail("[promises] 的 follow_up_months", f"中“{cls}”不是答复类别，可用：{'、'.join(metrics.ANSWERED_CLASSES)}")
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            fail(f"[promises] 的 follow_up_months.{cls}", f"应是正整数（月数），现在是“{m}”")
        follow[cls] = m
    stop = sec["rising"]["title_stopwords"]
    if not isinstance(stop, list) or not all(isinstance(w, str) for w in stop):
        fail("[rising] 的 title_stopwords", "应是词语的列表，如 [\"关于\", \"建议\"]")
    return SuggestionConfig(
        follow_up_months=follow,
        due_soon_days=number("promises", "due_soon_days", integer=True),
        dept_min_answered=number("departments", "min_answered", integer=True, minimum=1),
        dept_prior_strength=number("departments", "prior_strength"),
        rising_history_months=number("rising", "history_months", integer=True, minimum=2),
        rising_window_months=number("rising", "window_months", integer=True, minimum=1),
        rising_min_after=number("rising", "min_after", integer=True, minimum=1),
        rising_ratio=number("rising", "ratio", minimum=1.0),
        title_stopwords=tuple(stop),
        source=source,
    )


def basic_satisfied_weight() -> float:
    """How much a 基本满意 counts in 加权满意率: the indices' ``basic_satisfied_weight``."""
    from analytics.domain.indices import load_config as load_index_config

    return load_index_config().basic_satisfied_weight


# ───────────────────────────── scope and "now" ─────────────────────────────

_AS_OF_SQL = """
    SELECT greatest(max(submitted_at), max(assigned_at), max(answered_at), max(second_answered_at))
    FROM suggestions
"""


def suggestions_as_of(con: duckdb.DuckDBPyConnection) -> date | None:
    """"Now" for the suggestions: the latest date recorded in them (提出, 交办, 答复, 二次答复 — not
    答复期限, a plan). An export vouches for "not answered yet" only up to the day it was taken, so
    a newer opinions export does not make a suggestion overdue. The cockpit's alert list
    (``analytics.domain.alerts``) uses the same date. None when there are no suggestions."""
    d = con.cursor().execute(_AS_OF_SQL).fetchone()[0]
    if isinstance(d, datetime):
        d = d.date()
    return d


def sessions(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every 届次会次 in the data, the latest first (by its earliest 提出时间)."""
    rows = con.cursor().execute(
        "SELECT session FROM suggestions GROUP BY session ORDER BY min(submitted_at) DESC, session DESC"
    ).fetchall()
    return [r[0] for r in rows]


def latest_session(con: duckdb.DuckDBPyConnection) -> str | None:
    s = sessions(con)
    return s[0] if s else None


@dataclass(frozen=True)
class Scope:
    """Which suggestions: a 届次会次 or a submission period (or neither: all), and a town."""
    session: str | None = None
    period: Period | None = None
    town: str | None = None

    @property
    def label(self) -> str:
        what = self.session or (self.period.label if self.period else "全部建议")
        return f"{self.town or '全区'} · {what}"

    def as_dict(self) -> dict:
        return {"session": self.session, "period": self.period.code if self.period else None, "town": self.town}


# ───────────────────────────── the rows and their stages ─────────────────────────────

_ROWS_SQL = f"""
    SELECT suggestion_id, session, submitted_at, submit_type, lead_rep, co_reps, title, content, category,
           main_handler, co_handlers, supervision, assigned_at, due_at, answered_at, answer_class,
           evaluation, second_answered_at, status, town
    FROM ({metrics.SUGGESTIONS_WITH_TOWN})
    WHERE ($session IS NULL OR session = $session)
      AND ($start IS NULL OR (submitted_at >= $start AND submitted_at < $end))
      AND ($town IS NULL OR town = $town)
      AND ($id IS NULL OR suggestion_id = $id)
    ORDER BY submitted_at, suggestion_id
"""
DATE_COLUMNS = ("submitted_at", "assigned_at", "due_at", "answered_at", "second_answered_at")

# Stages of the funnel, in order: (key, label, is a subset of the stage before it rather than a step).
STAGES = (
    ("submitted", "提出", False),
    ("assigned", "交办", False),
    ("supervised", "督办", True),
    ("handling", "办理", False),
    ("answered", "答复", False),
    ("evaluated", "代表评价", False),
    ("second", "二次答复", True),
)
SUBSET_OF = {"supervised": "assigned", "second": "answered"}  # a subset's share is of this stage
STAGE_DEFINITIONS = {
    "submitted": "范围内的每一件建议。",
    "assigned": "有交办时间，或已进入办理、答复（后面的环节说明它一定交办过）。",
    "supervised": "已交办且填有督办方式（常委会重点督办、主任会议成员牵头督办、各委办对口督办）：是交办中的一部分，不是每件都有。",
    "handling": "已交办且有主办单位，或已答复。",
    "answered": "有答复时间，或答复类别为 A、B 或 C（已办复）。",
    "evaluated": "已答复，且领衔代表的评价为满意、基本满意或不满意（未评价、空白不算）。",
    "second": "已答复且有二次答复时间：是答复中的一部分（B 类承诺事项、个别 A 类）。",
}


def suggestion_rows(con: duckdb.DuckDBPyConnection, scope: Scope = Scope(), as_of: date | None = None,
                    suggestion_id: str | None = None) -> pd.DataFrame:
    """One row per suggestion in the scope, with the stage it reached and the flags every figure
    counts. Stage flags (cumulative: a later stage implies the earlier ones, except the two
    subsets 督办 and 二次答复):

    - ``submitted``: every row;  ``assigned``: 交办时间 present, or ``handling``;
    - ``supervised``: ``assigned`` and 督办方式 present;
    - ``handling``: ``answered``, or 交办时间 and 主办单位 present;
    - ``answered``: 答复时间 present or 答复类别 in A/B/C;  ``evaluated``: ``answered`` and 代表评价
      in 满意/基本满意/不满意;  ``second``: ``answered`` and 二次答复时间 present.

    Outcome flags: ``classified`` (答复类别 in A/B/C: the 解决率 denominator, as the cockpit's),
    ``solved`` (a class counted as 解决), ``satisfied`` (evaluated
    满意 or 基本满意), ``satisfied_full`` (满意), ``satisfied_basic`` (基本满意), ``done``
    (solved and satisfied: 办成). ``open`` = not answered; ``overdue`` = open and 答复期限 before
    ``as_of``; ``due_counted`` = has a 答复期限 and is either answered with a 答复时间 or open and
    overdue; ``on_time`` = answered with 答复时间 ≤ 答复期限. ``days_overdue`` = as_of − 答复期限
    for overdue rows. Dates are pandas Timestamps (NaT when missing)."""
    if as_of is None:
        as_of = suggestions_as_of(con)
    p = scope.period
    params = {"session": scope.session, "start": p.start if p else None, "end": p.end if p else None,
              "town": scope.town, "id": suggestion_id}
    cur = con.cursor()
    # Fetched columnar: as Python tuples, 100,000 suggestions cost ~1.8 s to fetch and frame.
    df = cur.execute(_ROWS_SQL, params).df()
    for c in DATE_COLUMNS:
        df[c] = pd.to_datetime(df[c])
    now = pd.Timestamp(as_of) if as_of else pd.NaT
    has = lambda c: df[c].notna()  # noqa: E731
    classified = df["answer_class"].isin(metrics.ANSWERED_CLASSES)
    answered = classified | has("answered_at")
    handling = answered | (has("assigned_at") & df["main_handler"].notna())
    assigned = handling | has("assigned_at")
    df["submitted"] = True
    df["assigned"] = assigned
    df["supervised"] = assigned & df["supervision"].notna()
    df["handling"] = handling
    df["answered"] = answered
    df["evaluated"] = answered & df["evaluation"].isin(metrics.EVALUATED)
    df["second"] = answered & has("second_answered_at")
    df["classified"] = classified
    df["solved"] = classified & df["answer_class"].isin(metrics.RESOLVED_CLASSES)
    df["satisfied"] = df["evaluated"] & df["evaluation"].isin(metrics.SATISFIED)
    df["satisfied_full"] = df["evaluated"] & (df["evaluation"] == "满意")
    df["satisfied_basic"] = df["evaluated"] & (df["evaluation"] == "基本满意")
    df["done"] = df["solved"] & df["satisfied"]
    df["open"] = ~answered
    past_due = has("due_at") & (df["due_at"] < now) if as_of else pd.Series(False, index=df.index)
    df["overdue"] = df["open"] & past_due
    df["due_counted"] = has("due_at") & ((answered & has("answered_at")) | df["overdue"])
    df["on_time"] = answered & has("answered_at") & has("due_at") & (df["answered_at"] <= df["due_at"])
    df["days_overdue"] = np.where(df["overdue"], (now - df["due_at"]).dt.days, np.nan) if len(df) else []
    df["stage"] = _current_stage(df)
    return df


def _current_stage(df: pd.DataFrame) -> pd.Series:
    """The furthest main stage each row reached (the subsets 督办/二次答复 are not stages of their own)."""
    stage = pd.Series("submitted", index=df.index, dtype=object)
    for key in ("assigned", "handling", "answered", "evaluated"):
        stage[df[key]] = key
    return stage


def by_type(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """{全部, 大会期间, 闭会期间}: the rows of each 提出类型 (rows without one are only in 全部)."""
    out = {ALL_TYPES: rows}
    for t in SUBMIT_TYPES:
        out[t] = rows[rows["submit_type"] == t]
    return out


# ───────────────────────────── rates ─────────────────────────────

@dataclass(frozen=True)
class Rate:
    key: str
    label: str
    definition: str
    formula: str
    numerator: str  # a flag column of suggestion_rows (or "satisfied_weighted")
    denominator: str


def _solved_words() -> str:
    cls = metrics.RESOLVED_CLASSES
    return "、".join(cls) + " 类"


RATES: tuple[Rate, ...] = (
    Rate("closed_rate", "办结率",
         "范围内的代表建议中，承办单位已经答复（办复：有答复时间或答复类别）的比例。办结只说明已经答复，"
         "不说明问题已经解决：请同时看解决率和办成率。",
         "已答复件数 ÷ 建议件数", "answered", "submitted"),
    Rate("on_time_rate", "按期答复率",
         "已到答复期限的建议中，在期限内答复（答复时间不晚于答复期限）的比例。已到期 = 已答复且答复时间、"
         "答复期限都有记录的，加上尚未答复而答复期限已过的（以数据中最晚的日期为准）；没有答复期限的不计入。",
         "按期答复件数 ÷ 已到期件数", "on_time", "due_counted"),
    Rate("solved_rate", "解决率",
         f"已答复且有答复类别的建议中，答复类别算作“解决”的比例（现为 {_solved_words()}：已解决或基本解决；清单见 data/indices.toml "
         "的 [answers]）。与驾驶舱的“解决率”同一口径，尚未答复的不计入分母。",
         "答复为解决类的件数 ÷ 答复类别为 A、B 或 C 的件数", "solved", "classified"),
    Rate("satisfied_rate", "满意率",
         "已评价的建议中，领衔代表评价为满意或基本满意的比例。基本满意按满意计，与驾驶舱民情民意满意率、"
         "公开通报的口径一致；未评价的不计入分母。",
         "评价为满意或基本满意的件数 ÷ 已评价件数", "satisfied", "evaluated"),
    Rate("weighted_satisfied_rate", "加权满意率",
         "同满意率，但基本满意只按一部分计（权重为 data/indices.toml 的 basic_satisfied_weight，"
         "与解忧指数的加权满意率同一权重），用来区分“满意”和“基本满意”。",
         "（满意件数 + 基本满意件数 × 权重）÷ 已评价件数", "satisfied_weighted", "evaluated"),
    Rate("done_rate", "办成率",
         "范围内的代表建议中，既答复为解决类（已解决或基本解决）、领衔代表又评价为满意或基本满意的比例。"
         "与办结率用同一个分母：办结率与办成率之差，就是“答复了，但没有解决或代表不认可”（或还在途中）的部分。",
         "答复为解决类且评价为满意或基本满意的件数 ÷ 建议件数", "done", "submitted"),
)
CLI_RATE_KEYS = ("closed_rate", "on_time_rate", "solved_rate", "satisfied_rate", "done_rate")


def rates(rows: pd.DataFrame, basic_weight: float | None = None) -> pd.DataFrame:
    """Every rate of ``RATES`` over the rows: key, label, numerator, denominator, value (None when
    the denominator is 0), definition, formula."""
    w = basic_satisfied_weight() if basic_weight is None else basic_weight
    out = []
    for r in RATES:
        if r.numerator == "satisfied_weighted":
            num = float(rows["satisfied_full"].sum() + w * rows["satisfied_basic"].sum())
        else:
            num = int(rows[r.numerator].sum())
        den = int(rows[r.denominator].sum())
        out.append({"key": r.key, "label": r.label, "numerator": num, "denominator": den,
                    "value": num / den if den else None, "definition": r.definition, "formula": r.formula})
    return pd.DataFrame(out)


# ───────────────────────────── funnel ─────────────────────────────

def funnel(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per stage: ``count`` (rows that reached it), ``share`` (of 提出), ``step_share``
    (of the main stage before it; for a subset, of the stage it belongs to), ``here`` (rows whose
    furthest main stage is this one; None for subsets), ``subset``."""
    n = len(rows)
    out, prev = [], None
    for key, label, subset in STAGES:
        count = int(rows[key].sum())
        base = int(rows[SUBSET_OF[key]].sum()) if subset else (prev if prev is not None else count)
        here = None if subset else int((rows["stage"] == key).sum())
        out.append({"stage": key, "label": label, "count": count, "share": count / n if n else None,
                    "step_share": count / base if base else None, "here": here, "subset": subset,
                    "definition": STAGE_DEFINITIONS[key]})
        if not subset:
            prev = count
    return pd.DataFrame(out)


# ───────────────────────────── stage clocks ─────────────────────────────

CLOCKS = (
    ("submit_to_assign", "提出 → 交办", "submitted_at", "assigned_at"),
    ("assign_to_answer", "交办 → 答复", "assigned_at", "answered_at"),
    ("answer_to_evaluation", "答复 → 代表评价", None, None),
    ("answer_to_second", "答复 → 二次答复", "answered_at", "second_answered_at"),
    ("open_age", "交办至今仍未答复", "assigned_at", None),
)
NO_EVALUATION_DATE = "导出文件没有“评价时间”一列，无法计算这一段的天数。"


def clocks(rows: pd.DataFrame, as_of: date | None) -> pd.DataFrame:
    """Days spent in each stage, per 提出类型 (全部 / 大会期间 / 闭会期间): n, median, mean, p90
    (90th percentile, linear interpolation), max. A span counts when both its dates are present and
    the end is not before the start (a negative span is a data error: counted in ``bad``).
    ``open_age`` = days from 交办 to ``as_of`` for suggestions not yet answered."""
    now = pd.Timestamp(as_of) if as_of else pd.NaT
    out = []
    for t, part in by_type(rows).items():
        for key, label, a, b in CLOCKS:
            rec = {"clock": key, "label": label, "submit_type": t, "n": 0, "median": None, "mean": None,
                   "p90": None, "max": None, "bad": 0, "note": None}
            if a is None:
                rec["note"] = NO_EVALUATION_DATE
                out.append(rec)
                continue
            if b is None:
                sel = part[part["open"] & part[a].notna()]
                days = (now - sel[a]).dt.days
            else:
                sel = part[part[a].notna() & part[b].notna()]
                days = (sel[b] - sel[a]).dt.days
            bad = int((days < 0).sum())
            days = days[days >= 0].astype(float)
            rec.update(n=int(len(days)), bad=bad)
            if len(days):
                rec.update(median=float(days.median()), mean=float(days.mean()),
                           p90=float(np.quantile(days, 0.9)), max=float(days.max()))
            out.append(rec)
    return pd.DataFrame(out)


# ───────────────────────────── overdue ─────────────────────────────

OVERDUE_COLUMNS = ["suggestion_id", "title", "submit_type", "lead_rep", "town", "main_handler", "supervision",
                   "assigned_at", "due_at", "days_overdue", "status"]


def overdue(rows: pd.DataFrame) -> pd.DataFrame:
    """Suggestions not answered whose 答复期限 is before the data's as-of date, the longest overdue
    first, with 主办单位 and 督办方式."""
    od = rows[rows["overdue"]].sort_values(["days_overdue", "suggestion_id"], ascending=[False, True])
    out = od[OVERDUE_COLUMNS].reset_index(drop=True)
    out["days_overdue"] = out["days_overdue"].astype(int)
    return out


# ───────────────────────────── departments ─────────────────────────────

DEPARTMENT_COLUMNS = ["main_handler", "suggestions", "answered", "open", "overdue", "on_time", "due",
                      "on_time_rate", "solved", "classified", "solved_rate", "satisfied", "evaluated", "satisfied_rate",
                      "score", "rank", "small"]
NO_HANDLER = "（未填主办单位）"


def departments(rows: pd.DataFrame, cfg: SuggestionConfig | None = None) -> pd.DataFrame:
    """Per 主办单位: volume, answered, open, overdue, 按期答复 (on_time / due), 解决 (solved /
    classified), 满意 (satisfied / evaluated), their raw rates, a ``score`` and a ``rank``.

    Score (0–100): the mean of the three rates, each first shrunk toward the pooled rate of all
    departments in scope, ``(x + m·p̄) / (n + m)`` with m = ``prior_strength`` (a department with 2
    answers cannot top the list by luck); a rate nobody has (pooled denominator 0) is left out.
    Departments with fewer than ``min_answered`` answers are listed with ``small`` = True and no
    rank; the others are ranked by score (ties by name)."""
    from analytics.domain.indices import beta_binomial_adjust

    cfg = cfg or load_config()
    work = rows.assign(main_handler=rows["main_handler"].fillna(NO_HANDLER))
    agg = work.groupby("main_handler", sort=True).agg(
        suggestions=("suggestion_id", "size"), answered=("answered", "sum"), open=("open", "sum"),
        overdue=("overdue", "sum"), on_time=("on_time", "sum"), due=("due_counted", "sum"),
        solved=("solved", "sum"), classified=("classified", "sum"), satisfied=("satisfied", "sum"),
        evaluated=("evaluated", "sum"),
    ).reset_index()
    if agg.empty:
        return pd.DataFrame(columns=DEPARTMENT_COLUMNS)
    shrunk = []
    for x, n in (("on_time", "due"), ("solved", "classified"), ("satisfied", "evaluated")):
        xs, ns = agg[x].to_numpy(float), agg[n].to_numpy(float)
        agg[f"{x}_rate"] = np.where(ns > 0, xs / np.where(ns > 0, ns, 1), np.nan)
        if ns.sum() > 0:
            shrunk.append(beta_binomial_adjust(xs, ns, xs.sum() / ns.sum(), cfg.dept_prior_strength))
    agg["score"] = 100 * np.mean(shrunk, axis=0) if shrunk else np.nan
    agg["small"] = agg["answered"] < cfg.dept_min_answered
    ranked = agg[~agg["small"]].sort_values(["score", "main_handler"], ascending=[False, True])
    agg["rank"] = pd.Series(range(1, len(ranked) + 1), index=ranked.index, dtype="Int64")
    agg = agg.sort_values(["rank", "main_handler"], na_position="last").reset_index(drop=True)
    for c in ("suggestions", "answered", "open", "overdue", "on_time", "due", "solved", "classified", "satisfied",
              "evaluated"):
        agg[c] = agg[c].astype(int)
    return agg[DEPARTMENT_COLUMNS]


# ───────────────────────────── promises ─────────────────────────────

PROMISE_STATUSES = ("已逾期", "即将到期", "待跟进", "已跟进")
PROMISE_COLUMNS = ["suggestion_id", "title", "lead_rep", "town", "main_handler", "answer_class", "answered_at",
                   "follow_up_due", "second_answered_at", "status", "days_left", "days_late"]


def add_months(d: date, n: int) -> date:
    """The same day n months later; the last day of the month when that month is shorter."""
    y, m = divmod(d.month - 1 + n, 12)
    y, m = d.year + y, m + 1
    last = (date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)).day
    return date(y, m, min(d.day, last))


def promises(rows: pd.DataFrame, as_of: date | None, cfg: SuggestionConfig | None = None) -> pd.DataFrame:
    """Answers that promise later action (classes in ``[promises] follow_up_months``, e.g. B and C)
    with a 答复时间, each with its follow-up due date = 答复时间 + months. Status: 已跟进 when a
    二次答复时间 is present (``days_late`` > 0 when it came after the due date); otherwise 已逾期
    when the due date is before ``as_of``, 即将到期 within ``due_soon_days``, else 待跟进.
    ``days_left`` = due date − as_of (negative when overdue; None once followed up).
    Overdue first, then by due date."""
    cfg = cfg or load_config()
    sel = rows[rows["answer_class"].isin(list(cfg.follow_up_months)) & rows["answered_at"].notna()]
    out = []
    # Only the columns used: itertuples walks every column of every row (~40 here, some long text).
    sel = sel[["suggestion_id", "title", "lead_rep", "town", "main_handler", "answer_class", "answered_at",
               "second_answered_at"]]
    for r in sel.itertuples(index=False):
        due = add_months(r.answered_at.date(), cfg.follow_up_months[r.answer_class])
        second = r.second_answered_at.date() if pd.notna(r.second_answered_at) else None
        rec = {c: getattr(r, c) for c in ("suggestion_id", "title", "lead_rep", "town", "main_handler",
                                          "answer_class")}
        rec.update(answered_at=r.answered_at.date(), follow_up_due=due, second_answered_at=second,
                   days_left=None, days_late=None)
        if second is not None:
            rec["status"] = "已跟进"
            rec["days_late"] = max(0, (second - due).days)
        else:
            left = (due - as_of).days if as_of else None
            rec["days_left"] = left
            rec["status"] = ("待跟进" if left is None else "已逾期" if left < 0
                             else "即将到期" if left <= cfg.due_soon_days else "待跟进")
        out.append(rec)
    df = pd.DataFrame(out, columns=PROMISE_COLUMNS)
    if df.empty:
        return df
    df["_o"] = df["status"].map({s: i for i, s in enumerate(PROMISE_STATUSES)})
    return df.sort_values(["_o", "follow_up_due", "suggestion_id"]).drop(columns="_o").reset_index(drop=True)


def promise_summary(prom: pd.DataFrame) -> dict[str, int]:
    return {s: int((prom["status"] == s).sum()) if len(prom) else 0 for s in PROMISE_STATUSES}


# ───────────────────────────── solved, yet still rising ─────────────────────────────

RISING_COLUMNS = ["suggestion_id", "title", "town", "lead_rep", "answered_at", "words", "method", "evidence"]
METHOD_HOTWORDS = "热词上升"
METHOD_KEYWORDS = "关键词比较"


def title_words(titles: list[str], segmenter, stopwords) -> list[list[str]]:
    """The topic words of each suggestion title: the segmenter's words (its dictionary and
    stopwords), minus the configured title boilerplate, at least two characters, first seen first."""
    stop = set(stopwords)
    return [list(dict.fromkeys(w for w in segmenter.tokens(t or "") if len(w) >= 2 and w not in stop))
            for t in titles]


def _hotwords_ready(con) -> bool:
    from analytics.domain import hotwords

    try:
        return hotwords.active_version(con) is not None and hotwords.pending_count(con) == 0 and \
            con.execute("SELECT count(*) FROM opinion_seg").fetchone()[0] > 0
    except duckdb.Error:
        return False


def rising_after_solved(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, as_of: date | None,
                        cfg: SuggestionConfig | None = None, method: str | None = None) -> pd.DataFrame:
    """Suggestions answered as solved whose topic keeps rising among citizens' opinions in the lead
    representative's town after the answer — "closed as solved, but people still raise it".

    Only solved rows with a town and a 答复时间 are examined; their topic words are ``title_words``.
    Method ``热词上升`` (used when every opinion has been segmented with the active dictionary):
    ``hotwords.rising_words`` (Kleinberg bursts, by month, over ``history_months`` months ending
    with ``as_of``, in the town, restricted to the suggestion's words); a suggestion is flagged when
    one of its words is in a burst whose last month is after the month of the answer.
    Method ``关键词比较`` (when there are no hot words yet): for each word, the town's opinions whose
    标题 contains it, in the ``window_months`` after the answer (cut at as_of) against the same
    number of days before the answer; flagged when after ≥ ``min_after`` and after ≥ ``ratio`` ×
    before. ``method`` forces one of the two (tests)."""
    cfg = cfg or load_config()
    sel = rows[rows["solved"] & rows["town"].notna() & rows["answered_at"].notna()]
    if sel.empty or as_of is None:
        return pd.DataFrame(columns=RISING_COLUMNS)
    from analytics.domain import hotwords
    from analytics.text import segment as textseg

    if method is None:
        method = METHOD_HOTWORDS if _hotwords_ready(con) else METHOD_KEYWORDS
    seg = hotwords.segmenter_for(con) if method == METHOD_HOTWORDS else textseg.get_segmenter()
    words = title_words(list(sel["title"]), seg, cfg.title_stopwords)
    sel = sel[["suggestion_id", "title", "town", "lead_rep", "answered_at"]].assign(words=words)
    sel = sel[sel["words"].map(len) > 0]
    if sel.empty:
        return pd.DataFrame(columns=RISING_COLUMNS)
    found = (_rising_hotwords if method == METHOD_HOTWORDS else _rising_keywords)(con, sel, as_of, cfg)
    out = []
    for r in sel.itertuples(index=False):
        hits = found.get(r.suggestion_id)
        if not hits:
            continue
        out.append({"suggestion_id": r.suggestion_id, "title": r.title, "town": r.town, "lead_rep": r.lead_rep,
                    "answered_at": r.answered_at.date(), "words": "、".join(w for w, _ in hits),
                    "method": method, "evidence": "；".join(e for _, e in hits)})
    return pd.DataFrame(out, columns=RISING_COLUMNS)


def _rising_hotwords(con, sel: pd.DataFrame, as_of: date, cfg: SuggestionConfig) -> dict[str, list]:
    from analytics.domain import hotwords

    end = as_of + timedelta(days=1)
    found: dict[str, list] = {}
    # One pass over the word rows for every town's words (the calls below then find their counts).
    hotwords.prefetch_rising_by_town(
        con, end, {town: sorted({w for ws in part["words"] for w in ws}) for town, part in sel.groupby("town")},
        history=cfg.rising_history_months)
    for town, part in sel.groupby("town", sort=True):
        vocab = sorted({w for ws in part["words"] for w in ws})
        start = min(part["answered_at"]).date().replace(day=1)
        df = hotwords.rising_words(con, start, end, grain="month", history=cfg.rising_history_months,
                                   top=10_000, words=vocab, town=town)
        bursts = {r.word: r for r in df.itertuples(index=False)}
        for r in part[["suggestion_id", "answered_at", "words"]].itertuples(index=False):
            month = r.answered_at.date().replace(day=1)
            for w in r.words:
                b = bursts.get(w)
                if b is not None and b.rise_end > month:
                    found.setdefault(r.suggestion_id, []).append(
                        (w, f"“{w}”在{town}自 {b.rise_start:%Y-%m} 起上升至 {b.rise_end:%Y-%m}"
                            f"（突发期 {b.docs_burst} 条意见，强度 {b.strength:.1f}）"))
    return found


_KEYWORD_SQL = """
    WITH pairs AS (
        SELECT unnest(CAST($ids AS VARCHAR[])) AS suggestion_id, unnest(CAST($words AS VARCHAR[])) AS word,
               unnest(CAST($towns AS VARCHAR[])) AS town, unnest(CAST($b0 AS DATE[])) AS b0,
               unnest(CAST($a0 AS DATE[])) AS a0, unnest(CAST($a1 AS DATE[])) AS a1
    )
    SELECT p.suggestion_id, p.word,
           count(o.opinion_id) FILTER (WHERE CAST(o.submitted_at AS DATE) >= p.a0) AS after,
           count(o.opinion_id) FILTER (WHERE CAST(o.submitted_at AS DATE) < p.a0) AS before
    FROM pairs p LEFT JOIN opinions o
      ON o.town = p.town AND CAST(o.submitted_at AS DATE) >= p.b0 AND CAST(o.submitted_at AS DATE) < p.a1
         AND contains(o.title, p.word)
    GROUP BY ALL
"""


def _rising_keywords(con, sel: pd.DataFrame, as_of: date, cfg: SuggestionConfig) -> dict[str, list]:
    ids, words, towns, b0s, a0s, a1s = [], [], [], [], [], []
    for r in sel.itertuples(index=False):
        a0 = r.answered_at.date()
        a1 = min(add_months(a0, cfg.rising_window_months), as_of + timedelta(days=1))
        if a1 <= a0:
            continue
        for w in r.words:
            ids.append(r.suggestion_id)
            words.append(w)
            towns.append(r.town)
            b0s.append(a0 - (a1 - a0))
            a0s.append(a0)
            a1s.append(a1)
    if not ids:
        return {}
    rows = con.cursor().execute(_KEYWORD_SQL, {"ids": ids, "words": words, "towns": towns, "b0": b0s,
                                               "a0": a0s, "a1": a1s}).fetchall()
    found: dict[str, list] = {}
    order = {(i, w): k for k, (i, w) in enumerate(zip(ids, words))}
    for sid, w, after, before in sorted(rows, key=lambda x: order[(x[0], x[1])]):
        if after >= cfg.rising_min_after and after >= cfg.rising_ratio * before:
            found.setdefault(sid, []).append(
                (w, f"标题含“{w}”的意见：答复后 {after} 条，答复前同样长的时间里 {before} 条"))
    return found


# ───────────────────────────── one suggestion ─────────────────────────────

TIMELINE_COLUMNS = ["date", "stage", "event", "detail"]


def timeline(con: duckdb.DuckDBPyConnection, suggestion_id: str, as_of: date | None = None,
             cfg: SuggestionConfig | None = None) -> dict | None:
    """One suggestion's full record and its events in order: 提出 (content), 交办 (主办/协办单位,
    督办方式), 答复期限, 答复 (class, on time or late), 代表评价 (no date in the data: placed after
    the answer), 二次答复, and the promised follow-up for a B/C answer. Returns None for an unknown
    id; else {"row": dict of the suggestion, "events": DataFrame(date, stage, event, detail),
    "status": a one-line state as of ``as_of``, "as_of"}."""
    cfg = cfg or load_config()
    if as_of is None:
        as_of = suggestions_as_of(con)
    rows = suggestion_rows(con, Scope(), as_of, suggestion_id=suggestion_id)
    if rows.empty:
        return None
    r = rows.iloc[0]
    d = lambda c: r[c].date() if pd.notna(r[c]) else None  # noqa: E731
    ev = []
    ev.append((d("submitted_at"), "提出", f"{r['submit_type'] or ''}提出：{r['title']}",
               f"领衔代表 {r['lead_rep']}" + (f"；附议代表 {r['co_reps']}" if r["co_reps"] else "")))
    if r["assigned"]:
        detail = f"主办单位 {r['main_handler'] or '（未填）'}"
        if r["co_handlers"]:
            detail += f"；协办单位 {r['co_handlers']}"
        ev.append((d("assigned_at"), "交办", "交办承办单位", detail))
    if r["supervised"]:
        ev.append((d("assigned_at"), "督办", f"督办方式：{r['supervision']}", "随交办确定（导出文件没有督办的日期）"))
    if pd.notna(r["due_at"]):
        ev.append((d("due_at"), "答复期限", "答复期限", "已逾期 {} 天，仍未答复".format(int(r["days_overdue"]))
                   if r["overdue"] else ""))
    if r["answered"]:
        timing = ""
        if pd.notna(r["answered_at"]) and pd.notna(r["due_at"]):
            late = (r["answered_at"] - r["due_at"]).days
            timing = "按期答复" if late <= 0 else f"超过期限 {late} 天答复"
        from analytics.core.labels import ANSWER_CLASS_LABELS

        ev.append((d("answered_at"), "答复", f"{r['answer_class']} 类：{ANSWER_CLASS_LABELS.get(r['answer_class'], '')}",
                   timing))
    if r["evaluated"]:
        ev.append((None, "代表评价", f"代表评价：{r['evaluation']}", "导出文件没有评价日期，排在答复之后"))
    elif r["answered"]:
        ev.append((None, "代表评价", "尚未评价", ""))
    if r["second"]:
        ev.append((d("second_answered_at"), "二次答复", "二次答复", ""))
    if r["answered"] and r["answer_class"] in cfg.follow_up_months and pd.notna(r["answered_at"]):
        due = add_months(d("answered_at"), cfg.follow_up_months[r["answer_class"]])
        if not r["second"]:
            state = "已逾期" if as_of and due < as_of else "待跟进"
            ev.append((due, "跟进到期", f"承诺跟进到期（{state}）",
                       f"{r['answer_class']} 类答复后 {cfg.follow_up_months[r['answer_class']]} 个月"))
    events = pd.DataFrame(ev, columns=TIMELINE_COLUMNS)
    status = ("已逾期未答复" if r["overdue"] else "办理中（未答复）" if r["open"] and r["assigned"]
              else "待交办" if r["open"] else f"已答复（{r['answer_class']} 类）" + (
                  f"，代表评价：{r['evaluation']}" if r["evaluated"] else "，尚未评价"))
    row = {c: (r[c].date() if isinstance(r[c], pd.Timestamp) else (None if pd.isna(r[c]) else r[c]))
           for c in ("suggestion_id", "session", "submitted_at", "submit_type", "lead_rep", "co_reps", "title",
                     "content", "category", "main_handler", "co_handlers", "supervision", "assigned_at", "due_at",
                     "answered_at", "answer_class", "evaluation", "second_answered_at", "status", "town")}
    return {"row": row, "events": events, "status": status, "as_of": as_of}


# ───────────────────────────── everything the page shows ─────────────────────────────

def report(con: duckdb.DuckDBPyConnection, scope: Scope, cfg: SuggestionConfig | None = None,
           with_rising: bool = True) -> dict:
    """Every table of the 代表建议 page for one scope: as_of, rates (全部 and per 提出类型), funnel per
    提出类型, clocks, overdue, departments, promises, rising (solved yet rising). Kept per store state
    (``analytics.store.memo``): at 100,000 suggestions it takes seconds; sessions asking at once share one."""
    from analytics.store import memo

    cfg = cfg or load_config()
    # The rising flags depend on the segmentation (kept in the store, the report must not outlive it).
    key = (scope.session, scope.period.code if scope.period else None, scope.town, repr(cfg), with_rising,
           _hot_state(con) if with_rising else None)
    return memo.remember(con, REPORT, key, lambda: _report(con, scope, cfg, with_rising))


REPORT = "suggestions.report"  # its name in analytics.store.memo and in the store's derived table


def _hot_state(con) -> str:
    from analytics.domain import hotwords

    try:
        return hotwords.seg_state(con.cursor())
    except duckdb.Error:
        return "none"


def _encode_report(rep: dict) -> bytes:
    """The report as an npz: each table as Parquet bytes (``derived.frame_bytes``), the rest as
    JSON (dates tagged)."""
    from analytics.store import derived

    arrays, meta = {}, {}

    def stored(df: pd.DataFrame) -> str:
        name = f"f{len(arrays)}"
        arrays[name] = np.frombuffer(derived.frame_bytes(df), dtype=np.uint8)
        return name

    for k, v in rep.items():
        if isinstance(v, pd.DataFrame):
            meta[k] = {"frame": stored(v)}
        elif isinstance(v, dict) and v and all(isinstance(x, pd.DataFrame) for x in v.values()):
            meta[k] = {"frames": {kk: stored(x) for kk, x in v.items()}}
        elif isinstance(v, Scope):
            meta[k] = {"scope": v.as_dict()}
        elif isinstance(v, date):
            meta[k] = {"date": v.isoformat()}
        else:
            json.dumps(v)  # anything else must be JSON as it is (raises otherwise: then nothing is stored)
            meta[k] = {"value": v}
    return derived.pack(**arrays, meta=meta)


def _decode_report(payload: bytes) -> dict:
    from analytics.store import derived

    z = derived.unpack(payload)
    frame = lambda n: derived.frame_from(z[n].tobytes())  # noqa: E731
    out = {}
    for k, m in z["meta"].items():
        if "frame" in m:
            out[k] = frame(m["frame"])
        elif "frames" in m:
            out[k] = {kk: frame(n) for kk, n in m["frames"].items()}
        elif "scope" in m:
            sc = m["scope"]
            out[k] = Scope(session=sc["session"], period=parse_period(sc["period"]) if sc["period"] else None,
                           town=sc["town"])
        elif "date" in m:
            out[k] = date.fromisoformat(m["date"])
        else:
            out[k] = m["value"]
    return out


def warm_ahead(con: duckdb.DuckDBPyConnection) -> None:
    """Counting ahead (``analytics.domain.ahead``): the report of the latest session (the page's default)."""
    # Only with hot words: without them the "still rising" check falls back to comparing titles
    # against every opinion (minutes at a million), which is what a page asking for it would do.
    session = latest_session(con)
    if session is not None and _hotwords_ready(con):
        report(con, Scope(session=session))


def _register_derived() -> None:
    from analytics.store import memo

    memo.persist(REPORT, _encode_report, _decode_report)


def _report(con: duckdb.DuckDBPyConnection, scope: Scope, cfg: SuggestionConfig, with_rising: bool) -> dict:
    as_of = suggestions_as_of(con)
    rows = suggestion_rows(con, scope, as_of)
    w = basic_satisfied_weight()
    parts = by_type(rows)
    prom = promises(rows, as_of, cfg)
    return {
        "scope": scope, "as_of": as_of, "n": len(rows),
        "rates": {t: rates(p, w) for t, p in parts.items()},
        "funnel": {t: funnel(p) for t, p in parts.items()},
        "clocks": clocks(rows, as_of),
        "open": int(rows["open"].sum()), "overdue_n": int(rows["overdue"].sum()),
        "overdue": overdue(rows),
        "departments": departments(rows, cfg),
        "promises": prom, "promise_summary": promise_summary(prom),
        "rising": rising_after_solved(con, rows, as_of, cfg) if with_rising else None,
    }


_register_derived()
