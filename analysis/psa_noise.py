"""First-order (patient-level) noise in a PSA: its size, its removal, and how many patients and draws to run.

Each PSA draw of a patient-level simulation is the mean of ``n`` simulated patients, so its value is the
draw's expected outcome (what the parameters imply) plus Monte Carlo noise of variance ``σ₁² / n``, where
``σ₁²`` is the variance between patients. Over ``D`` draws, the variance of the draw means is, in
expectation, ``σ₂² + σ₁² / n`` with ``σ₂²`` the second-order (parameter) variance. The ANOVA method of
O'Hagan, Stevenson & Madan (2007, *Health Econ* 16:1009; ``ohagan2007``) estimates both from the PSA table:
``σ₁² / n`` from the within-draw standard errors (each row's ``_se``, squared), ``σ₂²`` as the between-draw
variance minus that.

Why it matters: the CEAC counts draws in which a strategy wins, and the EVPI averages the per-draw regret; the
noise makes strategies win and lose by chance, so with *no* parameter uncertainty at all a per-draw-cohort
PSA still reports a positive EVPI and a CEAC strictly between 0 and 1. Two remedies:

* **the design** (the default of :func:`sim.run.psa.run_psa`, ``shared_cohort=True``): every draw simulates
  the same base-case patients, so no patient noise varies between draws. Then the between-draw variance is
  all second-order, and the cohort's own error (``σ₁² / n``, the same in every draw) is a shift of every draw
  that does not average out over draws: it is the Monte Carlo error of the PSA means and must be made small
  with enough patients;
* **a correction** (:func:`denoise`, for PSAs run with a new cohort per draw): each draw's incremental cost
  and QALYs are pulled towards their mean, ``m + Σ₂^½ Σ^-½ (x − m)``, with ``Σ`` the between-draw covariance
  of the pair, ``Σ₁`` the mean within-draw covariance and ``Σ₂ = Σ − Σ₁`` made positive semi-definite: the
  corrected draws have exactly the second-order covariance ``Σ₂``, so the CEAC and EVPI (which depend on the
  spread of the true increments) are no longer widened by noise. (The best linear predictor
  ``m + Σ₂ Σ⁻¹ (x − m)`` would shrink the spread to less than ``Σ₂`` and understate the EVPI.) With no
  parameter uncertainty ``Σ₂`` is 0 and every draw becomes the mean: EVPI 0, CEAC 0 or 1.

Advice (:func:`variance_split`, columns ``advised_*``): to estimate the mean incremental NMB with standard
error ``precision`` and keep the CEAC and EVPI free of noise, a per-draw-cohort PSA needs ``n ≥ 9 σ₁²/σ₂²``
patients per draw (noise ≤ 10% of the between-draw variance) and ``D ≥ (σ₂² + σ₁²/n) / precision²`` draws;
a shared-cohort PSA needs ``n ≥ 2 σ₁² / precision²`` patients (half the error budget for the cohort's error)
and ``D ≥ 2 σ₂² / precision²`` draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .psa_input import as_wtp_array, psa_matrices

__all__ = ["MAX_NOISE_SHARE", "denoise", "format_variance_split", "psa_mean_error", "variance_split"]

#: Largest share of the between-draw variance that patient-level noise may take (the advice's target).
MAX_NOISE_SHARE = 0.10

_PAIRED = ("inc_cost_disc_se", "inc_qalys_disc_se", "inc_cost_qalys_disc_cov")


def _within(psa: pd.DataFrame, draws: np.ndarray, strategies: np.ndarray, column: str) -> np.ndarray:
    """A per-row column as a draws × strategies matrix (in the order of :func:`psa_matrices`)."""
    if column not in psa.columns:
        raise ValueError(
            f"the PSA table has no column {column!r}: run it with sim.run.psa.run_psa, which records the "
            "within-draw Monte Carlo errors"
        )
    wide = psa.pivot(index="draw", columns="strategy", values=column)
    return wide.loc[list(draws), list(strategies)].to_numpy(dtype=float)


def psa_mean_error(values: np.ndarray, first_var: np.ndarray, shared_cohort: bool) -> float:
    """Monte Carlo standard error of a PSA mean over draws, both orders (module docstring).

    ``values`` are the draws' cohort means of a quantity, ``first_var`` their squared within-draw standard
    errors. With a cohort per draw the noise is part of the spread between draws: ``sqrt(var_draws / D)``.
    With a shared cohort the cohort's own error is the same shift in every draw and does not average out:
    ``sqrt(var_draws / D + mean(first_var))``.
    """
    d = values.size
    if d < 2:
        return math.nan
    var_draws = float(values.var(ddof=1))
    if shared_cohort:
        return math.sqrt(var_draws / d + float(np.mean(first_var)))
    return math.sqrt(var_draws / d)


def _split(
    name: str, strategy: str, values: np.ndarray, first_var: np.ndarray, n_patients: float, shared: bool
) -> dict[str, float | str]:
    """ANOVA split of one quantity over draws (values and squared within-draw SEs per draw)."""
    d = values.size
    var_draws = float(values.var(ddof=1)) if d > 1 else math.nan
    first = float(np.mean(first_var))
    se_mean = psa_mean_error(values, first_var, shared)
    if shared:
        second = var_draws
        share = 0.0
    else:
        second = max(var_draws - first, 0.0) if d > 1 else math.nan
        share = min(first / var_draws, 1.0) if var_draws > 0 else (1.0 if first > 0 else 0.0)
    return {
        "quantity": name,
        "strategy": strategy,
        "mean": float(values.mean()),
        "var_draws": var_draws,
        "var_first_order": first,
        "var_second_order": second,
        "noise_share": share,
        "patient_var": first * n_patients,
        "se_of_mean": se_mean,
    }


def _advice(row: dict, n_draws: int, n_patients: float, precision: float, shared: bool) -> dict[str, float]:
    """Patients per draw and draws for a standard error ``precision`` of the mean (module docstring)."""
    patient_var, second = row["patient_var"], row["var_second_order"]
    nan = {"advised_patients": math.nan, "advised_draws": math.nan}
    if not (precision > 0 and math.isfinite(second) and math.isfinite(patient_var)):
        return nan
    if shared:
        n = math.ceil(2 * patient_var / precision**2) if patient_var > 0 else 1
        draws = math.ceil(2 * second / precision**2) if second > 0 else 2
    else:
        if second <= 0:  # no parameter uncertainty detected: no number of patients makes noise a small share
            return nan
        n = math.ceil(patient_var * (1 - MAX_NOISE_SHARE) / MAX_NOISE_SHARE / second)
        draws = math.ceil((second + patient_var / max(n, 1)) / precision**2)
    return {"advised_patients": float(max(n, 1)), "advised_draws": float(max(draws, 2))}


def variance_split(
    psa: pd.DataFrame,
    wtp: float | Sequence[float],
    *,
    shared_cohort: bool,
    precision: float = 100.0,
    cost: str = "cost_disc",
    effect: str = "qalys_disc",
) -> pd.DataFrame:
    """First- and second-order variance of every PSA quantity (O'Hagan, Stevenson & Madan 2007).

    Parameters
    ----------
    psa : pandas.DataFrame
        A table of :func:`sim.run.psa.run_psa` (with its ``_se`` and paired-error columns); increments are
        over its first strategy.
    wtp : float or sequence of float
        Willingness to pay for the incremental net monetary benefit rows.
    shared_cohort : bool
        How the PSA was run (``psa.attrs["shared_cohort"]``): the same patients in every draw, or new ones.
    precision : float
        Target standard error of the mean incremental NMB (money per patient) for the advice.
    cost, effect : str
        Discounted cost and QALY columns (with their within-draw errors ``<column>_se``).

    Returns
    -------
    pandas.DataFrame
        One row per quantity: ``quantity`` (the cost and effect columns' names, e.g. ``cost_disc`` and
        ``qalys_disc``, their increments ``inc_cost_disc`` and ``inc_qalys_disc``, and ``inmb``),
        ``strategy``, ``comparator`` (the first strategy, for increments), ``wtp`` (NMB rows), ``mean`` over
        draws, ``var_draws`` (variance of the draw means), ``var_first_order`` (``σ₁²/n``, mean squared
        within-draw SE), ``var_second_order`` (``σ₂²``), ``noise_share`` (share of ``var_draws`` that is
        patient noise; 0 with a shared cohort), ``patient_var`` (``σ₁²``), ``se_of_mean`` (Monte Carlo error
        of the PSA mean, both orders), ``n_patients``, ``n_draws``, ``design``; for the INMB rows
        ``precision``, ``advised_patients`` and ``advised_draws`` (module docstring).
    """
    draws, strategies, costs, effects = psa_matrices(
        psa, "draw", "strategy", cost, effect, "variance_split()"
    )
    wtps = as_wtp_array(wtp)
    n_patients = float(psa["n_patients"].iloc[0]) if "n_patients" in psa.columns else math.nan
    n_draws = draws.size
    se_c = _within(psa, draws, strategies, f"{cost}_se")
    se_e = _within(psa, draws, strategies, f"{effect}_se")
    rows = []
    for j, s in enumerate(strategies):
        rows.append(_split(cost, s, costs[:, j], se_c[:, j] ** 2, n_patients, shared_cohort))
        rows.append(_split(effect, s, effects[:, j], se_e[:, j] ** 2, n_patients, shared_cohort))
    if strategies.size > 1:
        paired = [_within(psa, draws, strategies, c) for c in _PAIRED]
        for j in range(1, strategies.size):
            s = strategies[j]
            dc = costs[:, j] - costs[:, 0]
            de = effects[:, j] - effects[:, 0]
            vc, ve, cov = paired[0][:, j] ** 2, paired[1][:, j] ** 2, paired[2][:, j]
            rows.append(
                _split(f"inc_{cost}", s, dc, vc, n_patients, shared_cohort) | {"comparator": strategies[0]}
            )
            rows.append(
                _split(f"inc_{effect}", s, de, ve, n_patients, shared_cohort) | {"comparator": strategies[0]}
            )
            for w in wtps:
                row = _split("inmb", s, w * de - dc, w * w * ve - 2 * w * cov + vc, n_patients, shared_cohort)
                row |= {"comparator": strategies[0], "wtp": float(w), "precision": float(precision)}
                row |= _advice(row, n_draws, n_patients, precision, shared_cohort)
                rows.append(row)
    out = pd.DataFrame(rows)
    for column in ("comparator", "wtp", "precision", "advised_patients", "advised_draws"):
        if column not in out.columns:
            out[column] = np.nan
    out = out.assign(
        n_patients=n_patients, n_draws=n_draws, design="shared cohort" if shared_cohort else "cohort per draw"
    )
    front = ["quantity", "strategy", "comparator", "wtp", "mean", "var_draws", "var_first_order"]
    front += ["var_second_order", "noise_share", "patient_var", "se_of_mean"]
    return out[front + [c for c in out.columns if c not in front]]


def _sym_power(matrix: np.ndarray, power: float) -> np.ndarray:
    """``matrix ** power`` of a symmetric matrix, negative eigenvalues set to 0 (and left 0 by a negative
    power: a pseudo-inverse root)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    scale = max(float(np.abs(values).max(initial=0.0)), 1e-300)
    keep = values > 1e-12 * scale
    powered = np.zeros_like(values)
    powered[keep] = values[keep] ** power
    return (vectors * powered) @ vectors.T


def denoise(psa: pd.DataFrame, *, cost: str = "cost_disc", effect: str = "qalys_disc") -> pd.DataFrame:
    """The PSA table with each draw's increments over the first strategy shrunk to remove patient noise.

    For a PSA run with a new cohort per draw (``shared_cohort=False``). Each strategy's pair (incremental
    cost, incremental QALYs) in draw ``d`` becomes ``m + Σ₂^½ Σ^-½ (x_d − m)`` (module docstring); the first
    strategy's values are kept, so NMB differences, hence CEAC, CEAF and EVPI, are those of the denoised
    increments.
    Columns ``cost`` and ``effect`` are replaced; everything else is unchanged.
    """
    draws, strategies, costs, effects = psa_matrices(psa, "draw", "strategy", cost, effect, "denoise()")
    paired = [_within(psa, draws, strategies, c) for c in _PAIRED]
    new_c, new_e = costs.copy(), effects.copy()
    for j in range(1, strategies.size):
        x = np.column_stack([costs[:, j] - costs[:, 0], effects[:, j] - effects[:, 0]])
        m = x.mean(axis=0)
        total = np.cov(x, rowvar=False, ddof=1) if len(x) > 1 else np.zeros((2, 2))
        first = np.array(
            [
                [np.mean(paired[0][:, j] ** 2), np.mean(paired[2][:, j])],
                [np.mean(paired[2][:, j]), np.mean(paired[1][:, j] ** 2)],
            ]
        )
        second = _sym_power(_sym_power(total - first, 1.0), 0.5)
        gain = second @ _sym_power(total, -0.5)
        shrunk = m + (x - m) @ gain.T
        new_c[:, j] = costs[:, 0] + shrunk[:, 0]
        new_e[:, j] = effects[:, 0] + shrunk[:, 1]
    index = {(d, s): (i, j) for i, d in enumerate(draws) for j, s in enumerate(strategies)}
    where = [index[(d, s)] for d, s in zip(psa["draw"], psa["strategy"], strict=True)]
    rows, cols = np.array([w[0] for w in where]), np.array([w[1] for w in where])
    return psa.assign(**{cost: new_c[rows, cols], effect: new_e[rows, cols]})


def format_variance_split(split: pd.DataFrame, currency: str) -> str:
    """The INMB rows of :func:`variance_split` as a table for the terminal, with the advice."""
    inmb = split[split["quantity"] == "inmb"]
    if inmb.empty:
        return ""
    design = split["design"].iloc[0]
    lines = [
        f"PSA noise ({design}; O'Hagan 2007 ANOVA): incremental NMB per patient in {currency}, "
        f"SD = square root of variance.",
        f"{'strategy':<28}{'vs':<20}{'WTP':>8}{'mean':>10}{'SD draws':>10}{'SD param':>10}{'SD noise':>10}"
        f"{'noise %':>9}{'± se':>8}{'advice: patients':>18}{'draws':>12}",
    ]
    for r in inmb.itertuples(index=False):
        adv_n = "-" if r.advised_patients != r.advised_patients else f"{r.advised_patients:,.0f}"
        adv_d = "-" if r.advised_draws != r.advised_draws else f"{r.advised_draws:,.0f}"
        lines.append(
            f"{r.strategy:<28}{r.comparator:<20}{r.wtp:>8,.0f}{r.mean:>10,.0f}{math.sqrt(r.var_draws):>10,.0f}"
            f"{math.sqrt(r.var_second_order):>10,.0f}{math.sqrt(r.var_first_order):>10,.0f}"
            f"{100 * r.noise_share:>9.1f}{r.se_of_mean:>8,.0f}{adv_n:>18}{adv_d:>12}"
        )
    precision = inmb["precision"].iloc[0]
    lines.append(
        f"Advice: patients per draw and draws for a standard error of {currency} {precision:,.0f} on the "
        f"mean incremental NMB, with patient noise ≤ {MAX_NOISE_SHARE:.0%} of the spread between draws."
    )
    return "\n".join(lines)
