"""Deterministic sensitivity analysis: one-way (tornado) and two-way, on the comparison of two strategies.

Unlike the rest of :mod:`analysis`, these functions run simulations (through :func:`sim.run.psa.run_cohorts`).
Every run uses the same seed and the base-case patient streams (``draw=0``), so each patient is the same in
every run and every arm (common random numbers): an outcome moves only because the parameter moved, and the
curves are smooth instead of noisy.

* **Range of a parameter**, one convention for every distribution: the central ``level`` (default 95%)
  interval of its PSA distribution, i.e. its 2.5th and 97.5th percentiles (for a uniform on ``[a, b]``:
  ``a + 0.025 (b − a)`` to ``b − 0.025 (b − a)``, not the whole range). Fixed parameters have no range and are
  not varied.
* **Outcome**: the incremental net monetary benefit ``INMB = wtp × ΔQALYs − Δcost`` of ``alternative`` vs
  ``reference`` (discounted; the default, well defined everywhere), or the ICER ``Δcost / ΔQALYs`` (NaN when
  ``ΔQALYs`` is 0).
* **Which parameters**: every uncertain parameter of either scenario (matched by path; a value is applied to
  each arm that has the parameter; the range is that of the reference's distribution when both have it),
  except those of treatments that neither strategy ever gives (they cannot change the comparison), unless
  ``include_unused=True``. ``parameters=[...]`` restricts to a list; ``top_k`` keeps the ``k`` widest swings
  found by a screening pass on a smaller cohort (``screen_patients``), then reruns those on the full cohort.

Cost: one-way needs ``2 × (1 + 2 × n_parameters)`` simulations (both arms, base, low and high).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sim.model.columns import COST_DISC, QALYS_DISC
from sim.run.checkpoint import Checkpoint, Stage
from sim.run.psa import CohortJob, as_scenario_list, check_overrides, run_cohorts
from sim.scenario.loading import Scenario
from sim.scenario.parameters import Param, frozen_distribution

__all__ = ["OUTCOMES", "candidate_parameters", "one_way", "parameter_range", "two_way"]

#: Outcomes of a comparison that the sensitivity analyses report.
OUTCOMES = ("inmb", "icer")
INC_COST = f"inc_{COST_DISC}"
INC_QALYS = f"inc_{QALYS_DISC}"


def parameter_range(param: Param, level: float = 0.95) -> tuple[float, float]:
    """The low and high value of a parameter for deterministic sensitivity analysis.

    The ``(1 − level) / 2`` and ``(1 + level) / 2`` quantiles of its PSA distribution, whatever the
    distribution (uniforms included, so that every parameter swings over the same probability);
    ``(value, value)`` for a fixed parameter.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    dist = frozen_distribution(param)
    if dist is None:
        return (param.value, param.value)
    lo, hi = dist.ppf([(1 - level) / 2, (1 + level) / 2])
    return (float(lo), float(hi))


def _used_treatments(scenarios: Sequence[Scenario]) -> set[str]:
    used: set[str] = set()
    for s in scenarios:
        for rule in s.model.strategy.rules.values():
            used.add(rule.give)
    return used


def candidate_parameters(scenarios: Sequence[Scenario], include_unused: bool = False) -> dict[str, Param]:
    """Uncertain parameters of the strategies by path (first scenario's definition wins).

    Parameters of a treatment that no strategy gives are left out unless ``include_unused``.
    """
    used = _used_treatments(scenarios)
    out: dict[str, Param] = {}
    for s in scenarios:
        for path, p in s.uncertain_parameters().items():
            parts = path.split(".")
            if not include_unused and parts[0] == "treatments" and parts[1] not in used:
                continue
            out.setdefault(path, p)
    return out


def _pair(reference: Scenario, alternative: Scenario) -> list[Scenario]:
    items = as_scenario_list([reference, alternative])
    return items


def _overrides_for(items: Sequence[Scenario], values: dict[str, float]) -> tuple[dict[str, float], ...]:
    out = []
    for s in items:
        params = s.parameters()
        out.append({p: v for p, v in values.items() if p in params})
    return tuple(out)


