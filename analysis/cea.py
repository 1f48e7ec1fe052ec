"""Cost-effectiveness decision analysis on tidy pandas frames.

This module is pure decision analysis: it never runs the simulation. It takes summary tables
(one row per strategy) or probabilistic sensitivity analysis (PSA) tables (one row per
draw x strategy) and derives the usual health-economic quantities:

* :func:`icers` -- incremental cost-effectiveness ratios with strong and extended dominance,
  following the conventions of ``calculate_icers`` in the R package *dampack*;
* :func:`net_monetary_benefit` -- NMB = effect * wtp - cost;
* :func:`ceac`, :func:`ceaf`, :func:`evpi`, :func:`ce_plane` -- PSA summaries;
* :func:`evppi` -- partial EVPI by regression (:mod:`analysis.evppi`);
* :func:`mean_with_se`, :func:`paired_difference` -- Monte Carlo error helpers.

Conventions shared by the PSA functions
---------------------------------------
* The PSA table is long ("tidy"): columns ``draw``, ``strategy``, ``cost``, ``effect``, one row per
  draw x strategy. Every draw must contain every strategy exactly once (the analysis is *paired* by
  draw: all strategies are evaluated on the same parameter draw).
* Strategies are reported in order of first appearance in the PSA table; draws likewise.
* Internally the table is pivoted to draws x strategies matrices so every summary is vectorised.
* Two net monetary benefits are treated as tied when they differ by no more than
  ``1e-12 * max(|effect * wtp| + |cost|)`` within the draw, so that values which are equal in exact
  arithmetic but differ by floating-point rounding are not split arbitrarily.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .evppi import evppi
from .psa_input import as_wtp_array, finite_column, no_missing_labels, psa_matrices, require_columns

__all__ = [
    "icers",
    "net_monetary_benefit",
    "ceac",
    "ceaf",
    "evpi",
    "evppi",
    "ce_plane",
    "mean_with_se",
    "paired_difference",
    "STATUS_ND",
    "STATUS_D",
    "STATUS_ED",
    "NOTE_REFERENCE",
    "NOTE_NO_DIFFERENCE",
    "NOTE_DOMINATED",
    "NOTE_EXTENDEDLY_DOMINATED",
]

#: Status of a strategy on the cost-effectiveness frontier.
STATUS_ND = "ND"
#: Status of a strongly dominated strategy (or a duplicate of another strategy).
STATUS_D = "D"
#: Status of an extendedly (weakly) dominated strategy.
STATUS_ED = "ED"

#: Note of the cheapest non-dominated strategy, where the frontier starts (increments are NaN). Not called
#: "reference": that word means the comparator chosen by the user (``--reference``) everywhere else.
NOTE_REFERENCE = "frontier start"
#: Note of a strategy with exactly the same cost and effect as another, kept, strategy.
NOTE_NO_DIFFERENCE = "no difference"
#: Note of a strongly dominated strategy.
NOTE_DOMINATED = "dominated"
#: Note of an extendedly dominated strategy.
NOTE_EXTENDEDLY_DOMINATED = "extendedly dominated"

_OUTPUT_COLUMNS = ("inc_cost", "inc_effect", "icer", "status", "note")

# Relative tolerance under which two net monetary benefits count as tied (see module docstring).
_NMB_TIE_RTOL = 1e-12


# ----------------------------------------------------------------------------------------------
# Deterministic analysis: ICERs and NMB
# ----------------------------------------------------------------------------------------------


def icers(
    frame: pd.DataFrame,
    cost: str = "cost",
    effect: str = "effect",
    strategy: str = "strategy",
) -> pd.DataFrame:
    """Incremental cost-effectiveness ratios with strong and extended dominance.

    Follows ``dampack::calculate_icers``: strategies are sorted by cost (ties: higher effect first);
    a strategy is strongly dominated (``"D"``) when some strategy earlier in that order is at least as
    effective, i.e. it costs at least as much and is not more effective; then, among the remaining
    strategies, any whose ICER exceeds that of the next more effective one is extendedly dominated
    (``"ED"``), repeated until none is found. ICERs are then recomputed on the frontier (``"ND"``).

    Parameters
    ----------
    frame
        One row per strategy with at least the ``strategy``, ``cost`` and ``effect`` columns. Extra
        columns are carried through unchanged.
    cost, effect, strategy
        Column names.

    Returns
    -------
    pandas.DataFrame
        The input rows (new ``RangeIndex``) with added columns ``inc_cost``, ``inc_effect``, ``icer``,
        ``status`` (``"ND"``, ``"ED"`` or ``"D"``) and ``note`` (``"frontier start"``, ``""``,
        ``"extendedly dominated"``, ``"dominated"`` or ``"no difference"``). Rows are ordered as
        dampack orders them: non-dominated strategies by increasing cost, then ``"ED"`` rows, then
        ``"D"`` rows, each group by increasing cost and decreasing effect (then by name).
        Any pre-existing columns with these output names are replaced.

    Notes
    -----
    * Increments of an ``"ND"`` row are relative to the previous ``"ND"`` row on the frontier. The
      cheapest ``"ND"`` strategy starts the frontier (note ``"frontier start"``) and has NaN increments and
      ICER.
      ``"D"`` and ``"ED"`` rows have NaN ``inc_cost``, ``inc_effect`` and ``icer``.
    * Because dominated strategies are removed first, consecutive frontier strategies differ
      strictly in both cost and effect, so an ICER is never infinite, zero-over-zero or negative.
    * A single strategy is ``"ND"`` with note ``"reference"`` and NaN increments.
    * Equal effect, different cost: the costlier strategy is ``"D"``. Equal cost, different effect:
      the less effective one is ``"D"``.
    * Identical strategies (same cost and same effect) are not distinguishable by the analysis. The
      first by name (string order of the strategy label) keeps its status computed as usual; each
      other copy gets status ``"D"`` (as dampack does: it is "not more effective and not cheaper") but
      note ``"no difference"`` -- rather than an infinite or 0/0 ICER -- unless it is also dominated by
      a genuinely better strategy, in which case its note is ``"dominated"``.
    * Exactly collinear frontier points (equal consecutive ICERs) are kept as ``"ND"``, as in
      dampack (extended dominance requires a strictly greater ICER). The comparison is done by
      cross-multiplication (``dc_i * de_j > dc_j * de_i``), which is exact for moderate integer
      inputs and avoids division rounding.

    Raises
    ------
    ValueError
        On an empty frame, missing columns, non-numeric or non-finite costs/effects, missing or
        duplicated strategy names, or when a column name clashes with an output column.
    """
    what = "icers()"
    require_columns(frame, [strategy, cost, effect], what)
    clash = [c for c in (strategy, cost, effect) if c in _OUTPUT_COLUMNS]
    if clash:
        raise ValueError(f"{what}: input column name(s) {clash} clash with output columns {_OUTPUT_COLUMNS}")
    no_missing_labels(frame, strategy, what)
    dup = frame[strategy][frame[strategy].duplicated()].tolist()
    if dup:
        raise ValueError(f"{what}: duplicate strategy names {dup}")
    c = finite_column(frame, cost, what)
    e = finite_column(frame, effect, what)
    names = frame[strategy].astype(str).to_numpy()

    # Sort by cost, then decreasing effect, then name (deterministic tie-break for identical rows).
    order = np.lexsort((names, -e, c))
    c_s, e_s = c[order], e[order]
    n = len(order)

    # Strong dominance: j is dominated if an earlier (cheaper or equal cost) strategy has effect >= e_j.
    # In sorted order that is: e_j <= running max of effect over earlier rows.
    dominated = np.zeros(n, dtype=bool)
    if n > 1:
        prev_max = np.maximum.accumulate(e_s)[:-1]
        dominated[1:] = e_s[1:] <= prev_max

    # Extended dominance, iterated exactly as in dampack: flag every interior frontier point whose
    # ICER exceeds the next one's, remove them all, recompute, repeat until none is flagged.
    ext_dominated = np.zeros(n, dtype=bool)
    while True:
        nd_idx = np.flatnonzero(~dominated & ~ext_dominated)
        if nd_idx.size <= 2:
            break
        dc = np.diff(c_s[nd_idx])
        de = np.diff(e_s[nd_idx])  # strictly positive after strong dominance removal
        # ICER_k > ICER_{k+1}  <=>  dc_k * de_{k+1} > dc_{k+1} * de_k   (de > 0)
        flagged = dc[:-1] * de[1:] > dc[1:] * de[:-1]
        if not flagged.any():
            break
        ext_dominated[nd_idx[1:-1][flagged]] = True

    nd_idx = np.flatnonzero(~dominated & ~ext_dominated)
    inc_cost = np.full(n, np.nan)
    inc_effect = np.full(n, np.nan)
    icer = np.full(n, np.nan)
    if nd_idx.size > 1:
        inc_cost[nd_idx[1:]] = np.diff(c_s[nd_idx])
        inc_effect[nd_idx[1:]] = np.diff(e_s[nd_idx])
        icer[nd_idx[1:]] = inc_cost[nd_idx[1:]] / inc_effect[nd_idx[1:]]

    status = np.where(dominated, STATUS_D, np.where(ext_dominated, STATUS_ED, STATUS_ND)).astype(object)
    note = np.where(dominated, NOTE_DOMINATED, np.where(ext_dominated, NOTE_EXTENDEDLY_DOMINATED, ""))
    note = note.astype(object)
    note[nd_idx[0]] = NOTE_REFERENCE

    # A dominated row whose only dominators are exact copies of itself is "no difference".
    for j in np.flatnonzero(dominated):
        weakly_better = (c_s <= c_s[j]) & (e_s >= e_s[j])
        strictly_better = weakly_better & ((c_s < c_s[j]) | (e_s > e_s[j]))
        if not strictly_better.any():
            note[j] = NOTE_NO_DIFFERENCE

    out = frame.iloc[order].drop(columns=[col for col in _OUTPUT_COLUMNS if col in frame.columns])
    out = out.assign(inc_cost=inc_cost, inc_effect=inc_effect, icer=icer, status=status, note=note)
    # dampack's final order: ND, then ED, then D; within each, the cost/effect/name order above
    # (the sort is stable, so the within-group order is preserved).
    rank = pd.Series(status).map({STATUS_ND: 0, STATUS_ED: 1, STATUS_D: 2}).to_numpy()
    out = out.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)
    return out


def net_monetary_benefit(
    frame: pd.DataFrame,
    wtp: float | Sequence[float] | np.ndarray,
    cost: str = "cost",
    effect: str = "effect",
) -> pd.Series | pd.DataFrame:
    """Net monetary benefit ``NMB = effect * wtp - cost``.

    Parameters
    ----------
    frame
        Any frame with numeric ``cost`` and ``effect`` columns (one row per strategy, per draw, ...).
    wtp
        Willingness to pay per unit of effect: a scalar or a 1-D sequence of values.
    cost, effect
        Column names.

    Returns
    -------
    pandas.Series or pandas.DataFrame
        For a scalar ``wtp``: a float Series named ``"nmb"`` aligned with ``frame.index``.
        For a sequence: a tidy frame with all columns of ``frame`` plus ``wtp`` and ``nmb``, one row per
        input row x WTP value, ordered by WTP (in the given order) then by input row (new index).

    Raises
    ------
    ValueError
        On missing columns, an empty frame, non-finite costs/effects or non-finite WTP values.
    """
    what = "net_monetary_benefit()"
    require_columns(frame, [cost, effect], what)
    c = finite_column(frame, cost, what)
    e = finite_column(frame, effect, what)
    if np.ndim(wtp) == 0:
        w = float(as_wtp_array(wtp)[0])
        return pd.Series(e * w - c, index=frame.index, name="nmb")
    ws = as_wtp_array(wtp)
    base = frame.drop(columns=[col for col in ("wtp", "nmb") if col in frame.columns])
    pieces = [base.assign(wtp=w, nmb=e * w - c) for w in ws]
    return pd.concat(pieces, ignore_index=True)


# ----------------------------------------------------------------------------------------------
# Probabilistic sensitivity analysis
# ----------------------------------------------------------------------------------------------


def _psa_summary(
    costs: np.ndarray, effects: np.ndarray, wtps: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-WTP summaries of a draws x strategies PSA.

    Returns arrays indexed by WTP: ``prob`` (n_w x n_s, probability each strategy has the highest NMB,
    ties split equally), ``enmb`` (n_w x n_s, expected NMB), ``best`` (n_w, index of the strategy with
    the highest expected NMB; ties to the first), ``evpi`` (n_w) and ``evpi_se`` (n_w).

    Looping over WTP (rather than broadcasting a draws x strategies x WTP cube) keeps memory at
    O(draws x strategies) for long WTP grids; each iteration is fully vectorised.
    """
    n_d, n_s = costs.shape
    n_w = wtps.size
    prob = np.empty((n_w, n_s))
    enmb = np.empty((n_w, n_s))
    best = np.empty(n_w, dtype=int)
    evpi_val = np.empty(n_w)
    evpi_se = np.empty(n_w)
    for k, w in enumerate(wtps):
        nmb = effects * w - costs
        scale = np.abs(effects * w) + np.abs(costs)
        row_max = nmb.max(axis=1)
        tol = _NMB_TIE_RTOL * scale.max(axis=1)
        winners = nmb >= (row_max - tol)[:, None]
        prob[k] = (winners / winners.sum(axis=1, keepdims=True)).mean(axis=0)

        mean_nmb = nmb.mean(axis=0)
        enmb[k] = mean_nmb
        mean_tol = _NMB_TIE_RTOL * scale.mean(axis=0).max()
        best[k] = int(np.flatnonzero(mean_nmb >= mean_nmb.max() - mean_tol)[0])

        # EVPI = E[max_s NMB] - max_s E[NMB] = E[max_s NMB - NMB_best]: the mean per-draw regret of the
        # strategy chosen on expected NMB. Each regret is >= 0, so the estimate is >= 0 by construction.
        regret = np.maximum(row_max - nmb[:, best[k]], 0.0)
        evpi_val[k] = regret.mean()
        evpi_se[k] = regret.std(ddof=1) / np.sqrt(n_d) if n_d > 1 else np.nan
    return prob, enmb, best, evpi_val, evpi_se


