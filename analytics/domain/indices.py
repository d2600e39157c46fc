"""The five indices (活跃 / 践行 / 监督 / 解忧 / 学思) and the composite, per unit and period.

Definitions live in ``data/indices.toml`` (components, weights, priors, small-sample rule) and in
``MEASURES`` below (what each numerator and denominator counts); ``docs/indices.md`` gives every
formula in words and symbols, and why. The pipeline, for one level (station / town / district) and
one or more periods of one grain:

1. **cells** — set-based SQL, one query per source table, counts every measure per
   (period, 镇街, 联络站) cell. Integers only (weighted sums are formed afterwards in Python, so
   the order rows were imported in cannot change a float sum).
2. **roll-up** — a station is the sum of its cells, a town the sum of the cells of its 镇街 (which
   include its stations' rows and the town's own rows), the district the sum of all cells.
3. **adjust** — each component's raw value is shrunk toward the peer group's pooled value:
   rates by beta-binomial ``(x + m·p̄) / (n + m)``, per-capita counts by gamma-Poisson
   ``(x + m) / (e + m/λ̄)``. A unit whose denominator is below the minimum is 样本不足.
4. **normalise** — the adjusted value's mid-rank percentile among the sufficient peers
   (Hazen: ``100·(below + ½·equal) / N``), so scores are 0–100, monotone and robust to outliers.
5. **combine** — an index is the weighted mean of its sufficient components' scores, 样本不足 when
   the sufficient components carry less than ``min_coverage`` of its weight; the composite is the
   weighted mean of the five indices by the same rule.

Rates shared with the cockpit's headline figures (办结率, 满意率, 解决率) use the row predicates and
class lists of ``analytics.domain.metrics`` (tests check the counts agree); the index variants that weigh
基本满意 and B类 partly are named differently (加权满意率, 加权解决率).
Nothing here caches: the app caches by ``store.data_version``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analytics.core.config import Checker, ConfigError, load_file
from analytics.core.paths import DATA_DIR
from analytics.core.contract import load_contract, norm_value
from analytics.core.labels import LEVEL_LABELS, RECEIPT_LABELS, ROW_LABELS  # noqa: F401 (importers use them from here too)
from analytics.core.stats import (  # noqa: F401  the scoring functions, used from here by the pages and tests
    beta_binomial_adjust, gamma_poisson_adjust, hazen_insert, hazen_scores, is_nan, weighted_score)
from analytics.domain import duty
from analytics.domain.placement import (
    MAP_CTES,
    PARTICIPATIONS,
    REP_CELLS,
    SUGGESTIONS_PLACED,
    WS_SQL,
    execute,
    fetch_frame,
)
from analytics.domain.metrics import ANSWERED_CLASSES, EVALUATED, NAME_SEPARATORS, latest_period, parse_solved, periods_with_data
from analytics.core.periods import Period, as_period, periods_between
from analytics.core.privacy import mask_name

CONFIG_PATH = DATA_DIR / "indices.toml"

INDEX_KEYS = ("activity", "practice", "supervision", "resolution", "study")
SCORE_COLUMNS = (*INDEX_KEYS, "composite")
LEVELS = ("district", "town", "station")
KINDS = ("rate", "per_capita")
KIND_LABELS = {"rate": "比率", "per_capita": "人均"}
DISTRICT_ID = "district"  # unit_id of the district when the units export has no 总站 row
DISTRICT_NAME = "全区"

# Evaluations of an opinion: 满意 counts fully, 基本满意 by the configured weight (加权满意率).
FULL_SATISFIED, BASIC_SATISFIED = "满意", "基本满意"
CLOSED, NOT_ACCEPTED = "已办结", "不予受理"  # opinion statuses, as analytics.domain.metrics counts them
# Characters removed from a name before comparing names (ASCII and full-width spaces).
_STATION_SUFFIXES = ("代表联络站", "联络站")


# ───────────────────────────── measures ─────────────────────────────

@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    role: str  # count: per-capita numerator | exposure: per-capita denominator | part: rate numerator | base: rate denominator
    definition: str
    base: str | None = None  # a part's only allowed denominator
    typed: bool = False  # accepts a ``types`` filter (activity types)


MEASURES: dict[str, Measure] = {m.key: m for m in (
    Measure("activities", "活动场次", "count",
            "期内在本单元（活动的镇街/联络站）开展的履职活动条数", typed=True),
    Measure("headcount", "活动参与人次", "count",
            "期内在本单元开展的活动的参与人次之和（未填写时按参与代表姓名个数，同驾驶舱“参与代表人次”）", typed=True),
    Measure("reception_days", "接待天数", "count",
            "期内本单元开展（指定类型）活动的“联络站×日期”个数：同一联络站同一天只算一天", typed=True),
    Measure("opinions", "收到民情民意", "count", "期内提交、属于本单元的民情民意条数"),
    Measure("opinions_collected", "活动收集意见数", "count", "期内在本单元开展的活动所填“收集意见数”之和",
            typed=True),
    Measure("suggestions", "领衔建议件数", "count",
            "期内提出、领衔代表属于本单元（按代表名册）的代表建议件数"),
    Measure("rep_participations", "代表参加活动人次", "count",
            "本单元代表（按代表名册）期内参加（指定类型）活动的人次，不论活动在哪里开展", typed=True),
    Measure("points", "履职积分", "count",
            "本单元代表期内履职积分之和（积分规则见 data/duty.toml，由 analytics/domain/duty.py 计算）"),
    Measure("reps", "代表人数", "exposure", "代表名册中属于本单元的代表人数（联络站按“进站联络站”）"),
    Measure("stations", "联络站个数", "exposure", "本单元包含的联络站个数（联络站本身为 1）"),
    Measure("population_10k", "常住人口（万人）", "exposure", "基层单元名册中的常住人口 ÷ 10000"),
    Measure("reps_on_track", "“十必做”进度正常的代表数", "part",
            "本单元代表中，“十必做”（data/duty.toml）从当年 1 月 1 日到期末（或数据截止日）进度正常的人数",
            base="reps"),
    Measure("reps_joined", "参加活动的代表数", "part",
            "期内参加过至少一次（指定类型）活动的本单元代表人数", base="reps", typed=True),
    Measure("opinions_closed", "已办结", "part", "期内提交、状态为已办结的民情民意条数", base="opinions_accepted"),
    Measure("opinions_accepted", "应办结", "base", "期内提交、状态不是不予受理的民情民意条数"),
    Measure("opinions_on_time", "按期办结", "part",
            "期内提交、已办结且办结时间不晚于提交后 on_time_days 天的条数", base="opinions_due"),
    Measure("opinions_due", "已到期", "base",
            "期内提交且应办结的民情民意中：已办结且有办结时间的，或未办结而提交已超过 on_time_days 天的（以数据中最晚的时间为准）"),
    Measure("opinions_satisfied", "满意（加权）", "part",
            "期内提交的民情民意中评价为满意的条数 + 基本满意的条数 × basic_satisfied_weight", base="opinions_evaluated"),
    Measure("opinions_evaluated", "已评价", "base", "期内提交、评价为满意、基本满意或不满意的条数"),
    Measure("suggestions_solved", "解决（加权）", "part",
            "期内提出、已答复的本单元代表建议按答复类别计分之和（answer_credit，如 A=1、B=0.5、C=0）",
            base="suggestions_answered"),
    Measure("suggestions_answered", "已答复", "base", "期内提出、答复类别为 A、B 或 C 的本单元代表建议件数"),
)}


# ───────────────────────────── configuration ─────────────────────────────

class IndexConfigError(ConfigError):
    """data/indices.toml is wrong; the message is Chinese and names the file and the key."""


@dataclass(frozen=True)
class Component:
    index: str
    key: str
    label: str
    kind: str
    numerator: str
    denominator: str
    weight: float
    types: tuple[str, ...]
    min_denominator: float
    prior_strength: float

    @property
    def numerator_col(self) -> str:
        return _variant(self.numerator, self.types)

    @property
    def denominator_col(self) -> str:
        return _variant(self.denominator, self.types)


@dataclass(frozen=True)
class IndexDef:
    key: str
    label: str
    weight: float
    components: tuple[Component, ...]


@dataclass(frozen=True)
class IndexConfig:
    indices: dict[str, IndexDef]
    rate_prior: float
    count_prior: float
    min_coverage: float
    station_peers: str
    min_denominators: dict[str, float]
    on_time_days: int
    basic_satisfied_weight: float
    answer_credit: dict[str, float]
    source: str = "indices.toml"

    @property
    def components(self) -> list[Component]:
        return [c for idx in self.indices.values() for c in idx.components]

    def component(self, key: str) -> Component:
        for c in self.components:
            if c.key == key:
                return c
        raise KeyError(key)


def _variant(measure: str, types: tuple[str, ...]) -> str:
    """Column name of a measure restricted to activity types ('activities|视察+调研')."""
    if types and MEASURES[measure].typed:
        return f"{measure}|{'+'.join(sorted(types))}"
    return measure


_TOP_KEYS = {"scoring", "small_sample", "resolution", "indices"}
# [answers] (classes counted as 解决 in the headline 解决率) belongs to analytics.domain.metrics, which
# reads and checks it; here it is only allowed, and checked when present.
_OTHER_TOP_KEYS = {"answers"}
_SCORING_KEYS = {"rate_prior": "先验强度", "count_prior": "先验强度", "min_coverage": "覆盖率门槛",
                 "station_peers": "联络站比较范围"}
_RESOLUTION_KEYS = {"on_time_days", "basic_satisfied_weight", "answer_credit"}
_INDEX_KEYS_ALLOWED = {"label", "weight", "components"}
_COMPONENT_REQUIRED = ("key", "label", "kind", "numerator", "denominator", "weight")
_COMPONENT_OPTIONAL = {"types", "min_denominator", "prior_strength"}
STATION_PEERS = ("all", "town")


def load_config(path: str | Path | None = None) -> IndexConfig:
    """Read and validate the index configuration (default ``data/indices.toml``)."""
    return load_file(path, CONFIG_PATH, "指标配置", IndexConfigError, parse_config)


def _parse_component(check: Checker, c, i: int, ikey: str, seen_keys: dict[str, str], activity_types: set[str],
                     min_denominators: dict[str, float], rate_prior: float, count_prior: float) -> Component:
    """One ``[[indices.<key>.components]]`` entry, checked: its measures fit its kind, its key is unique
    in the file (``seen_keys`` remembers them), its priors and minimum denominator default from the
    file's [scoring] and [small_sample]."""
    fail, table, unknown, number = check.fail, check.table, check.unknown, check.number
    cwhere = f"[[indices.{ikey}.components]] 第 {i} 个分项"
    c = table(c, cwhere)
    if isinstance(c.get("key"), str):
        cwhere += f"（{c['key']}）"
    unknown(c, set(_COMPONENT_REQUIRED) | _COMPONENT_OPTIONAL, cwhere)
    for req in _COMPONENT_REQUIRED:
        if req not in c:
            fail(cwhere, f"缺少 {req}")
    key = c["key"]
    if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", key):
        fail(f"{cwhere} 的 key", "应是小写英文、数字和下划线组成的代号")
    if key in seen_keys:
        fail(f"{cwhere} 的 key", f"“{key}”与 [indices.{seen_keys[key]}] 中的分项重复，代号须全文件唯一")
    seen_keys[key] = ikey
    kind = c["kind"]
    if kind not in KINDS:
        fail(f"{cwhere} 的 kind", f"“{kind}”不认识，只能是 rate（比率）或 per_capita（人均）")
    num, den = c["numerator"], c["denominator"]
    for role_key, mkey in (("numerator", num), ("denominator", den)):
        if mkey not in MEASURES:
            fail(f"{cwhere} 的 {role_key}", f"“{mkey}”不是已知的度量，可用：{'、'.join(MEASURES)}")
    if kind == "rate":
        if MEASURES[num].role != "part":
            parts = "、".join(k for k, m in MEASURES.items() if m.role == "part")
            fail(f"{cwhere} 的 numerator", f"比率（rate）的分子“{num}”不是某个分母的一部分，可用：{parts}")
        if den != MEASURES[num].base:
            fail(f"{cwhere} 的 denominator",
                 f"比率的分子 {num} 只能配分母 {MEASURES[num].base}，现在是“{den}”")
    else:
        if MEASURES[num].role != "count":
            counts = "、".join(k for k, m in MEASURES.items() if m.role == "count")
            fail(f"{cwhere} 的 numerator", f"人均（per_capita）的分子“{num}”不是计数类度量，可用：{counts}")
        if MEASURES[den].role != "exposure":
            exps = "、".join(k for k, m in MEASURES.items() if m.role == "exposure")
            fail(f"{cwhere} 的 denominator", f"人均（per_capita）的分母“{den}”不认识，可用：{exps}")
    weight = number(c, "weight", cwhere, positive=True)
    types = c.get("types", [])
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        fail(f"{cwhere} 的 types", "应写成活动类型的列表，如 [\"视察\", \"调研\"]")
    if types and not MEASURES[num].typed:
        fail(f"{cwhere} 的 types", f"分子 {num} 不是活动类度量，不能按活动类型筛选")
    bad = [t for t in types if t not in activity_types]
    if bad:
        fail(f"{cwhere} 的 types", f"“{'、'.join(bad)}”不是活动类型，可用：{'、'.join(sorted(activity_types))}")
    min_den = number(c, "min_denominator", cwhere, minimum=0, required=False,
                     default=min_denominators.get(den, 0.0))
    prior = number(c, "prior_strength", cwhere, positive=True, required=False,
                   default=rate_prior if kind == "rate" else count_prior)
    label = c["label"]
    if not isinstance(label, str) or not label.strip():
        fail(f"{cwhere} 的 label", "应是中文名称")
    return Component(ikey, key, label, kind, num, den, weight, tuple(types), min_den, prior)


