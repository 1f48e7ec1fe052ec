"""Hypothesis properties of analysis.cea.

Costs and effects are drawn from small integer grids: this produces many ties and collinear
points (the interesting edge cases) while keeping all arithmetic exact in floating point, so the
properties can be checked without tolerance-induced flakiness.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.cea import ceac, ceaf, evpi, icers

STATUSES = {"ND", "D", "ED"}
NOTES = {"frontier start", "", "no difference", "dominated", "extendedly dominated"}


@st.composite
def strategy_tables(draw: st.DrawFn, max_strategies: int = 7) -> pd.DataFrame:
    n = draw(st.integers(min_value=1, max_value=max_strategies))
    costs = draw(st.lists(st.integers(-5, 20), min_size=n, max_size=n))
    effects = draw(st.lists(st.integers(0, 8), min_size=n, max_size=n))
    names = [f"S{i}" for i in range(n)]
    order = draw(st.permutations(range(n)))
    return pd.DataFrame(
        {
            "strategy": [names[i] for i in order],
            "cost": [float(costs[i]) for i in order],
            "effect": [float(effects[i]) for i in order],
        }
    )


@st.composite
def psa_tables(draw: st.DrawFn) -> pd.DataFrame:
    n_draws = draw(st.integers(1, 6))
    n_strats = draw(st.integers(1, 4))
    cells = n_draws * n_strats
    costs = draw(st.lists(st.integers(0, 30), min_size=cells, max_size=cells))
    effects = draw(st.lists(st.integers(0, 6), min_size=cells, max_size=cells))
    frame = pd.DataFrame(
        {
            "draw": np.repeat(np.arange(n_draws), n_strats),
            "strategy": [f"T{j}" for j in range(n_strats)] * n_draws,
            "cost": np.asarray(costs, dtype=float),
            "effect": np.asarray(effects, dtype=float),
        }
    )
    perm = draw(st.permutations(range(cells)))
    return frame.iloc[list(perm)].reset_index(drop=True)


WTPS = st.lists(st.integers(0, 20), min_size=1, max_size=5, unique=True).map(
    lambda xs: np.asarray(xs, dtype=float)
)


# ----------------------------------------------------------------------------------------------
# icers
# ----------------------------------------------------------------------------------------------


@settings(deadline=None, max_examples=60)
@given(strategy_tables())
def test_every_strategy_gets_exactly_one_valid_status(frame: pd.DataFrame) -> None:
    out = icers(frame)
    assert len(out) == len(frame)
    assert sorted(out["strategy"]) == sorted(frame["strategy"])
    assert set(out["status"]) <= STATUSES
    assert set(out["note"]) <= NOTES
    assert (out["note"] == "frontier start").sum() == 1
    # statuses appear in dampack's block order ND, ED, D
    rank = out["status"].map({"ND": 0, "ED": 1, "D": 2}).to_numpy()
    assert np.all(np.diff(rank) >= 0)


@settings(deadline=None, max_examples=60)
@given(strategy_tables())
def test_cheapest_strategy_is_reference_and_non_dominated(frame: pd.DataFrame) -> None:
    out = icers(frame)
    ref = out[out["note"] == "frontier start"]
    assert ref["status"].item() == "ND"
    assert ref["cost"].item() == frame["cost"].min()
    # among the cheapest, the reference is the most effective
    assert ref["effect"].item() == frame.loc[frame["cost"] == frame["cost"].min(), "effect"].max()
    assert out.iloc[0]["note"] == "frontier start"


@settings(deadline=None, max_examples=60)
@given(strategy_tables())
def test_no_infinite_icers_and_nan_pattern(frame: pd.DataFrame) -> None:
    out = icers(frame)
    numeric = out[["inc_cost", "inc_effect", "icer"]].to_numpy()
    assert not np.isinf(numeric).any()
    frontier = out[(out["status"] == "ND") & (out["note"] != "frontier start")]
    assert np.isfinite(frontier[["inc_cost", "inc_effect", "icer"]].to_numpy()).all()
    assert (frontier["inc_cost"] > 0).all()
    assert (frontier["inc_effect"] > 0).all()
    others = out[(out["status"] != "ND") | (out["note"] == "frontier start")]
    assert others[["inc_cost", "inc_effect", "icer"]].isna().all().all()


@settings(deadline=None, max_examples=60)
@given(strategy_tables())
def test_frontier_icers_increase(frame: pd.DataFrame) -> None:
    """ICERs along the frontier never decrease; equal consecutive ICERs only for collinear points.

    dampack (and this module) keep exactly collinear frontier points as ND, so the ICER sequence is
    strictly increasing except across such points.
    """
    out = icers(frame)
    nd = out[out["status"] == "ND"]
    assert np.all(np.diff(nd["cost"].to_numpy()) > 0)
    assert np.all(np.diff(nd["effect"].to_numpy()) > 0)
    ratios = nd["icer"].to_numpy()[1:]
    steps = np.diff(ratios)
    assert np.all(steps >= 0)
    c, e = nd["cost"].to_numpy(), nd["effect"].to_numpy()
    for k in np.flatnonzero(steps == 0):
        # points k, k+1, k+2 of the frontier are collinear (zero cross product)
        assert (c[k + 1] - c[k]) * (e[k + 2] - e[k + 1]) == (c[k + 2] - c[k + 1]) * (e[k + 1] - e[k])


@settings(deadline=None, max_examples=60)
@given(strategy_tables())
def test_no_strategy_lies_below_the_frontier(frame: pd.DataFrame) -> None:
    """The ND set is the lower convex hull: every strategy costs at least the frontier cost."""
    out = icers(frame)
    nd = out[out["status"] == "ND"]
    frontier_cost = np.interp(out["effect"], nd["effect"], nd["cost"])
    assert np.all(out["cost"].to_numpy() >= frontier_cost - 1e-9)
    assert out["effect"].max() == nd["effect"].max()
    # no ND strategy is dominated by any other strategy
    for _, row in nd.iterrows():
        better = (frame["cost"] <= row["cost"]) & (frame["effect"] >= row["effect"])
        strictly = better & ((frame["cost"] < row["cost"]) | (frame["effect"] > row["effect"]))
        assert not strictly.any()


@settings(deadline=None, max_examples=60)
@given(strategy_tables())
def test_no_difference_marks_exact_copies_only(frame: pd.DataFrame) -> None:
    out = icers(frame)
    for _, row in out[out["note"] == "no difference"].iterrows():
        assert row["status"] == "D"
        twins = out[(out["cost"] == row["cost"]) & (out["effect"] == row["effect"])]
        assert len(twins) >= 2
        # the kept copy is the first by name
        assert twins["strategy"].min() < row["strategy"]


@settings(deadline=None, max_examples=80)
@given(strategy_tables(), st.sampled_from([0.5, 2.0, 3.0, 2.5, 10.0, 1000.0]))
def test_scaling_costs_scales_increments_and_keeps_statuses(frame: pd.DataFrame, k: float) -> None:
    base = icers(frame).set_index("strategy")
    scaled = icers(frame.assign(cost=frame["cost"] * k)).set_index("strategy").loc[base.index]
    pd.testing.assert_series_equal(base["status"], scaled["status"])
    pd.testing.assert_series_equal(base["note"], scaled["note"])
    np.testing.assert_allclose(scaled["inc_cost"], base["inc_cost"] * k, rtol=1e-12)
    np.testing.assert_allclose(scaled["icer"], base["icer"] * k, rtol=1e-12)
    np.testing.assert_array_equal(scaled["inc_effect"], base["inc_effect"])


@settings(deadline=None, max_examples=80)
@given(strategy_tables(), st.integers(-1000, 1000))
def test_shifting_costs_keeps_statuses_and_icers(frame: pd.DataFrame, shift: int) -> None:
    base = icers(frame)
    shifted = icers(frame.assign(cost=frame["cost"] + shift))
    assert shifted["strategy"].tolist() == base["strategy"].tolist()
    assert shifted["status"].tolist() == base["status"].tolist()
    assert shifted["note"].tolist() == base["note"].tolist()
    np.testing.assert_array_equal(shifted["icer"], base["icer"])
    np.testing.assert_array_equal(shifted["inc_cost"], base["inc_cost"])


@settings(deadline=None, max_examples=60)
@given(strategy_tables(), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_row_order(frame: pd.DataFrame, rnd) -> None:
    perm = list(range(len(frame)))
    rnd.shuffle(perm)
    pd.testing.assert_frame_equal(icers(frame), icers(frame.iloc[perm]))


# ----------------------------------------------------------------------------------------------
# PSA summaries
# ----------------------------------------------------------------------------------------------


def _nmb_matrix(psa: pd.DataFrame, w: float) -> pd.DataFrame:
    wide = psa.assign(nmb=psa["effect"] * w - psa["cost"])
    return wide.pivot(index="draw", columns="strategy", values="nmb")


@settings(deadline=None, max_examples=80)
@given(psa_tables(), WTPS)
def test_ceac_probabilities_are_a_distribution(psa: pd.DataFrame, wtps: np.ndarray) -> None:
    out = ceac(psa, wtps)
    assert len(out) == len(wtps) * psa["strategy"].nunique()
    assert out["probability"].between(0, 1).all()
    sums = out.groupby("wtp", sort=False)["probability"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0, rtol=0, atol=1e-12)


@settings(deadline=None, max_examples=80)
@given(psa_tables(), WTPS)
def test_evpi_nonnegative_and_matches_definition(psa: pd.DataFrame, wtps: np.ndarray) -> None:
    out = evpi(psa, wtps)
    assert (out["evpi"] >= 0).all()
    for w, value in zip(wtps, out["evpi"], strict=True):
        nmb = _nmb_matrix(psa, w)
        expected = nmb.max(axis=1).mean() - nmb.mean(axis=0).max()
        assert abs(value - expected) <= 1e-9 * (1 + abs(expected))


@settings(deadline=None, max_examples=80)
@given(psa_tables(), WTPS)
def test_ceaf_picks_highest_expected_nmb(psa: pd.DataFrame, wtps: np.ndarray) -> None:
    out = ceaf(psa, wtps)
    curves = ceac(psa, wtps).set_index(["wtp", "strategy"])["probability"]
    assert len(out) == len(wtps)
    for _, row in out.iterrows():
        nmb = _nmb_matrix(psa, row["wtp"])
        assert row["expected_nmb"] == nmb.mean(axis=0).max()
        assert row["probability"] == curves[(row["wtp"], row["strategy"])]
