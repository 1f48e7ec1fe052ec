"""The shortcuts that make a patient cheap give exactly the results of the plain SimPy formulation.

Each shortcut (a diagnostic journey written without SimPy events, a strategy told only of the events its
rules listen to, a timeline entry reached without an event while nothing else is scheduled, the end of a
course that decides nothing done without an event, a course's generator driven without a SimPy process)
is compared here with the formulation it replaces, to the last bit, or checked for the order it must keep.
"""

from __future__ import annotations

import gc
import math
import weakref
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import simpy

import sim
import sim.run.runner as runner
from sim.errors import SimulationError
from sim.model.process import COLUMN, MILESTONES, Patient, Timeline, fresh_environment
from sim.model.timeline import DEATH, JOURNEY, PHASE, THRESHOLD
from sim.model.treatments import WEEK, PhysiotherapyTreatment

SCENARIOS = Path(sim.default_scenario_path()).parent
# Times chosen so that sums of delays round: 0.1 + (0.3 - 0.1) != 0.3 in floating point.
STEPS = [
    (0.1, "presentation", "first visit"),
    (0.3, "neurology_exam", "exam"),
    (0.3, "ncs_emg", "demyelinating"),
    (0.7000000000000001, "serology", "IgM"),
    (0.7000000000000001, "diagnosis", "anti-MAG neuropathy"),
    (2.5, "csf", "late"),
]


def _patient(t_death: float) -> Patient:
    env = simpy.Environment()
    p = Patient(env, 5, 60.0, 10.0, [math.nan] * len(MILESTONES), 0.0, 0.0625, math.inf, 1.0, [])
    p.start_disease()
    env.process(p.life(t_death, math.inf, 1.0, 0.0))
    return p


def _comparable(history: list) -> list:
    """The history with NaN values as None (NaN never equals NaN)."""
    return [(t, e, d, None if v != v else v) for t, e, d, v in history]


@pytest.mark.parametrize("t_death", [math.inf, 0.5, 2.0])
def test_a_journey_written_after_the_run_equals_the_journey_run_as_a_process(t_death: float) -> None:
    evented = _patient(t_death)
    evented.env.process(evented.diagnosis(list(STEPS)))
    evented.env.run(until=evented.end)
    written = _patient(t_death)
    written.env.run(until=written.end)
    t_end = t_death if t_death < written.horizon else written.horizon
    written.write_journey(list(STEPS), t_end)
    assert _comparable(written.history) == _comparable(evented.history)
    np.testing.assert_array_equal(written.times, evented.times)
    assert [e for _, e, *_ in written.history if e == "csf"] == ([] if t_death < 2.5 else ["csf"])


def test_a_written_journey_rejects_a_step_back_in_time() -> None:
    p = _patient(math.inf)
    p.env.run(until=p.end)
    with pytest.raises(sim.SimulationError, match="patient 5.*'serology'"):
        p.write_journey([(1.0, "presentation", ""), (0.5, "serology", "")], 10.0)


def test_silent_journeys_give_the_same_cohort_as_journeys_with_simpy_events(monkeypatch) -> None:
    scenario = sim.load_scenario(sim.default_scenario_path())
    monkeypatch.setattr(runner, "TIMELINE", False)  # the event-by-event formulation, whose shortcut this is
    fast = sim.simulate(scenario, n_patients=300, seed=4, keep_events=True)
    # Pretend a rule listens to a journey event, so that every journey runs as a SimPy process.
    monkeypatch.setattr(runner, "JOURNEY_EVENTS", frozenset({"ataxia"}))
    slow = sim.simulate(scenario, n_patients=300, seed=4, keep_events=True)
    pd.testing.assert_frame_equal(fast.patients, slow.patients, check_exact=True)
    pd.testing.assert_frame_equal(fast.events, slow.events, check_exact=True)
    assert (fast.events["event"] == "diagnosis").sum() > 100


