"""The natural history of several blocks computed in one NumPy pass is, patient for patient and bit for bit,
that of each block computed alone (sim.model.cohort.draw_blocks, sim.run.runner.natural_histories)."""

from __future__ import annotations

from dataclasses import fields
from itertools import pairwise

import numpy as np
import pytest

import sim
import sim.run.runner as runner
from sim.model.cohort import BlockTraits, draw_block, draw_blocks

SEED, DRAW = 11, 2


def assert_same_traits(a: BlockTraits, b: BlockTraits) -> None:
    for f in fields(BlockTraits):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "journey":
            for name in ("times", "demyelinating", "csf_raised", "titre"):
                np.testing.assert_array_equal(getattr(x, name), getattr(y, name), err_msg=name)
        elif isinstance(x, np.ndarray):
            assert x.dtype == y.dtype, f.name
            np.testing.assert_array_equal(x, y, err_msg=f.name)  # NaN equals NaN here
        else:
            assert x == y, f.name


@pytest.mark.parametrize("journey_lists", [False, True])
def test_blocks_drawn_together_are_each_block_drawn_alone(default_scenario, journey_lists) -> None:
    values = default_scenario.values()
    table = runner.life_table_for(default_scenario)
    blocks = [3, 0, 7]  # any order: streams are keyed by block
    together = draw_blocks(values, table, SEED, DRAW, blocks, journey_lists)
    assert len(together) == len(blocks)
    for block, traits in zip(blocks, together, strict=True):
        assert_same_traits(traits, draw_block(values, table, SEED, DRAW, block, journey_lists))


def test_natural_histories_together_are_each_alone(default_scenario) -> None:
    """Traits, background deaths, symptom levels and timeline entries, with a short last block."""
    values = default_scenario.values()
    table = runner.life_table_for(default_scenario)
    plan = [(4, 256), (5, 256), (6, 37)]
    together = runner.natural_histories(values, table, SEED, DRAW, plan)
    for (block, n), (traits, t_background, levels, entries) in zip(plan, together, strict=True):
        traits1, t_background1, levels1, entries1 = runner.natural_histories(
            values, table, SEED, DRAW, [(block, n)]
        )[0]
        assert_same_traits(traits, traits1)
        np.testing.assert_array_equal(t_background, t_background1)
        assert repr(levels) == repr(levels1)  # repr: exact floats, and NaN equal to NaN
        assert entries is not None and entries1 is not None and len(entries[1]) == n + 1
        assert repr(_rows(entries)) == repr(_rows(entries1))


def _rows(entries: runner.BlockTimeline) -> list:
    """Each patient's timeline entries, as rows."""
    timeline, bounds = entries
    return [timeline.rows(a, b) for a, b in pairwise(bounds)]


def test_a_run_in_tasks_of_one_block_is_the_same_run(default_scenario, monkeypatch) -> None:
    """The size of a task changes how the natural history is computed, never what a run returns."""
    chunked = sim.simulate(default_scenario, n_patients=700, seed=SEED, keep_events=True)
    monkeypatch.setattr(runner, "BLOCKS_PER_TASK", 1)
    alone = sim.simulate(default_scenario, n_patients=700, seed=SEED, keep_events=True)
    for table in ("patients", "events", "paths"):
        assert getattr(chunked, table).equals(getattr(alone, table)), table
