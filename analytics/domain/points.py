"""月度量化专项行动积分: each town's monthly action points against its monthly target.

Rules are configuration (``data/points.toml``, commented, validated on load with Chinese messages
naming the key); ``docs/ranking.md`` §5 states them in words. For a town and a month:

    points = Σ_types  p_type · f(N_type)            activities held in the town (its stations' and its own)
           + p_opinion · opinions                    opinions collected (records, or the activities' 收集意见数)
           + p_suggestion · suggestions answered     answered (A/B/C) in the month, by the lead's town

where N_type is the number of activities of that type in the town and month, and f(N) = N for an
ordinary type and, for a repeat-discounted type, f(N) = min(N, free) + Σ_{j=1..N−free} decay^j:
the (free + j)-th activity of the type in the month earns p · decay^j (``repeat_factor``).
Progress = points ÷ target; year to date = points of January … the month ÷ (target × months).

A suggestion's town is the rule of the headline figures (``analytics.domain.metrics``): its 领衔代表's
所属镇街 in the roster, by 代表编号, else by a name found in one town only. Counting is set-based:
one SQL statement per source, grouped by (month, town[, type]); the points are formed afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analytics.core.config import Checker, ConfigError, load_file
from analytics.core.paths import DATA_DIR
from analytics.core.contract import load_contract
from analytics.domain.metrics import ANSWERED_CLASSES, SUGGESTIONS_WITH_TOWN
from analytics.core.periods import Period, PeriodError, as_period

CONFIG_PATH = DATA_DIR / "points.toml"
OPINION_SOURCES = {"records": "民情民意表中的条数", "reported": "活动所填“收集意见数”之和"}


class PointsConfigError(ConfigError):
    """data/points.toml is wrong; the message is Chinese and names the file and the key."""


@dataclass(frozen=True)
class PointsConfig:
    activity_points: dict[str, float]
    repeat_types: tuple[str, ...]
    repeat_free: int
    repeat_decay: float
    opinion_points: float
    opinion_source: str
    suggestion_points: float
    default_target: float
    town_targets: dict[str, float]
    source: str = "points.toml"

    def target(self, town: str) -> float:
        return self.town_targets.get(town, self.default_target)


_TOP = {"activity_points", "repeat", "opinions", "suggestions", "target"}


def load_points_config(path: str | Path | None = None) -> PointsConfig:
    """Read and validate the points configuration (default ``data/points.toml``)."""
    return load_file(path, CONFIG_PATH, "积分配置", PointsConfigError, parse_points_config)


def parse_points_config(raw: dict, source: str = "points.toml") -> PointsConfig:
    check = Checker(source, "积分配置", PointsConfigError)
    fail, table, unknown, number = check.fail, check.table, check.unknown, check.number

    contract = load_contract()
    types = contract.canon.get("activity_type", ())
    unknown(raw, _TOP, "文件顶层")
    for key in sorted(_TOP):
        if key not in raw:
            fail(f"[{key}]", "整段缺失")

    act = table(raw["activity_points"], "[activity_points]")
    unknown(act, types, "[activity_points]")
    missing = [t for t in types if t not in act]
    if missing:
        fail("[activity_points]", f"缺少活动类型“{'、'.join(missing)}”的分值（不计分的请写 0）")
    activity_points = {t: number(act, t, "[activity_points]", minimum=0) for t in types}

    rep = table(raw["repeat"], "[repeat]")
    unknown(rep, {"types", "free", "decay"}, "[repeat]")
    rtypes = rep.get("types")
    if not isinstance(rtypes, list) or not all(isinstance(t, str) for t in rtypes):
        fail("[repeat] 的 types", "应写成活动类型的列表，如 [\"进站接待\", \"走访选民\"]")
    bad = [t for t in rtypes if t not in types]
    if bad:
        fail("[repeat] 的 types", f"“{'、'.join(bad)}”不是活动类型，可用：{'、'.join(types)}")
    free = number(rep, "free", "[repeat]", minimum=0)
    if free != int(free):
        fail("[repeat] 的 free", f"应是整数场次，现在是 {free}")
    decay = number(rep, "decay", "[repeat]", minimum=0, maximum=1)

    op = table(raw["opinions"], "[opinions]")
    unknown(op, {"points", "source"}, "[opinions]")
    op_points = number(op, "points", "[opinions]", minimum=0)
    op_source = op.get("source", "records")
    if op_source not in OPINION_SOURCES:
        fail("[opinions] 的 source", f"只能是 {' 或 '.join(OPINION_SOURCES)}，现在是“{op_source}”")

    sg = table(raw["suggestions"], "[suggestions]")
    unknown(sg, {"points"}, "[suggestions]")
    sg_points = number(sg, "points", "[suggestions]", minimum=0)

    tg = table(raw["target"], "[target]")
    unknown(tg, {"default", "towns"}, "[target]")
    default = number(tg, "default", "[target]", positive=True)
    towns_raw = table(tg.get("towns", {}), "[target.towns]")
    town_targets = {}
    for name in towns_raw:
        town = contract.lookup("town", name)
        if town is None:
            fail("[target.towns]", f"“{name}”不是萧山区的镇街（开发区），可用：{'、'.join(contract.towns)}")
        town_targets[town] = number(towns_raw, name, "[target.towns]", positive=True)

    return PointsConfig(activity_points, tuple(rtypes), int(free), decay, op_points, op_source, sg_points,
                        default, town_targets, source)


# ───────────────────────────── rules ─────────────────────────────

def repeat_factor(count: int, free: int, decay: float) -> float:
    """How many full activities ``count`` repeats of a discounted type are worth in one month:
    min(N, free) + Σ_{j=1..N−free} decay^j — the (free + j)-th earns decay^j of the full points."""
    n = int(count)
    extra = max(0, n - free)
    if extra == 0:
        return float(n)
    if decay >= 1:
        return float(n)
    return float(free) + decay * (1 - decay ** extra) / (1 - decay)


def activity_points(count: int, activity_type: str, cfg: PointsConfig) -> float:
    """Points of ``count`` activities of one type held by one town in one month."""
    p = cfg.activity_points.get(activity_type, 0.0)
    if activity_type in cfg.repeat_types:
        return p * repeat_factor(count, cfg.repeat_free, cfg.repeat_decay)
    return p * int(count)


# ───────────────────────────── counting ─────────────────────────────

_MONTH = "strftime({col}, '%Y-%m')"

_ACTIVITY_COUNTS = f"""
    SELECT {_MONTH.format(col="date")} AS month, town, type, count(*) AS n,
           coalesce(sum(opinions_collected), 0) AS collected
    FROM activities WHERE date >= $start AND date < $end GROUP BY ALL