def test_the_strategy_hears_only_the_events_its_rules_listen_to() -> None:
    scenario = sim.load_scenario(sim.default_scenario_path())
    values = scenario.values()
    catalogue = runner.build_catalogue(values.treatments, runner.TreatmentContext(1, 0), False)
    engine = runner.StrategyEngine(values.strategy, catalogue)
    triggers = {rule.on for rule in values.strategy.rules.values()}
    assert engine.listened == frozenset(triggers)  # supportive care: no rule needs the diagnosis
    assert "presentation" not in engine.listened and "diagnosis" not in engine.listened


def _walking_patient(listener) -> Patient:
    """A patient on a precomputed timeline of two entries a rule listens to, then death at t = 3."""
    env = simpy.Environment()
    p = Patient(env, 7, 60.0, math.inf, [math.nan] * len(MILESTONES), 0.1, 0.1, math.inf, 1.0, [])
    p.listened = frozenset({"sensory_hands", "ataxia"})
    p.listener = listener
    entries = [
        (0.8, "sensory_hands", "", 1, THRESHOLD, 0.18, COLUMN["t_sensory_hands"]),
        (1.8, "ataxia", "", 1, THRESHOLD, 0.28, COLUMN["t_ataxia"]),
        (3.0, "death", "background", 1, DEATH, math.nan, COLUMN["t_death"]),
    ]
    p.follow(Timeline.from_rows(entries), 0, len(entries), lambda: [])
    return p


class _CountingIds:
    """SimPy's order counter, counting the events scheduled through it."""

    def __init__(self, ids) -> None:
        self.ids = ids
        self.n = 0

    def __iter__(self):
        return self

    def __next__(self) -> int:
        self.n += 1
        return next(self.ids)


def _steps(patient: Patient) -> Callable[[], int]:
    """Count the SimPy events of ``patient``'s environment processed from now on (those pending now and
    those scheduled from now on, less those still pending when read; Patient.run steps without
    ``env.step``): returns the reader. The patient schedules through the counter it holds (``order``)."""
    env = patient.env
    pending = len(env._queue)
    ids = env._eid = patient.order = _CountingIds(env._eid)
    return lambda: pending + ids.n - len(env._queue)


def test_the_walk_reaches_an_entry_without_an_event_when_nothing_else_comes_first() -> None:
    heard = []
    p = _walking_patient(lambda patient, event, _detail: heard.append((event, patient.env.now)))
    steps = _steps(p)
    p.run()
    assert heard == [("sensory_hands", 0.8), ("ataxia", 1.8)]
    assert p.history[-1][:2] == (3.0, "death")
    assert steps() == 1  # the patient's end; the entries and death needed none


def test_the_walk_waits_for_an_entry_when_another_event_comes_before_it() -> None:
    """A rule's action scheduled between two entries happens between them (the shortcut must not jump it)."""

    def listener(patient: Patient, event: str, _detail: str) -> None:
        if event == "sensory_hands":
            patient.wait(0.5).callbacks.append(lambda _e: patient.log("course_end", "physiotherapy"))

    p = _walking_patient(listener)
    steps = _steps(p)
    p.run()
    events = [(t, e) for t, e, _, _ in p.history]
    assert events == [
        (0.0, "onset"),
        (0.8, "sensory_hands"),
        (1.3, "course_end"),
        (1.8, "ataxia"),
        (3.0, "death"),
    ]
    assert steps() == 3  # the course's timeout, the wait for the ataxia entry, the end


def _physiotherapy_ended_by_a_timeout(self, patient: Patient, course) -> None:
    """Physiotherapy as it was before its end became a quiet action: a SimPy timeout ends it."""
    p = self.p
    t0 = patient.env.now
    step = p.course_weeks * WEEK / p.sessions_per_course
    course.doses = [(t0 + i * step, 1.0) for i in range(p.sessions_per_course)]

    def completed() -> None:
        patient.log("function_improved", self.name, p.benefit_months)
        self.finish(patient, course, "completed")

    self.after(patient, p.course_weeks * WEEK, completed)


