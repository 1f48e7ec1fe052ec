"""Keyed random streams (docs/model.md §6): same key, same numbers; different keys, independent numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import sim
from sim.random import (
    BLOCK_SIZE,
    PURPOSES,
    block_uniforms,
    generator,
    many_block_uniforms,
    parameter_generator,
    parameter_uniforms_by_draw,
    patient_generator,
    stable_key,
)
from sim.seeding import seed_words


def test_same_key_gives_the_same_numbers() -> None:
    """Two streams with the same (seed; draw, purpose, block) produce identical uniforms."""
    a = block_uniforms(11, 0, "progression", 3, 4)
    b = block_uniforms(11, 0, "progression", 3, 4)
    assert np.array_equal(a, b)
    assert a.shape == (4, BLOCK_SIZE)
    assert np.all((a >= 0) & (a < 1))


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**64),
    draw=st.integers(0, 2**20),
    blocks=st.lists(st.integers(0, 2**33), min_size=0, max_size=4),
)
def test_many_block_uniforms_are_the_streams_of_each_block(seed: int, draw: int, blocks: list[int]) -> None:
    """The batched seeding gives every purpose and block the numbers of its own stream, side by side
    (blocks beyond 32 bits are seeded one at a time)."""
    layout = [("population", 2), ("symptoms", 3), ("mortality", 1)]
    got = many_block_uniforms(seed, draw, layout, blocks)
    for (purpose, n_rows), matrix in zip(layout, got, strict=True):
        assert matrix.shape == (n_rows, len(blocks) * BLOCK_SIZE)
        for k, b in enumerate(blocks):
            own = block_uniforms(seed, draw, purpose, b, n_rows)
            assert np.array_equal(matrix[:, k * BLOCK_SIZE : (k + 1) * BLOCK_SIZE], own)


@pytest.mark.parametrize(
    "other",
    [
        (12, 0, "progression", 3),  # another seed
        (11, 1, "progression", 3),  # another PSA draw
        (11, 0, "mortality", 3),  # another purpose
        (11, 0, "progression", 4),  # another block
    ],
)
def test_changing_any_part_of_the_key_changes_the_numbers(other: tuple) -> None:
    """Seed, draw, purpose and block each select a different stream."""
    base = block_uniforms(11, 0, "progression", 3, 2)
    assert not np.array_equal(base, block_uniforms(*other, 2))


def test_different_purposes_are_independent() -> None:
    """Uniforms of two purposes for the same patients are uncorrelated (no shared or shifted stream)."""
    a = np.concatenate([block_uniforms(5, 0, "population", b, 1)[0] for b in range(20)])
    b = np.concatenate([block_uniforms(5, 0, "mortality", b, 1)[0] for b in range(20)])
    r, p_value = stats.pearsonr(a, b)
    assert p_value > 0.001, r
    # and neither is the other shifted by a few positions
    for lag in range(1, 4):
        assert abs(np.corrcoef(a[lag:], b[:-lag])[0, 1]) < 0.1
        assert not np.any(np.isin(a[:50], b))


def test_uniforms_of_a_stream_are_uniform() -> None:
    """The uniforms of one stream pass a Kolmogorov–Smirnov test against U(0, 1)."""
    u = block_uniforms(2024, 0, "symptoms", 0, 40).ravel()
    assert stats.kstest(u, "uniform").pvalue > 0.001


def test_appending_a_row_leaves_earlier_rows_unchanged() -> None:
    """Adding a quantity at the end of a purpose's layout never changes the quantities before it."""
    three = block_uniforms(7, 0, "diagnosis", 1, 3)
    four = block_uniforms(7, 0, "diagnosis", 1, 4)
    assert np.array_equal(three, four[:3])
    assert not np.array_equal(four[3], four[2])


def test_every_purpose_has_a_distinct_stable_key() -> None:
    """Purposes are numbered once and never share a number (which would make two purposes share draws)."""
    assert len(set(PURPOSES.values())) == len(PURPOSES)
    assert PURPOSES["population"] == 1 and PURPOSES["mortality"] == 6


def test_stable_key_does_not_depend_on_the_interpreter() -> None:
    """Names are keyed by CRC-32 (a fixed number across processes), never by Python's salted ``hash``."""
    assert stable_key("population.p_male") == 0x2A464BAD
    assert stable_key("population.p_male") != stable_key("population.p_female")


