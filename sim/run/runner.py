"""Run cohorts: blocks of patients, each patient a SimPy process, optionally over a process pool.

Patients are simulated in fixed blocks of ``BLOCK_SIZE`` ids (the unit of the random streams). Blocks are
independent, so a process pool runs them in any order and the results are put back in block order: the
output is byte-identical for any number of workers.
"""

from __future__ import annotations

import functools
import math
import os
import platform
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from itertools import chain, pairwise
from types import SimpleNamespace
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import simpy

from sim.errors import EventBudgetExceeded, ScenarioError, SimulationError
from sim.model.block import BlockPatients, live_block
from sim.model.cohort import (
    JOURNEY_EVENTS,
    TITRE_BANDS,
    BlockTraits,
    background_death_times,
    draw_blocks,
    join_journeys,
)
from sim.model.compiled import compiled_modules
from sim.model.milestones import THRESHOLD_ORDER
from sim.model.mortality import LifeTable, load_life_table
from sim.model.outcomes import OUTCOME_COLUMNS, OutcomeAccounting
from sim.model.process import (
    DEATH_CAUSES,
    MILESTONES,
    Timeline,
)
from sim.model.strategy import StrategyEngine
from sim.model.timeline import (
    block_entries,
    disease_times,
    journey_codes,
    journey_times,
    level_matrix,
    life_times,
)
from sim.model.treatments import TreatmentContext, build_catalogue
from sim.random import BLOCK_SIZE
from sim.run.collector import collector_paused
from sim.run.executors import ExecutorLike, executor_slots, ordered_results
from sim.run.progress import progress_bar
from sim.run.shared_history import shared_natural_histories
from sim.scenario.loading import Scenario

#: Patients follow a natural history precomputed per block (sim.model.timeline); False runs the disease,
#: life and journey as SimPy processes event by event, the reference formulation the timeline reproduces.
TIMELINE = True
#: Blocks in a task at most: a task's overhead and NumPy's cost per call are paid once for all of them.
BLOCKS_PER_TASK = 8
_T = TypeVar("_T")
PATIENT_COLUMNS = (
    "strategy",
    "patient_id",
    "sex",
    "age_at_onset",
    "titre_band",
    "mprotein_g_dl",
    "fast_progressor",
)
EVENT_COLUMNS = ("strategy", "patient_id", "time", "age", "event", "detail", "value")
PATH_COLUMNS = ("strategy", "patient_id", "time", "burden", "rate_per_year")
COURSE_COLUMNS = (
    "strategy",
    "patient_id",
    "treatment",
    "type",
    "course",
    "start",
    "end",
    "outcome",
    "responder",
    "total_dose",
    "n_doses",
    "n_adverse_events",
    "adverse_events",
)


@dataclass
class BlockOutput:
    block: int
    traits: BlockTraits
    n: int
    times: np.ndarray
    death_cause: np.ndarray
    # None in a run of outcomes only (simulate_outcomes), which reads no more than ``economics``:
    counts: np.ndarray | None  # per patient: courses, adverse events, severe adverse events
    economics: np.ndarray | None  # per patient: OUTCOME_COLUMNS
    paths: tuple[np.ndarray, np.ndarray] | None  # patient ids, and (time, burden, rate) rows: result.paths
    events: list | None
    courses: list | None


@dataclass
class SimulationResult:
    """What a run returns: tidy tables and the metadata that reproduces them.

    ``patients``: one row per (strategy, patient_id) with traits and milestone times (years from onset,
    NaN if it did not happen within follow-up). ``events``: the event log when asked for (else ``None``).
    ``paths``: the burden trajectory as (time, burden, rate) at each change of rate, from which
    :func:`sim.outcome_scales` evaluates the clinical scales at any time. ``courses`` (with the event log):
    one row per treatment course, its doses, outcome and adverse events (``adverse_events`` names them in
    the order they happened, separated by ``"; "``).
    """

    patients: pd.DataFrame
    events: pd.DataFrame | None
    paths: pd.DataFrame
    metadata: dict[str, Any]
    scenario: Scenario = field(repr=False)
    values: SimpleNamespace = field(repr=False)
    courses: pd.DataFrame | None = None


