"""代表履职: the ten yearly duties (十必做), duty points (履职积分) and each representative's timeline.

Definitions live in ``data/duty.toml`` (the ten duties with their yearly targets, the point rules)
and here (what a representative's record is, what "due" and "on track" mean); ``docs/duty.md``
says both in words. The 践行 index (``analytics.domain.indices``) takes its 十必做 share and its points
from ``rep_period_figures`` below: one definition of each.

A representative's record (``events``) — every row one thing he or she did:
- ``activity``: an activity whose 参与代表 lists the representative, matched by the rule of the
  indices (``placement.PARTICIPATIONS``: by 代表编号, else by name; a name several representatives
  share goes to the one in the activity's town, else to nobody), dated by the activity;
- ``led`` / ``seconded``: a suggestion whose 领衔代表 / 附议代表 is the representative (the lead
  by ``placement.SUGGESTIONS_PLACED``, co-signers by the same name rule within the lead's town), dated
  by its 提出时间;
- ``answer``: the answer to a suggestion the representative led (a 答复时间 or a class A/B/C),
  dated by its 答复时间 (by the 提出时间 when the export gives a class without a date) — so a
  quarter's published 亮分 does not change when an answer comes in a later quarter;
- ``opinion``: an opinion whose 接待代表 is the representative (same name rule within the
  opinion's town), dated by its 提交时间.
进站接待 days are the distinct dates of a representative's 进站接待 activities.

Progress ("pace") within a year: the share of the year gone, ``elapsed``, is counted in months
(a part month by its days), up to the cut-off ``min(period end, as_of + 1 day)``; the k-th of a
duty's ``target`` occurrences is due once the year is past (k − ½)/target, so
``due = ⌈target·elapsed − ½⌉`` (0 at the start, ``target`` at the year's end). A duty is on pace
when done ≥ due; a representative is on track when at least ``on_track_min`` duties are on pace.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analytics.core.config import Checker, ConfigError, load_file
from analytics.core.paths import DATA_DIR
from analytics.core.stats import hazen_scores
from analytics.domain import metrics
from analytics.domain.placement import (MAP_CTES, PARTICIPATIONS, REP_CELLS, RESOLVE_NAMES, SUGGESTIONS_PLACED,
                                         WS_SQL, execute)
from analytics.core.contract import load_contract
from analytics.core.periods import Period

CONFIG_PATH = DATA_DIR / "duty.toml"
COUNTS = ("activities", "reception_days", "suggestions", "opinions")
ROLES = ("led", "seconded")
ROLE_LABELS = {"led": "领衔", "seconded": "附议"}
RECEPTION_TYPE = "进站接待"
# Point rules besides the per-type activity points, in the order they are added up.
POINT_RULES = ("reception_day", "suggestion_led", "suggestion_seconded", "suggestion_answered",
               "suggestion_solved", "opinion_received")
POINT_RULE_LABELS = {
    "reception_day": "进站接待（每天）", "suggestion_led": "领衔建议", "suggestion_seconded": "附议建议",
    "suggestion_answered": "领衔建议已答复", "suggestion_solved": "领衔建议已解决", "opinion_received": "接待群众意见",
}
QUARTERS = ("Q1", "Q2", "Q3", "Q4")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()  # numpy day 0 as a date ordinal


# ───────────────────────────── configuration ─────────────────────────────

class DutyConfigError(ConfigError):
    """data/duty.toml is wrong; the message is Chinese and names the file and the key."""


@dataclass(frozen=True)
class Duty:
    key: str
    label: str
    counts: str
    types: tuple[str, ...]
    roles: tuple[str, ...]
    target: int

    @property
    def how(self) -> str:
        """How the duty is counted, in words (shown beside it)."""
        if self.counts == "activities":
            return f"参加“{'、'.join(self.types)}”活动的次数"
        if self.counts == "suggestions":
            return f"{'或'.join(ROLE_LABELS[r] for r in self.roles)}的代表建议件数（按提出时间）"
        if self.counts == "reception_days":
            return "参加进站接待活动的天数（同一天多场算一天）"
        return "作为接待代表收到的民情民意条数"


@dataclass(frozen=True)
class DutyConfig:
    duties: tuple[Duty, ...]
    on_track_min: int
    activity_points: dict[str, float]  # activity type -> points per participation
    points: dict[str, float]  # POINT_RULES -> points
    source: str = "duty.toml"

    def duty(self, key: str) -> Duty:
        for d in self.duties:
            if d.key == key:
                return d
        raise KeyError(key)


def load_config(path: str | Path | None = None) -> DutyConfig:
    """Read and validate the duty configuration (default ``data/duty.toml``)."""
    return load_file(path, CONFIG_PATH, "履职配置", DutyConfigError, parse_config)


def parse_config(raw: dict, source: str = "duty.toml") -> DutyConfig:
    check = Checker(source, "履职配置", DutyConfigError)
    fail, unknown = check.fail, check.unknown

    def number(obj: dict, key: str, where: str) -> float:
        return check.number(obj, key, where, minimum=0)

    unknown(raw, {"general", "duties", "points"}, "文件顶层")
    general = raw.get("general")
    if not isinstance(general, dict):
        fail("[general]", "整段缺失")
    unknown(general, {"on_track_min"}, "[general]")
    activity_types = list(load_contract().canon.get("activity_type", ()))

    duties_raw = raw.get("duties")
    if not isinstance(duties_raw, list) or not duties_raw:
        fail("[[duties]]", "缺失：请用 [[duties]] 写出履职清单的每一项")
    duties, seen = [], set()
    for i, d in enumerate(duties_raw, start=1):
        where = f"[[duties]] 第 {i} 项"
        if not isinstance(d, dict):
            fail(where, "应是一个表")
        if isinstance(d.get("key"), str):
            where += f"（{d['key']}）"
        unknown(d, {"key", "label", "counts", "types", "roles", "target"}, where)
        for req in ("key", "label", "counts", "target"):
            if req not in d:
                fail(where, f"缺少 {req}")
        key = d["key"]
        if not isinstance(key, str) or not key.isascii() or not key.replace("_", "").isalnum() or not key[:1].isalpha():
            fail(f"{where} 的 key", "应是英文字母、数字和下划线组成的代号")
        if key in seen:
            fail(f"{where} 的 key", f"“{key}”重复了")
        seen.add(key)
        if not isinstance(d["label"], str) or not d["label"].strip():
            fail(f"{where} 的 label", "应是中文名称")
        counts = d["counts"]
        if counts not in COUNTS:
            fail(f"{where} 的 counts", f"只能是 {'、'.join(COUNTS)}，现在是“{counts}”")
        target = d["target"]
        if isinstance(target, bool) or not isinstance(target, int) or target < 1:
            fail(f"{where} 的 target", f"应是正整数（一年至少做几次），现在是“{target}”")
        types = d.get("types", [])
        roles = d.get("roles", [])
        if counts == "activities":
            if not isinstance(types, list) or not types:
                fail(f"{where} 的 types", "counts = \"activities\" 时必须写活动类型，如 [\"视察\", \"调研\"]")
            bad = [t for t in types if t not in activity_types]
            if bad:
                fail(f"{where} 的 types", f"中“{'、'.join(map(str, bad))}”不是活动类型，可用：{'、'.join(activity_types)}")
        elif "types" in d:
            fail(f"{where} 的 types", f"只在 counts = \"activities\" 时使用")
        if counts == "suggestions":
            if not isinstance(roles, list) or not roles or any(r not in ROLES for r in roles) or len(set(roles)) != len(roles):
                fail(f"{where} 的 roles", "应是 [\"led\"]、[\"seconded\"] 或 [\"led\", \"seconded\"]")
        elif "roles" in d:
            fail(f"{where} 的 roles", "只在 counts = \"suggestions\" 时使用")
        duties.append(Duty(key, d["label"].strip(), counts, tuple(types), tuple(r for r in ROLES if r in roles),
                           int(target)))

    if "on_track_min" not in general:
        fail("[general]", "缺少 on_track_min")
    otm = general["on_track_min"]
    if isinstance(otm, bool) or not isinstance(otm, int) or not 1 <= otm <= len(duties):
        fail("[general] 的 on_track_min", f"应是 1 到 {len(duties)} 之间的整数，现在是“{otm}”")

    pts = raw.get("points")
    if not isinstance(pts, dict):
        fail("[points]", "整段缺失")
    unknown(pts, set(POINT_RULES) | {"activities"}, "[points]")
    points = {k: number(pts, k, "[points]") for k in POINT_RULES}
    acts = pts.get("activities")
    if not isinstance(acts, dict):
        fail("[points.activities]", "整段缺失：每种活动类型参加一次的得分")
    unknown(acts, activity_types, "[points.activities]")
    missing = [t for t in activity_types if t not in acts]
    if missing:
        fail("[points.activities]", f"缺少活动类型“{'、'.join(missing)}”的分值（不计分请写 0）")
    activity_points = {t: number(acts, t, "[points.activities]") for t in activity_types}
    return DutyConfig(tuple(duties), otm, activity_points, points, source)


# ───────────────────────────── pace ─────────────────────────────

_AS_OF_SQL = """
    SELECT max(d) FROM (
        SELECT date AS d FROM activities
        UNION ALL SELECT greatest(submitted_at, assigned_at, answered_at, second_answered_at) FROM suggestions
        UNION ALL SELECT CAST(greatest(submitted_at, assigned_at, closed_at) AS DATE) FROM opinions)