def parse_config(raw: dict, source: str = "indices.toml") -> IndexConfig:
    check = Checker(source, "指标配置", IndexConfigError)
    fail, table, unknown, number = check.fail, check.table, check.unknown, check.number

    unknown(raw, _TOP_KEYS | _OTHER_TOP_KEYS, "文件顶层")
    if "answers" in raw:
        try:
            parse_solved(raw, source)
        except ValueError as exc:
            raise IndexConfigError(str(exc)) from None
    for key in _TOP_KEYS:
        if key not in raw:
            fail(f"[{key}]", "整段缺失")

    scoring = table(raw["scoring"], "[scoring]")
    unknown(scoring, _SCORING_KEYS, "[scoring]")
    rate_prior = number(scoring, "rate_prior", "[scoring]", positive=True)
    count_prior = number(scoring, "count_prior", "[scoring]", positive=True)
    min_coverage = number(scoring, "min_coverage", "[scoring]", positive=True, maximum=1)
    station_peers = scoring.get("station_peers", "all")
    if station_peers not in STATION_PEERS:
        fail("[scoring] 的 station_peers", f"只能是 {' 或 '.join(STATION_PEERS)}，现在是“{station_peers}”")

    small = table(raw["small_sample"], "[small_sample]")
    denominators = sorted(k for k, m in MEASURES.items() if m.role in ("exposure", "base"))
    unknown(small, denominators, "[small_sample]")
    min_denominators = {k: number(small, k, "[small_sample]", minimum=0, required=False, default=0.0)
                        for k in denominators}

    res = table(raw["resolution"], "[resolution]")
    unknown(res, _RESOLUTION_KEYS, "[resolution]")
    on_time = number(res, "on_time_days", "[resolution]", positive=True)
    if on_time != int(on_time):
        fail("[resolution] 的 on_time_days", f"应是整数天，现在是 {on_time}")
    basic_w = number(res, "basic_satisfied_weight", "[resolution]", minimum=0, maximum=1)
    credit_raw = table(res.get("answer_credit"), "[resolution] 的 answer_credit")
    unknown(credit_raw, ANSWERED_CLASSES, "[resolution] 的 answer_credit")
    credit = {c: number(credit_raw, c, "[resolution] 的 answer_credit", minimum=0, maximum=1)
              for c in ANSWERED_CLASSES}

    activity_types = set(load_contract().canon.get("activity_type", ()))
    indices_raw = table(raw["indices"], "[indices]")
    unknown(indices_raw, INDEX_KEYS, "[indices]")
    indices: dict[str, IndexDef] = {}
    seen_keys: dict[str, str] = {}
    for ikey in INDEX_KEYS:
        where = f"[indices.{ikey}]"
        if ikey not in indices_raw:
            fail(where, "整段缺失（五个指数 activity、practice、supervision、resolution、study 都要有）")
        idx = table(indices_raw[ikey], where)
        unknown(idx, _INDEX_KEYS_ALLOWED, where)
        if not isinstance(idx.get("label"), str) or not idx["label"].strip():
            fail(where, "缺少 label（中文名称）")
        iweight = number(idx, "weight", where, positive=True)
        comps_raw = idx.get("components")
        if not isinstance(comps_raw, list) or not comps_raw:
            fail(where, f"缺少分项：请用 [[indices.{ikey}.components]] 写至少一个分项")
        comps = [_parse_component(check, c, i, ikey, seen_keys, activity_types, min_denominators, rate_prior,
                                  count_prior) for i, c in enumerate(comps_raw, start=1)]
        indices[ikey] = IndexDef(ikey, idx["label"], iweight, tuple(comps))

    return IndexConfig(indices, rate_prior, count_prior, min_coverage, station_peers, min_denominators,
                       int(on_time), basic_w, credit, source)


