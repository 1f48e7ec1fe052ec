"""The lives of one block of patients, one after another: the per-patient loop of every run.

:func:`sim.run.runner.natural_histories` draws the natural history of a task's blocks in NumPy and
:func:`sim.run.runner.simulate_block` unpacks the scenario; :func:`live_block` then lives each patient
(their SimPy environment, strategy, courses and accounting) and gathers what the block keeps of them. It
is a module of the model so that the build compiles it with the rest of the hot path
(``sim.model.compiled``): a loop over hundreds of thousands of patients pays the interpreter's price for
every one of them otherwise.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from sim.errors import EventBudgetExceeded, SimulationError
from sim.model.outcomes import OutcomeAccounting
from sim.model.process import (
    COLUMN,
    MILESTONES,
    NAN,
    Patient,
    ScenarioThresholds,
    Timeline,
    fresh_environment,
    patient_thresholds,
    scenario_thresholds,
)
from sim.model.strategy import StrategyEngine

DEATH_COLUMN = COLUMN["t_death"]


@dataclass
class BlockPatients:
    """What :func:`live_block` needs of the block's patients, as lists (indexed by position in the block)."""

    pids: list[int]
    ages: list[float]
    rates: list[float]
    t_faster: list[float]
    titre_bands: list[int]
    #: Per patient: tremor, pain, ataxia and disability levels (:func:`sim.model.process.threshold_list`).
    levels: list[tuple[float, float, float, float]]
    #: With the timeline: the precomputed entries of the patients (:func:`sim.model.timeline.block_entries`),
    #: patient ``i`` those from ``bounds[i]`` to ``bounds[i + 1]``.
    entries: Timeline | None
    bounds: list[int]
    #: Without it: each patient's diagnostic journey, background death, transformation and excess-death
    #: exponential (the event-by-event formulation).
    journeys: list
    t_background: list[float]
    t_malignancy: list[float]
    excess_death_exp: list[float]


@dataclass
class BlockLives:
    """What a block keeps of its patients' lives (``times`` and ``causes`` are filled in place)."""

    count_rows: list[tuple[int, int, int]]  # per patient: courses, adverse events, severe ones
    segments_of: list[list[tuple[float, float, float]]]  # per patient: their burden path
    # The patients' OUTCOME_COLUMNS, one patient after another (empty without economics): one flat list of
    # floats, which NumPy reads in half the time of a list of rows (measured).
    econ_values: list[float]
    events: list | None  # (patient_id, time, age, event, detail, value) rows, if kept
    courses: list | None  # one row per course (runner.COURSE_COLUMNS without the strategy), if kept