def ceac(
    psa: pd.DataFrame,
    wtp: float | Sequence[float] | np.ndarray,
    *,
    draw: str = "draw",
    strategy: str = "strategy",
    cost: str = "cost",
    effect: str = "effect",
) -> pd.DataFrame:
    """Cost-effectiveness acceptability curves.

    Parameters
    ----------
    psa
        Long PSA table (one row per draw x strategy, balanced).
    wtp
        Scalar or 1-D sequence of willingness-to-pay values.
    draw, strategy, cost, effect
        Column names.

    Returns
    -------
    pandas.DataFrame
        Columns ``wtp``, ``strategy``, ``probability``: for each WTP, the proportion of draws in which the
        strategy has the highest NMB. One row per WTP x strategy (WTP in the given order, strategies in
        first-appearance order). Probabilities lie in [0, 1] and sum to 1 at every WTP.

    Notes
    -----
    When several strategies tie for the highest NMB within a draw (within the tolerance described in the
    module docstring), that draw's unit of probability is split equally between them. This keeps the
    curves summing to 1 and treats identical strategies symmetrically, instead of crediting whichever
    happens to come first.
    """
    _, strategies, costs, effects = psa_matrices(psa, draw, strategy, cost, effect, "ceac()")
    wtps = as_wtp_array(wtp)
    prob, *_ = _psa_summary(costs, effects, wtps)
    return pd.DataFrame(
        {
            "wtp": np.repeat(wtps, strategies.size),
            "strategy": np.tile(strategies, wtps.size),
            "probability": prob.ravel(),
        }
    )