# ───────────────────────────── pure scoring functions ─────────────────────────────

# ───────────────────────────── units and attribution ─────────────────────────────

def _station_keys(name: str) -> tuple[str, str]:
    """A station name as compared: NFKC, no spaces, casefolded; and the same without its suffix."""
    k = norm_value(name)
    stripped = k
    for suffix in _STATION_SUFFIXES:
        if stripped.endswith(suffix) and len(stripped) > len(suffix):
            stripped = stripped[: -len(suffix)]
            break
    return k, stripped


@dataclass
class _Context:
    cfg: IndexConfig
    district: dict
    towns: pd.DataFrame  # unit_id, unit, town, population
    stations: pd.DataFrame  # unit_id, unit, town ('' when its 上级单元 is unknown), population
    station_map: list[tuple[str, str, str]]  # (town, station as the exports spell it, station unit_id)
    as_of: datetime
    units_by_id: dict = field(default_factory=dict)  # unit_id -> (level, name)
    params: dict = field(default_factory=dict)  # the station map as bound lists, for MAP_CTES

    def town_of(self, unit_id: str) -> str:
        return self.towns.loc[self.towns["unit_id"] == unit_id, "town"].iloc[0]


def index_context(cur: duckdb.DuckDBPyConnection, cfg: IndexConfig) -> _Context:
    """The units of 1+23+64, the station-name map and the data's as-of time."""
    contract = load_contract()
    rows = cur.execute("SELECT unit_id, name, level, parent, population FROM units ORDER BY unit_id").fetchall()
    district, towns, stations = None, [], []
    for unit_id, name, level, parent, pop in rows:
        level = contract.lookup("unit_level", level) or level
        if level == "总站" and district is None:
            district = {"unit_id": unit_id, "unit": name, "population": pop}
        elif level == "镇街":
            towns.append({"unit_id": unit_id, "unit": name,
                          "town": contract.lookup("town", name) or name, "population": pop})
        elif level == "联络站":
            stations.append({"unit_id": unit_id, "unit": name, "parent": parent, "population": pop})
    if not towns:  # no units export yet: the 23 towns of the contract, named by themselves
        towns = [{"unit_id": t, "unit": t, "town": t, "population": None} for t in contract.towns]
    town_by_id = {t["unit_id"]: t["town"] for t in towns}
    for s in stations:
        parent = s.pop("parent")
        s["town"] = town_by_id.get(parent) or (contract.lookup("town", parent) if parent else None) or ""
    if district is None:
        district = {"unit_id": DISTRICT_ID, "unit": DISTRICT_NAME, "population": None}

    # Station names as the exports spell them -> station unit: by normalised name, else by the name
    # without its 代表联络站/联络站 suffix; a name two stations share goes to the one in the row's town.
    by_key: dict[str, list[dict]] = {}
    for s in stations:
        full, stripped = _station_keys(s["unit"])
        by_key.setdefault(full, []).append(s)
        by_key.setdefault("~" + stripped, []).append(s)
    pairs, as_of = _spellings_and_as_of(cur)
    mapped = []
    for town, raw in sorted(pairs):
        full, stripped = _station_keys(raw)
        cands = by_key.get(full) or by_key.get("~" + stripped) or []
        if len(cands) > 1:
            cands = [s for s in cands if s["town"] == town]
        if len(cands) == 1:
            mapped.append((town, raw, cands[0]["unit_id"]))
    ctx = _Context(cfg, district,
                   pd.DataFrame(towns, columns=["unit_id", "unit", "town", "population"]),
                   pd.DataFrame(stations, columns=["unit_id", "unit", "town", "population"]),
                   mapped, as_of or datetime(1900, 1, 1))
    ctx.units_by_id = {district["unit_id"]: ("district", district["unit"])}
    ctx.units_by_id.update({t["unit_id"]: ("town", t["unit"]) for t in towns})
    ctx.units_by_id.update({s["unit_id"]: ("station", s["unit"]) for s in stations})
    ctx.params = {"sm_town": [m[0] for m in mapped], "sm_raw": [m[1] for m in mapped],
                  "sm_station": [m[2] for m in mapped],
                  "su_station": [s["unit_id"] for s in stations], "su_town": [s["town"] for s in stations]}
    return ctx


def _spellings_and_as_of(cur: duckdb.DuckDBPyConnection) -> tuple[list, datetime | None]:
    """The (town, station) spellings in the data, and the data's as-of time: two passes over every
    opinion, kept per store state (``analytics.store.memo``) — a ranking builds its context three times."""
    from analytics.store import memo

    def read():
        pairs = cur.execute("""
            SELECT DISTINCT town, station FROM opinions WHERE station IS NOT NULL
            UNION SELECT DISTINCT town, station FROM activities WHERE station IS NOT NULL
            UNION SELECT DISTINCT town, station FROM reps WHERE station IS NOT NULL""").fetchall()
        as_of = cur.execute(
            "SELECT max(greatest(submitted_at, closed_at, assigned_at)) FROM opinions").fetchall()[0][0]
        return pairs, as_of

    return memo.remember(cur, SPELLINGS, (), read)


def _unit_level(ctx: _Context, unit_id: str) -> tuple[str, str]:
    try:
        return ctx.units_by_id[unit_id]
    except KeyError:
        raise KeyError(f"没有编号为“{unit_id}”的基层单元") from None


# ───────────────────────────── cells: one set-based SQL statement ─────────────────────────────

# Period code of a date column, per grain (identifiers from this fixed table only).
_PERIOD_SQL = {
    "month": "strftime({col}, '%Y-%m')",
    "quarter": "CAST(year({col}) AS VARCHAR) || 'Q' || CAST(quarter({col}) AS VARCHAR)",
    "year": "CAST(year({col}) AS VARCHAR)",
}
_EVALUATED_SQL = "(" + ", ".join("'" + v + "'" for v in EVALUATED) + ")"
_CLASSES_SQL = "(" + ", ".join("'" + v + "'" for v in ANSWERED_CLASSES) + ")"
# headcount as analytics.domain.metrics counts 参与代表人次: the export's 参与人次, else the names listed.
_HEADCOUNT_SQL = ("coalesce(a.headcount, len(list_filter(regexp_split_to_array(a.participants, $sep), "
                  "lambda x: x <> '')), 0)")
# Row predicates of the opinion measures (办结 and 满意 as analytics.domain.metrics counts them).
_OPINION_PREDICATES = {
    "opinions": "TRUE",
    "opinions_accepted": f"o.status IS DISTINCT FROM '{NOT_ACCEPTED}'",
    "opinions_closed": f"o.status = '{CLOSED}'",
    "opinions_on_time": f"o.status = '{CLOSED}' AND o.closed_at IS NOT NULL "
                        "AND o.closed_at <= o.submitted_at + to_days(CAST($days AS INTEGER))",
    "opinions_due": f"(o.status = '{CLOSED}' AND o.closed_at IS NOT NULL) OR "
                    f"(o.status IS DISTINCT FROM '{CLOSED}' AND o.status IS DISTINCT FROM '{NOT_ACCEPTED}' "
                    "AND o.submitted_at + to_days(CAST($days AS INTEGER)) < $as_of)",
    "satisfied_full": f"o.satisfaction = '{FULL_SATISFIED}'",
    "satisfied_basic": f"o.satisfaction = '{BASIC_SATISFIED}'",
    "opinions_evaluated": f"o.satisfaction IN {_EVALUATED_SQL}",
}

@dataclass(frozen=True)
class _Plan:
    """The SQL for the measures one configuration needs, with its generated column aliases.

    Activity-type filters are bound parameters ($t0, $t1 …); column aliases (a0_activities …) are
    generated here and renamed to variant names afterwards — no configured text enters the SQL."""
    sql: str
    params: dict
    rename: dict  # SQL alias -> variant column name
    columns: tuple[str, ...]  # every measure column of the cells frame


