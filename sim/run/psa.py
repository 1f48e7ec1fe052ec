"""Probabilistic sensitivity analysis (PSA): parameter draws, strategies run on shared patients, tidy output.

For PSA draw ``d = 1 .. n_draws`` every uncertain parameter (``dist`` other than ``fixed``) is sampled by
inversion of its scenario distribution, ``sim.scenario.parameters.sample(param, u)``, at the uniform
``u = sim.random.parameter_generator(seed, d, path).random()``: the first number of a stream keyed by the
draw and the parameter's dotted path. Hence

* a parameter shared by several strategies (e.g. everything inherited from ``natural_history.toml``) takes
  the same value in each of them in a draw (matched by path); a parameter present in only some strategies is
  still sampled from its own stream;
* a parameter's draw never depends on which other parameters exist or are uncertain;
* each strategy is run with ``simulate(..., draw=d, overrides=...)``, so all strategies of a draw share the
  same patients (common random numbers), and every draw reuses the base-case cohort of ``draw=0``
  (``shared_cohort=True``, the default, which removes first-order noise between draws) or each draw has a
  new cohort (``shared_cohort=False``).

A draw is checked against every rule of the scenario schema (field domains and cross-field rules such as
increasing thresholds or ``p_titre_low + p_titre_high <= 1``) before anything is simulated; a draw that
breaks one raises :class:`sim.ScenarioError` naming the draw, the strategy, the field and the sampled values.

Draws are independent, so they run on a process pool in any order and are put back in order: the table is
identical for any number of workers. With every distribution fixed, draw ``d`` of the PSA equals
``simulate(scenario, n_patients, seed, draw=d)`` exactly (or the base case ``draw=0`` with
``shared_cohort=True``).
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from sim.errors import ScenarioError
from sim.model.columns import COST_DISC, COST_UNDISC, LYS_DISC, LYS_UNDISC, QALYS_DISC, QALYS_UNDISC
from sim.random import parameter_uniforms_by_draw
from sim.run.checkpoint import Checkpoint, Stage
from sim.run.executors import ExecutorLike, completed_results, ordered_results
from sim.run.invariants import check_invariants as check_cohort_invariants
from sim.run.progress import progress_bar
from sim.run.runner import SimulationResult, simulate, simulate_outcomes
from sim.run.shared_history import shared_natural_history
from sim.run.subgroups import subgroup_summaries
from sim.scenario.loading import Scenario, check_scenario_data
from sim.scenario.parameters import Param, sample

__all__ = [
    "PAIRED_COLUMNS",
    "PSA_MEASURES",
    "CohortJob",
    "as_scenario_list",
    "check_overrides",
    "paired_errors",
    "parameter_uniforms",
    "psa_attrs",
    "run_cohorts",
    "run_psa",
    "run_psa_by_subgroup",
    "sample_parameters",
    "simulate_strategies",
    "summarise_arm",
]

#: Output name → column of ``result.patients`` (the same names): discounted (the headline), then undiscounted.
PSA_MEASURES: dict[str, str] = {
    name: name for name in (COST_DISC, QALYS_DISC, LYS_DISC, COST_UNDISC, QALYS_UNDISC, LYS_UNDISC)
}


class CohortJob(NamedTuple):
    """One run of every strategy on the same patients.

    ``draw`` keys the patient and treatment streams (``simulate(draw=...)``); ``overrides`` holds, per
    strategy (in the order of the scenarios), the parameter values by dotted path.
    """

    draw: int
    overrides: tuple[dict[str, float], ...]


# --------------------------------------------------------------------------------------------- inputs


def as_scenario_list(scenarios: Scenario | Sequence[Scenario]) -> list[Scenario]:
    """One scenario or several, as a list; strategy names must be distinct and scenarios need economics."""
    items = [scenarios] if isinstance(scenarios, Scenario) else list(scenarios)
    if not items:
        raise ValueError("at least one scenario is required")
    for s in items:
        if not isinstance(s, Scenario):
            raise TypeError(f"expected sim.Scenario objects, got {type(s).__name__}")
        if s.model.economics is None:
            raise ScenarioError("has no [economics] table: costs and QALYs cannot be computed", s.path)
    names = [s.strategy for s in items]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ScenarioError(
            f"strategy name(s) {dup} appear more than once; each strategy needs its own settings.strategy",
            items[0].path,
            "settings.strategy",
        )
    return items


def _check_positive_int(name: str, value: Any) -> int:
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_seed(seed: Any) -> int:
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


# --------------------------------------------------------------------------------------------- sampling


def parameter_uniforms(seed: int, draws: Sequence[int], path: str) -> np.ndarray:
    """The uniform of parameter ``path`` in each PSA draw: the first number of its keyed stream."""
    return parameter_uniforms_by_draw(seed, [int(d) for d in draws], [path])[:, 0]


def _sampled_columns(scenarios: Sequence[Scenario]) -> list[str]:
    """Uncertain parameter paths in first-appearance order (strategy order, then file order)."""
    seen: dict[str, None] = {}
    for s in scenarios:
        for path in s.uncertain_parameters():
            seen.setdefault(path, None)
    return list(seen)


def sample_parameters(
    scenarios: Scenario | Sequence[Scenario], draws: Sequence[int] | int, seed: int
) -> pd.DataFrame:
    """The PSA values of every uncertain parameter, per draw and strategy (no simulation).

    Parameters
    ----------
    scenarios : Scenario or sequence of Scenario
        The strategies; a parameter is matched across them by its dotted path.
    draws : int or sequence of int
        ``n`` for draws ``1 .. n``, or the draw indices themselves (each >= 1; 0 is the base case).
    seed : int
        Root seed (the same as the simulation's).

    Returns
    -------
    pandas.DataFrame
        Columns ``draw``, ``strategy`` and one per uncertain parameter (its dotted path), one row per draw ×
        strategy (draw-major). A parameter a strategy does not have is NaN in that strategy's rows.
    """
    items = as_scenario_list(scenarios)
    seed = _check_seed(seed)
    if np.ndim(draws) == 0:
        draw_list = list(range(1, _check_positive_int("n_draws", draws) + 1))
    else:
        draw_list = [int(d) for d in draws]
        if not draw_list or any(d < 1 for d in draw_list):
            raise ValueError(f"draws must be indices >= 1 (0 is the base case), got {draw_list[:5]}")
    columns = _sampled_columns(items)
    by_draw = parameter_uniforms_by_draw(seed, draw_list, columns)  # parameter_uniforms of every column
    uniforms = {path: by_draw[:, j] for j, path in enumerate(columns)}
    cache: dict[tuple[str, Param], np.ndarray] = {}
    per_strategy = []
    for s in items:
        values: dict[str, np.ndarray] = {}
        for path, param in s.uncertain_parameters().items():
            key = (path, param)
            if key not in cache:
                cache[key] = np.asarray(sample(param, uniforms[path]), dtype=float)
            values[path] = cache[key]
        per_strategy.append(values)
    n_d, n_s = len(draw_list), len(items)
    table: dict[str, Any] = {
        "draw": np.repeat(np.asarray(draw_list, dtype=np.int64), n_s),
        "strategy": np.tile(np.asarray([s.strategy for s in items], dtype=object), n_d),
    }
    for path in columns:
        col = np.full((n_d, n_s), np.nan)
        for j, values in enumerate(per_strategy):
            if path in values:
                col[:, j] = values[path]
        table[path] = col.ravel()
    return pd.DataFrame(table)


# --------------------------------------------------------------------------------------------- checks


def _fixed_template(scenario: Scenario) -> dict[str, Any]:
    """The scenario's data with every parameter as a fixed ``{value, source}`` table (cheap to validate)."""
    data = copy.deepcopy(scenario.data)
    for path, param in scenario.parameters().items():
        node = data
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = {"value": param.value, "source": "psa"}
    return data


#: Per scenario (by digest): its parameter paths and :func:`_fixed_template`, built once.
_TEMPLATES: dict[str, tuple[frozenset[str], dict[str, Any]]] = {}


def _with_values(template: dict[str, Any], overrides: Mapping[str, float]) -> dict[str, Any]:
    """``template`` with each dotted path of ``overrides`` set to a fixed value; ``template`` is unchanged.

    Only the tables on the paths are copied (each once), the rest is shared: a deep copy of the whole
    scenario for every draw and strategy cost more than validating it.
    """
    data = dict(template)
    copied: set[str] = set()  # the tables copied so far, by dotted path
    for path, value in overrides.items():
        tables, leaf = _path_steps(path)
        node = data
        for table, key in tables:
            if table not in copied:
                node[key] = dict(node[key])
                copied.add(table)
            node = node[key]
        node[leaf] = {"value": float(value), "source": "psa"}
    return data


@functools.lru_cache(maxsize=4096)
def _path_steps(path: str) -> tuple[tuple[tuple[str, str], ...], str]:
    """The tables on a dotted path, outermost first, each as (its own dotted path, its key in the table
    above), and the key of the value: split once per path, not for every draw (that was half the cost of
    :func:`_with_values`)."""
    parts = path.split(".")
    tables = tuple((".".join(parts[: k + 1]), part) for k, part in enumerate(parts[:-1]))
    return tables, parts[-1]


def check_overrides(scenario: Scenario, overrides: Mapping[str, float], context: str = "") -> None:
    """Raise :class:`sim.ScenarioError` if parameter values break a rule of the scenario schema.

    Every parameter in ``overrides`` is written into the scenario as a fixed value and the whole scenario is
    validated again: field domains (a probability in [0, 1], a cost >= 0, ...) and every cross-field rule
    (increasing thresholds, ``age_onset_min < age_onset_mean < age_onset_max``, ``p_titre_low +
    p_titre_high <= 1``, ``faster_phase_multiplier >= 1``, discount rates < 1, ...).

    Parameters
    ----------
    scenario : Scenario
        The scenario the values are for.
    overrides : mapping of str to float
        Values by dotted parameter path (unknown paths are an error).
    context : str
        Prefix of the message, e.g. ``"PSA draw 7"``.
    """
    if not overrides:
        return
    known = _TEMPLATES.get(scenario.sha256)
    if known is None:
        known = _TEMPLATES.setdefault(
            scenario.sha256, (frozenset(scenario.parameters()), _fixed_template(scenario))
        )
    paths, template = known
    unknown = sorted(set(overrides) - paths)
    if unknown:
        raise ScenarioError(f"{context}: unknown parameter(s) {unknown}".lstrip(": "), scenario.path)
    data = _with_values(template, overrides)
    try:
        check_scenario_data(data, scenario.path)
    except ScenarioError as exc:
        field = exc.field or ""
        involved = {
            p: v for p, v in overrides.items() if not field or p == field or p.startswith(field + ".")
        } or dict(overrides)
        shown = ", ".join(f"{p} = {v:.6g}" for p, v in list(involved.items())[:8])
        more = f" (and {len(involved) - 8} more)" if len(involved) > 8 else ""
        prefix = f"{context} of strategy '{scenario.strategy}'" if context else f"'{scenario.strategy}'"
        raise ScenarioError(
            f"{prefix}: the sampled values break a rule: {exc.reason}; sampled {shown}{more}. "
            "Narrow the distributions involved or make them consistent.",
            scenario.path,
            exc.field,
        ) from None


# --------------------------------------------------------------------------------------------- running


def summarise_arm(patients: pd.DataFrame | Mapping[str, np.ndarray]) -> dict[str, float]:
    """Cohort means and Monte Carlo standard errors of the headline measures (:data:`PSA_MEASURES`).

    ``patients``: the patients table, or its outcome columns by name (:func:`simulate_outcomes`).
    """
    n = len(patients[COST_DISC])
    row: dict[str, float] = {"n_patients": n}
    for name, column in PSA_MEASURES.items():
        x = np.asarray(patients[column], dtype=float)
        row[name] = float(x.mean())
        row[name + "_se"] = float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    return row


#: Within-draw Monte Carlo error of each strategy's increments over the first strategy (same patients):
#: standard errors of the mean incremental discounted cost and QALYs, and their covariance. What the ANOVA
#: split of first- and second-order variance (:mod:`analysis.psa_noise`) needs for any willingness to pay.
PAIRED_COLUMNS = ("inc_cost_disc_se", "inc_qalys_disc_se", "inc_cost_qalys_disc_cov")


def paired_errors(
    patients: pd.DataFrame | Mapping[str, np.ndarray], first: pd.DataFrame | Mapping[str, np.ndarray]
) -> dict[str, float]:
    """:data:`PAIRED_COLUMNS` of one strategy's patients against the first strategy's (row i: the same
    patient); 0 for the first strategy itself. Either is a patients table or its outcome columns by name."""
    d_cost = np.asarray(patients[COST_DISC], dtype=float) - np.asarray(first[COST_DISC], dtype=float)
    d_qalys = np.asarray(patients[QALYS_DISC], dtype=float) - np.asarray(first[QALYS_DISC], dtype=float)
    n = len(d_cost)
    if n < 2:
        return dict.fromkeys(PAIRED_COLUMNS, math.nan)
    cov = np.cov(d_cost, d_qalys, ddof=1) / n
    return {
        "inc_cost_disc_se": float(math.sqrt(max(cov[0, 0], 0.0))),
        "inc_qalys_disc_se": float(math.sqrt(max(cov[1, 1], 0.0))),
        "inc_cost_qalys_disc_cov": float(cov[0, 1]),
    }


def _run_job(shared: tuple, task: tuple[CohortJob, str]) -> list[dict[str, float]] | dict[str, list[dict]]:
    """A task of :func:`run_cohorts`: every strategy of one job, summarised (``label`` names the job); with
    subgroups, ``{"arms": <those rows>, "subgroups": <sim.run.subgroups.subgroup_summaries records>}``."""
    scenarios, n_patients, seed, invariants, subgroups = shared
    job, label = task
    rows = []
    first: pd.DataFrame | dict[str, np.ndarray] | None = None
    cohorts = []
    with shared_natural_history():  # the arms of a job share their patients' natural history
        for scenario, overrides in zip(scenarios, job.overrides, strict=True):
            patients: pd.DataFrame | dict[str, np.ndarray]
            if invariants or subgroups:  # these read the whole result
                result = simulate(
                    scenario,
                    n_patients=n_patients,
                    seed=seed,
                    workers=1,
                    draw=job.draw,
                    overrides=overrides or None,
                )
                if invariants:
                    check_cohort_invariants(result, label)
                patients = result.patients
            else:
                patients = simulate_outcomes(scenario, n_patients, seed, job.draw, overrides or None)
            if first is None:
                first = patients
            rows.append(summarise_arm(patients) | paired_errors(patients, first))
            if subgroups:
                cohorts.append(patients)
    if subgroups:
        return {"arms": rows, "subgroups": subgroup_summaries(cohorts, subgroups, list(PSA_MEASURES))}
    return rows


def _job_description(
    items: Sequence[Scenario], job: CohortJob, n_patients: int, subgroups: Sequence[str] = ()
) -> dict[str, Any]:
    """What a job's checkpoint record must match: strategies, cohort size, draw key and parameter values
    (and the subgroups summarised, if any)."""
    description = {
        "strategies": [s.strategy for s in items],
        "n_patients": n_patients,
        "draw": job.draw,
        "overrides": [dict(ov) for ov in job.overrides],
    }
    return description | ({"subgroups": list(subgroups)} if subgroups else {})


def run_cohorts(
    scenarios: Scenario | Sequence[Scenario],
    jobs: Sequence[CohortJob],
    n_patients: int,
    seed: int,
    workers: int = 1,
    progress: bool = False,
    unit: str = "run",
    checkpoint: Stage | None = None,
    check_invariants: bool = False,
    executor: ExecutorLike = None,
) -> pd.DataFrame:
    """Run every strategy for each job (a draw key and per-strategy overrides), on a process pool.

    The engine of :func:`run_psa` and of :mod:`analysis.dsa`. Overrides are not checked here (see
    :func:`check_overrides`). With a ``checkpoint`` stage, jobs recorded there are not run again and every
    finished job is recorded as soon as it completes (:mod:`sim.run.checkpoint`); the table is the same.
    With ``check_invariants``, every simulated cohort is checked against A1–A5
    (:func:`sim.run.invariants.check_invariants`; an :class:`~sim.run.invariants.InvariantError` names the
    job as ``"<unit> <index + 1>"``, e.g. ``draw 7``, the strategy and the patient). ``executor`` (a
    ``concurrent.futures.Executor`` or a ``dask.distributed.Client``) runs the jobs instead of ``workers``
    local processes; the table is the same.

    Returns
    -------
    pandas.DataFrame
        ``job`` (index in ``jobs``), ``draw``, ``strategy``, ``n_patients`` and, for each measure of
        :data:`PSA_MEASURES`, the cohort mean and its Monte Carlo standard error (``<measure>_se``). One row
        per job × strategy, in job then strategy order, whatever the number of workers.
    """
    return _run_cohorts(
        scenarios, jobs, n_patients, seed, workers, progress, unit, checkpoint, check_invariants, executor
    )[0]


def _run_cohorts(
    scenarios: Scenario | Sequence[Scenario],
    jobs: Sequence[CohortJob],
    n_patients: int,
    seed: int,
    workers: int = 1,
    progress: bool = False,
    unit: str = "run",
    checkpoint: Stage | None = None,
    check_invariants: bool = False,
    executor: ExecutorLike = None,
    subgroups: Sequence[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """:func:`run_cohorts`, and with ``subgroups`` also each job's summaries by subgroup level (a frame with
    ``job``, ``draw``, ``strategy`` and the columns of :func:`sim.run.subgroups.subgroup_summaries`)."""
    items = as_scenario_list(scenarios)
    n_patients = _check_positive_int("n_patients", n_patients)
    seed = _check_seed(seed)
    workers = _check_positive_int("workers", workers)
    for job in jobs:
        if len(job.overrides) != len(items):
            raise ValueError(
                f"each job needs overrides for {len(items)} strategies, got {len(job.overrides)}"
            )
    subgroups = list(subgroups)
    described = [_job_description(items, job, n_patients, subgroups) for job in jobs]
    results: list[Any] = [None] * len(jobs)
    if checkpoint is not None:
        for k, description in enumerate(described):
            results[k] = checkpoint.load(k, description)
    pending = [k for k, rows in enumerate(results) if rows is None]

    def finished(k: int, rows: Any) -> None:
        results[k] = rows
        if checkpoint is not None:
            checkpoint.save(k, described[k], rows)
        bar.update(1)

    shared = (items, n_patients, seed, check_invariants, tuple(subgroups))
    tasks = [(jobs[k], f"{unit} {k + 1}") for k in pending]
    with progress_bar(len(jobs), unit, progress, delay=1.0) as bar:
        bar.update(len(jobs) - len(pending))
        # Recorded as they finish (any order), put in job order below.
        for i, rows in completed_results(_run_job, tasks, shared, executor=executor, workers=workers):
            finished(pending[i], rows)
    records = []
    by_level = []
    names = [s.strategy for s in items]
    for k, (job, rows) in enumerate(zip(jobs, results, strict=True)):
        if subgroups:
            for record in rows["subgroups"]:
                by_level.append({"job": k, "draw": job.draw, **record, "strategy": names[record["strategy"]]})
            rows = rows["arms"]
        for scenario, row in zip(items, rows, strict=True):
            records.append({"job": k, "draw": job.draw, "strategy": scenario.strategy, **row})
    columns = ["job", "draw", "strategy", "n_patients"]
    columns += [c for name in PSA_MEASURES for c in (name, name + "_se")]
    columns += list(PAIRED_COLUMNS)
    table = pd.DataFrame.from_records(records, columns=columns)
    if not subgroups:
        return table, None
    front = ["job", "draw", "subgroup", "level", "strategy", "n_patients"]
    levels = pd.DataFrame.from_records(by_level)
    return table, levels[front + [c for c in levels.columns if c not in front]]


def run_psa(
    scenarios: Scenario | Sequence[Scenario],
    n_draws: int,
    n_patients: int,
    seed: int,
    workers: int = 1,
    progress: bool = False,
    *,
    shared_cohort: bool = True,
    checkpoint: Checkpoint | None = None,
    check_invariants: bool = False,
    executor: ExecutorLike = None,
) -> pd.DataFrame:
    """Probabilistic sensitivity analysis of one or more strategies on common random numbers.

    Parameters
    ----------
    scenarios : Scenario or sequence of Scenario
        One strategy or several (distinct ``settings.strategy``; each with ``[economics]``).
    n_draws : int
        Number of parameter draws (draw indices ``1 .. n_draws``).
    n_patients : int
        Patients per strategy and draw.
    seed : int
        Root seed of the patient and the parameter streams.
    workers : int
        Processes over draws; the table does not depend on it.
    progress : bool
        Show a progress bar (draws done).
    shared_cohort : bool
        If True (the default) every draw simulates the base-case patients (``draw=0`` streams), so that only
        the parameters vary between draws and patient-level noise cannot inflate the EVPI or blur the CEAC;
        if False each draw has its own patients (``draw=d``), and :mod:`analysis.psa_noise` separates and
        removes the first-order noise.
    checkpoint : Checkpoint, optional
        Record every finished draw there and skip the draws already recorded (``--resume``); the table is
        byte-identical to an uninterrupted run's.
    check_invariants : bool
        Check every simulated cohort of every draw against the invariants A1–A5
        (:func:`sim.run.invariants.check_invariants`, a few per cent of the run time); a broken one raises
        :class:`sim.run.invariants.InvariantError` naming the draw, the strategy and the patient.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Run the draws there instead of on ``workers`` local processes; the table is identical.

    Returns
    -------
    pandas.DataFrame
        One row per draw × strategy (draw-major, strategies in the given order): ``draw``, ``strategy``,
        ``n_patients``; ``cost_disc``, ``qalys_disc``, ``lys_disc`` (discounted cohort means, in the
        scenario's currency and price year, QALYs and life-years) and ``cost_undisc``, ``qalys_undisc``,
        ``lys_undisc`` (undiscounted), each with its Monte Carlo standard error ``<column>_se`` (between
        patients, within the draw); :data:`PAIRED_COLUMNS` (within-draw errors of the increments over the
        first strategy); then one column per sampled uncertain parameter, named by its dotted path (NaN for a
        strategy without it). Feed :func:`analysis.cea.ceac` etc. with ``cost="cost_disc",
        effect="qalys_disc"``.

    Raises
    ------
    sim.ScenarioError
        If a draw breaks a rule of a scenario (checked for all draws before any simulation), a scenario has
        no economics, or two scenarios name the same strategy.
    """
    options = {"checkpoint": checkpoint, "check_invariants": check_invariants, "executor": executor}
    return _run_psa(scenarios, n_draws, n_patients, seed, workers, progress, shared_cohort, (), **options)[0]


def run_psa_by_subgroup(
    scenarios: Scenario | Sequence[Scenario],
    n_draws: int,
    n_patients: int,
    seed: int,
    subgroups: Sequence[str],
    workers: int = 1,
    progress: bool = False,
    *,
    shared_cohort: bool = True,
    checkpoint: Checkpoint | None = None,
    check_invariants: bool = False,
    executor: ExecutorLike = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`run_psa`, and each draw's cohort summarised by subgroup level on the same simulations.

    Parameters
    ----------
    subgroups : sequence of str
        Names from :data:`sim.run.subgroups.SUBGROUPS`.
    scenarios, n_draws, n_patients, seed, workers, progress, shared_cohort, checkpoint, check_invariants
        As :func:`run_psa` (and ``executor``).

    Returns
    -------
    psa : pandas.DataFrame
        The table of :func:`run_psa` (identical).
    by_subgroup : pandas.DataFrame
        One row per draw × subgroup × level × strategy: ``draw``, ``subgroup``, ``level``, ``strategy``,
        ``n_patients`` (of the level in that draw's cohort), for each measure of :data:`PSA_MEASURES` its mean
        over the level's patients and its Monte Carlo standard error ``<measure>_se``, the paired standard
        error of its increment over the first strategy ``inc_<measure>_se`` (0 for the first strategy) and
        ``inc_cost_qalys_disc_cov``. :func:`analysis.subgroups.psa_subgroup_table` summarises it over draws.
    """
    from sim.run.subgroups import parse_subgroups

    names = parse_subgroups(",".join(subgroups))
    options = {"checkpoint": checkpoint, "check_invariants": check_invariants, "executor": executor}
    return _run_psa(scenarios, n_draws, n_patients, seed, workers, progress, shared_cohort, names, **options)


#: Draws per task when the checks of a PSA's draws run on several workers.
CHECK_CHUNK = 25


def check_draws(
    scenarios: Sequence[Scenario],
    overrides_by_draw: Sequence[Sequence[Mapping[str, float]]],
    workers: int = 1,
    executor: ExecutorLike = None,
) -> None:
    """Check the values of every draw (one mapping per strategy) with :func:`check_overrides`, before any
    draw runs; raise the error of the first draw, in draw order, that breaks a rule.

    The checks validate each strategy's whole scenario again, about 1.6 ms each: 6.4 s for 1,000 draws of
    four strategies. Where there are several workers they share them, in chunks of :data:`CHECK_CHUNK`
    draws taken in order, so the error raised is the serial one.

    Parameters
    ----------
    scenarios : sequence of Scenario
        The strategies, in the order of each draw's mappings.
    overrides_by_draw : sequence of sequences of mappings
        Per draw, per strategy: values by dotted parameter path.
    workers : int
        Processes of the pool created when ``executor`` is None (1: checked here).
    executor : None, concurrent.futures.Executor or dask.distributed.Client
        Where to check (:func:`sim.run.executors.ordered_results`).

    Raises
    ------
    ScenarioError
        For the first draw, in draw order, whose values break a rule (its message names the draw).
    """
    tasks = [
        (start, tuple(overrides_by_draw[start : start + CHECK_CHUNK]))
        for start in range(0, len(overrides_by_draw), CHECK_CHUNK)
    ]
    for _ in ordered_results(_check_chunk, tasks, tuple(scenarios), executor=executor, workers=workers):
        pass


def _check_chunk(scenarios: tuple[Scenario, ...], task: tuple[int, tuple]) -> None:
    start, chunk = task
    for i, overrides in enumerate(chunk):
        for scenario, values in zip(scenarios, overrides, strict=True):
            check_overrides(scenario, values, f"PSA draw {start + i + 1}")


def _run_psa(
    scenarios: Scenario | Sequence[Scenario],
    n_draws: int,
    n_patients: int,
    seed: int,
    workers: int,
    progress: bool,
    shared_cohort: bool,
    subgroups: Sequence[str],
    *,
    checkpoint: Checkpoint | None,
    check_invariants: bool,
    executor: ExecutorLike,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    items = as_scenario_list(scenarios)
    n_draws = _check_positive_int("n_draws", n_draws)
    n_patients = _check_positive_int("n_patients", n_patients)
    seed = _check_seed(seed)
    draws = sample_parameters(items, n_draws, seed)
    param_columns = [c for c in draws.columns if c not in ("draw", "strategy")]
    per_strategy_paths = [list(s.uncertain_parameters()) for s in items]
    values = draws[param_columns].to_numpy(dtype=float)
    n_s = len(items)
    col_index = {p: i for i, p in enumerate(param_columns)}
    overrides_by_draw = [
        tuple(
            {p: float(values[k * n_s + j][col_index[p]]) for p in paths}
            for j, paths in enumerate(per_strategy_paths)
        )
        for k in range(n_draws)
    ]
    check_draws(items, overrides_by_draw, workers, executor)
    jobs = [
        CohortJob(0 if shared_cohort else k + 1, overrides) for k, overrides in enumerate(overrides_by_draw)
    ]
    stage = checkpoint.stage("psa") if checkpoint is not None else None
    out, by_subgroup = _run_cohorts(
        items,
        jobs,
        n_patients,
        seed,
        workers,
        progress,
        unit="draw",
        checkpoint=stage,
        check_invariants=check_invariants,
        executor=executor,
        subgroups=subgroups,
    )
    out["draw"] = out["job"] + 1
    out = out.drop(columns="job")
    out = pd.concat([out, draws[param_columns].reset_index(drop=True)], axis=1)
    attrs = psa_attrs(items, n_draws, n_patients, seed, shared_cohort)
    out.attrs.update(attrs)
    if by_subgroup is not None:
        by_subgroup["draw"] = by_subgroup["job"] + 1
        by_subgroup = by_subgroup.drop(columns="job")
        by_subgroup.attrs.update(attrs)
    return out, by_subgroup


def psa_attrs(
    scenarios: Sequence[Scenario], n_draws: int, n_patients: int, seed: int, shared_cohort: bool
) -> dict[str, Any]:
    """What reproduces a PSA table: seed, sizes, strategies and their scenario hashes, currency."""
    econ = scenarios[0].model.economics
    return {
        "seed": seed,
        "n_draws": n_draws,
        "n_patients": n_patients,
        "shared_cohort": shared_cohort,
        "strategies": {s.strategy: s.sha256 for s in scenarios},
        "currency": econ.currency,
        "price_year": econ.price_year,
    }


# --------------------------------------------------------------------------------------------- base case


def _simulate_one(shared: tuple, scenario: Scenario) -> SimulationResult:
    n_patients, seed, keep_events = shared
    return simulate(scenario, n_patients=n_patients, seed=seed, workers=1, keep_events=keep_events)


def simulate_strategies(
    scenarios: Scenario | Sequence[Scenario],
    n_patients: int,
    seed: int,
    workers: int = 1,
    keep_events: bool = False,
    progress: bool = False,
    executor: ExecutorLike = None,
) -> list[SimulationResult]:
    """The base case (``draw=0``) of every strategy on the same patients, strategies run in parallel.

    Row ``i`` of every result's ``patients`` is the same patient (common random numbers). Results do not
    depend on ``workers`` or on ``executor`` (a ``concurrent.futures.Executor`` or a Dask client).
    """
    items = as_scenario_list(scenarios)
    n_patients = _check_positive_int("n_patients", n_patients)
    seed = _check_seed(seed)
    workers = _check_positive_int("workers", workers)
    out: list[SimulationResult] = []
    shared = (n_patients, seed, keep_events)
    # Strategies run here one after the other share their patients' natural history (in a pool, each
    # process computes its own).
    with progress_bar(len(items), "strategies", progress, delay=1.0) as bar, shared_natural_history():
        for result in ordered_results(_simulate_one, items, shared, executor=executor, workers=workers):
            out.append(result)
            bar.update(1)
    return out
