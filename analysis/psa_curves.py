"""More summaries of a PSA table: expected loss curves, pairwise acceptability, the ICER table on PSA means.

The conventions of :mod:`analysis.cea` (a long, balanced PSA table; strategies in first-appearance order).

* :func:`expected_loss` -- the expected loss of choosing each strategy, ``E[max_s NMB_s − NMB_k]``
  (Alarid-Escudero et al., *Value Health* 2019;22:611; ``alarid2019``); the lowest curve at each WTP is
  the strategy with the highest expected NMB, and its loss is the EVPI.
* :func:`pairwise_ceac` -- the probability that each strategy has a higher NMB than one named comparator
  (BCEA's default CEAC, which compares every strategy with a reference), as opposed to
  :func:`analysis.cea.ceac`, the probability of being the best of all.
* :func:`psa_icers` -- :func:`analysis.cea.icers` on the mean cost and effect over draws (as dampack's
  ``calculate_icers_psa``): the probabilistic ICER table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .cea import icers
from .psa_input import as_wtp_array, psa_matrices

__all__ = ["expected_loss", "pairwise_ceac", "psa_icers"]


def expected_loss(
    psa: pd.DataFrame,
    wtp: float | Sequence[float] | np.ndarray,
    *,
    draw: str = "draw",
    strategy: str = "strategy",
    cost: str = "cost",
    effect: str = "effect",
) -> pd.DataFrame:
    """Expected loss curves: ``E_draws[max_s NMB_s − NMB_k]`` per strategy ``k`` and WTP.

    Returns
    -------
    pandas.DataFrame
        ``wtp``, ``strategy``, ``expected_loss`` (money per patient, ≥ 0), ``se`` (Monte Carlo standard error
        over draws), ``optimal`` (the strategy with the lowest expected loss, i.e. the highest expected NMB).
    """
    _, strategies, costs, effects = psa_matrices(psa, draw, strategy, cost, effect, "expected_loss()")
    wtps = as_wtp_array(wtp)
    n_d = costs.shape[0]
    rows = []
    for w in wtps:
        nmb = effects * w - costs
        loss = nmb.max(axis=1, keepdims=True) - nmb
        mean = loss.mean(axis=0)
        se = loss.std(axis=0, ddof=1) / np.sqrt(n_d) if n_d > 1 else np.full(mean.size, np.nan)
        best = int(np.argmin(mean))
        for j, s in enumerate(strategies):
            rows.append(
                {
                    "wtp": float(w),
                    "strategy": s,
                    "expected_loss": float(mean[j]),
                    "se": float(se[j]),
                    "optimal": j == best,
                }
            )
    return pd.DataFrame(rows)


def pairwise_ceac(
    psa: pd.DataFrame,
    wtp: float | Sequence[float] | np.ndarray,
    comparator: object,
    *,
    draw: str = "draw",
    strategy: str = "strategy",
    cost: str = "cost",
    effect: str = "effect",
) -> pd.DataFrame:
    """Probability that each strategy's NMB exceeds the comparator's, per WTP (paired by draw).

    Returns
    -------
    pandas.DataFrame
        ``wtp``, ``strategy``, ``comparator``, ``probability`` (a tie counts one half), ``se``
        (``sqrt(p (1 − p) / n_draws)``), one row per WTP × non-comparator strategy.
    """
    _, strategies, costs, effects = psa_matrices(psa, draw, strategy, cost, effect, "pairwise_ceac()")
    matches = np.flatnonzero(strategies == comparator)
    if matches.size == 0:
        raise ValueError(f"pairwise_ceac(): comparator {comparator!r} not found; have {list(strategies)}")
    ref = int(matches[0])
    wtps = as_wtp_array(wtp)
    n_d = costs.shape[0]
    rows = []
    for w in wtps:
        inmb = (effects * w - costs) - (effects[:, [ref]] * w - costs[:, [ref]])
        for j, s in enumerate(strategies):
            if j == ref:
                continue
            p = float(np.mean((inmb[:, j] > 0) + 0.5 * (inmb[:, j] == 0)))
            rows.append(
                {
                    "wtp": float(w),
                    "strategy": s,
                    "comparator": strategies[ref],
                    "probability": p,
                    "se": float(np.sqrt(p * (1 - p) / n_d)),
                }
            )
    return pd.DataFrame(rows)


def psa_icers(
    psa: pd.DataFrame,
    *,
    draw: str = "draw",
    strategy: str = "strategy",
    cost: str = "cost",
    effect: str = "effect",
) -> pd.DataFrame:
    """The ICER table (:func:`analysis.cea.icers`) on the PSA's mean cost and effect of each strategy.

    Returns
    -------
    pandas.DataFrame
        As :func:`analysis.cea.icers`, with ``cost`` and ``effect`` the means over draws, their standard
        errors over draws ``cost_se`` and ``effect_se``, ``comparator`` (the previous frontier strategy, the
        one each ICER is relative to) and ``n_draws``.
    """
    _, strategies, costs, effects = psa_matrices(psa, draw, strategy, cost, effect, "psa_icers()")
    n_d = costs.shape[0]
    se = (
        (lambda x: x.std(axis=0, ddof=1) / np.sqrt(n_d))
        if n_d > 1
        else (lambda x: np.full(x.shape[1], np.nan))
    )
    means = pd.DataFrame(
        {
            "strategy": strategies,
            "cost": costs.mean(axis=0),
            "cost_se": se(costs),
            "effect": effects.mean(axis=0),
            "effect_se": se(effects),
        }
    )
    table = icers(means)
    comparator, previous = [], ""
    for status, name in zip(table["status"], table["strategy"], strict=True):
        comparator.append(previous if status == "ND" else "")
        if status == "ND":
            previous = name
    return table.assign(comparator=comparator, n_draws=n_d)