def _outcomes(runs: pd.DataFrame, n_jobs: int, wtp: float) -> pd.DataFrame:
    """Per job: incremental cost and QALYs (alternative − reference, discounted), INMB and ICER."""
    cost = runs[COST_DISC].to_numpy().reshape(n_jobs, 2)
    qalys = runs[QALYS_DISC].to_numpy().reshape(n_jobs, 2)
    d_cost = cost[:, 1] - cost[:, 0]
    d_qalys = qalys[:, 1] - qalys[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        icer = np.where(d_qalys != 0, d_cost / np.where(d_qalys != 0, d_qalys, 1.0), np.nan)
    return pd.DataFrame({INC_COST: d_cost, INC_QALYS: d_qalys, "inmb": wtp * d_qalys - d_cost, "icer": icer})


def _check_outcome(outcome: str) -> None:
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")


def _one_way_runs(
    items: list[Scenario],
    params: dict[str, Param],
    n_patients: int,
    seed: int,
    wtp: float,
    level: float,
    workers: int,
    progress: bool,
    checkpoint: Stage | None = None,
    executor: Any = None,
) -> tuple[pd.DataFrame, pd.Series]:
    ranges = {path: parameter_range(p, level) for path, p in params.items()}
    jobs = [CohortJob(0, _overrides_for(items, {}))]
    for path, (lo, hi) in ranges.items():
        for value in (lo, hi):
            overrides = _overrides_for(items, {path: value})
            for s, ov in zip(items, overrides, strict=True):
                check_overrides(s, ov, f"one-way analysis, {path} = {value:.6g}")
            jobs.append(CohortJob(0, overrides))
    runs = run_cohorts(
        items, jobs, n_patients, seed, workers, progress, unit="run", checkpoint=checkpoint, executor=executor
    )
    out = _outcomes(runs, len(jobs), wtp)
    base = out.iloc[0]
    rows = []
    for k, (path, (lo, hi)) in enumerate(ranges.items()):
        low, high = out.iloc[1 + 2 * k], out.iloc[2 + 2 * k]
        p = params[path]
        rows.append(
            {
                "parameter": path,
                "dist": p.dist,
                "source": p.source,
                "base_value": p.value,
                "low_value": lo,
                "high_value": hi,
                f"{INC_COST}_low": low[INC_COST],
                f"{INC_COST}_high": high[INC_COST],
                f"{INC_QALYS}_low": low[INC_QALYS],
                f"{INC_QALYS}_high": high[INC_QALYS],
                "inmb_low": low["inmb"],
                "inmb_high": high["inmb"],
                "icer_low": low["icer"],
                "icer_high": high["icer"],
            }
        )
    return pd.DataFrame(rows), base


def one_way(
    reference: Scenario,
    alternative: Scenario,
    n_patients: int,
    seed: int,
    wtp: float = 30000.0,
    outcome: str = "inmb",
    parameters: Sequence[str] | None = None,
    top_k: int | None = None,
    screen_patients: int | None = None,
    level: float = 0.95,
    include_unused: bool = False,
    workers: int = 1,
    progress: bool = False,
    checkpoint: Checkpoint | None = None,
    executor: Any = None,
) -> pd.DataFrame:
    """One-way sensitivity analysis of ``alternative`` vs ``reference``: tidy tornado data.

    Parameters
    ----------
    reference, alternative : Scenario
        The comparator and the strategy evaluated (distinct strategy names, both with ``[economics]``).
    n_patients, seed : int
        Cohort size and root seed of every run (the same patients in every run).
    wtp : float
        Willingness to pay per QALY for the INMB.
    outcome : {"inmb", "icer"}
        What ``base``/``outcome_low``/``outcome_high`` report (both are kept in ``inmb_*``/``icer_*``).
    parameters : sequence of str, optional
        Only these dotted paths (each must be an uncertain parameter of one of the scenarios).
    top_k : int, optional
        Keep the ``top_k`` parameters with the widest swing, found on ``screen_patients`` patients
        (default ``max(100, n_patients // 5)``) and rerun on ``n_patients``.
    level : float
        Central probability of the range (0.95: 2.5th to 97.5th percentile).
    include_unused : bool
        Also vary the parameters of treatments that neither strategy gives.
    workers : int
        Processes; results do not depend on it.
    progress : bool
        Progress bar.
    checkpoint : sim.run.checkpoint.Checkpoint, optional
        Record every finished run (stages ``dsa-screen`` and ``dsa``) and skip those already recorded
        (``--resume``); the table is the same.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Run the cohorts there instead of on ``workers`` local processes; results are identical.

    Returns
    -------
    pandas.DataFrame
        One row per parameter, widest swing first: ``parameter``, ``label`` (in words, with its unit and
        the schema's description), ``unit``, ``range`` (low – high in natural units), ``dist``, ``source``,
        ``base_value``,
        ``low_value``, ``high_value``, ``outcome`` (e.g. ``"inmb"``), ``base`` (outcome at the point values),
        ``outcome_low``, ``outcome_high``, ``swing`` (``|high − low|``); and the components
        ``inc_cost_disc_low/high``, ``inc_qalys_disc_low/high``, ``inmb_low/high``, ``icer_low/high``, plus
        ``strategy``, ``reference`` and ``wtp``. Costs are discounted, in the scenarios' currency.
    """
    _check_outcome(outcome)
    items = _pair(reference, alternative)
    params = candidate_parameters(items, include_unused)
    if parameters is not None:
        every = {p: q for s in items for p, q in s.uncertain_parameters().items()}
        unknown = [p for p in parameters if p not in every]
        if unknown:
            raise ValueError(f"not uncertain parameters of these scenarios: {unknown}")
        params = {p: params.get(p, every[p]) for p in parameters}
    if top_k is not None:
        if not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be a positive integer, got {top_k!r}")
        screen = screen_patients or max(100, n_patients // 5)
        if top_k < len(params):
            stage = checkpoint.stage("dsa-screen") if checkpoint is not None else None
            table, _ = _one_way_runs(
                items, params, screen, seed, wtp, level, workers, progress, stage, executor
            )
            swing = (table[f"{outcome}_high"] - table[f"{outcome}_low"]).abs().fillna(np.inf)
            keep = table.assign(_s=swing).sort_values("_s", ascending=False, kind="stable")["parameter"]
            params = {p: params[p] for p in keep.head(top_k)}
    stage = checkpoint.stage("dsa") if checkpoint is not None else None
    table, base = _one_way_runs(
        items, params, n_patients, seed, wtp, level, workers, progress, stage, executor
    )
    table = table.assign(
        outcome=outcome,
        base=float(base[outcome]),
        outcome_low=table[f"{outcome}_low"],
        outcome_high=table[f"{outcome}_high"],
    )
    table["swing"] = (table["outcome_high"] - table["outcome_low"]).abs()
    table = table.assign(strategy=alternative.strategy, reference=reference.strategy, wtp=float(wtp))
    table = _with_labels(table, items)
    table = table.sort_values("swing", ascending=False, kind="stable", na_position="first")
    front = ["parameter", "label", "unit", "range", "dist", "source", "base_value", "low_value", "high_value"]
    front += ["outcome", "base"]
    front += ["outcome_low", "outcome_high", "swing"]
    return table[front + [c for c in table.columns if c not in front]].reset_index(drop=True)


def _with_labels(table: pd.DataFrame, items: Sequence[Scenario]) -> pd.DataFrame:
    """Add ``label`` (the parameter in words, from the schema), ``unit`` and ``range`` (low – high in natural
    units, e.g. ``GBP 8,174 – GBP 65,755`` or ``9.1% – 28.6%``)."""
    from analysis.parameter_labels import format_value, parameter_label, unit_of

    currency = items[0].model.economics.currency
    model_of = {p: s.model for s in reversed(items) for p in s.parameters()}
    labels, units, ranges = [], [], []
    for path, lo, hi in zip(table["parameter"], table["low_value"], table["high_value"], strict=True):
        unit = unit_of(path)
        labels.append(parameter_label(model_of.get(path, items[0].model), path, currency))
        units.append(currency if unit == "money" else unit)
        ranges.append(f"{format_value(lo, unit, currency)} – {format_value(hi, unit, currency)}")
    return table.assign(label=labels, unit=units, range=ranges)


def two_way(
    reference: Scenario,
    alternative: Scenario,
    x: str,
    y: str,
    n_patients: int,
    seed: int,
    n_points: int = 5,
    wtp: float = 30000.0,
    outcome: str = "inmb",
    level: float = 0.95,
    workers: int = 1,
    progress: bool = False,
    checkpoint: Checkpoint | None = None,
    executor: Any = None,
) -> pd.DataFrame:
    """Two-way sensitivity analysis of a pair of parameters on an ``n_points × n_points`` grid.

    Each parameter runs over ``n_points`` equally spaced values across its range
    (:func:`parameter_range`). The same seed and patients in every run. With a ``checkpoint``, every
    finished grid point is recorded (stage ``two-way``) and recorded ones are not run again.

    Returns
    -------
    pandas.DataFrame
        One row per grid point: ``x_parameter``, ``x_value``, ``y_parameter``, ``y_value``, ``outcome``,
        ``value`` (the outcome there), ``inc_cost_disc``, ``inc_qalys_disc``, ``inmb``, ``icer``,
        ``strategy``, ``reference``, ``wtp``.
    """
    _check_outcome(outcome)
    if not isinstance(n_points, int) or n_points < 2:
        raise ValueError(f"n_points must be an integer >= 2, got {n_points!r}")
    items = _pair(reference, alternative)
    every: dict[str, Param] = {}
    for s in items:
        for p, q in s.uncertain_parameters().items():
            every.setdefault(p, q)
    for name in (x, y):
        if name not in every:
            raise ValueError(f"'{name}' is not an uncertain parameter of these scenarios")
    if x == y:
        raise ValueError("two-way analysis needs two different parameters")
    xs = np.linspace(*parameter_range(every[x], level), n_points)
    ys = np.linspace(*parameter_range(every[y], level), n_points)
    points: list[tuple[float, float]] = [(float(a), float(b)) for b in ys for a in xs]
    jobs = []
    for a, b in points:
        overrides = _overrides_for(items, {x: a, y: b})
        for s, ov in zip(items, overrides, strict=True):
            check_overrides(s, ov, f"two-way analysis, {x} = {a:.6g}, {y} = {b:.6g}")
        jobs.append(CohortJob(0, overrides))
    stage = checkpoint.stage("two-way") if checkpoint is not None else None
    runs = run_cohorts(
        items, jobs, n_patients, seed, workers, progress, unit="run", checkpoint=stage, executor=executor
    )
    out = _outcomes(runs, len(jobs), wtp)
    frame: dict[str, Any] = {
        "x_parameter": x,
        "x_value": [a for a, _ in points],
        "y_parameter": y,
        "y_value": [b for _, b in points],
        "outcome": outcome,
        "value": out[outcome].to_numpy(),
    }
    result = pd.DataFrame(frame)
    result = pd.concat([result, out.reset_index(drop=True)], axis=1)
    return result.assign(strategy=alternative.strategy, reference=reference.strategy, wtp=float(wtp))