"""


def data_as_of(con: duckdb.DuckDBPyConnection) -> date | None:
    """"Now" for duty progress: the latest date in the activities, suggestions (not 答复期限) and
    opinions — the three records duties are counted from. Never the wall clock."""
    d = con.cursor().execute(_AS_OF_SQL).fetchone()[0]
    return d.date() if hasattr(d, "date") and callable(d.date) else d


def cutoff(year: int, as_of: date | None, period_end: date | None = None) -> date:
    """The day after the last day counted: the year's end, the period's end or as_of + 1 day,
    whichever comes first (never before the year starts)."""
    end = date(year + 1, 1, 1)
    if period_end is not None:
        end = min(end, period_end)
    if as_of is not None:
        end = min(end, as_of + timedelta(days=1))
    return max(end, date(year, 1, 1))


def elapsed(year: int, cut: date) -> Fraction:
    """Share of the year before ``cut``, in months (a part month by its days): exact, so quarter
    ends give ¼, ½, ¾ and 1."""
    if cut >= date(year + 1, 1, 1):
        return Fraction(1)
    if cut <= date(year, 1, 1):
        return Fraction(0)
    days_in_month = ((cut.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)).day
    return (Fraction(cut.month - 1) + Fraction(cut.day - 1, days_in_month)) / 12


def due(target: int, share: Fraction) -> int:
    """Occurrences due when ``share`` of the year is gone: ⌈target·share − ½⌉, within 0..target."""
    return max(0, min(target, math.ceil(target * share - Fraction(1, 2))))


# ───────────────────────────── the record ─────────────────────────────

def _events_sql() -> str:
    # Suggestions are placed whenever they were submitted (an answer given this year may belong to a
    # suggestion of last year); each event is then kept when its own date is in [start, end).
    placed_all = SUGGESTIONS_PLACED.format(period_sub="submitted_at").replace(
        "$start", "$any_start").replace("$end", "$any_end")
    return f"""
    WITH {MAP_CTES}, {REP_CELLS}, {PARTICIPATIONS.format(period_date="date")},
    {placed_all},
    led AS (
        SELECT p.rep_id, p.suggestion_id, CAST(p.period AS DATE) AS day, s.answered_at, s.answer_class,
               p.town AS lead_town, s.co_reps
        FROM placed p JOIN suggestions s USING (suggestion_id)
    ), co_tok AS (
        SELECT suggestion_id, day, lead_town, rep_id AS lead_id, unnest(regexp_split_to_array(co_reps, $sep)) AS token
        FROM led WHERE co_reps IS NOT NULL AND day >= $start AND day < $end
    ), co_rep AS ({RESOLVE_NAMES.format(place="lead_town", tok="co_tok")}
    ), seconded AS (
        SELECT t.suggestion_id, t.day, r.rep_id
        FROM co_tok t JOIN co_rep r ON r.token = t.token AND r.place IS NOT DISTINCT FROM t.lead_town
        WHERE r.rep_id IS NOT NULL AND r.rep_id IS DISTINCT FROM t.lead_id GROUP BY ALL
    ), op_tok AS (
        SELECT opinion_id, CAST(submitted_at AS DATE) AS day, town,
               unnest(regexp_split_to_array(reception_rep, $sep)) AS token
        FROM opinions WHERE reception_rep IS NOT NULL AND submitted_at >= $start AND submitted_at < $end
    ), op_rep AS ({RESOLVE_NAMES.format(place="town", tok="op_tok")}
    ), received AS (
        SELECT t.opinion_id, t.day, r.rep_id
        FROM op_tok t JOIN op_rep r ON r.token = t.token AND r.place IS NOT DISTINCT FROM t.town
        WHERE r.rep_id IS NOT NULL GROUP BY ALL)
    SELECT rep_id, CAST(period AS DATE) AS day, 'activity' AS source, type AS kind, activity_id AS ref_id,
           CAST(NULL AS VARCHAR) AS answer_class FROM participations WHERE rep_id IS NOT NULL
    UNION ALL
    SELECT rep_id, day, 'led', NULL, suggestion_id, answer_class FROM led
    WHERE rep_id IS NOT NULL AND day >= $start AND day < $end
    UNION ALL
    SELECT rep_id, coalesce(answered_at, day), 'answer', NULL, suggestion_id, answer_class FROM led
    WHERE rep_id IS NOT NULL AND (answered_at IS NOT NULL OR list_contains($classes, answer_class))
      AND coalesce(answered_at, day) >= $start AND coalesce(answered_at, day) < $end
    UNION ALL
    SELECT rep_id, day, 'seconded', NULL, suggestion_id, NULL FROM seconded
    UNION ALL
    SELECT rep_id, day, 'opinion', NULL, opinion_id, NULL FROM received
    ORDER BY rep_id, day, source, ref_id
    """


_WITH_DAY_NUMBER = f"SELECT *, CAST(day - DATE '1970-01-01' AS BIGINT) AS dnum FROM ({{sql}})"


def events(con: duckdb.DuckDBPyConnection, start: date, end: date, rep_id: str | None = None) -> pd.DataFrame:
    """Every representative's record in [start, end): rep_id, day (date), source (activity / led /
    answer / seconded / opinion), kind (the activity type), ref_id (activity, suggestion or opinion
    id), answer_class (led suggestions and their answers). See the module docstring for the
    matching rules and the dates. With ``rep_id``, that representative's record only (filtered in
    the statement: a trajectory does not fetch a million rows to keep a hundred)."""
    # Fetched columnar (a year at a million opinions is ~1 M rows: as Python tuples, twice the time
    # and ~1 GB). dnum: the day as days since 1970-01-01, for counting in windows without per-row
    # date objects.
    ev = _run_events(con, start, end, rep_id).df()
    ev["day"] = ev["day"].dt.date
    return ev


def _run_events(con: duckdb.DuckDBPyConnection, start: date, end: date, rep_id: str | None = None):
    """The record's statement executed on a new cursor (``events`` and the day counts fetch it)."""
    params = {"sm_town": [], "sm_raw": [], "sm_station": [], "su_station": [], "su_town": [],
              "ws": WS_SQL, "sep": metrics.NAME_SEPARATORS, "start": start, "end": end,
              "any_start": date(1, 1, 1), "any_end": date(9999, 12, 31), "classes": list(metrics.ANSWERED_CLASSES)}
    sql = _WITH_DAY_NUMBER.format(sql=_events_sql())
    if rep_id is not None:
        sql = f"SELECT * FROM ({sql}) WHERE rep_id = $rep_id"
        params["rep_id"] = rep_id
    return execute(con.cursor(), sql, params)