def ceaf(
    psa: pd.DataFrame,
    wtp: float | Sequence[float] | np.ndarray,
    *,
    draw: str = "draw",
    strategy: str = "strategy",
    cost: str = "cost",
    effect: str = "effect",
) -> pd.DataFrame:
    """Cost-effectiveness acceptability frontier.

    At each WTP the optimal decision under current uncertainty is the strategy with the highest
    *expected* NMB (which is not necessarily the one most likely to be cost-effective, hence the
    frontier can differ from the upper envelope of the CEACs).

    Returns
    -------
    pandas.DataFrame
        One row per WTP with columns ``wtp``, ``strategy`` (highest expected NMB), ``probability`` (its
        CEAC value, i.e. probability of being cost-effective) and ``expected_nmb`` (its expected NMB).
        If strategies tie on expected NMB (within tolerance), the first in first-appearance order is
        reported.

    See Also
    --------
    ceac : parameters and tie conventions.
    """
    _, strategies, costs, effects = psa_matrices(psa, draw, strategy, cost, effect, "ceaf()")
    wtps = as_wtp_array(wtp)
    prob, enmb, best, _, _ = _psa_summary(costs, effects, wtps)
    rows = np.arange(wtps.size)
    return pd.DataFrame(
        {
            "wtp": wtps,
            "strategy": strategies[best],
            "probability": prob[rows, best],
            "expected_nmb": enmb[rows, best],
        }
    )


