"""The cockpit's alerts: what a chair meeting should look at first, each with the rows behind it.

- **逾期未办结的民情民意** (``overdue_opinions``): an opinion that is accepted (status not 不予受理),
  not 已办结, and was submitted more than ``on_time_days`` days (data/indices.toml) before the data's
  as-of time. The as-of time is the one the 解忧指数 uses — the latest submitted/closed/assigned time
  in the opinions, not the computer's clock — so these are exactly the open rows of the index's
  已到期 (``opinions_due``) and the same data always gives the same list.
- **逾期未答复的代表建议** (``overdue_suggestions``): a suggestion with a 答复期限 before the
  suggestions' as-of date and no answer (neither 答复时间 nor an answer class A/B/C). The as-of date
  is the latest date recorded in the suggestions (提出/交办/答复/二次答复; not the deadlines, which
  are plans): an export can only vouch for "not answered yet" up to the day it was taken. The rule
  and the list are the suggestions page's (``analytics.domain.suggestions``), not restated here.
- **指数降幅最大** (``index_falls`` / ``falls_between``): units whose index score fell against the
  previous period (as ``indices.index_changes`` counts a change), the largest fall first;
  ``fall_detail`` compares the two receipts.
- **样本不足** (``insufficient_units`` / ``insufficient_in``): units with at least one index (or the
  composite) that is 样本不足 in the period; ``insufficient_detail`` lists the components that
  are, and why.
The ``…_between`` / ``…_in`` forms take scored trees (``hierarchy.scored_tree``) the page already
holds, so the cockpit scores each period once.

Submitters' names are shown only through ``privacy.mask_name``. Nothing here caches: the app caches
by ``store.data_version``.
"""
from __future__ import annotations

import math
from datetime import date, datetime

import duckdb
import numpy as np
import pandas as pd

from analytics.domain import indices
from analytics.domain import suggestions
from analytics.domain.hierarchy import scored_tree, unit_tree
from analytics.domain.indices import CLOSED, INDEX_KEYS, NOT_ACCEPTED, SCORE_COLUMNS, IndexConfig
from analytics.core.labels import COMPOSITE_LABEL
from analytics.core.privacy import mask_name

OPINION_COLUMNS = ["opinion_id", "submitted_at", "deadline", "days_overdue", "town", "station", "channel",
                   "category", "title", "submitter", "status", "handler", "assigned_at"]
SUGGESTION_COLUMNS = ["suggestion_id", "title", "submit_type", "lead_rep", "town", "main_handler", "supervision",
                      "assigned_at", "due_at", "days_overdue", "status"]
FALL_COLUMNS = ["unit_id", "unit", "level", "index", "label", "score", "previous", "change"]
INSUFFICIENT_COLUMNS = ["unit_id", "unit", "level", "town", "indices", "composite"]


def index_label(key: str, config: IndexConfig | None = None) -> str:
    cfg = config or indices.load_config()
    return cfg.indices[key].label if key in cfg.indices else COMPOSITE_LABEL


# ───────────────────────────── overdue opinions ─────────────────────────────

def opinions_as_of(con: duckdb.DuckDBPyConnection, config: IndexConfig | None = None) -> datetime | None:
    """The as-of time of the opinions, as the 解忧指数 takes it (None when there are no opinions)."""
    cfg = config or indices.load_config()
    found = con.cursor().execute("SELECT count(*) FROM opinions").fetchone()[0]
    return indices.index_context(con.cursor(), cfg).as_of if found else None


_OVERDUE_OPINIONS = f"""
    SELECT opinion_id, submitted_at, submitted_at + to_days(CAST($days AS INTEGER)) AS deadline,
           town, station, channel, category, title, submitter, status, handler, assigned_at
    FROM opinions
    WHERE status IS DISTINCT FROM '{CLOSED}' AND status IS DISTINCT FROM '{NOT_ACCEPTED}'
      AND submitted_at + to_days(CAST($days AS INTEGER)) < $as_of
      AND ($town IS NULL OR town = $town)
    ORDER BY deadline, opinion_id
"""