def horizon_of(values: SimpleNamespace) -> float:
    h = values.settings.horizon_years
    return math.inf if h == "lifetime" else float(h)


def life_table_for(scenario: Scenario) -> LifeTable:
    """The scenario's life table (errors name the file that chose it)."""
    spec = scenario.model.settings.life_table
    named_in = scenario.origins.get("settings.life_table", scenario.path)
    return load_life_table(spec, scenario.resolve_path("settings.life_table", spec), named_in)


def simulate_block(
    values: SimpleNamespace,
    table: LifeTable,
    seed: int,
    draw: int,
    block: int,
    n: int,
    keep_events: bool,
    history: NaturalHistory,
    entry_times: np.ndarray | None = None,
    outcomes_only: bool = False,
) -> BlockOutput:
    """Simulate the first ``n`` patients of block ``block``, whose natural history is ``history``
    (:func:`natural_histories`, computed for the blocks of a task together).

    ``entry_times`` (years from onset, NaN for none; indexed by position in the block) fires the ``entry``
    trigger of the strategy, as in a trial. ``outcomes_only`` leaves out the arrays that only a full result
    reads (the counts of courses and adverse events, the burden paths): a PSA arm summarises the outcome
    columns alone, and making those arrays cost it about 2% of its time (measured).
    """
    timeline = TIMELINE
    horizon = horizon_of(values)
    traits, t_background, levels_of, entries = history
    times = np.full((n, len(MILESTONES)), np.nan)
    causes = np.zeros(n, dtype=np.int8)
    econ_values = getattr(values, "economics", None)
    accounting = OutcomeAccounting(econ_values, values.treatments) if econ_values is not None else None
    catalogue = build_catalogue(
        values.treatments, TreatmentContext(seed, draw), values.strategy.stop_on_adverse_event
    )
    engine = StrategyEngine(values.strategy, catalogue)
    patients = BlockPatients(
        traits.patient_id[:n].tolist(),
        traits.age_at_onset[:n].tolist(),
        traits.rate_per_year[:n].tolist(),
        traits.t_faster_phase[:n].tolist(),
        traits.titre_band[:n].tolist(),
        levels_of,
        entries[0] if entries is not None else None,
        entries[1] if entries is not None else [],
        traits.diagnosis_steps,
        [] if timeline else t_background[:n].tolist(),
        [] if timeline else traits.t_malignancy[:n].tolist(),
        [] if timeline else traits.excess_death_exp[:n].tolist(),
    )
    progression = values.progression
    try:
        lives = live_block(
            patients,
            n,
            horizon,
            values.thresholds,
            progression.burden_at_onset,
            progression.faster_phase_multiplier,
            progression.axonal_conversion_years,
            values.malignancy.excess_mortality_rate_per_year,
            engine,
            accounting,
            timeline,
            # A journey no rule listens to decides nothing: it is written after the run, without events.
            engine.listened.isdisjoint(JOURNEY_EVENTS),
            entry_times,
            times,
            causes,
            keep_events,
            f"(draw {draw}, seed {seed})",
        )
    except EventBudgetExceeded as exc:  # name what drove it, and what reproduces it
        drivers = budget_drivers(exc.events, values)
        raise SimulationError(
            f"{exc} (draw {draw}, seed {seed}); parameters that set these intervals: {drivers}"
        ) from None
    if not timeline:  # consumed: drop it so that memory holds outputs only (the timeline never has it)
        traits.diagnosis_steps = []
    # The block's rows as arrays: np.fromiter over the flattened rows takes half the time of np.array over
    # a list of tuples, which looks at each tuple's length and type first (the same numbers either way).
    width = len(OUTCOME_COLUMNS)
    econ = (
        np.fromiter(lives.econ_values, float, n * width).reshape(n, width) if accounting is not None else None
    )
    if outcomes_only:
        return BlockOutput(block, traits, n, times, causes, None, econ, None, lives.events, lives.courses)
    counts = _array(lives.count_rows, np.int32, n, 3)
    segments_of = lives.segments_of
    lengths = [len(s) for s in segments_of]
    paths = (
        np.repeat(traits.patient_id[:n].astype(np.int64), lengths),
        _array(chain.from_iterable(segments_of), float, sum(lengths), 3),
    )
    return BlockOutput(block, traits, n, times, causes, counts, econ, paths, lives.events, lives.courses)


