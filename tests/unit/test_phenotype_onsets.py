"""Where in the course the symptom phenotypes begin (docs/model.md §1).

The cited shares (``ahlskog2012`` tremor at the evaluation, ``medlink2024`` sensory ataxia in about half of
the cases) are cross-sectional, so their carriers have the symptom early: tremor between the first symptom
and the spread to the hands, sensory ataxia between the hands and the ``ataxia`` threshold. The onsets are
mapped from the same uniforms as before (rows ``tremor_onset`` and ``ataxia_onset`` of the symptoms stream),
so the carriers and the order of their onsets stay with the patient.
"""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.model.cohort import SYMPTOM_ROWS, draw_block
from sim.random import block_uniforms
from sim.run.runner import life_table_for

SEED, DRAW = 11, 0


@pytest.fixture(scope="module")
def drawn(default_scenario: sim.Scenario):
    v = default_scenario.values()
    table = life_table_for(default_scenario)
    blocks = [draw_block(v, table, SEED, DRAW, b) for b in range(8)]
    u = np.concatenate(
        [block_uniforms(SEED, DRAW, "symptoms", b, len(SYMPTOM_ROWS)) for b in range(8)], axis=1
    )
    tremor = np.concatenate([t.tremor_burden for t in blocks])
    ataxia = np.concatenate([t.ataxia_burden for t in blocks])
    return v, u, tremor, ataxia


def test_tremor_begins_between_the_first_symptom_and_the_hands(drawn) -> None:
    v, u, tremor, _ = drawn
    onset, hands = v.progression.burden_at_onset, v.thresholds.sensory_hands
    carrier = ~np.isnan(tremor)
    assert np.array_equal(carrier, u[SYMPTOM_ROWS.index("tremor")] < v.symptoms.p_tremor)
    assert np.all((tremor[carrier] >= onset) & (tremor[carrier] < hands))
    expected = onset + u[SYMPTOM_ROWS.index("tremor_onset")] * (hands - onset)
    np.testing.assert_allclose(tremor[carrier], expected[carrier])


def test_sensory_ataxia_begins_between_the_hands_and_the_ataxia_threshold(drawn) -> None:
    v, u, _, ataxia = drawn
    hands, top = v.thresholds.sensory_hands, v.thresholds.ataxia
    carrier = ~np.isnan(ataxia)
    assert np.array_equal(carrier, u[SYMPTOM_ROWS.index("ataxia")] < v.symptoms.p_sensory_ataxia)
    assert np.all((ataxia[carrier] >= hands) & (ataxia[carrier] < top))
    expected = hands + u[SYMPTOM_ROWS.index("ataxia_onset")] * (top - hands)
    np.testing.assert_allclose(ataxia[carrier], expected[carrier])


def test_most_tremor_carriers_have_it_at_diagnosis(default_scenario: sim.Scenario) -> None:
    """Read as ahlskog2012 reads it (at the evaluation): most carriers alive at diagnosis already have it."""
    p = sim.simulate(default_scenario, n_patients=1000, seed=SEED).patients
    alive = (p["t_diagnosis"] < p["t_death"]) & p["tremor"].astype(bool)
    share = float((p.loc[alive, "t_tremor"] <= p.loc[alive, "t_diagnosis"]).mean())
    assert share > 0.6, share