def evpi(
    psa: pd.DataFrame,
    wtp: float | Sequence[float] | np.ndarray,
    *,
    draw: str = "draw",
    strategy: str = "strategy",
    cost: str = "cost",
    effect: str = "effect",
) -> pd.DataFrame:
    """Per-decision expected value of perfect information.

    ``EVPI(wtp) = E_draws[max_s NMB] - max_s E_draws[NMB]``, in money units per patient (multiply by the
    relevant population yourself for population EVPI).

    Returns
    -------
    pandas.DataFrame
        Columns ``wtp``, ``evpi`` and ``se``, one row per WTP value.

    Notes
    -----
    The estimate is computed as the mean over draws of the per-draw regret
    ``max_s NMB_d - NMB_d(s*)``, where ``s*`` is the strategy with the highest expected NMB. This is
    algebraically identical to the definition above and non-negative by construction (every regret is
    >= 0), so no cancellation can yield a negative EVPI.

    ``se`` is the Monte Carlo standard error of that mean (sample SD of the regrets / sqrt(n_draws)),
    *conditional on the chosen s\\**. It ignores the uncertainty in selecting ``s*`` itself (which biases
    the plug-in EVPI slightly upward in small PSAs), so treat it as a lower bound on the total MC error
    when expected NMBs of the leading strategies are close. It is NaN with a single draw.
    """
    _, _, costs, effects = psa_matrices(psa, draw, strategy, cost, effect, "evpi()")
    wtps = as_wtp_array(wtp)
    _, _, _, evpi_val, evpi_se = _psa_summary(costs, effects, wtps)
    return pd.DataFrame({"wtp": wtps, "evpi": evpi_val, "se": evpi_se})


