"""Results by subgroup of patients: sex, anti-MAG titre band, age band at onset.

A subgroup is a trait a patient has before anything happens to them, drawn on the patient's own streams, so
under common random numbers patient ``i`` is in the same subgroup in every strategy: every increment is a
mean of paired per-patient differences *within* the subgroup, with its paired standard error, exactly as for
the whole cohort (:mod:`analysis.economics`).

Subgroup variables (:data:`SUBGROUPS`): ``sex`` and ``titre_band`` as in ``result.patients``; ``age_band``,
the age at the first symptom in the bands of :data:`AGE_BANDS` (years: under 55, 55–64, 65–74, 75 and
over).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.run.subgroups import AGE_BANDS, SUBGROUPS, parse_subgroups, subgroup_levels
from sim.run.subgroups import ordered_levels as _ordered

from .cea import paired_difference
from .economics import (
    COST,
    EFFECT,
    MEASURES,
    NOTE_DOMINANT,
    NOTE_DOMINATED,
    NOTE_NO_DIFFERENCE,
    NOTE_SOUTH_WEST,
    _ratio_and_note,
)
from .psa_noise import psa_mean_error

__all__ = [
    "AGE_BANDS",
    "INTERVAL_PERCENTILES",
    "SUBGROUPS",
    "parse_subgroups",
    "psa_subgroup_table",
    "subgroup_levels",
    "subgroup_table",
]


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    if x.size == 0:
        return (math.nan, math.nan)
    se = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.nan
    return (float(x.mean()), se)


def subgroup_table(
    patients_by_strategy: dict[str, pd.DataFrame],
    subgroups: Sequence[str],
    reference: str | None = None,
    wtp: Sequence[float] = (),
) -> pd.DataFrame:
    """Every summary, increment, ICER and net monetary benefit by subgroup level.

    Parameters
    ----------
    patients_by_strategy : dict of str to pandas.DataFrame
        Each strategy's ``result.patients``, row ``i`` the same patient in every strategy (common random
        numbers; checked on the subgroup columns).
    subgroups : sequence of str
        Names from :data:`SUBGROUPS`.
    reference : str, optional
        Comparator of the increments (default: the first strategy); ignored with one strategy.
    wtp : sequence of float
        Willingness to pay per QALY for the NMB rows.

    Returns
    -------
    pandas.DataFrame
        Long and tidy: ``subgroup``, ``level``, ``strategy``, ``comparator`` (for increments), ``quantity``,
        ``wtp`` (NMB rows), ``n_patients``, ``mean``, ``se`` (Monte Carlo standard error, paired for
        increments), ``low``/``high`` (95% Fieller interval of an ICER), ``note`` (of an ICER, as in
        :func:`analysis.economics.incremental_table`: dominant, dominated, ...). Quantities: each economic
        measure of the patients table present (``cost_disc``, ``qalys_disc``, ..., and the undiscounted
        ``cost_undisc``, ``qalys_undisc``, ...); with a comparator
        ``inc_<measure>``, ``icer`` (discounted cost per discounted QALY) and, per WTP, ``nmb`` and
        ``inc_nmb``.
    """
    if not patients_by_strategy:
        raise ValueError("subgroup_table(): no strategies")
    names = list(patients_by_strategy)
    ref = names[0] if reference is None else reference
    if ref not in names:
        raise ValueError(f"subgroup_table(): reference {ref!r} is not among {names}")
    first = patients_by_strategy[names[0]]
    measures = [m for m in MEASURES if m in first.columns]
    rows: list[dict] = []
    for sub in subgroups:
        levels = subgroup_levels(first, sub)
        for name in names[1:]:
            if not subgroup_levels(patients_by_strategy[name], sub).equals(levels):
                raise ValueError(
                    f"subgroup_table(): '{name}' does not have the same patients as '{names[0]}'"
                )
        for level in _ordered(levels):
            mask = (levels == level).to_numpy()
            base = {"subgroup": sub, "level": level, "n_patients": int(mask.sum())}
            ref_p = patients_by_strategy[ref][mask]
            for name in names:
                p = patients_by_strategy[name][mask]
                for m in measures:
                    mean, se = _mean_se(p[m].to_numpy(dtype=float))
                    rows.append(base | {"strategy": name, "quantity": m, "mean": mean, "se": se})
                for w in wtp if EFFECT in measures else ():
                    nmb = w * p[EFFECT].to_numpy(dtype=float) - p[COST].to_numpy(dtype=float)
                    mean, se = _mean_se(nmb)
                    rows.append(
                        base | {"strategy": name, "quantity": "nmb", "wtp": float(w), "mean": mean, "se": se}
                    )
                if name == ref or len(names) < 2 or mask.sum() < 2:
                    continue
                vs = base | {"strategy": name, "comparator": ref}
                for m in measures:
                    mean, se = paired_difference(p[m].to_numpy(dtype=float), ref_p[m].to_numpy(dtype=float))
                    rows.append(vs | {"quantity": f"inc_{m}", "mean": mean, "se": se})
                if EFFECT not in measures:
                    continue
                dc = p[COST].to_numpy(dtype=float) - ref_p[COST].to_numpy(dtype=float)
                de = p[EFFECT].to_numpy(dtype=float) - ref_p[EFFECT].to_numpy(dtype=float)
                ratio = _ratio_and_note(dc, de, "fieller", 0.95, 0, 0)  # the cohort's rules and notes
                rows.append(
                    vs
                    | {"quantity": "icer", "mean": ratio["icer"], "low": ratio["icer_low"]}
                    | {"high": ratio["icer_high"], "note": ratio["note"]}
                )
                for w in wtp:
                    mean, se = _mean_se(w * de - dc)
                    rows.append(vs | {"quantity": "inc_nmb", "wtp": float(w), "mean": mean, "se": se})
    return _tidy(rows)


#: Percentiles of the interval over draws in :func:`psa_subgroup_table`.
INTERVAL_PERCENTILES = (2.5, 97.5)


def _over_draws(values: np.ndarray, first_var: np.ndarray, shared_cohort: bool) -> dict[str, float]:
    """Mean over draws, its Monte Carlo error (both orders) and the 2.5–97.5% interval over draws."""
    low, high = np.percentile(values, INTERVAL_PERCENTILES)
    se = psa_mean_error(values, first_var, shared_cohort)
    return {"mean": float(values.mean()), "se": se, "low": float(low), "high": float(high)}


def _icer_of_means(mc: float, me: float) -> dict[str, Any]:
    """The ICER of mean increments, with the notes of :func:`analysis.economics.incremental_table`."""
    if mc == 0 and me == 0:
        return {"mean": math.nan, "note": NOTE_NO_DIFFERENCE}
    if mc <= 0 and me >= 0:
        return {"mean": math.nan, "note": NOTE_DOMINANT}
    if mc >= 0 and me <= 0:
        return {"mean": math.nan, "note": NOTE_DOMINATED}
    return {"mean": mc / me, "note": NOTE_SOUTH_WEST if me < 0 else ""}


def psa_subgroup_table(
    by_subgroup: pd.DataFrame,
    reference: str | None = None,
    wtp: Sequence[float] = (),
    *,
    shared_cohort: bool = True,
) -> pd.DataFrame:
    """Subgroup results over the PSA draws: means, Monte Carlo errors and intervals over draws.

    Parameters
    ----------
    by_subgroup : pandas.DataFrame
        Per draw, subgroup level and strategy, the cohort summaries of
        :func:`sim.run.psa.run_psa_by_subgroup` (increments over its first strategy).
    reference : str, optional
        Comparator of the increments; must be the first strategy of the table (the default).
    wtp : sequence of float
        Willingness to pay per QALY for the NMB rows.
    shared_cohort : bool
        How the PSA was run: with the same patients in every draw (the default) the cohort's own error does
        not average out over draws and is part of ``se``.

    Returns
    -------
    pandas.DataFrame
        Long and tidy: ``subgroup``, ``level``, ``strategy``, ``comparator`` (for increments), ``quantity``,
        ``wtp`` (NMB rows), ``n_patients`` (mean over draws of the level's size), ``mean`` (over draws),
        ``se`` (its Monte Carlo error, :func:`analysis.psa_noise.psa_mean_error`), ``low``/``high`` (2.5th
        and 97.5th percentiles over draws), ``note`` (of an ICER), ``n_draws`` (draws in which the level has
        patients: sampled population parameters such as ``population.p_male`` move patients between levels,
        so a small level may be empty in some draws, which are then left out of its row), ``design``.
        Quantities: each measure of the PSA (``cost_disc``, ``qalys_disc``, ``lys_disc``, ``cost_undisc``,
        ...), ``nmb`` per WTP and, against the reference, ``inc_<measure>``, ``inc_nmb`` per WTP and
        ``icer`` (the ratio of the mean increments over draws, as the ICER table on PSA means; no
        interval).
    """
    strategies = list(dict.fromkeys(by_subgroup["strategy"]))
    if not strategies:
        raise ValueError("psa_subgroup_table(): no strategies")
    ref = strategies[0] if reference is None else reference
    if ref != strategies[0]:
        raise ValueError(
            f"psa_subgroup_table(): the increments are over the first strategy {strategies[0]!r}, "
            f"not {ref!r}: run the PSA with the reference first"
        )
    measures = [m for m in MEASURES if m in by_subgroup.columns]
    n_draws = int(by_subgroup["draw"].nunique())
    design = "shared cohort" if shared_cohort else "cohort per draw"
    rows: list[dict] = []
    for (sub, level), block in by_subgroup.groupby(["subgroup", "level"], sort=False):
        wide = {s: g.sort_values("draw") for s, g in block.groupby("strategy", sort=False)}
        present = {len(g) for g in wide.values()}
        if len(wide) != len(strategies) or len(present) != 1:
            raise ValueError(f"psa_subgroup_table(): level {sub} = {level} lacks strategies in some draws")
        # n_patients over every draw, a level absent from a draw counting 0 patients there
        n = float(wide[ref]["n_patients"].sum()) / n_draws
        base = {"subgroup": sub, "level": level, "n_patients": n, "n_draws": present.pop()}

        def col(s: str, c: str, wide: dict[str, pd.DataFrame] = wide) -> np.ndarray:
            return wide[s][c].to_numpy(dtype=float)

        for s in strategies:
            for m in measures:
                rows.append(
                    base
                    | {"strategy": s, "quantity": m}
                    | _over_draws(col(s, m), col(s, m + "_se") ** 2, shared_cohort)
                )
            for w in wtp:
                value = w * col(s, EFFECT) - col(s, COST)
                var = (
                    w * w * col(s, EFFECT + "_se") ** 2
                    - 2 * w * col(s, "cost_qalys_disc_cov")
                    + col(s, COST + "_se") ** 2
                )
                rows.append(
                    base
                    | {"strategy": s, "quantity": "nmb", "wtp": float(w)}
                    | _over_draws(value, var, shared_cohort)
                )
            if s == ref:
                continue
            vs = base | {"strategy": s, "comparator": ref}
            for m in measures:
                inc = col(s, m) - col(ref, m)
                rows.append(
                    vs
                    | {"quantity": f"inc_{m}"}
                    | _over_draws(inc, col(s, f"inc_{m}_se") ** 2, shared_cohort)
                )
            dc, de = col(s, COST) - col(ref, COST), col(s, EFFECT) - col(ref, EFFECT)
            rows.append(vs | {"quantity": "icer"} | _icer_of_means(float(dc.mean()), float(de.mean())))
            for w in wtp:
                var = w * w * col(s, f"inc_{EFFECT}_se") ** 2 - 2 * w * col(s, "inc_cost_qalys_disc_cov")
                var = var + col(s, f"inc_{COST}_se") ** 2
                rows.append(
                    vs
                    | {"quantity": "inc_nmb", "wtp": float(w)}
                    | _over_draws(w * de - dc, var, shared_cohort)
                )
    return _tidy(rows, extra=("n_draws",)).assign(design=design)


#: Columns of the subgroup tables, in order.
SUBGROUP_COLUMNS = [
    "subgroup",
    "level",
    "strategy",
    "comparator",
    "quantity",
    "wtp",
    "n_patients",
    "mean",
    "se",
]
SUBGROUP_COLUMNS += ["low", "high", "note"]


def _tidy(rows: list[dict], extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """``rows`` as a table of :data:`SUBGROUP_COLUMNS` (+ ``extra``): a column no row has is NaN, and an
    absent comparator or note is empty text."""
    out = pd.DataFrame(rows)
    for c in SUBGROUP_COLUMNS:
        if c not in out.columns:
            out[c] = np.nan
    for c in ("comparator", "note"):
        out[c] = out[c].astype(object).where(out[c].notna(), "")
    return out[[*SUBGROUP_COLUMNS, *extra]]
