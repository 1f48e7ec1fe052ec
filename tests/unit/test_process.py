"""The SimPy processes of one patient, on constructed cases with known answers.

Rates and thresholds are exact binary fractions (0.0625 per year, burden 0.625) so that crossing times
such as 10.0 are exact in floating point and the horizon rule can be tested at the boundary itself.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import simpy

import sim
from sim.model.process import COLUMN, MILESTONES, Patient, threshold_list

INF = math.inf


def make_patient(
    horizon: float = 10.0,
    rate: float = 0.0625,
    b0: float = 0.0,
    thresholds: list | None = None,
    t_faster: float = INF,
    faster: float = 1.0,
    pid: int = 42,
) -> Patient:
    env = simpy.Environment()
    times = [math.nan] * len(MILESTONES)
    if thresholds is None:
        thresholds = [(0.625, "disabled", COLUMN["t_disabled"])]
    return Patient(
        env=env,
        pid=pid,
        age0=60.0,
        horizon=horizon,
        times=times,
        b0=b0,
        base_rate=rate,
        t_faster=t_faster,
        faster_multiplier=faster,
        thresholds=thresholds,
    )


def run(
    p: Patient,
    steps: tuple = (),
    t_background: float = INF,
    t_malignancy: float = INF,
    excess_exp: float = 1.0,
    excess_rate: float = 0.0,
) -> Patient:
    p.start_disease()
    p.env.process(p.diagnosis(list(steps)))
    p.env.process(p.life(t_background, t_malignancy, excess_exp, excess_rate))
    p.env.run(until=p.end)
    return p


def t(p: Patient, column: str) -> float:
    return float(p.times[COLUMN[column]])


def logged(p: Patient) -> list[tuple[float, str]]:
    return [(time, event) for time, event, *_ in p.history]


# --------------------------------------------------------------------------- disease


def test_threshold_is_crossed_when_the_linear_burden_reaches_it() -> None:
    """With burden 0 rising 0.0625 a year, burden 0.625 is reached at exactly 10 years."""
    p = run(make_patient(horizon=20.0), t_background=15.0)
    assert t(p, "t_disabled") == 10.0


def test_thresholds_are_crossed_in_order_at_the_computed_times() -> None:
    """Each milestone is recorded once, in burden order, at (level − b0) / rate."""
    th = [
        (0.125, "sensory_hands", COLUMN["t_sensory_hands"]),
        (0.25, "ataxia", COLUMN["t_ataxia"]),
        (0.5, "weakness", COLUMN["t_weakness"]),
    ]
    p = run(make_patient(horizon=20.0, thresholds=th), t_background=19.0)
    assert [t(p, c) for c in ("t_sensory_hands", "t_ataxia", "t_weakness")] == [2.0, 4.0, 8.0]
    events = [e for _, e in logged(p)]
    assert events.index("sensory_hands") < events.index("ataxia") < events.index("weakness")


def test_faster_phase_multiplies_the_rate_from_its_start() -> None:
    """A faster phase from 2 y doubles the rate: burden 0.375 is reached at 2 + 0.25/0.125 = 4 y."""
    th = [(0.375, "weakness", COLUMN["t_weakness"])]
    p = run(make_patient(horizon=20.0, thresholds=th, t_faster=2.0, faster=2.0), t_background=19.0)
    assert t(p, "t_faster_phase") == 2.0
    assert t(p, "t_weakness") == 4.0
    assert p.segments[-1] == (2.0, 0.125, 0.125)


def test_zero_rate_means_no_progression() -> None:
    """A patient whose burden does not rise reaches no milestone."""
    p = run(make_patient(rate=0.0, horizon=30.0), t_background=25.0)
    assert math.isnan(t(p, "t_disabled"))
    assert t(p, "t_death") == 25.0


def test_threshold_list_sorts_by_burden_and_keeps_clinical_order_on_ties() -> None:
    """Tremor at the same burden as a threshold comes after it; tremor below onset starts at onset."""
    th = sim.load_scenario(sim.default_scenario_path()).values().thresholds
    items = threshold_list(th, 0.1, th.ataxia, np.nan)
    names = [name for _, name, _ in items]
    assert names.index("tremor") == names.index("ataxia") + 1
    assert [level for level, _, _ in items] == sorted(level for level, _, _ in items)
    early = threshold_list(th, 0.1, 0.05, 0.3)
    assert early[0][:2] == (0.1, "tremor")
    assert "neuropathic_pain" in [name for _, name, _ in early]


# --------------------------------------------------------------------------- life and death


def test_reversible_burden_asked_again_at_the_same_time_follows_every_change_of_the_path() -> None:
    """The reversible damage is kept from the last call only while the time and the path are the same: a
    reversal or a change of rate at that same time gives the value computed from scratch."""
    p = make_patient(rate=0.1, thresholds=[])
    p.axonal_years = 2.0
    p.start_disease()
    p.env.run(until=3.0)

    def from_scratch() -> float:
        p.reversible_at = None
        return p.reversible_burden()

    first = p.reversible_burden()
    assert p.reversible_burden() == first == from_scratch()
    amount = p.reverse(0.5)
    assert 0.0 < amount < first
    after_reversal = p.reversible_burden()
    assert after_reversal == from_scratch()
    assert after_reversal == pytest.approx(first - amount)
    p.apply_effect("halt", 0.0)  # a new segment of the path, at the same time
    assert p.reversible_burden() == from_scratch()
    p.env.run(until=4.0)
    later = p.reversible_burden()
    assert later == from_scratch()
    assert later < after_reversal  # a year on, with the disease halted, more of it has become axonal


def test_death_ends_the_patient_and_nothing_follows() -> None:
    """A patient who dies at 5 years has no milestone after 5, and the last logged event is death."""
    p = run(make_patient(horizon=20.0), steps=((7.0, "diagnosis", "late"),), t_background=5.0)
    assert t(p, "t_death") == 5.0
    assert math.isnan(t(p, "t_disabled")) and math.isnan(t(p, "t_diagnosis"))
    assert logged(p)[-1] == (5.0, "death")
    assert not p.alive and p.death_cause == 1


def test_malignancy_then_excess_death() -> None:
    """Transformation at 2 y with excess rate 0.5 and draw 1 means death from the malignancy at 4 y."""
    p = run(make_patient(horizon=20.0), t_background=10.0, t_malignancy=2.0, excess_exp=1.0, excess_rate=0.5)
    assert (t(p, "t_malignancy"), t(p, "t_death")) == (2.0, 4.0)
    assert p.death_cause == 2


def test_background_death_before_excess_death_wins() -> None:
    """When background death comes first, the cause is background."""
    p = run(make_patient(horizon=20.0), t_background=3.0, t_malignancy=2.0, excess_exp=1.0, excess_rate=0.5)
    assert t(p, "t_death") == 3.0 and p.death_cause == 1


def test_events_are_logged_in_time_order() -> None:
    """The history of a patient with disease, diagnosis and death events is sorted by time."""
    th = [(0.125, "sensory_hands", COLUMN["t_sensory_hands"]), (0.5, "weakness", COLUMN["t_weakness"])]
    steps = ((1.0, "presentation", ""), (1.5, "neurology_exam", ""), (3.0, "diagnosis", ""))
    p = run(make_patient(horizon=20.0, thresholds=th), steps=steps, t_background=12.0, t_malignancy=6.0)
    times = [time for time, _ in logged(p)]
    assert times == sorted(times)
    assert [e for _, e in logged(p)] == [
        "onset",
        "presentation",
        "neurology_exam",
        "sensory_hands",
        "diagnosis",
        "malignancy",
        "weakness",
        "death",
    ]


# --------------------------------------------------------------------------- the horizon rule (B17)


def test_milestone_exactly_at_the_horizon_is_not_recorded() -> None:
    """Follow-up is [0, horizon): a threshold crossed at exactly the horizon is not recorded."""
    p = run(make_patient(horizon=10.0))
    assert math.isnan(t(p, "t_disabled"))
    assert "disabled" not in [e for _, e in logged(p)]


def test_milestone_just_before_the_horizon_is_recorded() -> None:
    """The same crossing with a horizon a microsecond later is recorded at 10 years."""
    p = run(make_patient(horizon=10.0 + 1e-9))
    assert t(p, "t_disabled") == 10.0


def test_death_exactly_at_the_horizon_is_not_recorded() -> None:
    """A patient whose death falls at exactly the horizon is alive at the horizon and has no death time."""
    p = run(make_patient(horizon=10.0, rate=0.0), t_background=10.0)
    assert math.isnan(t(p, "t_death"))
    assert p.alive and p.death_cause == 0


def test_diagnosis_exactly_at_the_horizon_is_not_recorded() -> None:
    """A diagnostic step at exactly the horizon is outside follow-up."""
    p = run(make_patient(horizon=10.0, rate=0.0), steps=((9.5, "presentation", ""), (10.0, "diagnosis", "")))
    assert t(p, "t_presentation") == 9.5
    assert math.isnan(t(p, "t_diagnosis"))


def test_simulation_ends_at_the_horizon() -> None:
    """A patient alive at the horizon stops being simulated there."""
    p = run(make_patient(horizon=10.0, rate=0.0), t_background=50.0)
    assert p.env.now == 10.0


# --------------------------------------------------------------------------- invalid delays (B17)


@pytest.mark.parametrize("delay", [-1.0, -1e-300, math.nan, -math.inf])
def test_negative_or_nan_delay_raises_naming_the_patient(delay: float) -> None:
    """A negative or NaN delay is a SimulationError naming the patient, never a silent jump in time."""
    p = make_patient(pid=1234)
    with pytest.raises(sim.SimulationError, match="patient 1234"):
        p.wait(delay)


def test_scheduled_time_in_the_past_raises() -> None:
    """Waiting until an absolute time before now is an error."""
    p = make_patient(pid=7)
    p.env.run(until=2.0)
    with pytest.raises(sim.SimulationError, match="patient 7"):
        p.wait_until(1.0)


def test_rounding_below_now_is_absorbed() -> None:
    """A scheduled time a rounding error before now is taken as now (sums of delays are inexact)."""
    p = make_patient(pid=7)
    p.env.run(until=0.3)
    seen = []

    def proc():
        yield p.wait_until(0.1 + 0.2 - 1e-15)
        seen.append(p.env.now)

    p.env.process(proc())
    p.env.run()
    assert seen == [0.3]


@pytest.mark.parametrize("bad", [math.nan, 0.5], ids=["nan", "before-previous-step"])
def test_invalid_step_time_in_a_running_process_raises_naming_the_patient(bad: float) -> None:
    """A NaN step time, or one before the previous step, raises a SimulationError naming the patient."""
    p = make_patient(pid=99)
    with pytest.raises(sim.SimulationError, match="patient 99"):
        run(p, steps=((1.0, "presentation", ""), (bad, "diagnosis", "")), t_background=5.0)


def test_negative_death_time_raises_naming_the_patient() -> None:
    """A death time before onset (a negative sampled delay) is a SimulationError naming the patient."""
    p = make_patient(pid=98)
    with pytest.raises(sim.SimulationError, match="patient 98"):
        run(p, t_background=-0.5)


@pytest.mark.parametrize("horizon", [10.0, INF], ids=["finite", "lifetime"])
def test_nan_death_time_raises(horizon: float) -> None:
    """A NaN sampled death time is an error (B17), not a patient who lives forever."""
    p = make_patient(pid=5, horizon=horizon)
    with pytest.raises(sim.SimulationError, match="patient 5"):
        run(p, t_background=math.nan)


def test_nan_progression_rate_raises() -> None:
    """A NaN sampled progression rate is an error (B17), not a patient frozen at onset."""
    with pytest.raises(sim.SimulationError, match="patient 6"):
        run(make_patient(pid=6, rate=math.nan), t_background=5.0)


def test_patient_run_stops_where_simpy_run_until_end_stops() -> None:
    """``Patient.run`` processes the same events as ``env.run(until=end)``: up to the end event included."""

    def lived(use_patient_run: bool) -> tuple[list, float, int]:
        p = make_patient(horizon=30.0)
        p.start_disease()
        p.env.process(p.life(12.5, INF, 1.0, 0.0))
        for t in (12.5, 13.0):  # at the time of death and after it
            p.env.timeout(t).callbacks.append(lambda _event, t=t: p.log(f"at {t}"))

        def late():  # scheduled after death's own event and before the end event: processed before the end
            yield p.env.timeout(1.0)
            yield p.env.timeout(11.5)
            p.log("late at 12.5")

        p.env.process(late())
        if use_patient_run:
            p.run()
        else:
            p.env.run(until=p.end)
        return p.history, p.env.now, len(p.env._queue)

    ours, simpys = lived(True), lived(False)
    # repr compares the values exactly, NaN included (compiled code boxes each NaN anew: `is` fails)
    assert repr(ours[:2]) == repr(simpys[:2])
    assert [event for _, event, _, _ in ours[0]] == ["onset", "disabled", "at 12.5", "death", "late at 12.5"]
    assert ours[1] == 12.5


def test_patient_run_without_events_left_names_the_patient() -> None:
    p = make_patient(pid=7)  # nothing started: the heap is empty and the end never comes
    with pytest.raises(sim.SimulationError, match="patient 7: no event left"):
        p.run()