def ce_plane(
    psa: pd.DataFrame,
    reference: object,
    *,
    draw: str = "draw",
    strategy: str = "strategy",
    cost: str = "cost",
    effect: str = "effect",
) -> pd.DataFrame:
    """Incremental costs and effects per draw relative to a reference strategy (paired by draw).

    Parameters
    ----------
    psa
        Long PSA table (one row per draw x strategy, balanced).
    reference
        Label of the comparator strategy; must be present in ``psa``.

    Returns
    -------
    pandas.DataFrame
        Columns ``draw``, ``strategy``, ``inc_cost``, ``inc_effect`` with ``inc_x = x(strategy, draw) -
        x(reference, draw)``; one row per draw x non-reference strategy (the reference itself, always at
        the origin, is omitted), ordered by strategy then draw, both in first-appearance order.
        Pairing by draw keeps the correlation induced by shared parameter draws, which is what the
        scatter on the CE plane is meant to show.
    """
    what = "ce_plane()"
    draws, strategies, costs, effects = psa_matrices(psa, draw, strategy, cost, effect, what)
    matches = np.flatnonzero(strategies == reference)
    if matches.size == 0:
        raise ValueError(f"{what}: reference strategy {reference!r} not found; have {list(strategies)}")
    ref = int(matches[0])
    others = np.array([j for j in range(strategies.size) if j != ref], dtype=int)
    n_d = draws.size
    inc_c = (costs[:, others] - costs[:, [ref]]).T.ravel()
    inc_e = (effects[:, others] - effects[:, [ref]]).T.ravel()
    return pd.DataFrame(
        {
            "draw": np.tile(draws, others.size),
            "strategy": np.repeat(strategies[others], n_d),
            "inc_cost": inc_c,
            "inc_effect": inc_e,
        }
    )


# ----------------------------------------------------------------------------------------------
# Monte Carlo error helpers
# ----------------------------------------------------------------------------------------------


def _finite_1d(values: Iterable[float] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must contain at least one value")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values")
    return arr


def mean_with_se(values: Iterable[float] | np.ndarray) -> tuple[float, float]:
    """Sample mean and its Monte Carlo standard error ``sd(values, ddof=1) / sqrt(n)``.

    Assumes independent draws (e.g. independent simulated patients or PSA draws). With one value the
    standard error is NaN (it cannot be estimated).

    Raises
    ------
    ValueError
        If ``values`` is empty, not 1-D or contains non-finite values.
    """
    arr = _finite_1d(values, "values")
    mean = float(arr.mean())
    se = float(arr.std(ddof=1) / np.sqrt(arr.size)) if arr.size > 1 else float("nan")
    return mean, se


def paired_difference(
    a: Iterable[float] | np.ndarray, b: Iterable[float] | np.ndarray
) -> tuple[float, float]:
    """Mean of paired differences ``a - b`` and its standard error.

    Use for common-random-number comparisons, where element ``i`` of ``a`` and ``b`` is the same
    simulated patient (or PSA draw) under two strategies. The SE of the mean of the differences accounts
    for the positive correlation between arms, so it is usually much smaller than
    ``sqrt(se_a**2 + se_b**2)``, which would be valid only for independent samples.

    Raises
    ------
    ValueError
        If the inputs are empty, not 1-D, of different lengths or contain non-finite values.
    """
    arr_a = _finite_1d(a, "a")
    arr_b = _finite_1d(b, "b")
    if arr_a.size != arr_b.size:
        raise ValueError(
            f"paired_difference(): a and b must have the same length ({arr_a.size} != {arr_b.size})"
        )
    return mean_with_se(arr_a - arr_b)