def _array(rows: Iterable[tuple], dtype: Any, n_rows: int, width: int) -> np.ndarray:
    """``rows`` (``n_rows`` tuples of ``width`` numbers) as an ``(n_rows, width)`` array of ``dtype``."""
    return np.fromiter(chain.from_iterable(rows), dtype, n_rows * width).reshape(n_rows, width)


#: Parts of the scenario values that the natural history does not read (what treatments do, and names).
_NOT_NATURAL_HISTORY = frozenset({"name", "description", "treatments", "strategy", "economics"})


def _natural_history_key(
    values: SimpleNamespace, table: LifeTable, seed: int, draw: int, block: int, n: int
) -> tuple:
    """What determines a block's natural history: every value but :data:`_NOT_NATURAL_HISTORY` and the
    strategy's name (``repr`` of a float is exact), the life table, the seed, draw, block and cohort size."""
    parts = [(k, v) for k, v in vars(values).items() if k not in _NOT_NATURAL_HISTORY]
    settings = {k: v for k, v in vars(values.settings).items() if k != "strategy"}  # the arm's name
    parts = repr([(k, settings if k == "settings" else v) for k, v in parts])
    return (int(seed), int(draw), int(block), int(n), table.source, table.rates.tobytes(), parts)


#: The precomputed timeline entries of a block's patients: patient ``i`` of the block follows those from
#: ``bounds[i]`` to ``bounds[i + 1]`` of the timeline (which the blocks of a task share).
BlockTimeline = tuple[Timeline, list[int]]
#: A block's natural history: its traits, background death times, per-patient symptom levels and (with
#: the timeline) the precomputed timeline entries of its patients.
NaturalHistory = tuple[BlockTraits, np.ndarray, list[tuple[float, float, float, float]], BlockTimeline | None]


def natural_histories(
    values: SimpleNamespace, table: LifeTable, seed: int, draw: int, blocks: list[tuple[int, int]]
) -> list[NaturalHistory]:
    """The natural history of each ``(block, n)`` of ``blocks`` (the first ``n`` patients of the block).

    Computed for all of them in one NumPy pass, or read where an earlier arm of the same job computed it
    (:mod:`sim.run.shared_history`; with the timeline only: the journey lists of the event-by-event
    formulation are consumed, never shared).
    """
    horizon = horizon_of(values)
    timeline = TIMELINE

    def compute(which: list[tuple[int, int]]) -> list[NaturalHistory]:
        return _natural_histories(values, table, seed, draw, which, horizon, timeline)

    if not timeline:
        return compute(blocks)
    return shared_natural_histories(
        [functools.partial(_natural_history_key, values, table, seed, draw, b, n) for b, n in blocks],
        lambda missing: compute([blocks[i] for i in missing]),
    )