def overdue_opinions(con: duckdb.DuckDBPyConnection, town: str | None = None,
                     config: IndexConfig | None = None) -> pd.DataFrame:
    """Open opinions past their deadline (submitted + on_time_days) at the opinions' as-of time,
    of the district or one town (the row's 镇街). Longest overdue first. Columns ``OPINION_COLUMNS``;
    days_overdue counts started days past the deadline (3 hours late = 1 day); submitter masked.
    ``attrs``: as_of, on_time_days."""
    cfg = config or indices.load_config()
    as_of = opinions_as_of(con, cfg)
    if as_of is None:
        out = pd.DataFrame(columns=OPINION_COLUMNS)
    else:
        out = con.cursor().execute(_OVERDUE_OPINIONS, {"days": cfg.on_time_days, "as_of": as_of,
                                                       "town": town}).df()
        late = (pd.Timestamp(as_of) - out["deadline"]).dt.total_seconds().to_numpy(float)
        out["days_overdue"] = np.ceil(late / 86400).astype(int)
        out["submitter"] = [mask_name(s) if isinstance(s, str) else s for s in out["submitter"]]
        out = out.sort_values(["days_overdue", "opinion_id"], ascending=[False, True], kind="stable")
        out = out[OPINION_COLUMNS].reset_index(drop=True)
    out.attrs.update(as_of=as_of, on_time_days=cfg.on_time_days)
    return out


# ───────────────────────────── overdue suggestions ─────────────────────────────

def suggestions_as_of(con: duckdb.DuckDBPyConnection) -> date | None:
    """The latest date recorded in the suggestions (提出, 交办, 答复, 二次答复): the suggestions
    page's "now" (``analytics.domain.suggestions.suggestions_as_of``)."""
    return suggestions.suggestions_as_of(con)


def overdue_suggestions(con: duckdb.DuckDBPyConnection, town: str | None = None) -> pd.DataFrame:
    """Unanswered suggestions past their 答复期限 at the suggestions' as-of date, of the district or
    one town (the 领衔代表's town, as the headline figures place a suggestion), longest overdue
    first — the suggestions page's overdue list (``analytics.domain.suggestions.overdue``: one
    definition). Columns ``SUGGESTION_COLUMNS``; days_overdue = as-of date − 答复期限.
    ``attrs``: as_of."""
    as_of = suggestions_as_of(con)
    rows = suggestions.suggestion_rows(con, suggestions.Scope(town=town), as_of=as_of)
    out = suggestions.overdue(rows)
    out["town"] = out["town"].fillna("")
    for c in ("assigned_at", "due_at"):
        out[c] = [None if pd.isna(d) else pd.Timestamp(d).date() for d in out[c]]
    out = out[SUGGESTION_COLUMNS].reset_index(drop=True)
    out.attrs.update(as_of=as_of)
    return out


# ───────────────────────────── index falls ─────────────────────────────

def _scores_with_tree(con: duckdb.DuckDBPyConnection, period, level: str, cfg: IndexConfig) -> pd.DataFrame:
    """``hierarchy.scored_tree`` restricted to one level (one ``compute_indices`` call)."""
    tree = unit_tree(con, cfg)
    scores = indices.compute_indices(con, period, level, cfg)
    return tree.merge(scores[["unit_id", *SCORE_COLUMNS, "insufficient"]], on="unit_id", how="inner")


def falls_between(now: pd.DataFrame, before: pd.DataFrame, level: str = "town", town: str | None = None,
                  limit: int | None = 10, min_drop: float = 0.0, config: IndexConfig | None = None) -> pd.DataFrame:
    """(unit, index) pairs of the level whose score fell by more than ``min_drop`` points from
    ``before`` to ``now`` (frames shaped as ``hierarchy.scored_tree``), the largest fall first (then
    unit_id, then index order), at most ``limit`` rows; only units in ``town`` when given. A score
    that is 样本不足 in either period has no change and is not listed — as ``indices.index_changes``
    counts a change. Columns ``FALL_COLUMNS`` (label: the index's Chinese name)."""
    cfg = config or indices.load_config()
    mine = now[now["level"] == level]
    if town is not None:
        mine = mine[mine["town"] == town]
    cols = list(SCORE_COLUMNS)
    long_now = mine.melt(id_vars=["unit_id", "unit"], value_vars=cols, var_name="index", value_name="score")
    long_before = before[before["level"] == level].melt(id_vars=["unit_id"], value_vars=cols, var_name="index",
                                                        value_name="previous")
    ch = long_now.merge(long_before, on=["unit_id", "index"], how="left")
    ch["change"] = ch["score"] - ch["previous"]
    ch = ch[ch["change"] < -min_drop - 1e-9]
    order = {k: i for i, k in enumerate(SCORE_COLUMNS)}
    ch = ch.assign(_o=ch["index"].map(order)).sort_values(["change", "unit_id", "_o"], kind="stable")
    ch = ch.assign(level=level, label=[index_label(k, cfg) for k in ch["index"]])
    out = ch[FALL_COLUMNS].reset_index(drop=True)
    return out.head(limit) if limit is not None else out


