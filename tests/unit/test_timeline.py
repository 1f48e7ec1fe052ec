"""The precomputed timeline (sim.model.timeline) gives exactly the results of the event-by-event processes.

Every shipped strategy scenario and trial arm is run both ways on the same patients and compared to the last
bit: the patients' milestone times, the event log, the burden paths, the courses and the economics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
import sim.run.runner as runner

SCENARIOS = Path(sim.default_scenario_path()).parent
SHIPPED = sorted(p.name for p in SCENARIOS.glob("*.toml")) + sorted(
    f"trials/arms/{p.name}" for p in (SCENARIOS / "trials" / "arms").glob("*.toml")
)


def _both(monkeypatch, scenario, **kwargs):
    fast = sim.simulate(scenario, keep_events=True, **kwargs)
    monkeypatch.setattr(runner, "TIMELINE", False)
    slow = sim.simulate(scenario, keep_events=True, **kwargs)
    monkeypatch.setattr(runner, "TIMELINE", True)
    return fast, slow


def _assert_same(fast, slow) -> None:
    pd.testing.assert_frame_equal(fast.patients, slow.patients, check_exact=True)
    pd.testing.assert_frame_equal(fast.events, slow.events, check_exact=True)
    pd.testing.assert_frame_equal(fast.paths, slow.paths, check_exact=True)
    pd.testing.assert_frame_equal(fast.courses, slow.courses, check_exact=True)


@pytest.mark.parametrize("name", SHIPPED)
def test_the_timeline_reproduces_the_event_by_event_run_of_every_shipped_scenario(monkeypatch, name) -> None:
    scenario = sim.load_scenario(SCENARIOS / name)
    fast, slow = _both(monkeypatch, scenario, n_patients=300, seed=7)
    _assert_same(fast, slow)
    assert fast.events["event"].isin(["course_start"]).any() or "natural" in name or "placebo" in name


def test_the_timeline_reproduces_trial_entry_and_a_finite_horizon(monkeypatch) -> None:
    scenario = sim.load_scenario(SCENARIOS / "rituximab_at_diagnosis.toml").with_updates(
        {"settings.horizon_years": 10}
    )
    entry = np.where(np.arange(300) % 3 == 0, np.nan, np.linspace(0.5, 8.0, 300))
    fast, slow = _both(monkeypatch, scenario, n_patients=300, seed=11, entry_times=entry)
    _assert_same(fast, slow)
    assert np.isnan(fast.patients["t_death"]).any()
    # patients whose treatment changed the disease left the timeline and went on event by event
    assert fast.events["event"].eq("reversal").sum() > 10


def test_treatment_traits_are_a_patients_column_of_a_block_stream_whoever_asks_first() -> None:
    """Common random numbers for treatment traits: a patient's uniforms depend on the patient, the treatment,
    the seed and the draw only, not on which patients of the block needed them first."""
    from sim.model.treatments import TRAIT_ROWS, TreatmentContext
    from sim.random import BLOCK_SIZE

    first = TreatmentContext(3, 0)
    a = first.trait_uniforms("rituximab", 300)
    other_order = TreatmentContext(3, 0)
    other_order.trait_uniforms("rituximab", 257)
    other_order.trait_uniforms("ivig", 300)
    assert other_order.trait_uniforms("rituximab", 300) == a
    assert len(a) == len(TRAIT_ROWS) and all(0.0 <= u < 1.0 for u in a)
    assert first.trait_uniforms("ivig", 300) != a  # each treatment its own stream
    assert first.trait_uniforms("rituximab", 300 + BLOCK_SIZE) != a  # each block its own stream
    assert TreatmentContext(3, 1).trait_uniforms("rituximab", 300) != a  # each PSA draw its own stream
    block = np.array([first.trait_uniforms("rituximab", BLOCK_SIZE + i) for i in range(BLOCK_SIZE)])
    assert block.shape == (BLOCK_SIZE, len(TRAIT_ROWS)) and len(np.unique(block)) == block.size
    assert abs(block.mean() - 0.5) < 0.05