@pytest.mark.parametrize(
    "updates",
    [
        {},
        # A rule that starts physiotherapy months after its trigger asks whether a course is still running
        # at a time no event of the patient's record brought it up to date (a course started by the rule
        # for disability may have ended meanwhile).
        {"strategy.rules.physiotherapy_for_weakness.delay_months": 6.0},
        {"settings.horizon_years": 4.0},
    ],
    ids=["supportive care", "delayed physiotherapy", "horizon of 4 years"],
)
def test_a_course_ended_quietly_ends_as_one_ended_by_a_simpy_timeout(monkeypatch, updates) -> None:
    scenario = sim.load_scenario(sim.default_scenario_path()).with_updates(updates)
    quiet = sim.simulate(scenario, n_patients=1500, seed=4, keep_events=True)
    monkeypatch.setattr(PhysiotherapyTreatment, "launch", _physiotherapy_ended_by_a_timeout)
    timed = sim.simulate(scenario, n_patients=1500, seed=4, keep_events=True)
    assert (quiet.courses["treatment"] == "physiotherapy").sum() > 300
    for name in ("patients", "events", "paths", "courses"):
        pd.testing.assert_frame_equal(getattr(quiet, name), getattr(timed, name), check_exact=True)


def _quiet_patient(horizon: float = math.inf) -> Patient:
    env = simpy.Environment()
    return Patient(env, 9, 60.0, horizon, [math.nan] * len(MILESTONES), 0.1, 0.0, math.inf, 1.0, [])


def test_a_quiet_action_is_recorded_in_time_order_and_only_within_follow_up() -> None:
    p = _quiet_patient()
    done = []

    def action(t: float) -> None:
        done.append(t)
        p.log_quiet(t, "course_end", "physiotherapy: completed")

    def life():
        p.later(0.5, action)
        p.later(5.0, action)  # after death: never done
        yield p.wait(1.0)
        p.log("mrs", "", 2)
        yield p.wait(1.0)
        p.die(1, "background")

    p.env.process(life())
    p.run()
    assert done == [0.5]
    assert [(t, e) for t, e, _, _ in p.history] == [
        (0.0, "onset"),
        (0.5, "course_end"),
        (1.0, "mrs"),
        (2.0, "death"),
    ]


def test_a_quiet_action_due_before_the_horizon_is_done_when_the_run_ends() -> None:
    p = _quiet_patient(horizon=3.0)
    p.later(2.5, lambda t: p.log_quiet(t, "function_improved", "physiotherapy", 6.0))
    p.later(3.5, lambda t: p.log_quiet(t, "function_improved", "physiotherapy", 6.0))

    def life():
        yield p.wait_until(3.0)
        p.end.succeed()

    p.env.process(life())
    p.run()
    assert [(t, e) for t, e, _, _ in p.history] == [(0.0, "onset"), (2.5, "function_improved")]


def test_an_event_a_rule_listens_to_cannot_be_recorded_quietly() -> None:
    p = _quiet_patient()
    p.listened = frozenset({"course_end"})
    with pytest.raises(SimulationError, match="listens to 'course_end'"):
        p.log_quiet(1.0, "course_end", "physiotherapy: completed")


@pytest.mark.parametrize("name", ["rituximab_at_diagnosis.toml", "cyclophosphamide_rituximab.toml"])
def test_courses_driven_without_a_process_run_as_simpy_processes_do(monkeypatch, name) -> None:
    """Courses and delayed starts (Patient.drive) give exactly the record of SimPy processes."""
    scenario = sim.load_scenario(SCENARIOS / name).with_updates(
        {"strategy.rules.physiotherapy_for_weakness.delay_months": 6.0}  # a delayed start too
    )
    driven = sim.simulate(scenario, n_patients=1000, seed=8, keep_events=True)
    monkeypatch.setattr(Patient, "drive", lambda self, steps: self.env.process(steps))
    processes = sim.simulate(scenario, n_patients=1000, seed=8, keep_events=True)
    assert len(driven.courses) > 2000
    for table in ("patients", "events", "paths", "courses"):
        pd.testing.assert_frame_equal(getattr(driven, table), getattr(processes, table), check_exact=True)