def index_falls(con: duckdb.DuckDBPyConnection, period, level: str = "town", town: str | None = None,
                limit: int | None = 10, min_drop: float = 0.0,
                config: IndexConfig | None = None) -> pd.DataFrame:
    """``falls_between`` the period and the one before it, for units of the level (in ``town``)."""
    cfg = config or indices.load_config()
    period = indices.as_period(period)
    now = _scores_with_tree(con, period, level, cfg)
    before = _scores_with_tree(con, period.previous(), level, cfg)
    return falls_between(now, before, level, town, limit, min_drop, cfg)


def fall_detail(con: duckdb.DuckDBPyConnection, unit_id: str, index: str, period,
                config: IndexConfig | None = None) -> pd.DataFrame:
    """Why a unit's index moved: its receipt for the period beside the previous period's, one row
    per component (per index for the composite): label, numerator, denominator, raw, score
    (NaN = 样本不足) and the same with the suffix ``_prev``, and change = score − score_prev."""
    cfg = config or indices.load_config()
    period = indices.as_period(period)
    cols = ["component", "label", "numerator", "denominator", "raw", "score"]
    now = indices.receipt(con, unit_id, index, period, cfg)[cols]
    before = indices.receipt(con, unit_id, index, period.previous(), cfg)[cols]
    out = now.merge(before.drop(columns=["label"]), on="component", suffixes=("", "_prev"), how="left")
    out["change"] = out["score"] - out["score_prev"]
    return out


# ───────────────────────────── 样本不足 ─────────────────────────────

def insufficient_in(tree: pd.DataFrame, town: str | None = None, config: IndexConfig | None = None) -> pd.DataFrame:
    """Units of a scored tree (``hierarchy.scored_tree``) with at least one index 样本不足: the
    district, towns, then stations, each by unit_id. With ``town``: that town and its stations.
    Columns ``INSUFFICIENT_COLUMNS``: indices = the Chinese names of the indices that are 样本不足
    (、-separated), composite = True when the composite itself is 样本不足."""
    cfg = config or indices.load_config()
    if town is not None:
        tree = tree[(tree["town"] == town) & tree["level"].isin(["town", "station"])]
    rank = {"district": 0, "town": 1, "station": 2}
    tree = tree.assign(_r=tree["level"].map(rank)).sort_values(["_r", "unit_id"], kind="stable")
    rows = []
    for u in tree.itertuples(index=False):
        missing = [index_label(k, cfg) for k in INDEX_KEYS if _nan(getattr(u, k))]
        if missing or _nan(u.composite):
            rows.append({"unit_id": u.unit_id, "unit": u.unit, "level": u.level, "town": u.town,
                         "indices": "、".join(missing), "composite": bool(_nan(u.composite))})
    return pd.DataFrame(rows, columns=INSUFFICIENT_COLUMNS)


def insufficient_units(con: duckdb.DuckDBPyConnection, period, town: str | None = None,
                       config: IndexConfig | None = None) -> pd.DataFrame:
    """``insufficient_in`` the period's scored tree: the units with an index 样本不足."""
    cfg = config or indices.load_config()
    return insufficient_in(scored_tree(con, period, cfg), town, cfg)


def insufficient_detail(con: duckdb.DuckDBPyConnection, unit_id: str, period,
                        config: IndexConfig | None = None) -> pd.DataFrame:
    """The components of one unit that are 样本不足 in the period, and why: index (Chinese name),
    component, label, numerator, denominator, minimum (the smallest denominator scored) and note."""
    cfg = config or indices.load_config()
    tree = unit_tree(con, cfg)
    level = tree.loc[tree["unit_id"] == unit_id, "level"]
    if level.empty:
        raise KeyError(f"没有编号为“{unit_id}”的基层单元")
    cs = indices.component_scores(con, period, level.iloc[0], cfg)
    cs = cs[(cs["unit_id"] == unit_id) & cs["insufficient"]]
    minimum = {c.key: c.min_denominator for c in cfg.components}
    out = pd.DataFrame({
        "index": [index_label(k, cfg) for k in cs["index"]],
        "component": cs["component"].to_numpy(object), "label": cs["label"].to_numpy(object),
        "numerator": cs["numerator"].to_numpy(float), "denominator": cs["denominator"].to_numpy(float),
        "minimum": [minimum[k] for k in cs["component"]], "note": cs["note"].to_numpy(object)})
    return out.reset_index(drop=True)


def _nan(x) -> bool:
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return x is None
