"""Cost-effectiveness of strategies simulated on common random numbers: means, increments, ICERs, NMB.

Input: one :class:`sim.SimulationResult` per strategy, all run with the same seed, draw and cohort size, so
that row ``i`` of every ``result.patients`` is the same patient (common random numbers, CRN). Nothing here
runs a simulation.

* **Per strategy** (:func:`strategy_summary`): the cohort mean of every economic column of
  ``result.patients`` (total and per-category costs, QALYs, life-years; discounted ``*_disc``,
  undiscounted ``*_undisc``) with its Monte Carlo standard error ``sd / sqrt(n)``.
* **Incremental vs a reference** (:func:`incremental_table`): the mean of the per-patient differences and
  its standard error (:func:`analysis.cea.paired_difference`), which removes the between-patient variation
  that CRN makes common to both arms; the ICER vs the reference with its interval.
* **ICER table** (:func:`icer_table`): :func:`analysis.cea.icers` (dominance and extended dominance, as
  dampack) on discounted costs and QALYs, each frontier ICER with an interval from the paired patients.
* **Net monetary benefit** (:func:`nmb_table`): ``wtp × QALYs − cost`` (discounted) per strategy, and
  incremental vs the reference, with standard errors.

Interval of an ICER
-------------------
``"fieller"`` (default): Fieller's theorem for the ratio of the two paired mean differences ``ΔC̄ / ΔĒ``,
using their standard errors and covariance across patients (normal approximation, valid for the large
cohorts a simulation gives). The set ``{R : (ΔC̄ − R ΔĒ)² ≤ z² Var(ΔC̄ − R ΔĒ)}`` is a finite interval only
when ``ΔĒ`` differs from 0 at the chosen level (``ΔĒ² > z² Var(ΔĒ)``); otherwise it is unbounded and both
limits are reported as NaN with the note ``"interval unbounded"``. ``"bootstrap"``: percentile interval of
the ratio over ``n_boot`` resamples of patients (pairs kept together) from a generator seeded with
``boot_seed`` (default 20240917), so the interval is reproducible; unbounded (NaN) when more than
``(1 − level)/2`` of the resampled ``ΔĒ`` have the other sign. Both intervals describe Monte Carlo
(first-order) uncertainty of the simulated cohort, not parameter uncertainty: that is the PSA's job.

Identical strategies (every patient's discounted cost and QALYs equal in both arms, as with a neutral
treatment under CRN) have increments exactly 0 with standard error 0, note ``"no difference"`` and no ICER
(NaN, never infinite): the ICER table then marks the copy ``"D"`` with note ``"no difference"``. Values that
are equal in exact arithmetic may differ in the last bits (a spell of a patient's life split in two by an
event that changes nothing is summed in two pieces): a column of a strategy that equals an earlier
strategy's for every patient within :data:`ROUNDING_RTOL` of the column's largest magnitude is taken as that
strategy's column, so that such differences are exactly 0 rather than a ratio of two rounding errors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.model.columns import COST_DISC, LYS_DISC, QALYS_DISC
from sim.model.columns import MEASURES as _MEASURES
from sim.run.runner import SimulationResult, horizon_of

from .cea import icers, net_monetary_benefit, paired_difference

__all__ = [
    "BOOT_SEED",
    "DISCOUNTED_NAMES",
    "ComparisonError",
    "EconomicEvaluation",
    "MEASURES",
    "NOTE_DOMINANT",
    "NOTE_DOMINATED",
    "NOTE_NO_DIFFERENCE",
    "NOTE_UNBOUNDED",
    "ROUNDING_RTOL",
    "bootstrap_interval",
    "check_paired",
    "evaluate",
    "fieller_interval",
    "format_icer_table",
    "icer_table",
    "incremental_table",
    "nmb_table",
    "strategy_summary",
]

#: Economic columns of ``result.patients`` summarised per strategy, headline (discounted) first.
MEASURES: tuple[str, ...] = _MEASURES
COST = COST_DISC
EFFECT = QALYS_DISC
#: :mod:`analysis.cea` names its columns for any cost and effect; in the tables a user receives they are
#: discounted costs and QALYs, and say so.
DISCOUNTED_NAMES = {
    "cost": COST,
    "effect": EFFECT,
    "cost_se": f"{COST}_se",
    "effect_se": f"{EFFECT}_se",
    "inc_cost": f"inc_{COST}",
    "inc_effect": f"inc_{EFFECT}",
}
BOOT_SEED = 20240917
#: Relative tolerance (of a column's largest magnitude) under which two strategies' per-patient values are
#: the same number up to floating-point rounding.
ROUNDING_RTOL = 1e-12
DEFAULT_WTP = (20000.0, 30000.0)

NOTE_NO_DIFFERENCE = "no difference"
NOTE_DOMINANT = "dominant"
NOTE_DOMINATED = "dominated"
NOTE_SOUTH_WEST = "less costly, less effective"
NOTE_UNBOUNDED = "interval unbounded"


class ComparisonError(ValueError):
    """Results that cannot be compared (not paired, different currency or horizon, duplicate names)."""


@dataclass(frozen=True)
class EconomicEvaluation:
    """Everything :func:`evaluate` derives from paired strategy results.

    Attributes
    ----------
    summary, incremental, icers, nmb : pandas.DataFrame
        See :func:`strategy_summary`, :func:`incremental_table`, :func:`icer_table`, :func:`nmb_table`.
    reference : str
        The comparator of the incremental and NMB tables.
    currency : str
        ISO code of the costs, e.g. ``"GBP"``.
    price_year : int
        Price year of the costs.
    metadata : dict
        Seed, cohort size, strategies with their scenario hashes, discount rates, horizon, interval method,
        package versions.
    """

    summary: pd.DataFrame
    incremental: pd.DataFrame
    icers: pd.DataFrame
    nmb: pd.DataFrame
    reference: str
    currency: str
    price_year: int
    metadata: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------- checks


def _as_results(results: SimulationResult | Sequence[SimulationResult]) -> list[SimulationResult]:
    items = [results] if isinstance(results, SimulationResult) else list(results)
    if not items:
        raise ComparisonError("at least one simulation result is required")
    for r in items:
        if not isinstance(r, SimulationResult):
            raise TypeError(f"expected sim.SimulationResult objects, got {type(r).__name__}")
    return items


def _strategy_of(result: SimulationResult) -> str:
    names = result.patients["strategy"].unique()
    if len(names) != 1:
        raise ComparisonError(f"a result must hold one strategy, got {list(names)}")
    return str(names[0])


def _economics(result: SimulationResult):
    econ = result.scenario.model.economics
    if econ is None or any(m not in result.patients.columns for m in MEASURES):
        raise ComparisonError(
            f"strategy '{_strategy_of(result)}' has no economic columns: its scenario "
            f"({result.scenario.path}) needs an [economics] table"
        )
    return econ


def _is_paired(results: Sequence[SimulationResult]) -> bool:
    try:
        check_paired(results)
    except ComparisonError:
        return False
    return True


def check_paired(results: Sequence[SimulationResult]) -> None:
    """Raise :class:`ComparisonError` unless the results are the same patients under different strategies.

    Same seed, PSA draw and patient ids in the same order; distinct strategy names; the same currency, price
    year, discount rates and horizon.
    """
    names = [_strategy_of(r) for r in results]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ComparisonError(f"strategy name(s) {dup} appear more than once; strategies must be distinct")
    first = results[0]
    ids = first.patients["patient_id"].to_numpy()
    econ0 = _economics(first)
    for r in results[1:]:
        for key in ("seed", "draw"):
            if r.metadata.get(key) != first.metadata.get(key):
                raise ComparisonError(
                    f"'{_strategy_of(r)}' was run with {key} {r.metadata.get(key)!r} but "
                    f"'{names[0]}' with {first.metadata.get(key)!r}: not the same patients"
                )
        if not np.array_equal(r.patients["patient_id"].to_numpy(), ids):
            raise ComparisonError(
                f"'{_strategy_of(r)}' and '{names[0]}' do not have the same patients in the same order "
                f"({len(r.patients)} vs {len(first.patients)} rows)"
            )
        econ = _economics(r)
        for attr in ("currency", "price_year"):
            if getattr(econ, attr) != getattr(econ0, attr):
                raise ComparisonError(
                    f"'{_strategy_of(r)}' has {attr} {getattr(econ, attr)!r} but '{names[0]}' has "
                    f"{getattr(econ0, attr)!r}: costs must be in one currency and price year"
                )
        for attr in ("discount_rate_costs", "discount_rate_effects"):
            if getattr(r.values.economics, attr) != getattr(first.values.economics, attr):
                raise ComparisonError(
                    f"'{_strategy_of(r)}' and '{names[0]}' use different {attr} "
                    f"({getattr(r.values.economics, attr)} vs {getattr(first.values.economics, attr)})"
                )
        if horizon_of(r.values) != horizon_of(first.values):
            raise ComparisonError(
                f"'{_strategy_of(r)}' and '{names[0]}' have different horizons "
                f"({r.values.settings.horizon_years} vs {first.values.settings.horizon_years})"
            )


def _paired_columns(results: Sequence[SimulationResult]) -> dict[str, dict[str, np.ndarray]]:
    """Per strategy, its economic columns as arrays; a column equal to an earlier strategy's up to rounding
    for every patient (:data:`ROUNDING_RTOL`) is that strategy's array, so the differences are exactly 0."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for r in results:
        columns = {}
        for m in MEASURES:
            x = r.patients[m].to_numpy(dtype=float)
            for earlier in out.values():
                y = earlier[m]
                if x is y or x.shape != y.shape:
                    continue
                scale = max(float(np.max(np.abs(x), initial=0.0)), float(np.max(np.abs(y), initial=0.0)))
                if np.all(np.abs(x - y) <= ROUNDING_RTOL * scale):
                    x = y
                    break
            columns[m] = x
        out[_strategy_of(r)] = columns
    return out