REP_COLUMNS = ["rep_id", "name", "rep_level", "town", "station", "sector"]


def reps(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The roster: rep_id, name, rep_level, town, station, sector, ordered by rep_id."""
    cur = con.cursor()
    rows = cur.execute(f"SELECT {', '.join(REP_COLUMNS)} FROM reps ORDER BY rep_id").fetchall()
    return pd.DataFrame.from_records(rows, columns=REP_COLUMNS)


# ───────────────────────────── counting ─────────────────────────────

def rule_counts(ev: pd.DataFrame, cfg: DutyConfig) -> pd.DataFrame:
    """Per event row, which point rules it triggers: one row per (rep_id, day, rule, ref_id) with
    ``n`` = 1. Rules: ``activity:<type>`` per participation, ``reception_day`` per distinct
    (rep, 进站接待 day), ``suggestion_led`` / ``suggestion_seconded``, ``suggestion_answered`` (a
    led suggestion's answer: a 答复时间 or a class A/B/C), ``suggestion_solved`` (that answer's
    class is counted as 解决), ``opinion_received``."""
    cols = ["rep_id", "day", "ref_id", "dnum"]
    parts = []
    act = ev[ev["source"] == "activity"]
    parts.append(act[cols].assign(rule="activity:" + act["kind"]))
    rec = act[act["kind"] == RECEPTION_TYPE].drop_duplicates(["rep_id", "day"])
    parts.append(rec[cols].assign(rule="reception_day"))
    led = ev[ev["source"] == "led"]
    ans = ev[ev["source"] == "answer"]
    for rule, sel in (("suggestion_led", led), ("suggestion_answered", ans),
                      ("suggestion_solved", ans[ans["answer_class"].isin(metrics.RESOLVED_CLASSES)]),
                      ("suggestion_seconded", ev[ev["source"] == "seconded"]),
                      ("opinion_received", ev[ev["source"] == "opinion"])):
        parts.append(sel[cols].assign(rule=rule))
    out = pd.concat(parts, ignore_index=True)
    # Text columns stay pandas strings: as Python objects a year at a million opinions is ~0.4 GB more.
    return out[["rep_id", "day", "rule", "ref_id", "dnum"]].astype({"rep_id": "str", "rule": "str", "ref_id": "str"})


def rule_points(cfg: DutyConfig) -> dict[str, float]:
    """Points per rule key (``activity:<type>`` and ``POINT_RULES``)."""
    pts = {f"activity:{t}": p for t, p in cfg.activity_points.items()}
    pts.update(cfg.points)
    return pts


def _by_rule(rc: pd.DataFrame, index) -> pd.DataFrame:
    """Counts per (rep_id, rule) as a table indexed like ``index`` (0 where nothing happened)."""
    if rc.empty:
        return pd.DataFrame(index=pd.Index(index, name="rep_id"))
    return rc.groupby(["rep_id", "rule"]).size().unstack(fill_value=0).reindex(index).fillna(0)


def _points_from_counts(counts: pd.DataFrame, cfg: DutyConfig) -> pd.Series:
    """Σ over rules (in a fixed order) of count × points: the same sum whatever the row order."""
    pts = rule_points(cfg)
    total = pd.Series(0.0, index=counts.index)
    for rule in sorted(pts):
        if rule in counts.columns:
            total = total + counts[rule].astype(float) * pts[rule]
    return total


def duty_occurrences(ev: pd.DataFrame, cfg: DutyConfig) -> dict[str, pd.DataFrame]:
    """Per duty key: one row (rep_id, day, dnum) per time the representative did it — an activity of the
    duty's types; a distinct 进站接待 day; a suggestion led or seconded (once per suggestion); an
    opinion received."""
    out = {}
    act = ev[ev["source"] == "activity"]
    for d in cfg.duties:
        if d.counts == "activities":
            occ = act[act["kind"].isin(d.types)]
        elif d.counts == "reception_days":
            occ = act[act["kind"] == RECEPTION_TYPE].drop_duplicates(["rep_id", "day"])
        elif d.counts == "suggestions":
            occ = ev[ev["source"].isin(d.roles)].drop_duplicates(["rep_id", "ref_id"])
        else:
            occ = ev[ev["source"] == "opinion"]
        out[d.key] = occ[["rep_id", "day", "dnum"]]
    return out


def duty_counts(ev: pd.DataFrame, cfg: DutyConfig) -> pd.DataFrame:
    """Per rep_id (index) and duty key (columns): how many times the representative did it in ``ev``."""
    out = {k: occ.groupby("rep_id").size() for k, occ in duty_occurrences(ev, cfg).items()}
    return pd.DataFrame(out, columns=[d.key for d in cfg.duties]).fillna(0).astype(int)


# ───────────────────────────── 十必做 progress ─────────────────────────────

@dataclass
class Progress:
    """十必做 for one year as of a cut-off. ``long``: one row per (rep, duty) — rep_id, duty,
    label, done, target, due, on_pace, complete. ``wide``: one row per representative — the
    roster columns, ``<duty>_done`` for every duty, on_pace (duties on pace), behind (duties
    behind), on_track. ``towns``: per town — reps, on_track, share."""
    year: int
    cutoff: date
    elapsed: Fraction
    duties: pd.DataFrame  # key, label, how, target, due
    long: pd.DataFrame
    wide: pd.DataFrame
    towns: pd.DataFrame

    @property
    def as_of(self) -> date:
        """The last day counted."""
        return self.cutoff - timedelta(days=1)


def progress(con: duckdb.DuckDBPyConnection, year: int, as_of: date | None = None,
             period_end: date | None = None, cfg: DutyConfig | None = None,
             ev: pd.DataFrame | None = None, days: _DayCounts | None = None) -> Progress:
    """十必做 progress of every representative in the roster for ``year``, counted from 1 January
    to the cut-off (``cutoff``); ``as_of`` defaults to the data's latest date. The counts come from
    ``ev`` (the record) or, when given, from ``days`` (the same record counted per day)."""
    cfg = cfg or load_config()
    if as_of is None:
        as_of = data_as_of(con)
    cut = cutoff(year, as_of, period_end)
    share = elapsed(year, cut)
    roster = reps(con)
    if days is not None:
        counts = pd.DataFrame({d.key: days.between(days.duty_cum[n], date(year, 1, 1), cut)
                               for n, d in enumerate(cfg.duties)}, index=days.roster.to_numpy())
        counts = counts.reindex(roster["rep_id"]).fillna(0).astype(int)
    else:
        if ev is None:
            ev = events(con, date(year, 1, 1), cut)
        else:
            ev = ev[(ev["day"] >= date(year, 1, 1)) & (ev["day"] < cut)]
        counts = duty_counts(ev, cfg).reindex(roster["rep_id"]).fillna(0).astype(int)
    duties = pd.DataFrame([{"key": d.key, "label": d.label, "how": d.how, "target": d.target,
                            "due": due(d.target, share)} for d in cfg.duties])
    wide = roster.copy()
    long_parts = []
    on_pace = np.zeros(len(roster), dtype=int)
    for d, n_due in zip(cfg.duties, duties["due"]):
        done = counts[d.key].to_numpy()
        wide[f"{d.key}_done"] = done
        ok = done >= n_due
        on_pace += ok
        long_parts.append(pd.DataFrame({"rep_id": roster["rep_id"], "duty": d.key, "label": d.label, "done": done,
                                        "target": d.target, "due": n_due, "on_pace": ok,
                                        "complete": done >= d.target}))
    wide["on_pace"] = on_pace
    wide["behind"] = len(cfg.duties) - on_pace
    wide["on_track"] = on_pace >= cfg.on_track_min
    long = pd.concat(long_parts, ignore_index=True) if long_parts else pd.DataFrame()
    towns = wide.groupby("town", sort=True).agg(reps=("rep_id", "size"), on_track=("on_track", "sum")).reset_index()
    towns["on_track"] = towns["on_track"].astype(int)
    towns["share"] = towns["on_track"] / towns["reps"]
    return Progress(year, cut, share, duties, long, wide, towns)


BEHIND_COLUMNS = ["rep_id", "name", "rep_level", "town", "station", "sector", "behind", "missing"]


def behind(prog: Progress) -> pd.DataFrame:
    """The reminder list: representatives not on track, with each duty behind pace written as
    “label done/due” (已做/应做); the most behind first."""
    late = prog.long[~prog.long["on_pace"]]
    text = late.assign(t=late["label"] + " " + late["done"].astype(str) + "/" + late["due"].astype(str))
    missing = text.groupby("rep_id", sort=False)["t"].agg("；".join)
    out = prog.wide[~prog.wide["on_track"]].copy()
    out["missing"] = out["rep_id"].map(missing).fillna("")
    out = out.sort_values(["behind", "town", "rep_id"], ascending=[False, True, True])
    return out[BEHIND_COLUMNS].reset_index(drop=True)


REMINDER_HEADERS = {"rep_id": "代表编号", "name": "姓名", "rep_level": "代表层级", "town": "所属镇街",
                    "station": "进站联络站", "sector": "界别", "behind": "落后项数",
                    "missing": "落后的履职事项（已做/应做）"}


def reminder_xlsx(late: pd.DataFrame, prog: Progress) -> bytes:
    """The reminder list as .xlsx (Chinese headers; text that a spreadsheet would run as a formula —
    starting with = + - @ — is neutralised by ``safe_export.to_xlsx``)."""
    from analytics.core.safe_export import to_xlsx

    sheet = late.rename(columns=REMINDER_HEADERS)
    return to_xlsx({f"{prog.year}年十必做提醒（截至{prog.as_of:%m月%d日}）": sheet})


# ───────────────────────────── 履职积分 ─────────────────────────────

POINTS_COLUMNS = ["rep_id", "name", "rep_level", "town", "station", "sector", *QUARTERS, "total", "percentile",
                  "rank"]


def _quarter(d: date) -> str:
    return f"Q{(d.month - 1) // 3 + 1}"


def points_table(con: duckdb.DuckDBPyConnection, year: int, as_of: date | None = None,
                 period_end: date | None = None, cfg: DutyConfig | None = None,
                 ev: pd.DataFrame | None = None, days: _DayCounts | None = None) -> pd.DataFrame:
    """履职积分 of every representative in the roster for ``year`` up to the cut-off: each
    quarter's points (亮分; None for a quarter not yet begun), the total, the percentile among all
    representatives (Hazen mid-rank: 100·(below + ½·equal)/N, the indices' rule) and the rank
    (1 = most points; ties share the better rank)."""
    cfg = cfg or load_config()
    if as_of is None:
        as_of = data_as_of(con)
    cut = cutoff(year, as_of, period_end)
    roster = reps(con)
    if days is not None:
        return _points_from_days(roster, year, cut, days)
    if ev is None:
        ev = events(con, date(year, 1, 1), cut)
    else:
        ev = ev[(ev["day"] >= date(year, 1, 1)) & (ev["day"] < cut)]
    rc = rule_counts(ev, cfg)
    rc["quarter"] = [_quarter(d) for d in rc["day"]]
    out = roster.copy()
    for q in QUARTERS:
        qn = int(q[1])
        if date(year, 3 * qn - 2, 1) >= cut:
            out[q] = None
            continue
        c = _by_rule(rc[rc["quarter"] == q], roster["rep_id"])
        out[q] = _points_from_counts(c, cfg).to_numpy()
    c = _by_rule(rc, roster["rep_id"])
    out["total"] = _points_from_counts(c, cfg).to_numpy()
    out["percentile"] = hazen_scores(out["total"].to_numpy(float)) if len(out) else []
    out["rank"] = out["total"].rank(method="min", ascending=False).astype(int) if len(out) else []
    return out[POINTS_COLUMNS]


def _points_from_days(roster: pd.DataFrame, year: int, cut: date, days: _DayCounts) -> pd.DataFrame:
    """``points_table`` from the day counts: Σ over the rules in the same (sorted) order of count ×
    points, per quarter begun and in total — the same figures as from the record."""
    def points(a: date, b: date) -> pd.Series:
        total = np.zeros(len(days.roster))
        for n, rule in enumerate(days.rules):
            total = total + days.between(days.rule_cum[n], a, b).astype(float) * days.points[rule]
        return pd.Series(total, index=days.roster.to_numpy()).reindex(roster["rep_id"]).fillna(0.0).to_numpy()

    out = roster.copy()
    for q in QUARTERS:
        qn = int(q[1])
        a = date(year, 3 * qn - 2, 1)
        if a >= cut:
            out[q] = None
            continue
        b = min(date(year + (qn == 4), (3 * qn) % 12 + 1, 1), cut)
        out[q] = points(a, b)
    out["total"] = points(date(year, 1, 1), cut)
    out["percentile"] = hazen_scores(out["total"].to_numpy(float)) if len(out) else []
    out["rank"] = out["total"].rank(method="min", ascending=False).astype(int) if len(out) else []
    return out[POINTS_COLUMNS]


def rule_table(cfg: DutyConfig | None = None) -> pd.DataFrame:
    """The point rules as a table: rule, label, points (what the page prints beside the scores)."""
    cfg = cfg or load_config()
    rows = [{"rule": f"activity:{t}", "label": f"参加{t}（每次）", "points": p} for t, p in cfg.activity_points.items()]
    rows += [{"rule": r, "label": POINT_RULE_LABELS[r], "points": cfg.points[r]} for r in POINT_RULES]
    return pd.DataFrame(rows)


# ───────────────────────────── for the 践行 index ─────────────────────────────

def rep_period_figures(con: duckdb.DuckDBPyConnection, periods: list[Period],
                       cfg: DutyConfig | None = None, as_of: date | None = None) -> pd.DataFrame:
    """Per (period code, rep_id) of every representative in the roster: ``points`` earned in the
    period, ``on_pace`` (how many duties are on pace from 1 January of the period's year to the
    cut-off ``min(period end, as_of + 1 day)``) and ``on_track``. What the 践行 index sums per unit."""
    cfg = cfg or load_config()
    if as_of is None:
        as_of = data_as_of(con)
    if not periods:
        return pd.DataFrame(columns=["period", "rep_id", "points", "on_pace", "on_track"])
    # Every window lies inside one calendar year (a period never spans two; duties count from
    # 1 January of the period's year), so the counts are taken per year.
    years = {y: _day_counts(con, y, cfg) for y in sorted({p.start.year for p in periods})}
    if next(iter(years.values())).roster.empty:
        return pd.DataFrame(columns=["period", "rep_id", "points", "on_pace", "on_track"])
    windows = [(p, date(p.start.year, 1, 1), cutoff(p.start.year, as_of, p.end)) for p in periods]
    out = []
    for p, year_start, cut in windows:
        days = years[p.start.year]
        roster = days.roster
        pts = np.zeros(len(roster))
        for n, rule in enumerate(days.rules):
            pts = pts + days.between(days.rule_cum[n], p.start, p.end) * days.points[rule]
        share = elapsed(p.start.year, cut)
        on_pace = np.zeros(len(roster), dtype=int)
        for n, d in enumerate(cfg.duties):
            on_pace += days.between(days.duty_cum[n], year_start, cut) >= due(d.target, share)
        out.append(pd.DataFrame({"period": p.code, "rep_id": roster.to_numpy(), "points": pts,
                                 "on_pace": on_pace, "on_track": on_pace >= cfg.on_track_min}))
    return pd.concat(out, ignore_index=True)


@dataclass(frozen=True)
class _DayCounts:
    """Every representative's rule counts and duty occurrences per day of whole calendar years,
    as running totals: ``rule_cum[rule, rep, k]`` = that rule's count for that representative on
    days before ``start + k`` (likewise ``duty_cum``). Any window's count is a difference of two."""
    start: date
    roster: pd.Series
    rules: list[str]
    points: dict[str, float]
    rule_cum: np.ndarray  # rules × reps × (days + 1), int32
    duty_cum: np.ndarray  # duties × reps × (days + 1), int32

    def between(self, cum: np.ndarray, a: date, b: date) -> np.ndarray:
        """Per representative: the count on days in [a, b)."""
        return cum[:, (b - self.start).days] - cum[:, (a - self.start).days]


DAY_COUNTS = "duty.day_counts"  # its name in analytics.store.memo and in the store's derived table
COUNTING_VERSION = 1  # of _count_days and what it calls: stored counts of another version are not used
WARM_YEARS = 2  # years the importer counts ahead (the latest with data and the one before)


def _settings_key(year: int, cfg: DutyConfig) -> tuple:
    # Everything the counting reads besides the data: the settings of duty.toml and indices.toml
    # [answers], the matching rules, and COUNTING_VERSION (raise it when the counting code changes).
    return (year, COUNTING_VERSION, tuple(sorted(rule_points(cfg).items())), cfg.duties, metrics.RESOLVED_CLASSES,
            metrics.ANSWERED_CLASSES, metrics.NAME_SEPARATORS, RECEPTION_TYPE)


def _day_counts(con: duckdb.DuckDBPyConnection, year: int, cfg: DutyConfig) -> _DayCounts:
    """The record of one calendar year counted per day (``events``, ``rule_counts`` and
    ``duty_occurrences``: their one definition). The pass over a year's record is the slow part at a
    million opinions, the counts are small: they are kept per store state in this process
    (``analytics.store.memo``) and, for the latest years, in the store itself, counted by the importer
    (``analytics.store.derived``; used only while the data is as it was counted from)."""
    from analytics.store import memo

    return memo.remember(con, DAY_COUNTS, _settings_key(year, cfg), lambda: _count_days(con, year, year, cfg))


def _encode_days(days: _DayCounts) -> bytes:
    """The counts per day (not the running totals, which compress worse) as an npz."""
    from analytics.store import derived

    return derived.pack(rule_days=np.diff(days.rule_cum, axis=2), duty_days=np.diff(days.duty_cum, axis=2),
                        roster=np.array(days.roster.astype(str).tolist(), dtype=str),
                        meta={"start": days.start.isoformat(), "rules": days.rules, "points": days.points})


def _decode_days(payload: bytes) -> _DayCounts:
    from analytics.store import derived

    z = derived.unpack(payload)
    meta = z["meta"]

    def cum(per_day: np.ndarray) -> np.ndarray:
        out = np.zeros(per_day.shape[:2] + (per_day.shape[2] + 1,), dtype=np.int32)
        np.cumsum(per_day, axis=2, dtype=np.int32, out=out[:, :, 1:])
        return out

    return _DayCounts(start=date.fromisoformat(meta["start"]), roster=pd.Series(z["roster"].tolist(), name="rep_id"),
                      rules=list(meta["rules"]), points={k: float(v) for k, v in meta["points"].items()},
                      rule_cum=cum(z["rule_days"]), duty_cum=cum(z["duty_days"]))


def warm_ahead(con: duckdb.DuckDBPyConnection) -> None:
    """Counting ahead (``analytics.domain.ahead``): the day counts of the latest ``WARM_YEARS`` years with data."""
    cfg = load_config()
    for year in years_with_data(con)[:WARM_YEARS]:
        _day_counts(con, year, cfg)


def _register_derived() -> None:
    from analytics.store import memo

    memo.persist(DAY_COUNTS, _encode_days, _decode_days)


def _count_days(con: duckdb.DuckDBPyConnection, first_year: int, last_year: int, cfg: DutyConfig) -> _DayCounts:
    start, end = date(first_year, 1, 1), date(last_year + 1, 1, 1)
    roster = reps(con)["rep_id"]
    n_days = (end - start).days
    # The record as ``events`` gives it, fetched columnar: a year at a million opinions is ~1 M rows,
    # which as Python tuples cost twice the memory and time. ``day`` arrives as datetime64 here;
    # counting uses it only to tell days apart (and ``dnum`` for the date).
    ev = _run_events(con, start, end).df()

    def cumulative(frame: pd.DataFrame, col: str, keys: list[str]) -> np.ndarray:
        m = np.zeros((len(keys), len(roster), n_days + 1), dtype=np.int32)
        if len(frame):
            k = pd.Categorical(frame[col], categories=keys).codes
            r = pd.Categorical(frame["rep_id"], categories=roster).codes  # -1: not in the roster
            d = frame["dnum"].to_numpy(np.int64) + (_EPOCH_ORDINAL - start.toordinal())
            keep = (k >= 0) & (r >= 0) & (d >= 0) & (d < n_days)
            np.add.at(m, (k[keep], r[keep], d[keep] + 1), 1)  # slot k+1: counted from day k+1 on
        return np.cumsum(m, axis=2, dtype=np.int32)

    pts_of = rule_points(cfg)
    rules = sorted(pts_of)  # fixed order: the same float sum whatever the row order
    occ = duty_occurrences(ev, cfg)
    duty_keys = [d.key for d in cfg.duties]
    return _DayCounts(
        start=start, roster=roster, rules=rules, points=pts_of,
        rule_cum=cumulative(rule_counts(ev, cfg), "rule", rules),
        duty_cum=cumulative(pd.concat([o.assign(duty=k) for k, o in occ.items()], ignore_index=True),
                            "duty", duty_keys),
    )


# ───────────────────────────── 履职轨迹 ─────────────────────────────

TRAJECTORY_COLUMNS = ["day", "what", "kind", "title", "where", "ref_id", "points"]
_TRAJECTORY_DETAIL_SQL = """
    SELECT 'activity' AS source, activity_id AS ref_id, type AS kind, topic AS title,
           town || coalesce(' · ' || station, '') AS place, NULL AS answer_class
    FROM activities WHERE list_contains($acts, activity_id)
    UNION ALL
    SELECT 'suggestion', suggestion_id, submit_type, title, main_handler, answer_class
    FROM suggestions WHERE list_contains($suggs, suggestion_id)
    UNION ALL
    SELECT 'opinion', opinion_id, channel, coalesce(title, left(content, 30)), town || coalesce(' · ' || station, ''), NULL
    FROM opinions WHERE list_contains($ops, opinion_id)
"""
WHAT_LABELS = {"activity": "参加活动", "led": "领衔建议", "answer": "领衔建议获答复", "seconded": "附议建议",
               "opinion": "接待群众意见"}


def trajectory(con: duckdb.DuckDBPyConnection, rep_id: str, start: date, end: date,
               cfg: DutyConfig | None = None) -> pd.DataFrame:
    """One representative's record in [start, end), oldest first: day, what (参加活动 / 领衔建议 /
    领衔建议获答复 / 附议建议 / 接待群众意见), kind (activity type, 提出类型, answer class or 来源渠道), title (activity topic,
    suggestion title, opinion title — masked at import), where (place, or 主办单位 for a suggestion),
    ref_id, points (what the row earned by the point rules; a 进站接待 day's points go to its first
    activity of that day)."""
    cfg = cfg or load_config()
    ev = events(con, start, end, rep_id)
    if ev.empty:
        return pd.DataFrame(columns=TRAJECTORY_COLUMNS)
    cur = con.cursor()
    rows = cur.execute(_TRAJECTORY_DETAIL_SQL, {
        "acts": list(ev.loc[ev["source"] == "activity", "ref_id"]) or [""],
        "suggs": list(ev.loc[ev["source"].isin(["led", "answer", "seconded"]), "ref_id"]) or [""],
        "ops": list(ev.loc[ev["source"] == "opinion", "ref_id"]) or [""]}).fetchall()
    detail = {(s, r): (k, t, p) for s, r, k, t, p, _ in rows}
    pts = cfg.points
    first_reception = set(ev[(ev["source"] == "activity") & (ev["kind"] == RECEPTION_TYPE)]
                          .drop_duplicates(["day"])["ref_id"])
    out = []
    for r in ev.itertuples(index=False):
        key = ("suggestion" if r.source in ("led", "answer", "seconded") else r.source, r.ref_id)
        kind, title, place = detail.get(key, (None, None, None))
        if r.source == "activity":
            p = cfg.activity_points.get(r.kind, 0.0) + (pts["reception_day"] if r.ref_id in first_reception else 0.0)
        elif r.source == "answer":
            p = pts["suggestion_answered"] + (pts["suggestion_solved"] if r.answer_class in metrics.RESOLVED_CLASSES
                                              else 0.0)
            kind = f"{r.answer_class} 类答复" if r.answer_class else "已答复"
        else:
            p = pts[{"led": "suggestion_led", "seconded": "suggestion_seconded", "opinion": "opinion_received"}[r.source]]
        out.append({"day": r.day, "what": WHAT_LABELS[r.source], "kind": kind, "title": title, "where": place,
                    "ref_id": r.ref_id, "points": p})
    return pd.DataFrame(out, columns=TRAJECTORY_COLUMNS)


# ───────────────────────────── everything the page shows ─────────────────────────────

def years_with_data(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Years holding an activity, a suggestion or an opinion, latest first."""
    rows = con.cursor().execute("""
        SELECT DISTINCT y FROM (SELECT year(date) AS y FROM activities UNION ALL
                                SELECT year(submitted_at) FROM suggestions UNION ALL
                                SELECT year(submitted_at) FROM opinions) WHERE y IS NOT NULL ORDER BY y DESC""").fetchall()
    return [r[0] for r in rows]


def report(con: duckdb.DuckDBPyConnection, year: int, period_end: date | None = None,
           cfg: DutyConfig | None = None) -> dict:
    """The 代表履职 page's tables for a year (up to ``period_end`` when given): progress, the
    reminder list, the points table, the district's on-track share. Kept per store state
    (``analytics.store.memo``): a pass over the year's record; sessions asking at once share one."""
    from analytics.store import memo

    cfg = cfg or load_config()
    key = (year, period_end, tuple(sorted(rule_points(cfg).items())), cfg.duties, cfg.on_track_min)
    return memo.remember(con, "duty.report", key, lambda: _report(con, year, period_end, cfg))


def _report(con: duckdb.DuckDBPyConnection, year: int, period_end: date | None, cfg: DutyConfig) -> dict:
    as_of = data_as_of(con)
    # From the year's day counts (kept in the store by the importer for the latest years): the same
    # counts as from the record, without a pass over it.
    days = _day_counts(con, year, cfg)
    prog = progress(con, year, as_of, period_end, cfg, days=days)
    pts = points_table(con, year, as_of, period_end, cfg, days=days)
    n = len(prog.wide)
    return {"year": year, "as_of": prog.as_of, "elapsed": prog.elapsed, "progress": prog,
            "behind": behind(prog), "points": pts, "reps": n,
            "on_track": int(prog.wide["on_track"].sum()),
            "on_track_share": (float(prog.wide["on_track"].mean()) if n else None)}


_register_derived()