def _natural_histories(
    values: SimpleNamespace,
    table: LifeTable,
    seed: int,
    draw: int,
    blocks: list[tuple[int, int]],
    horizon: float,
    timeline: bool,
) -> list[NaturalHistory]:
    """Each block's natural history (:data:`NaturalHistory`): everything about its patients that no
    treatment changes, computed for all the blocks in one pass (each patient's numbers are those of a
    pass over their block alone: every step is elementwise)."""
    all_traits = draw_blocks(values, table, seed, draw, [b for b, _ in blocks], journey_lists=not timeline)
    whole = _background_death_times_of(all_traits, table, values.mortality.background_rate_multiplier)
    t_backgrounds = [whole[k * BLOCK_SIZE : (k + 1) * BLOCK_SIZE] for k in range(len(blocks))]
    levels_of = [
        list(
            zip(
                traits.tremor_burden[:n].tolist(),
                traits.pain_burden[:n].tolist(),
                traits.ataxia_burden[:n].tolist(),
                traits.disabled_burden[:n].tolist(),
                strict=True,
            )
        )
        for traits, (_, n) in zip(all_traits, blocks, strict=True)
    ]
    entries: list[BlockTimeline | None] = [None] * len(blocks)
    if timeline:
        try:
            entries = list(
                _timeline_entries(values, all_traits, t_backgrounds, [n for _, n in blocks], horizon)
            )
        except SimulationError as exc:  # add what reproduces it: the draw and the seed
            raise SimulationError(f"{exc} (draw {draw}, seed {seed})") from exc
    return list(zip(all_traits, t_backgrounds, levels_of, entries, strict=True))


def _background_death_times_of(blocks: list[BlockTraits], table: LifeTable, multiplier: float) -> np.ndarray:
    """:func:`background_death_times` of the patients of ``blocks`` (drawn together), in one pass: given
    the blocks' ids and the traits it reads, joined."""
    joined = SimpleNamespace(
        **{
            name: np.concatenate([getattr(t, name) for t in blocks])
            for name in ("patient_id", "male", "age_at_onset", "background_death_exp")
        }
    )
    return background_death_times(joined, table, multiplier)  # type: ignore[arg-type]


def _timeline_entries(
    values: SimpleNamespace,
    blocks: list[BlockTraits],
    t_backgrounds: list[np.ndarray],
    ns: list[int],
    horizon: float,
) -> Iterator[BlockTimeline]:
    """The precomputed natural history of the first ``n`` patients of each block (sim.model.timeline),
    in one NumPy pass over all the blocks."""
    b0 = values.progression.burden_at_onset

    def first(name: str) -> np.ndarray:  # the first n patients of every block, one after another
        return np.concatenate([getattr(t, name)[:n] for t, n in zip(blocks, ns, strict=True)])

    pids = first("patient_id")
    levels, order = level_matrix(
        values.thresholds,
        b0,
        first("tremor_burden"),
        first("pain_burden"),
        first("ataxia_burden"),
        first("disabled_burden"),
    )
    disease = disease_times(
        levels,
        order,
        b0,
        first("rate_per_year"),
        first("t_faster_phase"),
        values.progression.faster_phase_multiplier,
    )
    life = life_times(
        np.concatenate([t[:n] for t, n in zip(t_backgrounds, ns, strict=True)]),
        first("t_malignancy"),
        first("excess_death_exp"),
        values.malignancy.excess_mortality_rate_per_year,
        horizon,
        pids,
    )
    # The journey of every patient of each block, as a block alone checks it (its last patients too).
    journeys = [t.journey for t in blocks]
    assert all(j is not None for j in journeys)  # always drawn
    joined = join_journeys(journeys)  # type: ignore[arg-type]
    all_ids = np.concatenate([t.patient_id for t in blocks])
    j_times = journey_times(joined, all_ids)
    j_codes = journey_codes(joined)
    # The entries of all the blocks' patients in one pass (every step is by patient, so each patient's
    # entries are those of a pass over their block alone), shared by the blocks, each with its bounds.
    kept = np.concatenate([np.arange(k * BLOCK_SIZE, k * BLOCK_SIZE + n) for k, n in enumerate(ns)])
    columns, bounds, _ = block_entries(len(pids), disease, life, j_times[kept], j_codes[kept], horizon)
    timeline = Timeline(*columns)
    start = 0
    for n in ns:
        yield timeline, bounds[start : start + n + 1]
        start += n


