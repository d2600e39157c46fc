"""镇街排名: the towns ranked each quarter on the composite and on each of the five indices,
how sure each rank is, the change against the previous quarter, per-capita views and what-if weights.

The scores are ``analytics.domain.indices``'s (one definition); this module only ranks them. The rules,
in words and with reasons, are in ``docs/ranking.md``:

- **Tie rule** — competition ranking ("1224") on the score rounded to 0.1, the precision every page
  and report shows: scores that print the same share the best of their places, the next place is
  skipped, and nothing breaks the tie. Display order inside a tie is by unit_id (no meaning).
- **Rank range** — a parametric bootstrap at the level of the index components (not a re-run of the
  SQL): each town's numerator of each component is redrawn, a rate's as Binomial(n, x/n) (exactly
  what resampling the town's rows of the denominator with replacement gives), a count's as
  Poisson(x); priors, shrinkage, percentiles, indices and the composite are recomputed as
  ``analytics.domain.indices`` computes them (a test checks that the undisturbed draw reproduces
  ``compute_indices``), and the towns are ranked in each of ``REPLICATES`` draws. The range is the
  5th–95th percentile of a town's ranks, widened to hold its official rank. ``SEED`` is fixed:
  the same data always gives the same ranges.
- **样本不足** — a town whose composite is 样本不足 is not ranked (rank None) and is listed after
  the ranked towns, by unit_id.
- **Change** — against the previous quarter: ``change`` = previous rank − rank (places gained;
  positive = moved up), ``score_change`` = composite − previous composite; None when the town is
  unranked in either quarter.

Nothing here caches; the page caches by ``store.data_version``.
"""
from __future__ import annotations

import time

import duckdb
import numpy as np
import pandas as pd

from analytics.domain.indices import (INDEX_KEYS, IndexConfig, MEASURES, SCORE_COLUMNS, 
                               beta_binomial_adjust, component_scores, compute_indices, gamma_poisson_adjust,
                               default_period, load_config)
from analytics.domain.metrics import latest_period
from analytics.core.periods import Period, PeriodError, as_period

REPLICATES = 200  # bootstrap draws: percentiles of ranks among 23 towns are stable to ±1 place at 200
SEED = 20240401  # fixed: the same data gives the same rank ranges, on every machine
RANGE_QUANTILES = (0.05, 0.95)  # the rank range: 5th–95th percentile of the bootstrap ranks
SCORE_DECIMALS = 1  # scores are shown and ranked at this precision (the tie rule)

# Per-capita view: count measures shown per 10,000 residents and per representative, as the
# indices count them (taken from the components that use them, so there is one definition).
PER_CAPITA_MEASURES = ("activities", "headcount", "opinions", "suggestions")
PER_CAPITA_LABELS = {
    "population": "常住人口", "reps": "代表人数",
    "activities": "履职活动（场）", "headcount": "参与人次", "opinions": "民情民意（条）",
    "suggestions": "领衔建议（件）",
}

COLUMN_LABELS = {
    "rank": "排名", "rank_range": "排名区间", "unit": "镇街", "composite": "综合指数",
    "prev_rank": "上季度排名", "prev_composite": "上季度综合", "change": "名次变化",
    "score_change": "得分变化", "insufficient": "样本不足",
}


# ───────────────────────────── the tie rule ─────────────────────────────

def shown(values) -> np.ndarray:
    """Scores as shown: rounded to ``SCORE_DECIMALS`` the way the text shows them (NaN stays)."""
    v = np.asarray(values, float)
    scale = 10.0 ** SCORE_DECIMALS
    with np.errstate(invalid="ignore"):
        out = np.round(v, SCORE_DECIMALS)  # NaN stays NaN
        # np.round scales and rounds, which can differ from the text's correctly rounded decimal
        # only near a half step: those few values are formatted as the text formats them.
        frac = np.abs(v * scale - np.floor(v * scale))
        near = np.isfinite(v) & (np.abs(frac - 0.5) < 1e-6)
    flat, res = v.ravel(), out.ravel()
    for i in np.flatnonzero(near.ravel()):
        res[i] = float(f"{flat[i]:.{SCORE_DECIMALS}f}")
    return res.reshape(v.shape)


