"""Things that must stay apart and that equal defaults hide: the two discount rates (equal in every shipped
scenario), the two sexes' life tables (close in the bundled table), INCAT arm and leg (both 0–5), the
patient's motor factor (near 1), and the blocks one worker runs (never more than one in the worker tests).
Each test makes the two differ, so that mixing them up fails."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import sim
from sim.model.mortality import LifeTable
from sim.model.scales import all_scales, incat_arm, incat_leg, mrc_sum
from sim.run import runner
from sim.scenario.loading import bundled_scenario_path


def fixed(value: float) -> dict:
    return {"value": value, "source": "test"}


@pytest.fixture(scope="module")
def th(default_scenario: sim.Scenario) -> SimpleNamespace:
    return default_scenario.values().thresholds


# --------------------------------------------------------------------------------------------- discounting


@pytest.mark.parametrize(("cost_rate", "effect_rate"), [(0.0, 0.06), (0.06, 0.0)])
def test_costs_and_effects_are_discounted_each_at_their_own_rate(
    cost_rate: float, effect_rate: float
) -> None:
    """With one rate 0 and the other 6%: the measure at 0 is undiscounted exactly, the other is not."""
    scenario = sim.load_scenario(bundled_scenario_path("supportive_care.toml")).with_updates(
        {
            "settings.horizon_years": 20.0,
            "economics.discount_rate_costs": fixed(cost_rate),
            "economics.discount_rate_effects": fixed(effect_rate),
        }
    )
    p = sim.simulate(scenario, n_patients=60, seed=2).patients
    followed = p["lys_undisc"] > 1.0
    assert followed.sum() > 30
    for measure, rate in (("cost", cost_rate), ("qalys", effect_rate), ("lys", effect_rate)):
        disc, undisc = p.loc[followed, f"{measure}_disc"], p.loc[followed, f"{measure}_undisc"]
        if rate == 0:
            np.testing.assert_allclose(disc, undisc, rtol=1e-12, err_msg=measure)
        else:  # QALYs may be negative (states worse than death), so "differs", not "is smaller"
            assert (np.abs(disc - undisc) > 1e-6).all(), measure
    # life-years: ∫ (1 + r)^(−t) dt over follow-up, at the effects' rate
    delta = math.log1p(effect_rate)
    end = p["lys_undisc"].to_numpy()
    expected = end if effect_rate == 0 else (1 - np.exp(-delta * end)) / delta
    np.testing.assert_allclose(p["lys_disc"], expected, rtol=1e-9)


# --------------------------------------------------------------------------------------------- life table


def test_each_sex_dies_by_its_own_life_table(default_scenario: sim.Scenario, tmp_path) -> None:
    """Women at a constant 2% a year, men at 40%: mean time to death 1/μ for each sex (3 MC SE)."""
    table = tmp_path / "by_sex.csv"
    pd.DataFrame({"Age": np.arange(111), "Female": 0.02, "Male": 0.4}).to_csv(table, index=False)
    scenario = default_scenario.with_updates(
        {
            "settings.life_table": str(table),
            "settings.horizon_years": "lifetime",
            "malignancy.excess_mortality_rate_per_year": fixed(0.0),
        }
    )
    p = sim.simulate(scenario, n_patients=1500, seed=13).patients
    for sex, rate in (("female", 0.02), ("male", 0.4)):
        t = p.loc[p["sex"] == sex, "t_death"].to_numpy()
        assert len(t) > 300
        se = t.std(ddof=1) / math.sqrt(len(t))
        assert abs(t.mean() - 1 / rate) < 3 * se, (sex, t.mean(), 1 / rate, se)


def test_death_age_reads_the_patients_own_sex() -> None:
    rates = np.vstack([np.full(111, 0.01), np.full(111, 0.5)])  # row 0 female, row 1 male
    table = LifeTable(np.arange(111.0), rates, "test")
    ages = table.death_age(np.array([False, True]), np.array([50.0, 50.0]), np.array([1.0, 1.0]), 1.0)
    assert ages == pytest.approx([50.0 + 1 / 0.01, 50.0 + 1 / 0.5])


# --------------------------------------------------------------------------------------------- scales


def test_incat_arm_and_leg_each_in_their_place(th: SimpleNamespace) -> None:
    """Between the hands and the ataxia thresholds the arms score 1 and the legs 0; the combined scales
    report the arm and leg scores under their own names, at every burden."""
    b = np.linspace(0.0, 1.0, 401)
    ones = np.ones_like(b)
    out = all_scales(b, th, 1.3 * ones, ones, ones, np.full_like(b, np.nan))
    np.testing.assert_array_equal(out["incat_arm"], incat_arm(b, th, 1.3 * ones, np.full_like(b, np.nan)))
    np.testing.assert_array_equal(out["incat_leg"], incat_leg(b, th))
    between = (b >= th.sensory_hands) & (b < th.ataxia)
    assert between.any()
    assert (out["incat_arm"][between] == 1).all() and (out["incat_leg"][between] == 0).all()


def test_mrc_sum_falls_with_the_patients_motor_factor(th: SimpleNamespace) -> None:
    """At maximal burden the MRC sum score is 60 − 40 × motor factor: a stronger factor, a lower score."""
    factors = np.array([0.5, 0.8, 1.0, 1.2])
    assert mrc_sum(np.ones(4), th, factors).tolist() == np.rint(60 - 40 * factors).astype(int).tolist()
    out = all_scales(np.ones(4), th, np.ones(4), np.ones(4), factors, np.full(4, np.nan))
    assert out["mrc_sum"].tolist() == np.rint(60 - 40 * factors).astype(int).tolist()


# --------------------------------------------------------------------------------------------- workers


def test_a_workers_blocks_do_not_depend_on_their_order_or_company(tiny_scenario: sim.Scenario) -> None:
    """A worker given several blocks, in any order, returns for each block exactly what it returns for that
    block alone: streams are keyed by block, never by the position in a worker's list."""
    values = tiny_scenario.values()
    table = runner.life_table_for(tiny_scenario)
    size = 6

    def run(blocks):
        shared = (values, table, 3, 0, False, None, False)
        return {out.block: out for out in runner._run_blocks(shared, [(b, size) for b in blocks])}

    alone = {b: run([b])[b] for b in (0, 1, 2)}
    for order in ([0, 1, 2], [2, 0, 1], [1, 2]):
        together = run(order)
        for b in order:
            np.testing.assert_array_equal(together[b].times, alone[b].times)
            np.testing.assert_array_equal(together[b].traits.patient_id, alone[b].traits.patient_id)
            np.testing.assert_array_equal(together[b].traits.age_at_onset, alone[b].traits.age_at_onset)