def test_patient_stream_differs_from_every_block_stream() -> None:
    """A patient's own generator (four-part key) never reproduces a block stream (three-part key)."""
    own = patient_generator(3, 0, "treatment", 5).random(8)
    for block in (0, 5, 0xFFFF):
        assert not np.array_equal(own, block_uniforms(3, 0, "treatment", block, 1)[0, :8])
    assert np.array_equal(own, patient_generator(3, 0, "treatment", 5).random(8))
    assert not np.array_equal(own, patient_generator(3, 0, "treatment", 6).random(8))


def test_parameter_streams_are_keyed_by_path() -> None:
    """Each uncertain parameter has its own PSA stream, the same for the same path and draw."""
    a = parameter_generator(1, 2, "population.p_male").random(4)
    assert np.array_equal(a, parameter_generator(1, 2, "population.p_male").random(4))
    assert not np.array_equal(a, parameter_generator(1, 2, "population.p_titre_low").random(4))
    assert not np.array_equal(a, parameter_generator(1, 3, "population.p_male").random(4))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.one_of(st.integers(0, 2**32 - 1), st.integers(0, 2**80)),
    draws=st.lists(st.one_of(st.integers(1, 5000), st.integers(1, 2**40)), min_size=1, max_size=4),
    paths=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=5),
)
def test_the_uniforms_of_a_draw_seeded_together_are_those_of_each_parameters_stream(
    seed: int, draws: list[int], paths: list[str]
) -> None:
    """parameter_uniforms_by_draw seeds a draw's parameter streams in one pass: the same first uniforms."""
    table = parameter_uniforms_by_draw(seed, draws, paths)
    expected = [[parameter_generator(seed, d, p).random() for p in paths] for d in draws]
    assert np.array_equal(table, np.array(expected))


@pytest.mark.parametrize("seed", [-1, 1.5, "1"])
def test_invalid_seed_is_rejected(seed) -> None:
    """The root seed must be a non-negative integer."""
    with pytest.raises(ValueError, match="seed"):
        generator(seed, 0)


def test_negative_draw_is_rejected() -> None:
    """A PSA draw index is non-negative."""
    with pytest.raises(ValueError, match="draw"):
        block_uniforms(1, -1, "population", 0, 1)


# --------------------------------------------------------------------------- through the simulation


def test_patient_7_is_the_same_person_in_cohorts_of_10_and_1000(tiny_scenario: sim.Scenario) -> None:
    """Patient 7's traits and milestones do not depend on how many patients are simulated."""
    small = sim.simulate(tiny_scenario, n_patients=10, seed=77).patients
    large = sim.simulate(tiny_scenario, n_patients=1000, seed=77).patients
    row_small = small[small["patient_id"] == 7].reset_index(drop=True)
    row_large = large[large["patient_id"] == 7].reset_index(drop=True)
    pd.testing.assert_frame_equal(row_small, row_large, check_exact=True)
    other_seed = sim.simulate(tiny_scenario, n_patients=10, seed=78).patients
    assert other_seed.loc[7, "age_at_onset"] != row_small.loc[0, "age_at_onset"]


_KEY_PART = st.one_of(st.integers(0, 2**32 - 1), st.integers(0, 2**70), st.just(0))


@settings(max_examples=300, deadline=None)
@given(
    seed=st.one_of(st.integers(0, 2**32 - 1), st.integers(0, 2**140)),
    key=st.lists(_KEY_PART, min_size=1, max_size=7),
)
def test_fast_streams_are_numpys_seed_sequence_streams_bit_for_bit(seed: int, key: list[int]) -> None:
    """``generator`` computes SeedSequence's seeding words itself (for speed): the words, and so every
    number drawn, are those of ``PCG64(SeedSequence(entropy=seed, spawn_key=key))`` for any seed and key."""
    reference = np.random.SeedSequence(entropy=seed, spawn_key=tuple(key))
    assert np.array_equal(seed_words(seed, tuple(key)), reference.generate_state(4, np.uint64))
    ours = generator(seed, *key)
    theirs = np.random.Generator(np.random.PCG64(reference))
    assert np.array_equal(ours.random(5), theirs.random(5))
    assert np.array_equal(ours.standard_normal(3), theirs.standard_normal(3))