def _plan(cfg: IndexConfig, grain: str) -> _Plan:
    type_params: dict[tuple[str, ...], str] = {}

    def tparam(types: tuple[str, ...]) -> str:
        if types not in type_params:
            type_params[types] = f"t{len(type_params)}"
        return type_params[types]

    def filt(types: tuple[str, ...], col: str) -> str:
        return f" FILTER (WHERE list_contains(${tparam(types)}, {col}))" if types else ""

    rename: dict[str, str] = {}
    sums: list[str] = ["reps", "stations"]
    comps = cfg.components
    act_vars = sorted({(c.numerator, c.types) for c in comps
                       if c.numerator in ("activities", "headcount", "opinions_collected", "reception_days")})
    rep_vars = sorted({c.types for c in comps if c.numerator in ("rep_participations", "reps_joined")} | {()})

    period_of = lambda col: _PERIOD_SQL[grain].format(col=col)  # noqa: E731
    act_cols, day_queries = [], []
    for i, (m, types) in enumerate(act_vars):
        alias = f"a{i}"
        rename[alias] = _variant(m, types)
        sums.append(alias)
        if m == "reception_days":
            # distinct (cell, date) pairs, counted: one day per station however many activities
            where = f"AND list_contains(${tparam(types)}, a.type)" if types else ""
            day_queries.append(f"""
        SELECT period, town, station_id, count(*) AS {alias} FROM (
            SELECT {period_of("a.date")} AS period, a.town, coalesce(m.station_id, '') AS station_id, a.date
            FROM activities a LEFT JOIN station_map m ON m.town = a.town AND m.raw = a.station
            WHERE a.date >= $start AND a.date < $end {where}
            GROUP BY ALL) GROUP BY ALL""")
            continue
        expr = {"activities": "count(*)", "headcount": f"sum({_HEADCOUNT_SQL})",
                "opinions_collected": "sum(coalesce(a.opinions_collected, 0))"}[m]
        # FILTER restricts the aggregate to the listed activity types
        act_cols.append(f"{expr}{filt(types, 'a.type')} AS {alias}")

    rep_part_cols, rep_cell_cols = [], []
    for i, types in enumerate(rep_vars):
        alias = f"p{i}"
        rep_part_cols.append(f"count(*){filt(types, 'type')} AS {alias}")
        rep_cell_cols.append(f"sum({alias}) AS r{i}")
        rep_cell_cols.append(f"count(*) FILTER (WHERE {alias} >= 1) AS j{i}")
        rename[f"r{i}"] = _variant("rep_participations", types)
        rename[f"j{i}"] = _variant("reps_joined", types)
        sums += [f"r{i}", f"j{i}"]

    opinion_cols = [f"count(*) FILTER (WHERE {pred}) AS {name}" for name, pred in _OPINION_PREDICATES.items()]
    sums += list(_OPINION_PREDICATES)
    class_cols = [f"count(*) FILTER (WHERE answer_class = '{c}') AS answered_{i}" for i, c in enumerate(ANSWERED_CLASSES)]
    sums += ["suggestions", "suggestions_answered", *[f"answered_{i}" for i in range(len(ANSWERED_CLASSES))]]

    sql = f"""
    WITH {MAP_CTES}, {REP_CELLS},
    {PARTICIPATIONS.format(period_date=period_of("date"))},
    {SUGGESTIONS_PLACED.format(period_sub=period_of("submitted_at"))},
    periods AS (SELECT unnest($periods) AS period),
    rep_part AS (
        SELECT period, rep_id, {", ".join(rep_part_cols)}
        FROM participations WHERE rep_id IS NOT NULL GROUP BY ALL
    ), src AS (
        SELECT p.period, r.town, r.station_id, count(*) AS reps FROM periods p, rep_cells r GROUP BY ALL
        UNION ALL BY NAME
        SELECT p.period, s.town, s.station_id, count(*) AS stations FROM periods p, station_units s GROUP BY ALL
        UNION ALL BY NAME
        SELECT {period_of("o.submitted_at")} AS period, coalesce(o.town, '') AS town, coalesce(m.station_id, '') AS station_id,
               {", ".join(opinion_cols)}
        FROM opinions o LEFT JOIN station_map m ON m.town = o.town AND m.raw = o.station
        WHERE o.submitted_at >= $start AND o.submitted_at < $end GROUP BY ALL
        UNION ALL BY NAME
        SELECT {period_of("a.date")} AS period, a.town, coalesce(m.station_id, '') AS station_id,
               {", ".join(act_cols) if act_cols else "count(*) AS activities_unused"}
        FROM activities a LEFT JOIN station_map m ON m.town = a.town AND m.raw = a.station
        WHERE a.date >= $start AND a.date < $end GROUP BY ALL
        {"".join("UNION ALL BY NAME" + q for q in day_queries)}
        UNION ALL BY NAME
        SELECT period, town, station_id, count(*) AS suggestions,
               count(*) FILTER (WHERE answer_class IN {_CLASSES_SQL}) AS suggestions_answered,
               {", ".join(class_cols)}
        FROM placed GROUP BY ALL
        UNION ALL BY NAME
        SELECT x.period, r.town, r.station_id, {", ".join(rep_cell_cols)}
        FROM rep_part x JOIN rep_cells r USING (rep_id) GROUP BY ALL
    )
    SELECT period, town, station_id, {", ".join(f"coalesce(sum({c}), 0) AS {c}" for c in sums)}
    FROM src WHERE period IN (SELECT period FROM periods)
    GROUP BY period, town, station_id
    ORDER BY period, town, station_id
    """
    params = {f"{name}": list(types) for types, name in type_params.items()}
    columns = tuple(rename.get(c, c) for c in sums) + ("opinions_satisfied", "suggestions_solved", "points",
                                                      "reps_on_track")
    return _Plan(sql, params, rename, columns)


def _cells(cur: duckdb.DuckDBPyConnection, ctx: _Context, periods: list[Period]) -> pd.DataFrame:
    """Every measure the configuration uses, per (period, town, station_id) cell ('' = none).
    Counts are integers from SQL; the weighted measures are formed here from integer sums.

    Kept per store state (``analytics.store.memo``): a ranking needs the quarter's cells for its scores
    and again for its components, and pages ask for the same quarter; at a million opinions one
    pass is a second. The frame is shared: read it, never change it in place."""
    from analytics.store import memo

    if len(periods) == 1:
        return memo.remember(cur, CELLS, _cells_key(ctx, periods[0]), lambda: _count_cells(cur, ctx, periods))
    # Several periods (a trend, counting ahead): each period's cells are kept on their own, so a
    # trend of any range reads what single views and other trends counted; the missing periods are
    # counted together in one pass and kept one by one.
    parts = {p.code: memo.recall(cur, CELLS, _cells_key(ctx, p)) for p in periods}
    missing = [p for p in periods if parts[p.code] is None]
    if missing:
        counted = _count_cells(cur, ctx, missing)
        for p in missing:
            part = counted[counted["period"] == p.code].reset_index(drop=True)
            memo.put(cur, CELLS, _cells_key(ctx, p), part, collect=True)
            parts[p.code] = part
    return pd.concat([parts[p.code] for p in periods], ignore_index=True)


def _cells_key(ctx: _Context, period: Period) -> tuple:
    """The key of one period's cells (memo and the store's derived table)."""
    return ((period.code,), repr(ctx.cfg), repr(ctx.params), ctx.as_of)


def _count_cells(cur: duckdb.DuckDBPyConnection, ctx: _Context, periods: list[Period]) -> pd.DataFrame:
    cfg = ctx.cfg
    plan = _plan(cfg, periods[0].grain)
    params = {"start": min(p.start for p in periods), "end": max(p.end for p in periods),
              "periods": [p.code for p in periods], "days": cfg.on_time_days, "as_of": ctx.as_of,
              "sep": NAME_SEPARATORS, "ws": WS_SQL, **plan.params, **ctx.params}
    cells = fetch_frame(cur, plan.sql, params).rename(columns=plan.rename)
    cells["opinions_satisfied"] = cells["satisfied_full"] + cfg.basic_satisfied_weight * cells["satisfied_basic"]
    cells["suggestions_solved"] = sum(cells[f"answered_{i}"] * cfg.answer_credit[c]
                                      for i, c in enumerate(ANSWERED_CLASSES))
    duty_cells = _duty_cells(cur, ctx, periods)
    cells = cells.merge(duty_cells, on=_CELL_KEYS, how="left")
    cells[["points", "reps_on_track"]] = cells[["points", "reps_on_track"]].fillna(0)
    return cells


_REP_CELL_ROWS = f"WITH {MAP_CTES}, {REP_CELLS} SELECT rep_id, town, station_id FROM rep_cells"