def competition_ranks(values) -> np.ndarray:
    """Competition ranks ("1224") of scores along the last axis, on the shown (rounded) scores:
    rank = 1 + the number of scores shown higher. NaN (样本不足) is unranked (NaN) and ranks
    nobody down."""
    key = shown(values)
    ok = ~np.isnan(key)
    higher = (key[..., None, :] > key[..., :, None]) & ok[..., None, :]
    ranks = 1.0 + higher.sum(axis=-1)
    return np.where(ok, ranks, np.nan)


# ───────────────────────────── scoring draws (as analytics.domain.indices scores) ─────────────────────────────

def _key12(values: np.ndarray) -> np.ndarray:
    """Values rounded to 12 significant digits, vectorised: ``analytics.domain.indices`` compares
    adjusted values at that precision so that equal inputs in another order are ties."""
    v = np.asarray(values, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mag = np.floor(np.log10(np.abs(v)))
        scale = np.power(10.0, 11 - np.where(np.isfinite(mag), mag, 0))
        return np.where(v == 0, 0.0, np.round(v * scale) / scale)


def _hazen(adjusted: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Mid-rank percentile 100·(below + ½·equal)/N among the ``ok`` entries of each row."""
    k = _key12(adjusted)
    below = ((k[:, None, :] < k[:, :, None]) & ok[:, None, :]).sum(axis=2)
    equal = ((k[:, None, :] == k[:, :, None]) & ok[:, None, :]).sum(axis=2)
    n = ok.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = 100.0 * (below + 0.5 * equal) / n
    return np.where(ok, score, np.nan)


def combine(scores: list[np.ndarray], weights, min_coverage: float) -> np.ndarray:
    """Weighted mean of the scores that exist (NaN = 样本不足), NaN where they carry less than
    ``min_coverage`` of the weight — the rule of ``analytics.domain.indices`` for an index and the composite."""
    s = np.stack([np.asarray(x, float) for x in scores])
    w = np.asarray(weights, float).reshape(-1, *([1] * (s.ndim - 1)))
    total = float(w.sum())
    have = ~np.isnan(s)
    covered = (w * have).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (w * np.where(have, s, 0.0)).sum(axis=0) / covered
    if total <= 0:
        return np.full(covered.shape, np.nan)
    return np.where((covered > 0) & (covered / total >= min_coverage - 1e-12), mean, np.nan)


def score_draws(draws: dict[str, np.ndarray], denominators: dict[str, np.ndarray],
                cfg: IndexConfig) -> dict[str, np.ndarray]:
    """Index and composite scores (R × U, NaN = 样本不足) for R draws of every component's
    numerator over U peer towns, scored as ``analytics.domain.indices`` scores: pooled prior Σx/Σn over
    the towns with a denominator (none when the numerators sum to 0), beta-binomial or
    gamma-Poisson shrinkage, Hazen percentile among the sufficient towns, weighted means with the
    coverage rule. Denominators (representatives, stations, population, opinions due …) are fixed."""
    comp_scores: dict[str, np.ndarray] = {}
    for comp in cfg.components:
        x = np.asarray(draws[comp.key], float)
        n = np.asarray(denominators[comp.key], float)
        has = n > 0
        tx = x[:, has].sum(axis=1)
        tn = n[has].sum()
        valid = (tx > 0) & has.any()
        with np.errstate(invalid="ignore", divide="ignore"):
            prior = np.where(valid, tx / tn if tn > 0 else np.nan, np.nan)[:, None]
            if comp.kind == "rate":
                adjusted = beta_binomial_adjust(x, n[None, :], prior, comp.prior_strength)
            else:
                adjusted = gamma_poisson_adjust(x, n[None, :], prior, comp.prior_strength)
        ok = ((n > 0) & (n >= comp.min_denominator - 1e-12))[None, :] & valid[:, None]
        comp_scores[comp.key] = _hazen(np.where(ok, adjusted, np.nan), ok)
    out = {}
    for ikey in INDEX_KEYS:
        idx = cfg.indices[ikey]
        out[ikey] = combine([comp_scores[c.key] for c in idx.components], [c.weight for c in idx.components],
                            cfg.min_coverage)
    out["composite"] = combine([out[k] for k in INDEX_KEYS], [cfg.indices[k].weight for k in INDEX_KEYS],
                               cfg.min_coverage)
    return out


def _component_arrays(comps: pd.DataFrame, unit_ids: list[str], cfg: IndexConfig):
    """Observed numerators and denominators per component, aligned with ``unit_ids``."""
    x, n = {}, {}
    for comp in cfg.components:
        rows = comps[comps["component"] == comp.key].set_index("unit_id").reindex(unit_ids)
        x[comp.key] = rows["numerator"].to_numpy(float)
        n[comp.key] = rows["denominator"].to_numpy(float)
    return x, n


def bootstrap_draws(x: dict[str, np.ndarray], n: dict[str, np.ndarray], cfg: IndexConfig,
                    replicates: int = REPLICATES, seed: int = SEED) -> dict[str, np.ndarray]:
    """R draws of every component's numerator: a rate's Binomial(n, x/n) (n rounded to whole rows;
    a weighted numerator such as 满意 + ½·基本满意 is drawn as whole rows at its mean rate, which
    overstates its spread a little), a count's Poisson(x). Components are drawn in configuration
    order from one generator seeded with ``seed``."""
    rng = np.random.default_rng(seed)
    out = {}
    for comp in cfg.components:
        xs, ns = np.nan_to_num(x[comp.key]), np.nan_to_num(n[comp.key])
        if comp.kind == "rate":
            trials = np.rint(ns).astype(np.int64)
            with np.errstate(invalid="ignore", divide="ignore"):
                p = np.clip(np.where(ns > 0, xs / np.where(ns > 0, ns, 1.0), 0.0), 0.0, 1.0)
            out[comp.key] = rng.binomial(trials, p, size=(replicates, len(xs))).astype(float)
        else:
            out[comp.key] = rng.poisson(np.maximum(xs, 0.0), size=(replicates, len(xs))).astype(float)
    return out


def rank_ranges(ranks: np.ndarray, official: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per town (column): the 5th and 95th percentile of its bootstrap ranks (lower and higher
    order statistic, so whole places), widened to include the official rank; NaN when unranked."""
    low = np.full(ranks.shape[1], np.nan)
    high = np.full(ranks.shape[1], np.nan)
    for j in range(ranks.shape[1]):
        r = ranks[:, j]
        r = r[~np.isnan(r)]
        if np.isnan(official[j]) or not r.size:
            continue
        low[j] = min(np.quantile(r, RANGE_QUANTILES[0], method="lower"), official[j])
        high[j] = max(np.quantile(r, RANGE_QUANTILES[1], method="higher"), official[j])
    return low, high


# ───────────────────────────── the ranking ─────────────────────────────

def as_quarter(period) -> Period:
    p = as_period(period)
    if p.grain != "quarter":
        raise PeriodError(f"排名按季度进行：期间应写成 2024Q2 这样的季度，现在是“{p.code}”")
    return p


def ranking(con: duckdb.DuckDBPyConnection, period, config: IndexConfig | None = None,
            replicates: int = REPLICATES, seed: int = SEED) -> pd.DataFrame:
    """The towns of a quarter, ranked. One row per town: ranked towns in rank order (ties by
    unit_id), then the 样本不足 ones by unit_id. Columns:

    ``rank`` (competition rank of the composite shown to 0.1; NaN = 样本不足), ``rank_low`` /
    ``rank_high`` (the bootstrap rank range), ``unit_id``, ``unit``, ``composite``,
    ``prev_rank``, ``prev_composite`` (previous quarter), ``change`` (places gained since then),
    ``score_change``; for each index k of the five: ``k`` (score), ``k_rank``, ``k_rank_low``,
    ``k_rank_high``, ``k_prev_rank``, ``k_change``, ``k_score_change``; ``insufficient``.
    ``attrs``: period, previous, replicates, seed, seconds (query, bootstrap)."""
    cfg = config or load_config()
    period = as_quarter(period)
    t0 = time.perf_counter()
    now = compute_indices(con, period, "town", cfg)
    before = compute_indices(con, period.previous(), "town", cfg).set_index("unit_id")
    comps = component_scores(con, period, "town", cfg)
    t1 = time.perf_counter()
    unit_ids = now["unit_id"].tolist()
    x, n = _component_arrays(comps, unit_ids, cfg)
    scored = score_draws(bootstrap_draws(x, n, cfg, replicates, seed), n, cfg)
    t2 = time.perf_counter()

    out = now[["unit_id", "unit"]].copy()
    for key in ("composite", *INDEX_KEYS):
        name = "" if key == "composite" else f"{key}_"
        score = now[key].to_numpy(float)
        rank = competition_ranks(score)
        ranked = ~np.isnan(rank)
        boot = competition_ranks(np.where(ranked[None, :], scored[key], np.nan))
        low, high = rank_ranges(boot, rank)
        prev_score = before[key].reindex(unit_ids).to_numpy(float)
        prev_rank = competition_ranks(prev_score)
        out[key] = score
        out[f"{name}rank"] = rank
        out[f"{name}rank_low"] = low
        out[f"{name}rank_high"] = high
        out[f"{name}prev_rank"] = prev_rank
        if key == "composite":
            out["prev_composite"] = prev_score
        out[f"{name}change"] = prev_rank - rank
        out[f"{name}score_change"] = score - prev_score
    out["insufficient"] = now["insufficient"].to_numpy(bool)
    out = out.sort_values(["insufficient", "rank", "unit_id"], na_position="last", kind="stable")
    out = out.reset_index(drop=True)
    out.attrs.update(period=period.code, previous=period.previous().code, replicates=replicates, seed=seed,
                     seconds={"query": t1 - t0, "bootstrap": t2 - t1})
    return out


def by_index(table: pd.DataFrame, key: str) -> pd.DataFrame:
    """The ranking by one of the five indices (or ``composite``): rank, range, score, previous
    rank and changes of that index, ranked towns first in rank order, then the unranked."""
    if key not in SCORE_COLUMNS:
        raise ValueError(f"指数只能是 {'、'.join(SCORE_COLUMNS)}，现在是“{key}”")
    name = "" if key == "composite" else f"{key}_"
    cols = {f"{name}rank": "rank", f"{name}rank_low": "rank_low", f"{name}rank_high": "rank_high",
            "unit_id": "unit_id", "unit": "unit", key: "score", f"{name}prev_rank": "prev_rank",
            f"{name}change": "change", f"{name}score_change": "score_change"}
    view = table[list(cols)].rename(columns=cols)
    view = view.assign(insufficient=view["score"].isna())
    return view.sort_values(["insufficient", "rank", "unit_id"], na_position="last", kind="stable") \
        .reset_index(drop=True)


def rank_range_text(low, high) -> str:
    """'第3–7名', '第2名' when the range is one place, '—' when unranked."""
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return "—"
    low, high = int(low), int(high)
    return f"第{low}名" if low == high else f"第{low}–{high}名"


def delta_text(value) -> str:
    """A score change to 0.1 with its sign ('+9.6', '-2.4'); '0.0' without one (never '-0.0')."""
    if value is None or pd.isna(value):
        return ""
    r = round(float(value), SCORE_DECIMALS)
    return f"{0.0:.{SCORE_DECIMALS}f}" if r == 0 else f"{r:+.{SCORE_DECIMALS}f}"


def change_text(change) -> str:
    """Places gained as an arrow: '↑3', '↓2', '—' (no change), '' (not comparable)."""
    if change is None or pd.isna(change):
        return ""
    c = int(change)
    return "持平" if c == 0 else (f"↑{c}" if c > 0 else f"↓{-c}")


def places(now: pd.DataFrame, before: pd.DataFrame, key: str = "composite") -> pd.DataFrame:
    """Ranks of the towns of ``now`` on ``key`` with the tie rule above, and the change against
    ``before`` (the previous period's scores), without the rank ranges: what the big screen shows.
    Both frames hold ``unit_id`` and ``key`` (``compute_indices`` or the town rows of
    ``hierarchy.scored_tree``). Columns: unit_id, rank, prev_rank, change (places gained; NaN when
    the town is unranked in either period), in the order of ``now``. The same ranks as ``ranking``'s."""
    score = now[key].to_numpy(float)
    prev = before.set_index("unit_id")[key].reindex(now["unit_id"]).to_numpy(float)
    rank, prev_rank = competition_ranks(score), competition_ranks(prev)
    return pd.DataFrame({"unit_id": now["unit_id"].to_numpy(), "rank": rank, "prev_rank": prev_rank,
                         "change": prev_rank - rank})


# ───────────────────────────── what-if weights ─────────────────────────────

def whatif(table: pd.DataFrame, weights: dict[str, float], config: IndexConfig | None = None) -> pd.DataFrame:
    """The composite and ranks recomputed from the five index scores with other index weights
    (``weights``: index key -> weight ≥ 0; a missing key keeps its configured weight), by the
    composite's own rule (weighted mean of the indices that are not 样本不足, provided they carry
    ≥ min_coverage of the weight). Nothing is saved. Columns: unit_id, unit, rank, composite
    (official), whatif_composite, whatif_rank, moved (official rank − what-if rank: places gained),
    ordered by what-if rank, unranked last."""
    cfg = config or load_config()
    w = [float(weights.get(k, cfg.indices[k].weight)) for k in INDEX_KEYS]
    if any(v < 0 for v in w):
        raise ValueError("权重不能为负数")
    score = combine([table[k].to_numpy(float) for k in INDEX_KEYS], w, cfg.min_coverage)
    rank = competition_ranks(score)
    out = pd.DataFrame({
        "unit_id": table["unit_id"], "unit": table["unit"], "rank": table["rank"],
        "composite": table["composite"], "whatif_composite": score, "whatif_rank": rank,
    })
    out["moved"] = out["rank"] - out["whatif_rank"]
    out = out.assign(_u=out["whatif_rank"].isna())
    return out.sort_values(["_u", "whatif_rank", "unit_id"], kind="stable").drop(columns="_u").reset_index(drop=True)


# ───────────────────────────── per-capita views ─────────────────────────────

def _population(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    rows = con.cursor().execute("SELECT unit_id, population FROM units WHERE population IS NOT NULL").fetchall()
    return {u: float(p) for u, p in rows if p is not None and p > 0}


def per_capita(con: duckdb.DuckDBPyConnection, period, config: IndexConfig | None = None,
               comps: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each town's volumes in the quarter, per 10,000 residents and per representative.

    Counts are the indices' own measures (``analytics.domain.indices.MEASURES``: activities, headcount,
    opinions, suggestions), taken from the components that divide them by representatives.
    常住人口 comes from the 基层单元 export; where it is missing the per-10,000 figures are NaN
    (shown as 未知), never 0. Columns: unit_id, unit, population, reps, then for each measure m
    ``m``, ``m_per_10k`` (m ÷ population × 10,000), ``m_per_rep`` (m ÷ reps; NaN without reps).
    ``attrs['labels']`` names the measures in Chinese."""
    cfg = config or load_config()
    period = as_quarter(period)
    if comps is None:
        comps = component_scores(con, period, "town", cfg)
    units = comps.drop_duplicates("unit_id")[["unit_id", "unit"]].sort_values("unit_id").reset_index(drop=True)
    out = units.copy()
    pop = _population(con)
    out["population"] = [pop.get(u, np.nan) for u in out["unit_id"]]
    out["reps"] = np.nan
    for m in PER_CAPITA_MEASURES:
        comp = next((c for c in cfg.components if c.numerator == m and not c.types and c.denominator == "reps"), None)
        if comp is None:
            continue
        rows = comps[comps["component"] == comp.key].set_index("unit_id").reindex(out["unit_id"])
        out[m] = rows["numerator"].to_numpy(float)
        out["reps"] = rows["denominator"].to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"{m}_per_10k"] = out[m] / out["population"] * 1e4
            out[f"{m}_per_rep"] = np.where(out["reps"] > 0, out[m] / out["reps"], np.nan)
    out.attrs["labels"] = {**PER_CAPITA_LABELS, **{m: MEASURES[m].label for m in PER_CAPITA_MEASURES
                                                    if m not in PER_CAPITA_LABELS}}
    return out


# ───────────────────────────── output ─────────────────────────────


def default_quarter(con: duckdb.DuckDBPyConnection) -> Period | None:
    """The latest quarter with any opinion, suggestion or activity."""
    return latest_period(con, "quarter")


def warm_ahead(con: duckdb.DuckDBPyConnection) -> None:
    """Counting ahead (``analytics.domain.ahead``): the ranking of the latest quarter (which also needs
    the quarter before), what the ranking page shows first."""
    period = default_period(con)
    if period is not None:
        ranking(con, period, load_config())