"""
_OPINION_COUNTS = f"""
    SELECT {_MONTH.format(col="submitted_at")} AS month, town, count(*) AS n
    FROM opinions WHERE submitted_at >= $start AND submitted_at < $end GROUP BY ALL
"""
_ANSWERED_COUNTS = f"""
    SELECT {_MONTH.format(col="answered_at")} AS month, town, count(*) AS n
    FROM ({SUGGESTIONS_WITH_TOWN})
    WHERE answered_at >= $start AND answered_at < $end AND answer_class IN $classes AND town IS NOT NULL
    GROUP BY ALL
"""

_COLUMNS = ["town", "month", "activities", "discounted", "activity_points", "opinions", "opinion_points",
            "suggestions_answered", "suggestion_points", "points", "target", "ratio"]


def _months(first: Period, last: Period) -> list[Period]:
    out, p = [], first
    while p <= last:
        out.append(p)
        p = p.next()
    return out


def monthly_points(con: duckdb.DuckDBPyConnection, first, last=None,
                   config: PointsConfig | None = None) -> pd.DataFrame:
    """Points of every town (the 23 of the contract, in its order) for every month from ``first``
    to ``last`` (months, inclusive; ``last`` defaults to ``first``). One row per (town, month):
    activities, discounted (activities beyond the free count of a discounted type), activity_points,
    opinions, opinion_points, suggestions_answered, suggestion_points, points, target, ratio
    (points ÷ target). Rows of places that are not one of the 23 towns are left out."""
    cfg = config or load_points_config()
    first = as_month(first)
    last = as_month(last) if last is not None else first
    months = _months(first, last)
    params = {"start": first.start, "end": last.end}
    cur = con.cursor()
    acts = cur.execute(_ACTIVITY_COUNTS, params).fetchall()
    ops = cur.execute(_OPINION_COUNTS, params).fetchall() if cfg.opinion_source == "records" else []
    ans = cur.execute(_ANSWERED_COUNTS, {**params, "classes": list(ANSWERED_CLASSES)}).fetchall()

    towns = load_contract().towns
    index = {(t, m.code): i for i, (t, m) in enumerate((t, m) for t in towns for m in months)}
    size = len(index)
    n_act, n_disc, p_act = np.zeros(size), np.zeros(size), np.zeros(size)
    n_op, n_ans = np.zeros(size), np.zeros(size)
    for month, town, typ, n, collected in acts:
        i = index.get((town, month))
        if i is None:
            continue
        n_act[i] += n
        if typ in cfg.repeat_types:
            n_disc[i] += max(0, n - cfg.repeat_free)
        p_act[i] += activity_points(n, typ, cfg)
        if cfg.opinion_source == "reported":
            n_op[i] += collected
    for month, town, n in ops:
        if (i := index.get((town, month))) is not None:
            n_op[i] += n
    for month, town, n in ans:
        if (i := index.get((town, month))) is not None:
            n_ans[i] += n
    keys = list(index)
    out = pd.DataFrame({
        "town": [k[0] for k in keys], "month": [k[1] for k in keys],
        "activities": n_act.astype(int), "discounted": n_disc.astype(int), "activity_points": p_act,
        "opinions": n_op.astype(int), "opinion_points": cfg.opinion_points * n_op,
        "suggestions_answered": n_ans.astype(int), "suggestion_points": cfg.suggestion_points * n_ans,
    })
    out["points"] = out["activity_points"] + out["opinion_points"] + out["suggestion_points"]
    out["target"] = [cfg.target(t) for t in out["town"]]
    out["ratio"] = out["points"] / out["target"]
    return out[_COLUMNS]


def progress(con: duckdb.DuckDBPyConnection, month, config: PointsConfig | None = None) -> pd.DataFrame:
    """Each town's progress in ``month`` and in its year to date (January … month). One row per
    town in the contract's order: town, points, target, ratio (the month), ytd_points, ytd_target
    (target × months), ytd_ratio, plus the month's parts (activity_points, opinion_points,
    suggestion_points, activities, discounted, opinions, suggestions_answered)."""
    cfg = config or load_points_config()
    month = as_month(month)
    rows = monthly_points(con, Period("month", month.year, 1), month, cfg)
    ytd = rows.groupby("town", sort=False).agg(ytd_points=("points", "sum"), ytd_target=("target", "sum"))
    now = rows[rows["month"] == month.code].set_index("town")
    out = now.join(ytd).reset_index()
    out["ytd_ratio"] = out["ytd_points"] / out["ytd_target"]
    out.attrs["month"] = month.code
    return out[["town", "points", "target", "ratio", "ytd_points", "ytd_target", "ytd_ratio", "activity_points",
                "opinion_points", "suggestion_points", "activities", "discounted", "opinions",
                "suggestions_answered"]]


def quarter_table(con: duckdb.DuckDBPyConnection, quarter, config: PointsConfig | None = None) -> pd.DataFrame:
    """The quarter's monthly points per town, as the 专报 prints them: town, the points of each
    month of the quarter (columns named by month code), quarter (their sum), quarter_target,
    quarter_ratio, ytd_points, ytd_target, ytd_ratio (January … the quarter's last month)."""
    cfg = config or load_points_config()
    q = as_period(quarter)
    months = q.months()
    rows = monthly_points(con, Period("month", q.start.year, 1), months[-1], cfg)
    wide = rows.pivot(index="town", columns="month", values="points")
    towns = load_contract().towns
    out = pd.DataFrame({"town": list(towns)})
    for m in months:
        out[m.code] = wide[m.code].reindex(towns).to_numpy(float)
    in_q = rows[rows["month"].isin([m.code for m in months])].groupby("town")
    out["quarter"] = in_q["points"].sum().reindex(towns).to_numpy(float)
    out["quarter_target"] = in_q["target"].sum().reindex(towns).to_numpy(float)
    out["quarter_ratio"] = out["quarter"] / out["quarter_target"]
    ytd = rows.groupby("town")
    out["ytd_points"] = ytd["points"].sum().reindex(towns).to_numpy(float)
    out["ytd_target"] = ytd["target"].sum().reindex(towns).to_numpy(float)
    out["ytd_ratio"] = out["ytd_points"] / out["ytd_target"]
    out.attrs["months"] = [m.code for m in months]
    return out


def rules_text(cfg: PointsConfig) -> list[str]:
    """The rules of the configuration, in Chinese sentences (for the page and the 专报's appendix)."""
    acts = "、".join(f"{t} {v:g} 分" for t, v in cfg.activity_points.items())
    lines = [f"活动积分：每开展一场活动按类型计分——{acts}。"]
    if cfg.repeat_types and cfg.repeat_decay < 1:
        lines.append(f"重复递减：同一镇街同一月份内，{'、'.join(cfg.repeat_types)}每类前 {cfg.repeat_free} 场全额计分，"
                     f"此后第 {cfg.repeat_free}+j 场得分值 × {cfg.repeat_decay:g}^j。")
    lines.append(f"民情民意积分：每条 {cfg.opinion_points:g} 分（条数取{OPINION_SOURCES[cfg.opinion_source]}）。")
    lines.append(f"建议答复积分：本月答复（A、B 或 C 类）的代表建议每件 {cfg.suggestion_points:g} 分，按领衔代表所属镇街归属。")
    special = "；".join(f"{t} {v:g} 分" for t, v in cfg.town_targets.items())
    lines.append(f"月度目标：每个镇街每月 {cfg.default_target:g} 分" + (f"（{special}）" if special else "")
                 + "；年度累计目标 = 月度目标 × 已过月数。")
    return lines


def as_month(value) -> Period:
    p = as_period(value)
    if p.grain != "month":
        raise PeriodError(f"积分按月计算：请写成 2024-05 这样的月份，现在是“{p.code}”")
    return p