def _rep_duty(cur: duckdb.DuckDBPyConnection, ctx: _Context, periods: list[Period]) -> pd.DataFrame:
    """Per (period, representative): 履职积分 and 十必做 on track, as ``analytics.domain.duty`` defines them
    (its one definition), with the representative's cell (town, station_id)."""
    figures = duty.rep_period_figures(cur, periods)
    where = fetch_frame(cur, _REP_CELL_ROWS, {**ctx.params, "ws": WS_SQL})
    return figures.merge(where, on="rep_id", how="inner")


def _duty_cells(cur: duckdb.DuckDBPyConnection, ctx: _Context, periods: list[Period]) -> pd.DataFrame:
    """``points`` and ``reps_on_track`` per (period, town, station_id) cell, summed in rep_id order."""
    per_rep = _rep_duty(cur, ctx, periods).sort_values(["period", "town", "station_id", "rep_id"])
    per_rep["on_track"] = per_rep["on_track"].astype(int)
    return (per_rep.groupby(_CELL_KEYS, sort=True, as_index=False)
            .agg(points=("points", "sum"), reps_on_track=("on_track", "sum")))


# ───────────────────────────── roll-up to units ─────────────────────────────

def _units_of(ctx: _Context, level: str) -> pd.DataFrame:
    if level == "station":
        units = ctx.stations
    elif level == "town":
        units = ctx.towns
    else:
        d = ctx.district
        pop = d["population"]
        if pop is None and len(ctx.towns) and ctx.towns["population"].notna().all():
            pop = ctx.towns["population"].sum()
        units = pd.DataFrame([{"unit_id": d["unit_id"], "unit": d["unit"], "town": "", "population": pop}])
    return units[["unit_id", "unit", "town", "population"]]


def _rollup(cells: pd.DataFrame, ctx: _Context, level: str, periods: list[Period]) -> pd.DataFrame:
    """Per (period, unit): the sums of the unit's cells. A station = its cells (in any town);
    a town = the cells of its 镇街 (its stations' rows and its own); the district = every cell."""
    units = _units_of(ctx, level).reset_index(drop=True)
    measures = [c for c in cells.columns if c not in _CELL_KEYS]
    if level == "station":
        key = cells["station_id"]
        unit_key = units["unit_id"]
    elif level == "town":
        key = cells["town"]
        unit_key = units["town"]
    else:
        key = pd.Series("", index=cells.index)
        unit_key = pd.Series([""])
    sums = cells[measures].groupby([cells["period"], key]).sum()
    index = pd.MultiIndex.from_arrays([np.repeat([p.code for p in periods], len(units)),
                                       np.tile(unit_key.to_numpy(object), len(periods))])
    values = sums.reindex(index, fill_value=0)
    frame = pd.DataFrame({"period": index.get_level_values(0),
                          "unit_id": np.tile(units["unit_id"].to_numpy(object), len(periods)),
                          "unit": np.tile(units["unit"].to_numpy(object), len(periods)),
                          "town": np.tile(units["town"].fillna("").to_numpy(object), len(periods)),
                          "level": level})
    values = values.reset_index(drop=True)
    frame = pd.concat([frame, values], axis=1)
    pop = pd.to_numeric(units["population"], errors="coerce").to_numpy(float)
    frame["population_10k"] = np.nan_to_num(np.tile(pop, len(periods)) / 1e4)
    return frame.sort_values(["period", "unit_id"], kind="stable").reset_index(drop=True)


# ───────────────────────────── scoring ─────────────────────────────

_COMPONENT_COLUMNS = ["unit_id", "unit", "level", "period", "index", "component", "label", "kind",
                      "numerator", "denominator", "raw", "prior", "adjusted", "score", "weight",
                      "insufficient", "note"]
_CELL_KEYS = ["period", "town", "station_id"]


def _prior(x: np.ndarray, n: np.ndarray, kind: str) -> float | None:
    """Pooled peer value Σx/Σn over the peers with a denominator; None when it carries no
    information: no peer has a denominator, or the numerator is 0 for every peer (e.g. a month
    without any 主题活动 — every unit would tie, and a tie of zeros is missing data, not a score)."""
    has = n > 0
    if not has.any():
        return None
    tx, tn = float(x[has].sum()), float(n[has].sum())
    if tx <= 0:
        return None
    return tx / tn


def _adjust(x, n, prior: float, comp: Component) -> np.ndarray:
    if comp.kind == "rate":
        return beta_binomial_adjust(x, n, prior, comp.prior_strength)
    return gamma_poisson_adjust(x, n, prior, comp.prior_strength)


def _sufficient(n: np.ndarray, comp: Component) -> np.ndarray:
    return (n > 0) & (n >= comp.min_denominator - 1e-12)


def _note(n: float, comp: Component, prior) -> str | None:
    if prior is None:
        return "同级单元本期此项均为 0（没有数据），无从比较：样本不足"
    if not n > 0:
        return f"分母（{MEASURES[comp.denominator].label}）为 0：样本不足"
    if n < comp.min_denominator - 1e-12:
        return f"分母（{MEASURES[comp.denominator].label}）{n:g} 低于最小样本 {comp.min_denominator:g}：样本不足"
    return None


@dataclass
class _Scored:
    """One component scored for every row of a level frame (arrays aligned with the frame)."""
    x: np.ndarray
    n: np.ndarray
    raw: np.ndarray
    prior: np.ndarray
    adjusted: np.ndarray
    score: np.ndarray
    sufficient: np.ndarray
    notes: list


def _score_component(frame: pd.DataFrame, groups: np.ndarray, comp: Component,
                     reference: pd.DataFrame | None = None, ref_groups: np.ndarray | None = None) -> _Scored:
    """Shrink toward the peer group's pooled value and rank among the sufficient peers.

    Without ``reference`` the peers are the frame's own rows of the same group (Hazen mid-rank).
    With it (the district among the towns, a town without one station), each row is shrunk toward
    the reference group's prior and placed among the reference's sufficient rows (``hazen_insert``)."""
    x = frame[comp.numerator_col].to_numpy(float)
    n = frame[comp.denominator_col].to_numpy(float)
    size = len(x)
    raw = np.full(size, np.nan)
    np.divide(x, n, out=raw, where=n > 0)
    prior = np.full(size, np.nan)
    adjusted = np.full(size, np.nan)
    score = np.full(size, np.nan)
    suff = _sufficient(n, comp)
    notes: list = [None] * size
    if reference is None:
        rx, rn, rgroups = x, n, groups
    else:
        rx = reference[comp.numerator_col].to_numpy(float)
        rn = reference[comp.denominator_col].to_numpy(float)
        rgroups = ref_groups
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        rrows = np.flatnonzero(rgroups == g)
        p = _prior(rx[rrows], rn[rrows], comp.kind)
        for i in rows:
            notes[i] = _note(n[i], comp, p)
        if p is None:
            suff[rows] = False
            continue
        prior[rows] = p
        ok = rows[suff[rows]]
        if not len(ok):
            continue
        adjusted[ok] = _adjust(x[ok], n[ok], p, comp)
        if reference is None:
            score[ok] = hazen_scores(adjusted[ok])
        else:
            rok = rrows[_sufficient(rn[rrows], comp)]
            peers = _adjust(rx[rok], rn[rok], p, comp)
            score[ok] = [hazen_insert(v, peers) for v in adjusted[ok]]
    return _Scored(x, n, raw, prior, adjusted, score, suff, notes)


def _peer_groups(frame: pd.DataFrame, level: str, cfg: IndexConfig) -> np.ndarray:
    if level == "station" and cfg.station_peers == "town":
        return (frame["period"] + "|" + frame["town"]).to_numpy(object)
    return frame["period"].to_numpy(object)


def _score_frame(frame: pd.DataFrame, level: str, cfg: IndexConfig,
                 reference: pd.DataFrame | None = None) -> dict[str, _Scored]:
    """Every component for every row of a level frame; the district is scored against ``reference``
    (the town frame of the same periods)."""
    groups = _peer_groups(frame, level, cfg)
    ref_groups = None if reference is None else reference["period"].to_numpy(object)
    return {c.key: _score_component(frame, groups, c, reference, ref_groups) for c in cfg.components}