#: Per treatment type, the parameters that set the time between its recurring events.
INTERVAL_PARAMETERS = {
    "rituximab": ("efficacy.months_to_response", "efficacy.response_duration_years", "flare_months"),
    "ivig": ("maintenance_interval_weeks", "max_years", "assessment_months", "benefit_weeks_after_stop"),
    "plasma_exchange": ("course_weeks", "efficacy.response_duration_years"),
    "cyclophosphamide": ("interval_weeks", "efficacy.months_to_response", "efficacy.response_duration_years"),
    "pain_drug": (),
    "physiotherapy": ("course_weeks",),
    "assistive_device": ("replacement_years",),
}


def budget_drivers(events: dict[tuple[str, str], int], values: SimpleNamespace) -> str:
    """The scenario's parameters behind a patient's most frequent events, with their values."""
    names: list[str] = []
    for _event, detail in list(events)[:4]:
        name = detail.split(":")[0]
        treatment = values.treatments.get(name)
        if treatment is None:
            continue
        for dotted in INTERVAL_PARAMETERS.get(treatment.type, ()):
            node = treatment
            for part in dotted.split("."):
                node = getattr(node, part, None)
            names.append(f"treatments.{name}.{dotted} = {node:g}" if isinstance(node, float) else dotted)
        names.extend(
            f"strategy.rules.{key}.delay_months = {rule.delay_months:g}"
            for key, rule in values.strategy.rules.items()
            if rule.give == name
        )
    unique = list(dict.fromkeys(names))
    return ", ".join(unique) if unique else "none identified (see the events above)"


def _run_blocks(shared: tuple, blocks: list[tuple[int, int]]) -> list[BlockOutput]:
    """A task of :func:`iter_blocks`: simulate a few consecutive blocks (one task amortises its overhead)."""
    values, table, seed, draw, keep_events, entry_times, outcomes_only = shared
    outputs = []
    # Paused for the whole task (see sim.run.collector): the collector then runs once over what the task
    # keeps, not after every block over the task's natural history still waiting for its blocks.
    with collector_paused():
        histories: list[NaturalHistory | None] = list(natural_histories(values, table, seed, draw, blocks))
        for k, (b, n) in enumerate(blocks):
            history, histories[k] = histories[k], None  # freed with the block's patients
            assert history is not None
            outputs.append(
                simulate_block(
                    values,
                    table,
                    seed,
                    draw,
                    b,
                    n,
                    keep_events,
                    history,
                    _entry_slice(entry_times, b, n),
                    outcomes_only,
                )
            )
    return outputs


def _entry_slice(entry_times: np.ndarray | None, block: int, n: int) -> np.ndarray | None:
    if entry_times is None:
        return None
    return entry_times[block * BLOCK_SIZE : block * BLOCK_SIZE + n]


def _block_plan(n_patients: int) -> list[tuple[int, int]]:
    n_blocks = math.ceil(n_patients / BLOCK_SIZE)
    return [(b, min(BLOCK_SIZE, n_patients - b * BLOCK_SIZE)) for b in range(n_blocks)]


def _check_run_arguments(n_patients, seed, workers) -> None:
    if not isinstance(n_patients, int | np.integer) or n_patients < 1:
        raise ValueError(f"n_patients must be a positive integer, got {n_patients!r}")
    if not isinstance(workers, int | np.integer) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


