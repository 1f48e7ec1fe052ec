"""Expected loss, pairwise acceptability, the ICER table on PSA means (analysis.psa_curves), population value
and the information rank (analysis.voi)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.cea import evpi, icers
from analysis.psa_curves import expected_loss, pairwise_ceac, psa_icers
from analysis.voi import information_rank, population_multiplier, population_value


@pytest.fixture(scope="module")
def psa() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 400
    rows = []
    for name, cost, effect in (("A", 0.0, 0.0), ("B", 1000.0, 0.05), ("C", 3000.0, 0.1)):
        rows.append(
            pd.DataFrame(
                {
                    "draw": np.arange(1, n + 1),
                    "strategy": name,
                    "cost": cost + 300 * rng.standard_normal(n),
                    "effect": effect + 0.04 * rng.standard_normal(n),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_expected_loss_is_non_negative_and_its_minimum_is_the_evpi(psa):
    grid = [0.0, 20000.0, 40000.0, 80000.0]
    loss = expected_loss(psa, grid)
    assert (loss["expected_loss"] >= 0).all()
    lowest = loss.groupby("wtp")["expected_loss"].min().to_numpy()
    np.testing.assert_allclose(lowest, evpi(psa, grid)["evpi"].to_numpy(), rtol=1e-12, atol=1e-9)
    assert loss.groupby("wtp")["optimal"].sum().eq(1).all()
    assert loss[(loss["wtp"] == 0) & loss["optimal"]]["strategy"].item() == "A"


def test_pairwise_ceac_is_the_share_of_draws_with_a_higher_nmb(psa):
    out = pairwise_ceac(psa, [20000.0], "A")
    assert list(out["strategy"]) == ["B", "C"] and set(out["comparator"]) == {"A"}
    wide = psa.pivot(index="draw", columns="strategy", values=["cost", "effect"])
    nmb_b = 20000 * wide["effect"]["B"] - wide["cost"]["B"]
    nmb_a = 20000 * wide["effect"]["A"] - wide["cost"]["A"]
    assert out.loc[0, "probability"] == pytest.approx(float((nmb_b > nmb_a).mean()))
    with pytest.raises(ValueError, match="comparator 'Z' not found"):
        pairwise_ceac(psa, [1.0], "Z")


def test_psa_icers_is_the_icer_table_of_the_means(psa):
    table = psa_icers(psa)
    means = psa.groupby("strategy", sort=False)[["cost", "effect"]].mean().reset_index()
    expected = icers(means).set_index("strategy")
    got = table.set_index("strategy")
    np.testing.assert_allclose(got.loc[expected.index, "icer"], expected["icer"], rtol=1e-12)
    assert list(got.loc[expected.index, "status"]) == list(expected["status"])
    frontier = table[table["status"] == "ND"]
    assert frontier["comparator"].iloc[0] == "" and (frontier["comparator"].iloc[1:] != "").all()


def test_population_multiplier_has_its_closed_form():
    delta = math.log(1.035)
    expected = 1e6 * (0.3 + 0.05 * (1 - math.exp(-delta * 10)) / delta) / 1e5
    assert population_multiplier(1e6, 0.3, 0.05, 10, 0.035) == pytest.approx(expected, rel=1e-12)
    assert population_multiplier(1e6, 0.3, 0.05, 10, 0.0) == pytest.approx(1e6 * (0.3 + 0.5) / 1e5)
    with pytest.raises(ValueError, match="horizon_years"):
        population_multiplier(1e6, 0.3, 0.05, -1, 0.035)
    table = population_value(pd.DataFrame({"wtp": [1.0], "evpi": [2.0], "se": [0.5]}), 10.0)
    assert table[["population_evpi", "population_evpi_se"]].iloc[0].tolist() == [20.0, 5.0]


def test_information_rank_orders_by_evppi_within_each_wtp():
    table = pd.DataFrame(
        {"parameters": ["a", "b", "a", "b"], "wtp": [1.0, 1.0, 2.0, 2.0], "evppi": [1.0, 3.0, 2.0, 0.0]}
    ).assign(evpi=4.0)
    ranked = information_rank(table)
    assert list(ranked["parameters"]) == ["b", "a", "a", "b"] and list(ranked["rank"]) == [1, 2, 1, 2]
    assert ranked["share_of_evpi"].tolist() == [0.75, 0.25, 0.5, 0.0]
