"""The garbage collector is paused while a block runs, and restored to what it was (sim.run.collector)."""

from __future__ import annotations

import gc
import threading

import pytest

import sim
from sim.run import runner
from sim.run.collector import collector_paused


@pytest.fixture(autouse=True)
def _collector_enabled_after():
    yield
    gc.enable()


def test_the_collector_is_paused_inside_and_enabled_again_after() -> None:
    gc.enable()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_it_is_restored_after_an_error() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("a patient failed")
    assert gc.isenabled()


def test_overlapping_pauses_of_several_threads_restore_it_once_the_last_ends() -> None:
    gc.enable()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first() -> None:
        with collector_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with collector_paused():
            second_in.set()
            first_out.wait(5)
            seen["after the first ended"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"after the first ended": False}  # the second block still runs: still paused
    assert gc.isenabled()


def test_blocks_of_a_run_are_simulated_with_the_collector_paused(monkeypatch) -> None:
    states = []
    simulate_block = runner.simulate_block

    def recording(*args, **kwargs):
        states.append(gc.isenabled())
        return simulate_block(*args, **kwargs)

    monkeypatch.setattr(runner, "simulate_block", recording)
    gc.enable()
    sim.simulate(sim.load_scenario(sim.default_scenario_path()), n_patients=300, seed=1, workers=1)
    assert states == [False, False]  # two blocks
    assert gc.isenabled()