def live_block(
    patients: BlockPatients,
    n: int,
    horizon: float,
    thresholds: Any,
    b0: float,
    faster_multiplier: float,
    axonal_years: float,
    excess_rate: float,
    engine: StrategyEngine,
    accounting: OutcomeAccounting | None,
    timeline: bool,
    silent_journeys: bool,
    entry_times: np.ndarray | None,
    times: np.ndarray,
    causes: np.ndarray,
    keep_events: bool,
    where: str,
) -> BlockLives:
    """Live the first ``n`` patients of a block in order; ``times`` and ``causes`` receive their milestone
    times and causes of death once all of them have lived (each patient fills a list of their own: an item
    stored into a NumPy array from compiled code costs a Python call).

    ``where`` (``"(draw D, seed S)"``) is added to the message of an error, with the patient who raised it:
    what reproduces it. An :class:`~sim.errors.EventBudgetExceeded` propagates as it is, for the caller to
    name the parameters behind it.
    """
    count_rows: list[tuple[int, int, int]] = []
    segments_of: list[list[tuple[float, float, float]]] = []
    econ_values: list[float] = []
    events: list | None = [] if keep_events else None
    courses: list | None = [] if keep_events else None
    entries = patients.entries
    bounds = patients.bounds
    env: simpy.Environment | None = None
    n_columns = len(MILESTONES)
    all_times: list[float] = []  # the patients' rows of ``times``, one after another
    all_causes: list[int] = []
    base = scenario_thresholds(thresholds)
    for i in range(n):
        pid = patients.pids[i]
        env = fresh_environment(env)
        levels = patients.levels[i]
        patient_times = [NAN] * n_columns
        patient = Patient(
            env,
            pid,
            patients.ages[i],
            horizon,
            patient_times,
            b0,
            patients.rates[i],
            patients.t_faster[i],
            faster_multiplier,
            [] if timeline else patient_thresholds(base, b0, *levels),
            axonal_years,
        )
        engine.attach(patient, patients.titre_bands[i])
        enters = entry_times is not None and entry_times[i] == entry_times[i]
        try:
            if timeline:
                assert entries is not None
                if enters:  # scheduled first: the walk starts at once and may already move the clock
                    env.process(_entry(patient, float(entry_times[i])))  # type: ignore[index]
                patient.follow(entries, bounds[i], bounds[i + 1], _Thresholds(base, b0, levels))
            else:
                patient.start_disease()
                if not silent_journeys:
                    env.process(patient.diagnosis(patients.journeys[i]))
                env.process(
                    patient.life(
                        patients.t_background[i],
                        patients.t_malignancy[i],
                        patients.excess_death_exp[i],
                        excess_rate,
                    )
                )
                if enters:
                    env.process(_entry(patient, float(entry_times[i])))  # type: ignore[index]
            patient.run()
            t_end = float(patient_times[DEATH_COLUMN]) if not patient.alive else horizon
            if silent_journeys and not timeline:
                patient.write_journey(patients.journeys[i], t_end)
        except EventBudgetExceeded:
            raise
        except SimulationError as exc:  # add what reproduces it: the draw and the seed
            raise SimulationError(f"{exc} {where}") from exc
        except Exception as exc:  # surface the patient, draw and seed; never drop a patient silently
            raise SimulationError(f"patient {pid} {where} failed: {exc!r}") from exc
        all_times.extend(patient_times)
        all_causes.append(patient.death_cause)
        segments_of.append(patient.segments)
        patient_courses: Sequence = patient.state.get("courses", ())
        aes: Sequence = patient.state.get("ae_details", ())
        count_rows.append(
            (len(patient_courses), len(aes), sum(1 for a in aes if a[3]))
            if aes
            else (len(patient_courses), 0, 0)
        )
        if accounting is not None:
            econ_values.extend(accounting.patient(patient.history, patient_courses, t_end))
        if events is not None and courses is not None:
            age0 = patient.age0
            events.extend((pid, t, age0 + t, e, d, v) for t, e, d, v in patient.history)
            courses.extend(
                (
                    pid,
                    c.treatment,
                    c.kind,
                    c.number,
                    c.start,
                    c.end,
                    c.outcome,
                    c.responder,
                    c.total_dose,
                    len(c.doses),
                    len(c.adverse_events),
                    "; ".join(what for _, what, _ in c.adverse_events),
                )
                for c in patient_courses
            )
    if n:  # np.fromiter reads a list of floats in half the time np.array takes (the same numbers)
        times[:n] = np.fromiter(all_times, np.float64, n * n_columns).reshape(n, n_columns)
        causes[:n] = all_causes
    if env is not None:  # the last patient's pending events refer to them and them to the environment: a
        fresh_environment(env)  # cycle that would keep the block's strategy and treatments for the collector
    return BlockLives(count_rows, segments_of, econ_values, events, courses)


class _Thresholds:
    """The patient's thresholds, built only if a treatment ends their timeline's disease part (when
    called). A class of the compiled model: a ``functools.partial`` of ``threshold_list`` made for every
    patient cost about 2,300 instructions, most of them in unpacking its arguments."""

    def __init__(
        self, base: ScenarioThresholds, b0: float, levels: tuple[float, float, float, float]
    ) -> None:
        self.base = base
        self.b0 = b0
        self.levels = levels

    def __call__(self) -> list[tuple[float, str, int]]:
        tremor, pain, ataxia, disabled = self.levels
        return patient_thresholds(self.base, self.b0, tremor, pain, ataxia, disabled)


def _entry(patient: Patient, t: float) -> Generator[Any, None, None]:  # yields a Wait, as SimPy takes
    """Trial entry at time ``t``: the ``entry`` trigger of the strategy."""
    yield patient.wait_until(t)
    patient.log("entry", "enters the trial")
