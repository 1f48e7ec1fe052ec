"""Invariants A1–A5 over generated scenarios of the shipped treatment strategies
(:func:`sim.testing.treated_scenarios`), so that the properties meet courses, relapses and deaths from
treatments, which the natural-history scenarios of :func:`sim.testing.valid_scenarios` never give."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.run.invariants import check_invariants
from sim.run.runner import horizon_of
from sim.testing import treated_scenarios

TREATED = settings(max_examples=max(6, settings().max_examples // 3))
SEEDS = st.integers(min_value=0, max_value=2**32 - 1)


@TREATED
@given(scenario=treated_scenarios(lethal=True), n=st.integers(40, 80), seed=SEEDS)
def test_a1_nothing_happens_after_a_death_from_a_treatment(scenario: sim.Scenario, n: int, seed: int) -> None:
    """With treatments whose severe adverse events are likely to kill: every patient's log runs forward
    and ends at their death, and every invariant of the cohort holds."""
    result = sim.simulate(scenario, n_patients=n, seed=seed, keep_events=True)
    check_invariants(result, f"seed {seed}")
    events, patients = result.events, result.patients.set_index("patient_id")
    assert (events.groupby("patient_id", sort=False)["time"].diff().fillna(0.0) >= 0).all()
    assert (events["time"] < horizon_of(result.values)).all()
    dead = patients.index[patients["t_death"].notna()]
    last = events.groupby("patient_id", sort=False).tail(1).set_index("patient_id")
    assert (last.loc[dead, "event"] == "death").all()
    assert (last.loc[dead, "time"] == patients.loc[dead, "t_death"]).all()
    assert (events["event"] == "death").sum() == len(dead)


@TREATED
@given(scenario=treated_scenarios(), n=st.integers(40, 80), seed=SEEDS)
def test_a2_to_a5_hold_for_treated_cohorts(scenario: sim.Scenario, n: int, seed: int) -> None:
    """State counts, clinical order, QALY and cost bounds hold under any treatment strategy."""
    result = sim.simulate(scenario, n_patients=n, seed=seed)
    check_invariants(result, f"seed {seed}")
    assert np.isfinite(result.patients["cost_undisc"]).all()