def _index_scores(scored: dict[str, _Scored], cfg: IndexConfig, size: int) -> dict[str, np.ndarray]:
    """Index and composite scores (NaN = 样本不足) from the component scores, vectorised:
    weighted mean over sufficient parts, provided they carry ≥ min_coverage of the weight."""
    def combine(scores: list[np.ndarray], weights: list[float]) -> np.ndarray:
        s = np.vstack(scores) if scores else np.zeros((0, size))
        w = np.asarray(weights, float)[:, None]
        have = ~np.isnan(s)
        covered = (w * have).sum(axis=0)
        total = w.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (w * np.where(have, s, 0.0)).sum(axis=0) / covered
        return np.where((covered > 0) & (covered / total >= cfg.min_coverage - 1e-12), mean, np.nan)

    out = {}
    for ikey, idx in cfg.indices.items():
        out[ikey] = combine([np.where(scored[c.key].sufficient, scored[c.key].score, np.nan) for c in idx.components],
                            [c.weight for c in idx.components])
    out["composite"] = combine([out[k] for k in INDEX_KEYS], [cfg.indices[k].weight for k in INDEX_KEYS])
    return out


def _indices_frame(frame: pd.DataFrame, scored: dict[str, _Scored], cfg: IndexConfig) -> pd.DataFrame:
    idx = _index_scores(scored, cfg, len(frame))
    data = {c: frame[c].to_numpy(object) for c in ("unit_id", "unit", "level", "period")}
    data.update({k: idx[k] for k in SCORE_COLUMNS})
    data["insufficient"] = np.isnan(idx["composite"])
    return pd.DataFrame(data)


def _components_frame(frame: pd.DataFrame, scored: dict[str, _Scored], cfg: IndexConfig) -> pd.DataFrame:
    """Long table: one row per (unit, period, component)."""
    comps = cfg.components
    size = len(frame)
    cat = lambda attr: np.concatenate([getattr(scored[c.key], attr) for c in comps])  # noqa: E731
    out = pd.DataFrame({
        "unit_id": np.tile(frame["unit_id"].to_numpy(object), len(comps)),
        "unit": np.tile(frame["unit"].to_numpy(object), len(comps)),
        "level": np.tile(frame["level"].to_numpy(object), len(comps)),
        "period": np.tile(frame["period"].to_numpy(object), len(comps)),
        "index": np.repeat([c.index for c in comps], size),
        "component": np.repeat([c.key for c in comps], size),
        "label": np.repeat([c.label for c in comps], size),
        "kind": np.repeat([c.kind for c in comps], size),
        "numerator": cat("x"), "denominator": cat("n"), "raw": cat("raw"), "prior": cat("prior"),
        "adjusted": cat("adjusted"), "score": cat("score"),
        "weight": np.repeat([c.weight for c in comps], size),
        "insufficient": ~cat("sufficient"),
        "note": [note for c in comps for note in scored[c.key].notes],
    })
    out.loc[out["insufficient"], ["adjusted", "score"]] = np.nan
    return out[_COMPONENT_COLUMNS]


def _scored_level(cur, ctx: _Context, level: str, periods: list[Period]):
    """(cells, level frame, component scores) for a level and periods."""
    cells = _cells(cur, ctx, periods)
    frame = _rollup(cells, ctx, level, periods)
    reference = _rollup(cells, ctx, "town", periods) if level == "district" else None
    return cells, frame, _score_frame(frame, level, ctx.cfg, reference)


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"层级只能是 {'、'.join(LEVELS)}，现在是“{level}”")


def _score_one(con: duckdb.DuckDBPyConnection, period, level: str, config: IndexConfig | None):
    """(frame, scored, config) of one level and period, for the frames built from them."""
    _check_level(level)
    cfg = config or load_config()
    cur = con.cursor()
    _, frame, scored = _scored_level(cur, index_context(cur, cfg), level, [as_period(period)])
    return frame, scored, cfg


def component_scores(con: duckdb.DuckDBPyConnection, period, level: str = "town",
                     config: IndexConfig | None = None) -> pd.DataFrame:
    """Every component of every unit of a level for a period, one row each: numerator,
    denominator, raw value, prior (the peer group's pooled value), adjusted value, score 0–100
    (NaN when 样本不足), weight, insufficient and a note saying why when it is."""
    frame, scored, cfg = _score_one(con, period, level, config)
    return _components_frame(frame, scored, cfg)


def compute_indices(con: duckdb.DuckDBPyConnection, period, level: str = "town",
                    config: IndexConfig | None = None) -> pd.DataFrame:
    """One row per unit of the level (ordered by unit_id): unit_id, unit, level, period,
    activity, practice, supervision, resolution, study, composite (0–100; NaN = 样本不足) and
    insufficient (True when the composite is 样本不足)."""
    _check_level(level)
    cfg = config or load_config()
    cur = con.cursor()
    return _scores(cur, index_context(cur, cfg), level, as_period(period)).copy()


def _scores(cur, ctx: _Context, level: str, period: Period) -> pd.DataFrame:
    """``compute_indices`` of one level and period, kept per store state and counted ahead for every
    period with data (``warm_ahead``): a page of any period reads its scores. Shared: read only."""
    from analytics.store import memo

    def score() -> pd.DataFrame:
        _, frame, scored = _scored_level(cur, ctx, level, [period])
        return _indices_frame(frame, scored, ctx.cfg)

    return memo.remember(cur, SCORES, (level, *_cells_key(ctx, period)), score)


def _scores_ahead(cur, ctx: _Context, level: str, periods: list[Period]) -> None:
    """``_scores`` of every period of ``periods`` not kept yet, in one pass (each period is scored
    among its own peers, so the pass gives what each period alone gives), kept per period."""
    from analytics.store import memo

    missing = [p for p in periods if memo.recall(cur, SCORES, (level, *_cells_key(ctx, p))) is None]
    if not missing:
        return
    _, frame, scored = _scored_level(cur, ctx, level, missing)
    every = _indices_frame(frame, scored, ctx.cfg)
    for p in missing:
        part = every[every["period"] == p.code].reset_index(drop=True)
        memo.put(cur, SCORES, (level, *_cells_key(ctx, p)), part, collect=True)


def index_trend(con: duckdb.DuckDBPyConnection, unit_id: str, start_period, end_period,
                grain: str = "month", config: IndexConfig | None = None) -> pd.DataFrame:
    """The unit's scores for every period of ``grain`` (default month) from the start of
    ``start_period`` to the end of ``end_period``, each scored among the unit's peers in that
    period. Columns as ``compute_indices``; one row per period, oldest first. The periods' cells
    not kept yet are counted in one pass; each period's scores are those of ``compute_indices``."""
    cfg = config or load_config()
    start, end = as_period(start_period), as_period(end_period)
    periods = periods_between(start.start, end.end - timedelta(days=1), grain)
    cur = con.cursor()
    ctx = index_context(cur, cfg)
    level, _ = _unit_level(ctx, unit_id)
    _cells(cur, ctx, periods)  # the missing periods' cells in one pass, kept per period
    out = pd.concat([_scores(cur, ctx, level, p) for p in periods], ignore_index=True)
    return out[out["unit_id"] == unit_id].sort_values("period").reset_index(drop=True)


def index_changes(con: duckdb.DuckDBPyConnection, period, level: str = "town",
                  config: IndexConfig | None = None) -> pd.DataFrame:
    """Each unit's scores beside the previous period's: unit_id, unit, index (one of the five or
    composite), score, previous, change (score − previous; NaN when either is 样本不足).
    Sorted by change, the largest fall first — the cockpit's “指数降幅最大” alert."""
    cfg = config or load_config()
    period = as_period(period)
    now = compute_indices(con, period, level, cfg)
    before = compute_indices(con, period.previous(), level, cfg)
    cols = list(SCORE_COLUMNS)
    long_now = now.melt(id_vars=["unit_id", "unit"], value_vars=cols, var_name="index", value_name="score")
    long_before = before.melt(id_vars=["unit_id"], value_vars=cols, var_name="index", value_name="previous")
    out = long_now.merge(long_before, on=["unit_id", "index"], how="left")
    out["change"] = out["score"] - out["previous"]
    return out.sort_values(["change", "unit_id", "index"], na_position="last").reset_index(drop=True)


# ───────────────────────────── receipts ─────────────────────────────

_RECEIPT_COLUMNS = ["index", "component", "label", "kind", "numerator", "denominator", "raw", "prior",
                    "adjusted", "score", "weight", "effective_weight", "contribution", "insufficient", "note"]


