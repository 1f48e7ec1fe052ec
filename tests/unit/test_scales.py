"""Clinical outcome scales as functions of the burden: ranges, monotonicity, death."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sim
from sim.model.scales import all_scales, incat_arm, incat_leg, incat_sensory_sum, mrc_sum, mrs, onls_leg
from sim.scenario.schema import THRESHOLD_ORDER

RANGES = {
    "incat_arm": (0, 5),
    "incat_leg": (0, 5),
    "incat_total": (0, 10),
    "incat_sensory": (0, 20),
    "mrc_sum": (0, 60),
    "mrs": (0, 6),
    "onls_arm": (0, 5),
    "onls_leg": (0, 7),
    "onls_total": (0, 12),
}
WORSE_WHEN_HIGHER = (
    "incat_arm",
    "incat_leg",
    "incat_total",
    "incat_sensory",
    "mrs",
    "onls_arm",
    "onls_leg",
    "onls_total",
)


@pytest.fixture(scope="module")
def th(default_scenario: sim.Scenario) -> SimpleNamespace:
    return default_scenario.values().thresholds


@st.composite
def thresholds(draw: st.DrawFn) -> SimpleNamespace:
    levels = draw(
        st.lists(
            st.floats(0.01, 1.0), min_size=len(THRESHOLD_ORDER), max_size=len(THRESHOLD_ORDER), unique=True
        )
    )
    return SimpleNamespace(**dict(zip(THRESHOLD_ORDER, sorted(levels), strict=True)))


@st.composite
def patients(draw: st.DrawFn) -> dict:
    width = draw(st.floats(0.0, 1.0))
    factor = st.floats(1.0 - width, 1.0 + width)
    return {
        "arm_factor": draw(factor),
        "sensory_factor": draw(factor),
        "motor_factor": draw(factor),
        "tremor_burden": draw(st.one_of(st.just(np.nan), st.floats(0.0, 1.0))),
    }


def scales_at(b: np.ndarray, th: SimpleNamespace, patient: dict, dead=None) -> dict[str, np.ndarray]:
    return all_scales(
        np.asarray(b, dtype=float),
        th,
        patient["arm_factor"],
        patient["sensory_factor"],
        patient["motor_factor"],
        patient["tremor_burden"],
        dead=dead,
    )


@given(th=thresholds(), patient=patients())
def test_every_scale_stays_in_its_range(th: SimpleNamespace, patient: dict) -> None:
    """INCAT arm 0–5, leg 0–5, total 0–10, sensory 0–20, MRC 0–60, mRS 0–6 at every burden in [0, 1]."""
    out = scales_at(np.linspace(0.0, 1.0, 201), th, patient)
    for name, (low, high) in RANGES.items():
        assert np.all((out[name] >= low) & (out[name] <= high)), name
    assert np.array_equal(out["incat_total"], out["incat_arm"] + out["incat_leg"])
    assert np.array_equal(out["onls_total"], out["onls_arm"] + out["onls_leg"])


@given(th=thresholds(), patient=patients())
def test_more_burden_never_means_less_disability(th: SimpleNamespace, patient: dict) -> None:
    """Each disability scale is non-decreasing in the burden, and the MRC strength sum non-increasing."""
    out = scales_at(np.linspace(0.0, 1.0, 401), th, patient)
    for name in WORSE_WHEN_HIGHER:
        assert np.all(np.diff(out[name]) >= 0), name
    assert np.all(np.diff(out["mrc_sum"]) <= 0)


def test_mrs_steps_at_its_thresholds(th: SimpleNamespace) -> None:
    """mRS is 1 from onset, 2 at mrs2, 3 at 'disabled', 4 at mrs4 and 5 at mrs5 (inclusive)."""
    below = np.nextafter
    b = np.array([0.0, below(th.mrs2, 0), th.mrs2, below(th.disabled, 0), th.disabled, th.mrs4, th.mrs5, 1.0])
    assert mrs(b, th).tolist() == [1, 1, 2, 2, 3, 4, 5, 5]


def test_before_the_hands_nothing_but_sensory_loss(th: SimpleNamespace) -> None:
    """Below the hands threshold INCAT arm and leg are 0, MRC is full and mRS is 1."""
    b = np.array([0.0, th.sensory_hands * 0.99])
    assert incat_arm(b, th, 1.0, np.nan).tolist() == [0, 0]
    assert incat_leg(b, th).tolist() == [0, 0]
    assert mrc_sum(b, th, 1.0).tolist() == [60, 60]
    assert mrs(b, th).tolist() == [1, 1]


def test_maximal_burden_is_the_worst_state(th: SimpleNamespace) -> None:
    """At burden 1 (with average factors) INCAT arm and leg are 5, mRS 5 and MRC 20."""
    assert incat_arm(np.array([1.0]), th, 1.0, np.nan).tolist() == [5]
    assert incat_leg(np.array([1.0]), th).tolist() == [5]
    assert mrs(np.array([1.0]), th).tolist() == [5]
    assert mrc_sum(np.array([1.0]), th, 1.0).tolist() == [20]
    assert incat_sensory_sum(np.array([1.0]), 1.0).tolist() == [20]


def test_tremor_raises_arm_disability_once_established(th: SimpleNamespace) -> None:
    """A patient with tremor from burden 0.2 has INCAT arm 2 once the burden has risen 0.1 beyond it."""
    b = np.array([th.sensory_hands + 0.001, 0.2 + 0.1 + 1e-9])
    with_tremor = incat_arm(b, th, 1.0, 0.2)
    without = incat_arm(b, th, 1.0, np.nan)
    assert with_tremor[1] == without[1] + 1
    assert with_tremor[0] == without[0] == 1


def test_onls_known_values(th: SimpleNamespace) -> None:
    """ONLS (graham2006) at given states of an average patient without tremor, default thresholds.

    Leg: 0 before ataxia; 1 stairs or running affected; 2 abnormal gait; 3 unilateral support; 4 bilateral;
    5 wheelchair for 10 m; 6 restricted to a wheelchair; 7 no purposeful leg movement. Arm as INCAT arm.
    """
    patient = {"arm_factor": 1.0, "sensory_factor": 1.0, "motor_factor": 1.0, "tremor_burden": np.nan}
    states = {  # burden: (arm, leg)
        0.10: (0, 0),  # first symptom in the feet
        0.20: (1, 0),  # hands numb, walking normal
        0.30: (1, 1),  # sensory ataxia: stairs and running affected
        0.45: (2, 2),  # distal weakness: hand function affected, gait abnormal
        0.65: (2, 3),  # a stick outdoors
        0.80: (3, 4),  # bilateral support
        0.90: (3, 5),  # wheelchair for 10 m
        0.97: (4, 6),  # restricted to a wheelchair
        1.00: (5, 7),  # no purposeful movement
    }
    out = scales_at(np.array(list(states)), th, patient)
    expected = np.array(list(states.values()))
    assert out["onls_arm"].tolist() == expected[:, 0].tolist()
    assert out["onls_leg"].tolist() == expected[:, 1].tolist()
    assert out["onls_total"].tolist() == expected.sum(axis=1).tolist()
    assert onls_leg(np.array([np.nextafter(th.weakness, 0), th.weakness]), th).tolist() == [1, 2]


def test_onls_is_at_least_as_fine_as_incat_leg(th: SimpleNamespace) -> None:
    """ONLS leg never scores below INCAT leg and adds the abnormal-gait grade between ataxia and the stick."""
    b = np.linspace(0.0, 1.0, 1001)
    assert np.all(onls_leg(b, th) >= incat_leg(b, th))
    assert np.any(onls_leg(b, th) == incat_leg(b, th) + 1)


def test_dead_have_mrs_6_and_no_other_scale(th: SimpleNamespace) -> None:
    """A dead patient scores mRS 6 and NaN on every other scale; the living keep their scores."""
    patient = {"arm_factor": 1.0, "sensory_factor": 1.0, "motor_factor": 1.0, "tremor_burden": np.nan}
    b = np.array([th.mrs2, th.mrs2])
    out = scales_at(b, th, patient, dead=np.array([True, False]))
    assert out["mrs"].tolist() == [6.0, 2.0]
    for name in ("incat_arm", "incat_leg", "incat_total", "incat_sensory", "mrc_sum", "onls_total"):
        assert np.isnan(out[name][0]) and not np.isnan(out[name][1])


def test_outcome_scales_of_a_simulated_cohort_are_in_range(tiny_cohort: sim.SimulationResult) -> None:
    """sim.outcome_scales gives one row per patient and time with every scale in range; NaN only if dead."""
    times = [0.0, 2.5, 7.0, 19.0]
    frame = sim.outcome_scales(tiny_cohort, times)
    assert len(frame) == len(tiny_cohort.patients) * len(times)
    alive = frame["alive"].to_numpy()
    for name, (low, high) in RANGES.items():
        values = frame.loc[alive, name]
        assert values.between(low, high).all(), name
        assert frame.loc[~alive, name].isna().all() or name == "mrs"
    assert (frame.loc[~alive, "mrs"] == 6).all()
    assert frame["burden"].between(0.0, 1.0).all()


def test_outcome_scales_rejects_negative_or_infinite_times(tiny_cohort: sim.SimulationResult) -> None:
    """Times must be finite and non-negative."""
    for bad in ([-1.0], [np.inf], []):
        with pytest.raises(ValueError, match="times"):
            sim.outcome_scales(tiny_cohort, bad)
