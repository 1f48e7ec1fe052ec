"""The arms of one PSA job share their patients' natural history (sim.run.shared_history)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import sim
import sim.run.runner as runner
from sim.run.psa import simulate_strategies
from sim.run.shared_history import MAX_BLOCKS, shared_natural_histories, shared_natural_history

FOLDER = Path(sim.default_scenario_path()).parent


def fixed(value: float) -> dict:
    return {"value": value, "source": "test"}


@pytest.fixture
def computed(monkeypatch) -> list[tuple[int, int]]:
    """(draw, block) of every natural history computed (not read from the store)."""
    calls: list[tuple[int, int]] = []
    original = runner._natural_histories

    def counting(values, table, seed, draw, blocks, *rest):
        calls.extend((draw, block) for block, _ in blocks)
        return original(values, table, seed, draw, blocks, *rest)

    monkeypatch.setattr(runner, "_natural_histories", counting)
    return calls


def arms() -> list[sim.Scenario]:
    return [
        sim.load_scenario(FOLDER / name) for name in ("supportive_care.toml", "rituximab_at_diagnosis.toml")
    ]


def test_the_arms_of_a_psa_draw_compute_each_block_once(computed) -> None:
    sim.run_psa(arms(), 2, 300, 5)  # 2 draws of 300 patients (blocks 0 and 1), 2 arms
    # Once per draw and block, not per arm; the draws' values differ, their patients' streams (key 0) do not.
    assert sorted(computed) == [(0, 0), (0, 0), (0, 1), (0, 1)]


def test_shared_and_separate_runs_are_identical(computed) -> None:
    scenarios = arms()
    with shared_natural_history():
        shared = [sim.simulate(s, n_patients=300, seed=5, keep_events=True) for s in scenarios]
    assert len(computed) == 2
    separate = [sim.simulate(s, n_patients=300, seed=5, keep_events=True) for s in scenarios]
    assert len(computed) == 6
    for a, b in zip(shared, separate, strict=True):
        for table in ("patients", "events", "paths", "courses"):
            pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table), check_exact=True)


def test_arms_whose_natural_history_differs_share_nothing(computed) -> None:
    usual, rituximab = arms()
    faster = rituximab.with_updates({"progression.faster_phase_multiplier": fixed(3.0)})
    with shared_natural_history():
        shared = sim.simulate(faster, n_patients=300, seed=5).patients
        sim.simulate(usual, n_patients=300, seed=5)
    assert len(computed) == 4
    alone = sim.simulate(faster, n_patients=300, seed=5).patients
    pd.testing.assert_frame_equal(shared, alone, check_exact=True)


def natural_history(key_of, compute):
    """One block's natural history through the store."""
    return shared_natural_histories([key_of], lambda missing: [compute() for _ in missing])[0]


def test_the_store_is_bounded_and_emptied_on_leaving() -> None:
    made = []
    with shared_natural_history():
        for key in range(MAX_BLOCKS + 1):
            natural_history(lambda key=key: key, lambda key=key: made.append(key) or key)
        assert natural_history(lambda: MAX_BLOCKS, lambda: made.append("again")) == MAX_BLOCKS  # kept
        natural_history(lambda: 0, lambda: made.append("0 again"))  # the oldest went first
    keyed = []
    natural_history(lambda: keyed.append(1), lambda: made.append("outside"))  # nothing kept, no key made
    assert made == [*range(MAX_BLOCKS + 1), "0 again", "outside"]
    assert keyed == []


def test_strategies_compared_in_one_process_compute_each_block_once(computed) -> None:
    results = simulate_strategies(arms(), 300, 5, workers=1)
    assert sorted(computed) == [(0, 0), (0, 1)]
    alone = sim.simulate(arms()[1], n_patients=300, seed=5).patients
    pd.testing.assert_frame_equal(results[1].patients, alone, check_exact=True)
