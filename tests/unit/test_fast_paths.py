"""The shortcuts that make a patient cheap give exactly the results of the plain SimPy formulation.

Each shortcut (a diagnostic journey written without SimPy events, a strategy told only of the events its
rules listen to) is compared here with the formulation it replaces, to the
last bit.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import simpy

import sim
import sim.run.runner as runner
from sim.model.process import MILESTONES, Patient

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
    p = Patient(env, 5, 60.0, 10.0, np.full(len(MILESTONES), np.nan), 0.0, 0.0625, math.inf, 1.0, [])
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