def receipt(con: duckdb.DuckDBPyConnection, unit_id: str, index: str, period,
            config: IndexConfig | None = None) -> pd.DataFrame:
    """How one unit's index (or ``'composite'``) for one period is computed.

    One row per component (per index for the composite): numerator, denominator, raw value
    (numerator ÷ denominator), prior (the peer group's pooled value), adjusted value (after
    shrinkage), score (0–100, NaN when 样本不足), weight, effective weight (weight ÷ the summed
    weights of the sufficient rows, 0 for the others), contribution (effective weight × score: the
    contributions add up to the index score), insufficient and note.
    ``attrs['score']`` is the index score (None when 样本不足), ``attrs['coverage']`` the share of
    the weight carried by sufficient rows."""
    cfg = config or load_config()
    period = as_period(period)
    if index not in SCORE_COLUMNS:
        raise ValueError(f"指数只能是 {'、'.join(SCORE_COLUMNS)}，现在是“{index}”")
    cur = con.cursor()
    ctx = index_context(cur, cfg)
    level, _ = _unit_level(ctx, unit_id)
    _, frame, scored = _scored_level(cur, ctx, level, [period])
    comps = _components_frame(frame, scored, cfg)
    comps = comps[comps["unit_id"] == unit_id]
    if index == "composite":
        scores = _indices_frame(frame, scored, cfg)
        mine = scores[scores["unit_id"] == unit_id].iloc[0]
        out = pd.DataFrame([{
            "index": k, "component": k, "label": cfg.indices[k].label, "kind": "index",
            "numerator": np.nan, "denominator": np.nan, "raw": np.nan, "prior": np.nan, "adjusted": np.nan,
            "score": mine[k], "weight": cfg.indices[k].weight, "insufficient": bool(np.isnan(mine[k])),
            "note": "该指数样本不足" if np.isnan(mine[k]) else None} for k in INDEX_KEYS])
    else:
        out = comps[comps["index"] == index].drop(columns=["unit_id", "unit", "level", "period"])
        out = out.reset_index(drop=True)
    ok = ~out["insufficient"].to_numpy(bool)
    w = out["weight"].to_numpy(float)
    coverage = w[ok].sum() / w.sum()
    scored_ok = ok.any() and coverage >= cfg.min_coverage - 1e-12
    out["effective_weight"] = np.where(ok & scored_ok, w / (w[ok].sum() or 1.0), 0.0)
    out["contribution"] = np.where(ok & scored_ok, out["effective_weight"] * out["score"].to_numpy(float), np.nan)
    out = out[_RECEIPT_COLUMNS]
    out.attrs["score"] = float(np.nansum(out["contribution"])) if scored_ok else None
    out.attrs["coverage"] = float(coverage)
    return out


_UNIT_FILTER = "($town IS NULL OR {t} = $town) AND ($station IS NULL OR {s} = $station)"
_OPINION_ROWS = f"""
    WITH {MAP_CTES}
    SELECT o.opinion_id, o.submitted_at, o.channel, o.town, o.station, o.title, o.category, o.submitter,
           o.status, o.closed_at, o.satisfaction, {{extra}}
    FROM opinions o LEFT JOIN station_map m ON m.town = o.town AND m.raw = o.station
    WHERE o.submitted_at >= $start AND o.submitted_at < $end AND {{unit}}
    ORDER BY o.submitted_at, o.opinion_id
"""
_ACTIVITY_ROWS = f"""
    WITH {MAP_CTES}
    SELECT a.activity_id, a.date, a.town, a.station, a.type, a.topic, a.participants,
           {_HEADCOUNT_SQL} AS headcount, a.opinions_collected
    FROM activities a LEFT JOIN station_map m ON m.town = a.town AND m.raw = a.station
    WHERE a.date >= $start AND a.date < $end AND {{unit}} {{types}}
    ORDER BY a.date, a.activity_id
"""
_SUGGESTION_ROWS = f"""
    WITH {MAP_CTES}, {REP_CELLS}, {SUGGESTIONS_PLACED}
    SELECT s.suggestion_id, s.session, s.submitted_at, s.lead_rep, s.title, s.category, s.answer_class,
           s.answered_at, s.evaluation
    FROM suggestions s JOIN placed p USING (suggestion_id)
    WHERE {{unit}}
    ORDER BY s.submitted_at, s.suggestion_id
"""
_REP_ROWS = f"""
    WITH {MAP_CTES}, {REP_CELLS}, {PARTICIPATIONS}, {SUGGESTIONS_PLACED},
    rep_part AS (
        SELECT rep_id, count(*) AS all_n,
               count(*) FILTER (WHERE $any_type OR list_contains($types, type)) AS typed_n
        FROM participations WHERE rep_id IS NOT NULL GROUP BY rep_id
    ), rep_led AS (SELECT rep_id, count(*) AS led FROM placed WHERE rep_id IS NOT NULL GROUP BY rep_id)
    SELECT r.rep_id, r.name, r.rep_level, r.town, r.station, coalesce(p.typed_n, 0) AS participations,
           coalesce(p.all_n, 0) AS all_participations, coalesce(l.led, 0) AS suggestions_led
    FROM rep_cells r LEFT JOIN rep_part p USING (rep_id) LEFT JOIN rep_led l USING (rep_id)
    WHERE {{unit}}
    ORDER BY r.rep_id
"""


def receipt_rows(con: duckdb.DuckDBPyConnection, unit_id: str, component: str, period,
                 config: IndexConfig | None = None) -> pd.DataFrame:
    """The rows behind one component of one unit and period — what the analyst opens from a
    receipt. Depending on the component's numerator: opinions (submitter masked with
    ``mask_name``), activities held at the unit, the unit's representatives with their counts, or
    the suggestions its representatives led. For a rate, ``in_numerator`` / ``in_denominator``
    say which rows count where (and ``credit`` what a row adds when it counts partly).
    Chinese column labels: ``ROW_LABELS``."""
    cfg = config or load_config()
    comp = cfg.component(component)
    period = as_period(period)
    cur = con.cursor()
    ctx = index_context(cur, cfg)
    level, _ = _unit_level(ctx, unit_id)
    town = ctx.town_of(unit_id) if level == "town" else None
    station = unit_id if level == "station" else None
    params = {"start": period.start, "end": period.end, "town": town, "station": station, **ctx.params}
    m = comp.numerator
    grain_period = _PERIOD_SQL[period.grain]
    if m in ("opinions", "opinions_closed", "opinions_on_time", "opinions_satisfied"):
        unit = _UNIT_FILTER.format(t="o.town", s="m.station_id")
        if m == "opinions":
            extra = "TRUE AS in_numerator"
        elif m == "opinions_satisfied":
            extra = (f"coalesce(({_OPINION_PREDICATES['satisfied_full']}) OR ({_OPINION_PREDICATES['satisfied_basic']}), FALSE) AS in_numerator, "
                     f"coalesce({_OPINION_PREDICATES['opinions_evaluated']}, FALSE) AS in_denominator, "
                     f"CASE WHEN {_OPINION_PREDICATES['satisfied_full']} THEN 1.0 "
                     f"WHEN {_OPINION_PREDICATES['satisfied_basic']} THEN CAST($basic AS DOUBLE) ELSE 0.0 END AS credit")
            params["basic"] = cfg.basic_satisfied_weight
        else:
            den = MEASURES[m].base
            extra = f"coalesce({_OPINION_PREDICATES[m]}, FALSE) AS in_numerator, coalesce({_OPINION_PREDICATES[den]}, FALSE) AS in_denominator"
            if m == "opinions_on_time":
                params.update(days=cfg.on_time_days, as_of=ctx.as_of)
        rows = execute(cur, _OPINION_ROWS.format(extra=extra, unit=unit), params).df()
        rows["submitter"] = [mask_name(s) if isinstance(s, str) else s for s in rows["submitter"]]
        if m == "opinions":
            rows = rows.drop(columns=["in_numerator"])
        return rows
    if m in ("activities", "headcount", "opinions_collected", "reception_days"):
        unit = _UNIT_FILTER.format(t="a.town", s="m.station_id")
        types = ""
        if comp.types:
            types = "AND list_contains($types, a.type)"
            params["types"] = list(comp.types)
        return execute(cur, _ACTIVITY_ROWS.format(unit=unit, types=types), {**params, "sep": NAME_SEPARATORS}).df()
    if m in ("suggestions", "suggestions_solved"):
        sql = _SUGGESTION_ROWS.format(period_sub=grain_period.format(col="submitted_at"),
                                      unit=_UNIT_FILTER.format(t="p.town", s="p.station_id"))
        rows = execute(cur, sql, {**params, "ws": WS_SQL}).df()
        if m == "suggestions_solved":
            rows["in_denominator"] = rows["answer_class"].isin(ANSWERED_CLASSES)
            rows["credit"] = rows["answer_class"].map(cfg.answer_credit).astype(float).fillna(0.0)
            rows["in_numerator"] = rows["credit"] > 0
        return rows
    # representatives: points, reps_on_track, reps_joined, rep_participations
    sql = _REP_ROWS.format(period_date=grain_period.format(col="date"),
                           period_sub=grain_period.format(col="submitted_at"),
                           unit=_UNIT_FILTER.format(t="r.town", s="r.station_id"))
    rows = execute(cur, sql, {**params, "ws": WS_SQL, "sep": NAME_SEPARATORS,
                               "any_type": not comp.types, "types": list(comp.types) or [""]}).df()
    if m in ("points", "reps_on_track"):
        # points and 十必做 as analytics.domain.duty defines them (docs/duty.md)
        duty_rows = _rep_duty(cur, ctx, [period]).set_index("rep_id")
        rows["points"] = rows["rep_id"].map(duty_rows["points"]).fillna(0.0)
        rows["on_pace"] = rows["rep_id"].map(duty_rows["on_pace"]).fillna(0).astype(int)
        rows["on_track"] = rows["rep_id"].map(duty_rows["on_track"]).fillna(False).astype(bool)
    if m == "reps_on_track":
        rows["in_numerator"] = rows["on_track"]
        rows = rows.drop(columns=["on_track"])
    elif m == "points":
        rows = rows.drop(columns=["on_track"])
    elif m == "reps_joined":
        rows["in_numerator"] = rows["participations"] >= 1
    return rows.drop(columns=["all_participations"]) if m not in ("points", "reps_on_track") else \
        rows.drop(columns=["participations"]).rename(columns={"all_participations": "participations"})


