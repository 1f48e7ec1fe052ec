"""The three counts of the model's events in benchmarks/bench_core.py (what its event ratio rests on).

Only the counting is tested, never a timing: the benchmark's figures are printed, not asserted.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import simpy

import sim
from sim.model import process as model_process
from sim.model.process import Patient
from sim.run import runner

BENCH_CORE = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_core.py"
N = 120


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_core", BENCH_CORE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def scenario():
    return sim.load_scenario(sim.default_scenario_path())


def test_three_counts_of_the_default_scenario(bench, scenario):
    decision, decision_kinds = bench.count_model_events(scenario, N, 1)
    reference, reference_kinds = bench.count_model_events(scenario, N, 1, event_by_event=True)
    record = bench.count_record_events(scenario, N, 1)

    assert sum(decision_kinds.values()) == pytest.approx(decision)
    assert sum(reference_kinds.values()) == pytest.approx(reference)
    # The walk of the precomputed timeline reaches entries without SimPy events; the event-by-event
    # formulation has no timeline, so every disease and life event is a SimPy wait of its own.
    assert decision_kinds[bench.WITHOUT_SIMPY] > 0
    assert bench.WITHOUT_SIMPY not in reference_kinds
    assert reference_kinds["Wait"] > decision_kinds["Wait"]
    # Each patient records more events than stand for SimPy events, in either formulation.
    assert 0 < decision < reference < record
    events = sim.simulate(scenario, n_patients=N, seed=1, workers=1, keep_events=True).events
    assert record == len(events) / N


def _patch_points() -> tuple:
    """What the counting patches, as it is now."""
    return (
        runner.TIMELINE,
        model_process._heappop,
        simpy.Environment.step,
        Patient.__dict__["_advance_to"],
        Patient.__dict__["_run_quiet"],
    )


def test_counting_leaves_the_model_as_it_was(bench, scenario):
    before = _patch_points()
    bench.count_model_events(scenario, 20, 1, event_by_event=True)
    assert _patch_points() == before
