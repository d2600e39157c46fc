"""Shared statistics of the indices and the representatives' figures: small-sample adjustment toward
the peers' mean (beta-binomial for rates, gamma-Poisson for counts per exposure), Hazen mid-rank
percentiles, and the weighted mean over the scores that exist. Definitions in words and formulas:
docs/indices.md.
"""
from __future__ import annotations

import math

import numpy as np


def beta_binomial_adjust(x, n, prior_mean: float, strength: float):
    """Posterior mean of a rate under a Beta(m·p̄, m·(1−p̄)) prior: (x + m·p̄) / (n + m)."""
    return (np.asarray(x, float) + strength * prior_mean) / (np.asarray(n, float) + strength)


def gamma_poisson_adjust(x, exposure, prior_rate: float, strength: float):
    """Posterior mean of a rate per unit of exposure under a Gamma(m, m/λ̄) prior:
    (x + m) / (e + m/λ̄) — the prior is worth m events at the peer rate λ̄ (λ̄ > 0)."""
    return (np.asarray(x, float) + strength) / (np.asarray(exposure, float) + strength / prior_rate)


def tie_key(values) -> np.ndarray:
    # Compare adjusted values at 12 significant digits: equal inputs in another order are ties.
    v = np.asarray(values, float)
    return np.array([float(f"{x:.12g}") for x in v]) if v.size else v


def hazen_scores(values) -> np.ndarray:
    """Mid-rank percentile of each value among all of them: 100·(below + ½·equal)/N, ties share.
    A single value scores 50; the best of N scores 100·(1 − ½/N), never 100."""
    v = tie_key(values)
    n = v.size
    if n == 0:
        return v
    below = (v[None, :] < v[:, None]).sum(axis=1)
    equal = (v[None, :] == v[:, None]).sum(axis=1)
    return 100.0 * (below + 0.5 * equal) / n


def hazen_insert(value: float, peers) -> float:
    """Percentile of a value placed among peers it is not one of: 100·(below + ½·(equal+1))/(N+1)."""
    v = float(tie_key([value])[0])
    p = tie_key(peers)
    below = float((p < v).sum())
    equal = float((p == v).sum())
    return 100.0 * (below + 0.5 * (equal + 1)) / (p.size + 1)


def weighted_score(scores, weights, min_coverage: float) -> float | None:
    """Weighted mean of the scores that exist; None when they carry < min_coverage of the weight."""
    total = sum(weights)
    have = [(s, w) for s, w in zip(scores, weights) if s is not None and not is_nan(s)]
    covered = sum(w for _, w in have)
    if total <= 0 or covered / total < min_coverage - 1e-12:
        return None
    return sum(s * w for s, w in have) / covered


def is_nan(x) -> bool:
    try:
        return math.isnan(x)
    except TypeError:
        return False