# --------------------------------------------------------------------------------------------- tables


def strategy_summary(results: SimulationResult | Sequence[SimulationResult]) -> pd.DataFrame:
    """Per strategy: the mean and Monte Carlo standard error of every economic measure.

    Returns
    -------
    pandas.DataFrame
        One row per strategy (input order): ``strategy``, ``n_patients``, ``currency``, ``price_year``,
        then for each of :data:`MEASURES` the cohort mean (same name as the patient column: ``cost_disc``
        is the discounted total cost per patient, ``qalys_undisc`` the undiscounted QALYs, ...) and its
        standard error ``<measure>_se``.
    """
    items = _as_results(results)
    for r in items:
        _economics(r)
    columns = _paired_columns(items) if _is_paired(items) else {}
    rows = []
    for r in items:
        econ = _economics(r)
        name = _strategy_of(r)
        row: dict[str, Any] = {
            "strategy": name,
            "n_patients": len(r.patients),
            "currency": econ.currency,
            "price_year": econ.price_year,
        }
        for m in MEASURES:
            x = columns[name][m] if name in columns else r.patients[m].to_numpy(dtype=float)
            row[m] = float(x.mean())
            row[m + "_se"] = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def fieller_interval(d_cost: np.ndarray, d_effect: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Fieller's interval for ``mean(d_cost) / mean(d_effect)`` from paired per-patient differences.

    Parameters
    ----------
    d_cost, d_effect : array
        Per-patient differences (strategy − comparator) of discounted cost and QALYs.
    level : float
        Confidence level.

    Returns
    -------
    (float, float)
        Lower and upper limit; ``(nan, nan)`` when the set is unbounded (the effect difference does not
        differ from 0 at this level) or the differences are all 0.
    """
    dc = np.asarray(d_cost, dtype=float)
    de = np.asarray(d_effect, dtype=float)
    n = dc.size
    if n < 2:
        return (math.nan, math.nan)
    z = float(stats.norm.ppf(0.5 + level / 2))
    mc, me = float(dc.mean()), float(de.mean())
    cov = np.cov(dc, de, ddof=1) / n
    vc, ve, vce = float(cov[0, 0]), float(cov[1, 1]), float(cov[0, 1])
    a = me * me - z * z * ve
    b = mc * me - z * z * vce
    c = mc * mc - z * z * vc
    if not a > 0:
        return (math.nan, math.nan)
    # With a > 0 the point estimate mc/me satisfies the inequality, so b² − ac ≥ 0 in exact arithmetic; a
    # negative value is rounding (Δcost proportional to Δeffect for every patient): the interval is a point.
    root = math.sqrt(max(b * b - a * c, 0.0))
    return ((b - root) / a, (b + root) / a)


def bootstrap_interval(
    d_cost: np.ndarray,
    d_effect: np.ndarray,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = BOOT_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``mean(d_cost) / mean(d_effect)`` over resampled patients.

    Patients are resampled with their pair of differences (the CRN pairing is kept), ``n_boot`` times, from
    ``numpy.random.default_rng(seed)``. Returns ``(nan, nan)`` if more than ``(1 − level) / 2`` of the
    resampled effect differences have the other sign than the observed one (or are 0): the ratio is then
    unbounded.
    """
    dc = np.asarray(d_cost, dtype=float)
    de = np.asarray(d_effect, dtype=float)
    n = dc.size
    me = float(de.mean())
    if n < 2 or me == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    chunk = max(1, int(2_000_000 // n))
    ratios, effects = [], []
    done = 0
    while done < n_boot:
        k = min(chunk, n_boot - done)
        idx = rng.integers(0, n, size=(k, n))
        bc = dc[idx].mean(axis=1)
        be = de[idx].mean(axis=1)
        effects.append(be)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios.append(bc / be)
        done += k
    be = np.concatenate(effects)
    if np.mean(np.sign(be) != np.sign(me)) > (1 - level) / 2:
        return (math.nan, math.nan)
    r = np.concatenate(ratios)
    r = r[np.isfinite(r)]
    lo, hi = np.quantile(r, [(1 - level) / 2, 1 - (1 - level) / 2])
    return (float(lo), float(hi))


def _interval(dc: np.ndarray, de: np.ndarray, method: str, level: float, n_boot: int, boot_seed: int):
    if method == "fieller":
        return fieller_interval(dc, de, level)
    if method == "bootstrap":
        return bootstrap_interval(dc, de, level, n_boot, boot_seed)
    raise ValueError(f"interval must be 'fieller' or 'bootstrap', got {method!r}")


def _pick_reference(names: list[str], reference: str | None) -> int:
    if reference is None:
        return 0
    if reference not in names:
        raise ComparisonError(f"reference strategy '{reference}' is not among {names}")
    return names.index(reference)


def incremental_table(
    results: Sequence[SimulationResult],
    reference: str | None = None,
    interval: str = "fieller",
    level: float = 0.95,
    n_boot: int = 2000,
    boot_seed: int = BOOT_SEED,
) -> pd.DataFrame:
    """Each strategy minus the reference, patient by patient (common random numbers).

    Parameters
    ----------
    results : sequence of SimulationResult
        Paired results (:func:`check_paired`).
    reference : str, optional
        Comparator strategy; default the first result.
    interval, level, n_boot, boot_seed
        ICER interval (module docstring).

    Returns
    -------
    pandas.DataFrame
        One row per non-reference strategy: ``strategy``, ``reference``, for each of :data:`MEASURES`
        ``inc_<measure>`` (mean per-patient difference) and ``inc_<measure>_se`` (its standard error);
        ``icer`` (discounted cost per discounted QALY vs the reference; NaN unless both increments are
        non-zero and of the same sign), ``icer_low``/``icer_high`` (interval), ``note``
        (``"no difference"``, ``"dominant"``, ``"dominated"``, ``"less costly, less effective"``, ``""``,
        with ``"; interval unbounded"`` appended when an ICER has no finite interval).
    """
    items = _as_results(results)
    check_paired(items)
    names = [_strategy_of(r) for r in items]
    ref_name = names[_pick_reference(names, reference)]
    columns = _paired_columns(items)
    ref = columns[ref_name]
    rows = []
    for name in names:
        if name == ref_name:
            continue
        col = columns[name]
        row: dict[str, Any] = {"strategy": name, "reference": ref_name}
        for m in MEASURES:
            row[f"inc_{m}"], row[f"inc_{m}_se"] = paired_difference(col[m], ref[m])
        dc = col[COST] - ref[COST]
        de = col[EFFECT] - ref[EFFECT]
        row.update(_ratio_and_note(dc, de, interval, level, n_boot, boot_seed))
        rows.append(row)
    columns = ["strategy", "reference"]
    columns += [c for m in MEASURES for c in (f"inc_{m}", f"inc_{m}_se")]
    columns += ["icer", "icer_low", "icer_high", "note"]
    return pd.DataFrame(rows, columns=columns)


def _ratio_and_note(
    dc: np.ndarray, de: np.ndarray, interval: str, level: float, n_boot: int, boot_seed: int
) -> dict[str, Any]:
    mc, me = float(dc.mean()), float(de.mean())
    icer = low = high = math.nan
    if (not dc.any() and not de.any()) or (mc == 0 and me == 0):
        note = NOTE_NO_DIFFERENCE
    elif mc <= 0 and me >= 0 and (mc < 0 or me > 0):
        note = NOTE_DOMINANT
    elif mc >= 0 and me <= 0:
        note = NOTE_DOMINATED
    else:
        icer = mc / me
        low, high = _interval(dc, de, interval, level, n_boot, boot_seed)
        note = NOTE_SOUTH_WEST if me < 0 else ""
        if math.isnan(low):
            note = f"{note}; {NOTE_UNBOUNDED}" if note else NOTE_UNBOUNDED
    return {"icer": icer, "icer_low": low, "icer_high": high, "note": note}


def icer_table(
    results: Sequence[SimulationResult],
    interval: str = "fieller",
    level: float = 0.95,
    n_boot: int = 2000,
    boot_seed: int = BOOT_SEED,
) -> pd.DataFrame:
    """The ICER table (:func:`analysis.cea.icers`) on discounted costs and QALYs, with intervals.

    Returns
    -------
    pandas.DataFrame
        ``strategy``, ``cost_disc``, ``qalys_disc``, ``lys_disc`` (means) with their ``_se``;
        ``inc_cost_disc``, ``inc_qalys_disc``, ``icer``, ``status`` (``ND``/``ED``/``D``), ``note`` as
        :func:`analysis.cea.icers` (increments vs the previous non-dominated strategy); ``comparator``
        (that strategy), ``inc_cost_disc_se`` and ``inc_qalys_disc_se`` (paired standard errors) and
        ``icer_low``/``icer_high`` (the interval; NaN if unbounded or not applicable), ``currency`` and
        ``price_year``.
    """
    items = _as_results(results)
    check_paired(items)
    summary = strategy_summary(items)
    keep = ["strategy", COST, COST + "_se", EFFECT, EFFECT + "_se", LYS_DISC, LYS_DISC + "_se"]
    table = icers(summary[keep], cost=COST, effect=EFFECT).rename(columns=DISCOUNTED_NAMES)
    columns = _paired_columns(items)
    comparator = [""] * len(table)
    inc_cost_se = np.full(len(table), np.nan)
    inc_effect_se = np.full(len(table), np.nan)
    low = np.full(len(table), np.nan)
    high = np.full(len(table), np.nan)
    previous = None
    for k, row in enumerate(table.itertuples(index=False)):
        if row.status != "ND":
            continue
        if previous is not None:
            r, p = columns[row.strategy], columns[previous]
            dc = r[COST] - p[COST]
            de = r[EFFECT] - p[EFFECT]
            comparator[k] = previous
            inc_cost_se[k] = paired_difference(r[COST], p[COST])[1]
            inc_effect_se[k] = paired_difference(r[EFFECT], p[EFFECT])[1]
            low[k], high[k] = _interval(dc, de, interval, level, n_boot, boot_seed)
        previous = row.strategy
    econ = _economics(items[0])
    table = table.assign(
        comparator=comparator,
        **{f"inc_{COST}_se": inc_cost_se, f"inc_{EFFECT}_se": inc_effect_se},
        icer_low=low,
        icer_high=high,
        currency=econ.currency,
        price_year=econ.price_year,
    )
    return table


def nmb_table(
    results: Sequence[SimulationResult],
    wtp: float | Sequence[float] = DEFAULT_WTP,
    reference: str | None = None,
) -> pd.DataFrame:
    """Net monetary benefit ``wtp × QALYs − cost`` (discounted) per strategy and willingness to pay.

    Returns
    -------
    pandas.DataFrame
        One row per WTP × strategy: ``wtp``, ``strategy``, ``nmb`` and ``nmb_se`` (mean per patient and its
        standard error), ``inc_nmb`` and ``inc_nmb_se`` (paired, vs ``reference``; 0 for the reference),
        ``best`` (highest expected NMB at that WTP), ``reference``, ``currency``, ``price_year``.
    """
    items = _as_results(results)
    check_paired(items)
    names = [_strategy_of(r) for r in items]
    ref_name = names[_pick_reference(names, reference)]
    econ = _economics(items[0])
    wtps = np.atleast_1d(np.asarray(wtp, dtype=float))
    if wtps.ndim != 1 or wtps.size == 0 or not np.all(np.isfinite(wtps)):
        raise ValueError(f"wtp must be finite numbers, got {wtp!r}")
    columns = _paired_columns(items)

    def per_patient(name: str, w: float) -> np.ndarray:
        frame = pd.DataFrame({COST: columns[name][COST], EFFECT: columns[name][EFFECT]})
        return net_monetary_benefit(frame, float(w), cost=COST, effect=EFFECT).to_numpy()

    rows = []
    for w in wtps:
        ref_nmb = per_patient(ref_name, w)
        block = []
        for name in names:
            x = per_patient(name, w)
            se = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.nan
            inc, inc_se = paired_difference(x, ref_nmb)
            block.append(
                {
                    "wtp": float(w),
                    "strategy": name,
                    "nmb": float(x.mean()),
                    "nmb_se": se,
                    "inc_nmb": inc,
                    "inc_nmb_se": inc_se,
                }
            )
        top = max(b["nmb"] for b in block)
        for b in block:
            b["best"] = b["nmb"] == top
        rows.extend(block)
    out = pd.DataFrame(rows)
    return out.assign(reference=ref_name, currency=econ.currency, price_year=econ.price_year)


def evaluate(
    results: SimulationResult | Sequence[SimulationResult],
    reference: str | None = None,
    wtp: float | Sequence[float] = DEFAULT_WTP,
    interval: str = "fieller",
    level: float = 0.95,
    n_boot: int = 2000,
    boot_seed: int = BOOT_SEED,
) -> EconomicEvaluation:
    """Summary, incremental, ICER and NMB tables of paired strategy results.

    Parameters
    ----------
    results : SimulationResult or sequence of SimulationResult
        One per strategy, same seed, draw and cohort (``sim.run.psa.simulate_strategies`` gives them).
    reference : str, optional
        Comparator of the incremental and NMB tables (default: the first result).
    wtp : float or sequence of float
        Willingness to pay per QALY for the NMB table (the scenario's currency).
    interval : {"fieller", "bootstrap"}
        ICER interval (module docstring).
    level : float
        Confidence level of the intervals.
    n_boot, boot_seed : int
        Bootstrap resamples and seed (``interval="bootstrap"`` only).

    Returns
    -------
    EconomicEvaluation

    Raises
    ------
    ComparisonError
        If the results are not paired or not comparable (:func:`check_paired`), or ``reference`` is unknown.
    """
    items = _as_results(results)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    check_paired(items)
    names = [_strategy_of(r) for r in items]
    ref_name = names[_pick_reference(names, reference)]
    econ = _economics(items[0])
    first = items[0]
    metadata = {
        "seed": first.metadata.get("seed"),
        "draw": first.metadata.get("draw"),
        "n_patients": len(first.patients),
        "strategies": {
            _strategy_of(r): {
                "scenario": r.metadata.get("scenario_path"),
                "scenario_sha256": r.metadata.get("scenario_sha256"),
            }
            for r in items
        },
        "reference": ref_name,
        "currency": econ.currency,
        "price_year": econ.price_year,
        "discount_rate_costs": first.values.economics.discount_rate_costs,
        "discount_rate_effects": first.values.economics.discount_rate_effects,
        "discounting": "continuous, delta = ln(1 + r)",
        "horizon_years": first.values.settings.horizon_years,
        "icer_interval": {"method": interval, "level": level}
        | ({"n_boot": n_boot, "seed": boot_seed} if interval == "bootstrap" else {}),
        "versions": first.metadata.get("versions"),
    }
    return EconomicEvaluation(
        summary=strategy_summary(items),
        incremental=incremental_table(items, ref_name, interval, level, n_boot, boot_seed),
        icers=icer_table(items, interval, level, n_boot, boot_seed),
        nmb=nmb_table(items, wtp, ref_name),
        reference=ref_name,
        currency=econ.currency,
        price_year=econ.price_year,
        metadata=metadata,
    )


# --------------------------------------------------------------------------------------------- printing


def _money(x: float) -> str:
    return "-" if x != x else f"{x:,.0f}"


def _num(x: float, digits: int = 3) -> str:
    return "-" if x != x else f"{x:.{digits}f}"


def format_icer_table(evaluation: EconomicEvaluation) -> str:
    """The ICER table as fixed-width text (for the terminal), with MC standard errors and intervals."""
    t = evaluation.icers
    cur = evaluation.currency
    lines = [
        f"Costs in {cur} ({evaluation.price_year} prices), discounted; effects in discounted QALYs; "
        f"± is the Monte Carlo standard error; each increment and ICER is vs the comparator on its row (the "
        f"previous strategy on the cost-effectiveness frontier).",
        f"{'strategy':<28}{'cost_disc':>10}{'± se':>8}{'qalys_disc':>11}{'± se':>7}{'vs':>3} "
        f"{'comparator':<27}{'inc_cost_disc':>14}{'inc_qalys_disc':>15}{'ICER':>10}  "
        f"{'95% interval':<21}{'status':<7}note",
    ]
    for r in t.itertuples(index=False):
        if r.note == NOTE_NO_DIFFERENCE:
            icer = "no diff."
        elif r.icer == r.icer:
            icer = _money(r.icer)
        else:
            icer = "-"
        interval = f"{_money(r.icer_low)} to {_money(r.icer_high)}" if r.icer_low == r.icer_low else ""
        if r.status == "ND" and r.icer == r.icer and r.icer_low != r.icer_low:
            interval = "unbounded"
        lines.append(
            f"{r.strategy:<28}{_money(r.cost_disc):>10}{_money(r.cost_disc_se):>8}"
            f"{_num(r.qalys_disc):>11}{_num(r.qalys_disc_se):>7}    {r.comparator or '-':<27}"
            f"{_money(r.inc_cost_disc):>14}"
            f"{_num(r.inc_qalys_disc):>15}{icer:>10}  {interval:<21}{r.status:<7}{r.note}"
        )
    return "\n".join(lines)