@pytest.mark.parametrize("name", ["cyclophosphamide_rituximab.toml", "natural_history.toml"])
def test_a_block_of_patients_leaves_no_cyclic_garbage(name: str) -> None:
    """What a block allocates is freed by reference counting (the collector is paused while it runs, see
    sim.run.collector): no course, stream, strategy or treatment is left in a reference cycle. Only the
    reused SimPy environment refers to itself (its bound event classes): one small cycle per block."""
    scenario = sim.load_scenario(SCENARIOS / name)
    values, table = scenario.values(), runner.life_table_for(scenario)

    def simulate_block(block: int) -> None:
        history = runner.natural_histories(values, table, 7, 0, [(block, 256)])[0]
        runner.simulate_block(values, table, 7, 0, block, 256, False, history)

    simulate_block(0)  # imports and caches
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        simulate_block(1)
        unreachable = gc.collect()
    finally:
        if was_enabled:
            gc.enable()
    assert unreachable <= 16


@pytest.mark.parametrize("finishes", [True, False])
def test_a_driven_generator_is_freed_without_the_cyclic_collector(finishes: bool) -> None:
    """Patient.drive leaves no reference cycle: a course's generator, and all it holds, is freed as soon as
    its last wait is, whether it ran to its end or was still waiting when the patient's follow-up ended
    (its wait dropped with the heap by the next patient's fresh environment)."""
    p = _quiet_patient()

    def steps():
        yield p.wait(1.0)
        yield p.wait(2.0)

    generator = steps()
    freed = weakref.ref(generator)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        p.drive(generator)
        del generator
        p.env.run(until=10.0 if finishes else 2.0)
        assert (freed() is None) is finishes
        fresh_environment(p.env)
        assert freed() is None
    finally:
        if was_enabled:
            gc.enable()


def test_an_error_in_a_driven_generator_surfaces_from_the_run() -> None:
    p = _quiet_patient()

    def steps():
        yield p.wait(1.0)
        yield p.wait(-1.0)

    p.drive(steps())
    p.env.process(p.life(5.0, math.inf, 1.0, 0.0))
    with pytest.raises(SimulationError, match="patient 9: negative or NaN delay -1.0 at t=1.0"):
        p.run()


def test_a_patients_run_steps_as_simpy_does_and_raises_the_error_of_a_failed_process() -> None:
    """Patient.run writes SimPy's step out: the same events in the same order as env.run, and a process
    that raises stops the run with a copy of its error whose cause is the original, as SimPy raises it."""
    stepped, simpy_run = _patient(7.5), _patient(7.5)
    stepped.run()
    simpy_run.env.run(until=simpy_run.end)
    assert _comparable(stepped.history) == _comparable(simpy_run.history)
    assert stepped.env._now == simpy_run.env._now

    broken = _patient(math.inf)

    def course():
        yield broken.wait(1.0)
        raise ValueError("a broken course")

    broken.env.process(course())
    with pytest.raises(ValueError, match="a broken course") as info:
        broken.run()
    assert isinstance(info.value.__cause__, ValueError) and info.value.__cause__ is not info.value
    assert broken.env._now == 1.0


def test_a_timeline_keeps_its_rows_and_leaves_out_the_disease_on_request() -> None:
    rows = [
        (0.5, "sensory_hands", "", 1, THRESHOLD, 0.18, COLUMN["t_sensory_hands"]),
        (0.9, "presentation", "first visit", math.nan, JOURNEY, math.nan, -1),
        (1.2, "faster_phase", "progression accelerates", math.nan, PHASE, 0.3, -1),
        (3.0, "death", "background", 1, DEATH, math.nan, COLUMN["t_death"]),
    ]
    timeline = Timeline.from_rows(rows)
    assert repr(timeline.rows(0, 4)) == repr(rows)  # repr: NaN equal to NaN
    assert repr(timeline.rows(1, 3)) == repr(rows[1:3])
    rest = timeline.without_disease(1, 4)
    assert repr(rest.rows(0, len(rest.times))) == repr([rows[1], rows[3]])
