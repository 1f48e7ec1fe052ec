"""Trial statistics: Welch's difference in means; Newcombe's difference in proportions, Fisher's test."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats


def welch_difference(a: np.ndarray, b: np.ndarray, alpha: float = 0.05) -> tuple[float, float, float, float]:
    """Difference in means ``mean(a) - mean(b)``, its ``1 - alpha`` CI and the Welch t-test p-value.

    NaN everywhere when either group has fewer than two values. When both groups have zero variance the
    test is degenerate: p = 1 if the means agree, else 0, and the CI is the point.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.size < 2 or b.size < 2:
        return (math.nan, math.nan, math.nan, math.nan)
    diff = float(a.mean() - b.mean())
    if a.var(ddof=1) == 0 and b.var(ddof=1) == 0:
        return (diff, diff, diff, 1.0 if diff == 0 else 0.0)
    res = stats.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(1 - alpha)
    return (diff, float(ci.low), float(ci.high), float(res.pvalue))


def _wilson(k: int, n: int, z: float) -> tuple[float, float]:
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def proportion_difference(
    k_a: int, n_a: int, k_b: int, n_b: int, alpha: float = 0.05
) -> tuple[float, float, float, float]:
    """Difference in proportions ``k_a/n_a - k_b/n_b``, Newcombe's hybrid score CI, Fisher's exact p.

    Newcombe (1998), method 10: combines the Wilson score intervals of each proportion; it stays inside
    [-1, 1] and behaves well at 0/n, unlike the Wald interval. NaN when either group is empty.
    """
    if n_a < 1 or n_b < 1:
        return (math.nan, math.nan, math.nan, math.nan)
    z = float(stats.norm.ppf(1 - alpha / 2))
    pa, pb = k_a / n_a, k_b / n_b
    la, ua = _wilson(k_a, n_a, z)
    lb, ub = _wilson(k_b, n_b, z)
    d = pa - pb
    low = d - math.sqrt((pa - la) ** 2 + (ub - pb) ** 2)
    high = d + math.sqrt((ua - pa) ** 2 + (pb - lb) ** 2)
    p = float(stats.fisher_exact([[k_a, n_a - k_a], [k_b, n_b - k_b]]).pvalue)
    return (d, low, high, min(1.0, p))