# ───────────────────────────── a town and its stations ─────────────────────────────

_CONTRIBUTION_COLUMNS = ["station_id", "station", "index", "component", "label", "numerator", "denominator",
                         "raw", "town_raw", "deviation", "share", "town_score", "score_without", "pull",
                         "direction"]


def station_contributions(con: duckdb.DuckDBPyConnection, unit_id: str, period,
                          config: IndexConfig | None = None) -> pd.DataFrame:
    """How each station of a town moves the town's scores.

    One row per (station, component), then one per (station, index) with component = the index
    key. Component rows: the station's numerator and denominator within the town, its raw value,
    the town's raw value, ``deviation`` (station raw − town raw), ``share`` (station denominator ÷
    town denominator). Every row: ``town_score``, ``score_without`` — the town's score when the
    station's rows are taken out of the data and all towns are scored again — and ``pull`` =
    town_score − score_without (positive: the station pulls the town up), ``direction``
    拉高 / 拉低 / 持平. Pull is NaN (direction None) when either score is 样本不足, and for an
    index when its sufficient components differ between the two cases (the difference would
    then measure coverage, not the station)."""
    cfg = config or load_config()
    period = as_period(period)
    cur = con.cursor()
    ctx = index_context(cur, cfg)
    level, _ = _unit_level(ctx, unit_id)
    if level != "town":
        raise ValueError(f"“{unit_id}”不是镇街：只有镇街可以按联络站拆分")
    town = ctx.town_of(unit_id)
    cells, frame, scored = _scored_level(cur, ctx, "town", [period])
    row = int(np.flatnonzero(frame["unit_id"].to_numpy(object) == unit_id)[0])
    town_idx = _index_scores(scored, cfg, len(frame))
    measures = [c for c in cells.columns if c not in _CELL_KEYS]
    stations = ctx.stations[ctx.stations["town"] == town].sort_values("unit_id")
    own = cells[(cells["town"] == town) & (cells["station_id"] != "")].groupby("station_id")[measures].sum()
    out = []
    for s in stations.itertuples(index=False):
        part = own.loc[s.unit_id] if s.unit_id in own.index else pd.Series(0.0, index=measures)
        without = frame.copy()
        without.loc[row, measures] = frame.loc[row, measures].to_numpy(float) - part.to_numpy(float)
        pop = pd.to_numeric(pd.Series([s.population]), errors="coerce").iloc[0]
        without.loc[row, "population_10k"] = frame.at[row, "population_10k"] - (0.0 if pd.isna(pop) else pop / 1e4)
        scored_wo = _score_frame(without, "town", cfg)
        idx_wo = _index_scores(scored_wo, cfg, len(frame))
        for comp in cfg.components:
            t, w = scored[comp.key], scored_wo[comp.key]
            x = float(part[comp.numerator_col])
            n = float(part[comp.denominator_col]) if comp.denominator_col in part.index else \
                (0.0 if pd.isna(pop) else pop / 1e4)  # population_10k: the station's own figure
            raw = x / n if n > 0 else np.nan
            t_score = t.score[row] if t.sufficient[row] else np.nan
            w_score = w.score[row] if w.sufficient[row] else np.nan
            out.append({"station_id": s.unit_id, "station": s.unit, "index": comp.index, "component": comp.key,
                        "label": comp.label, "numerator": x, "denominator": n, "raw": raw,
                        "town_raw": t.raw[row], "deviation": raw - t.raw[row],
                        "share": n / t.n[row] if t.n[row] > 0 else np.nan,
                        "town_score": t_score, "score_without": w_score, "pull": t_score - w_score})
        for ikey in SCORE_COLUMNS:
            label = cfg.indices[ikey].label if ikey in cfg.indices else "综合指数"
            t_score, w_score = town_idx[ikey][row], idx_wo[ikey][row]
            # Compare like with like: when other parts have data in one case and not in the other,
            # the difference would measure the coverage, not the station.
            if ikey in cfg.indices:
                same = all(scored[c.key].sufficient[row] == scored_wo[c.key].sufficient[row]
                           for c in cfg.indices[ikey].components)
            else:
                same = all(np.isnan(town_idx[k][row]) == np.isnan(idx_wo[k][row]) for k in INDEX_KEYS)
            if not same:
                w_score = np.nan
            out.append({"station_id": s.unit_id, "station": s.unit, "index": ikey, "component": ikey,
                        "label": label, "numerator": np.nan, "denominator": np.nan, "raw": np.nan,
                        "town_raw": np.nan, "deviation": np.nan, "share": np.nan,
                        "town_score": t_score, "score_without": w_score, "pull": t_score - w_score})
    result = pd.DataFrame(out, columns=_CONTRIBUTION_COLUMNS[:-1])
    result["direction"] = [None if np.isnan(p) else "拉高" if p > 1e-9 else "拉低" if p < -1e-9 else "持平"
                           for p in result["pull"].to_numpy(float)]
    return result


def default_period(con: duckdb.DuckDBPyConnection) -> Period | None:
    """The latest quarter with any opinion, suggestion or activity (as the headline figures)."""
    return latest_period(con, "quarter")


# ───────────────────────────── kept in the store (analytics/store/derived.py) ─────────────────────────────

SCORES = "indices.scores"  # compute_indices of a level and period (memo and derived)
CELLS = "indices.cells"  # its name in analytics.store.memo and in the store's derived table
SPELLINGS = "indices.spellings"  # the (town, station) spellings and the as-of time, likewise


def _encode_cells(cells: pd.DataFrame) -> bytes:
    from analytics.store import derived

    return derived.frame_bytes(cells, index=False)


def _decode_cells(payload: bytes) -> pd.DataFrame:
    from analytics.store import derived

    return derived.frame_from(payload)


def warm_ahead(con: duckdb.DuckDBPyConnection) -> None:
    """Counting ahead (``analytics.domain.ahead``): what the default views ask for first — the latest quarter at
    each level (its ranking: ``analytics.domain.ranking.warm_ahead``)."""
    period = default_period(con)
    if period is None:
        return
    cfg = load_config()
    for level in ("town", "station", "district"):
        compute_indices(con, period, level, cfg)
    # The cells of every period with data, one pass per grain: any period's page (any town: the
    # cells are the district's) then reads its scores instead of counting a million rows.
    cur = con.cursor()
    ctx = index_context(cur, cfg)
    for grain in ("month", "quarter", "year"):
        periods = periods_with_data(cur, grain)
        if periods:
            _cells(cur, ctx, periods)
        for level in LEVELS:  # and their scores at each level (the cockpit's tree, trends, alerts)
            _scores_ahead(cur, ctx, level, periods)


def _register_derived() -> None:
    from analytics.store import memo

    memo.persist(CELLS, _encode_cells, _decode_cells)
    memo.persist(SCORES, _encode_cells, _decode_cells)
    memo.persist(SPELLINGS, _encode_spellings, _decode_spellings)


def _encode_spellings(value) -> bytes:
    pairs, as_of = value
    return json.dumps({"pairs": [list(p) for p in pairs], "as_of": as_of.isoformat() if as_of else None},
                      ensure_ascii=False).encode("utf-8")


def _decode_spellings(payload: bytes):
    d = json.loads(payload.decode("utf-8"))
    return [tuple(p) for p in d["pairs"]], (datetime.fromisoformat(d["as_of"]) if d["as_of"] else None)


_register_derived()