def iter_blocks(
    scenario: Scenario,
    n_patients: int = 1000,
    seed: int = 1,
    workers: int = 1,
    keep_events: bool = False,
    draw: int = 0,
    overrides: dict[str, float] | None = None,
    progress: bool = False,
    entry_times: np.ndarray | None = None,
    executor: ExecutorLike = None,
    *,
    outcomes_only: bool = False,
) -> tuple[SimpleNamespace, Iterator[BlockOutput]]:
    """The scenario values of a run and an iterator over its blocks' outputs, in block order.

    The iterator yields each block as soon as it and every earlier block are done, whatever runs them
    (``workers`` processes, or ``executor``); only a bounded number of blocks is held at any time, so a
    consumer that writes each block away (:mod:`sim.run.streaming`) runs in flat memory. Arguments as
    :func:`simulate`; bad arguments raise before anything runs. ``outcomes_only``: blocks without counts
    and burden paths (see :func:`simulate_block`).
    """
    _check_run_arguments(n_patients, seed, workers)
    values = scenario.values(overrides)
    check_sampled_values(values, scenario.path)
    table = life_table_for(scenario)
    plan = _block_plan(int(n_patients))
    if entry_times is not None:
        entry_times = np.asarray(entry_times, dtype=float)
        if entry_times.shape != (n_patients,):
            raise ValueError(
                f"entry_times must have one value per patient ({n_patients}), got {entry_times.shape}"
            )
    slots = executor_slots(executor, workers)
    # Chunks of a few blocks amortise the cost of a task; small runs keep every slot busy.
    # One worker runs them in chunks too: a chunk's natural history is one NumPy pass (natural_histories).
    if executor is None and workers == 1:
        chunk = BLOCKS_PER_TASK
    else:
        chunk = max(1, min(BLOCKS_PER_TASK, len(plan) // (slots * 4) or 1))
    tasks = [plan[i : i + chunk] for i in range(0, len(plan), chunk)]
    shared = (values, table, int(seed), draw, keep_events, entry_times, outcomes_only)

    def blocks() -> Iterator[BlockOutput]:
        with progress_bar(int(n_patients), "patients", progress) as bar:
            for result in ordered_results(_run_blocks, tasks, shared, executor=executor, workers=workers):
                for out in result:
                    yield out
                    bar.update(out.n)

    return values, blocks()


def simulate(
    scenario: Scenario,
    n_patients: int = 1000,
    seed: int = 1,
    workers: int = 1,
    keep_events: bool = False,
    draw: int = 0,
    overrides: dict[str, float] | None = None,
    progress: bool = False,
    entry_times: np.ndarray | None = None,
    executor: ExecutorLike = None,
) -> SimulationResult:
    """Simulate ``n_patients`` patients of ``scenario`` from their first symptom.

    Parameters
    ----------
    scenario : Scenario
        From :func:`sim.load_scenario`.
    n_patients : int
        Cohort size; patient ids are ``0 .. n_patients - 1``, and patient ``i`` is the same person in every
        run with the same seed (whatever the cohort size, strategy or number of workers).
    seed : int
        Root seed of every random stream (non-negative).
    workers : int
        Processes; results do not depend on it.
    keep_events : bool
        Also return the full event log (memory grows with patients × events).
    draw : int
        PSA draw index (0 = the base case); keys the patient streams.
    overrides : dict, optional
        Parameter values by dotted path (a PSA draw, a sensitivity step).
    progress : bool
        Show a progress bar with the time left, on a terminal only, once the run lasts a couple of seconds.
    entry_times : array, optional
        Per patient id, the time (years from onset) of the strategy's ``entry`` trigger; NaN for none.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Run the blocks there instead of on ``workers`` local processes (:mod:`sim.run.executors`); results
        are identical.
    """
    values, blocks = iter_blocks(
        scenario, n_patients, seed, workers, keep_events, draw, overrides, progress, entry_times, executor
    )
    outputs = list(blocks)
    meta = run_metadata(scenario, seed=int(seed), n_patients=int(n_patients), draw=draw, overrides=overrides)
    return result_from_blocks(scenario, values, outputs, meta)


def simulate_outcomes(
    scenario: Scenario,
    n_patients: int,
    seed: int,
    draw: int = 0,
    overrides: dict[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """Each patient's outcomes of a run on one worker, by ``OUTCOME_COLUMNS`` name: what a PSA arm
    summarises.

    The same numbers as ``simulate(...).patients[list(OUTCOME_COLUMNS)]``, as arrays in patient order,
    without the rest of the result (traits, milestones, burden paths, metadata) and without a data frame:
    building and reading one cost a PSA arm of 1,000 patients about 1.5 ms (of about 90 ms).
    ``scenario`` must have economics.
    """
    _, blocks = iter_blocks(scenario, n_patients, seed, 1, False, draw, overrides, outcomes_only=True)
    columns = _outcome_columns(list(blocks))
    if columns is None:
        raise ValueError(f"{scenario.path}: the scenario has no [economics] table")
    return columns


def _outcome_columns(outputs: list[BlockOutput]) -> dict[str, np.ndarray] | None:
    """The ``OUTCOME_COLUMNS`` of the blocks' patients, in block order (None without economics)."""
    if not all(o.economics is not None for o in outputs):
        return None
    econ = np.concatenate([o.economics for o in outputs])
    return {name: econ[:, j] for j, name in enumerate(OUTCOME_COLUMNS)}


def result_from_blocks(
    scenario: Scenario, values: SimpleNamespace, outputs: list[BlockOutput], metadata: dict[str, Any]
) -> SimulationResult:
    """The :class:`SimulationResult` of the blocks ``outputs`` (in block order) of a run of ``scenario``."""
    strategy = scenario.strategy
    patients = _patients_frame(strategy, outputs)
    paths = paths_frame(strategy, outputs)
    events = courses = None
    if outputs and outputs[0].events is not None:
        events = events_frame(strategy, outputs)
        courses = courses_frame(strategy, outputs)
    return SimulationResult(patients, events, paths, metadata, scenario, values, courses)


def paths_frame(strategy: str, outputs: list[BlockOutput]) -> pd.DataFrame:
    """The burden paths of ``outputs`` (``result.paths``), built from each block's arrays."""
    blocks = [_full(out.paths, out) for out in outputs]
    pids = np.concatenate([p for p, _ in blocks]) if blocks else np.zeros(0, dtype=np.int64)
    rows = np.concatenate([r for _, r in blocks]) if blocks else np.zeros((0, 3))
    columns = (_labels([strategy], np.zeros(len(pids), np.intp)), pids, rows[:, 0], rows[:, 1], rows[:, 2])
    return pd.DataFrame(dict(zip(PATH_COLUMNS, columns, strict=True)))


def _full(part: _T | None, out: BlockOutput) -> _T:
    """A part of a block's output that a run of outcomes only leaves out (``None`` there)."""
    if part is None:
        raise ValueError(f"block {out.block} was run for its outcomes only (simulate_outcomes)")
    return part


def events_frame(strategy: str, outputs: list[BlockOutput]) -> pd.DataFrame:
    """The event log of ``outputs`` (blocks run with ``keep_events``) as a tidy frame."""
    return pd.DataFrame(
        [(strategy, *row) for out in outputs for row in out.events], columns=list(EVENT_COLUMNS)
    )


def courses_frame(strategy: str, outputs: list[BlockOutput]) -> pd.DataFrame:
    """The treatment courses of ``outputs`` (blocks run with ``keep_events``) as a tidy frame."""
    return pd.DataFrame(
        [(strategy, *row) for out in outputs for row in out.courses], columns=list(COURSE_COLUMNS)
    )


def _labels(labels: Sequence[str | None], codes: np.ndarray) -> pd.Series:
    """A column of pandas' string dtype holding ``labels[code]`` for each of ``codes`` (None: missing).

    Taken from a column of the few labels: four times faster than pandas' conversion of a column of
    Python strings, with the same values and dtype."""
    return pd.Series(labels, dtype="str").take(codes).reset_index(drop=True)


def patients_frame(strategy: str, outputs: list[BlockOutput]) -> pd.DataFrame:
    """One row per patient of ``outputs`` (see :class:`SimulationResult`)."""
    return _patients_frame(strategy, outputs)


def _patients_frame(strategy: str, outputs: list[BlockOutput]) -> pd.DataFrame:
    n_total = sum(o.n for o in outputs)
    cols: dict[str, Any] = {"strategy": _labels([strategy], np.zeros(n_total, np.intp))}

    def cat(get) -> np.ndarray:
        return np.concatenate([get(o)[: o.n] for o in outputs])

    cols["patient_id"] = cat(lambda o: o.traits.patient_id).astype(np.int64)
    cols["sex"] = _labels(["female", "male"], cat(lambda o: o.traits.male).astype(np.intp))
    cols["age_at_onset"] = cat(lambda o: o.traits.age_at_onset)
    cols["titre_band"] = _labels(TITRE_BANDS, cat(lambda o: o.traits.titre_band))
    cols["mprotein_g_dl"] = cat(lambda o: o.traits.mprotein_g_dl)
    cols["fast_progressor"] = cat(lambda o: o.traits.fast_progressor)
    cols["rate_per_year"] = cat(lambda o: o.traits.rate_per_year)
    cols["tremor"] = ~np.isnan(cat(lambda o: o.traits.tremor_burden))
    cols["neuropathic_pain"] = ~np.isnan(cat(lambda o: o.traits.pain_burden))
    cols["sensory_ataxia"] = ~np.isnan(cat(lambda o: o.traits.ataxia_burden))
    times = np.concatenate([o.times for o in outputs])
    for j, name in enumerate(MILESTONES):
        cols[name] = times[:, j]
    causes = np.concatenate([o.death_cause for o in outputs])
    # One dtype whoever died (pandas' string dtype, missing for the living).
    cols["death_cause"] = _labels([None, *DEATH_CAUSES[1:]], causes.astype(np.intp))
    # Scale factors and tremor/pain onset burdens: what outcome_scales needs besides the path.
    cols["arm_factor"] = cat(lambda o: o.traits.arm_factor)
    cols["sensory_factor"] = cat(lambda o: o.traits.sensory_factor)
    cols["motor_factor"] = cat(lambda o: o.traits.motor_factor)
    cols["tremor_burden"] = cat(lambda o: o.traits.tremor_burden)
    cols["ataxia_burden"] = cat(lambda o: o.traits.ataxia_burden)
    cols["disabled_burden"] = cat(lambda o: o.traits.disabled_burden)
    counts = np.concatenate([_full(o.counts, o) for o in outputs])
    cols["n_courses"] = counts[:, 0]
    cols["n_adverse_events"] = counts[:, 1]
    cols["n_severe_adverse_events"] = counts[:, 2]
    cols.update(_outcome_columns(outputs) or {})
    return pd.DataFrame(cols)


def check_sampled_values(values: SimpleNamespace, path: str) -> None:
    """Cross-field rules that a PSA draw could break (the file itself was checked on loading)."""
    th = values.thresholds
    levels = [values.progression.burden_at_onset] + [getattr(th, n) for n in THRESHOLD_ORDER]
    if any(b <= a for a, b in pairwise(levels)):
        raise ScenarioError(
            f"sampled thresholds are not increasing: {levels}; narrow their distributions", path, "thresholds"
        )


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    def version(dist: str) -> str:
        try:
            return importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            return "not installed"

    return {  # cached: reading package metadata costs ~10 ms, too much for every trial replicate
        "antimag-sim": version("antimag-sim"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "simpy": simpy.__version__,
        "pandas": pd.__version__,
        "scipy": version("scipy"),
        "pydantic": version("pydantic"),
        # How the model ran (sim.model.compiled): the results are the same either way.
        "compiled modules": ", ".join(compiled_modules()) or "none",
    }


def run_metadata(scenario: Scenario, **extra: Any) -> dict[str, Any]:
    """Everything needed to reproduce a run: seed, scenario hash and content, origins, versions.

    Never the wall time or the number of workers, so that outputs are byte-identical across runs.
    """
    return {
        "scenario_name": scenario.name,
        "strategy": scenario.strategy,
        "scenario_path": os.path.basename(scenario.path),
        "scenario_sha256": scenario.sha256,
        **{k: v for k, v in extra.items() if v is not None},
        "block_size": BLOCK_SIZE,
        "versions": versions(),
        "scenario": scenario.data,
        "origins": {k: os.path.basename(v) for k, v in sorted(scenario.origins.items())},
    }
