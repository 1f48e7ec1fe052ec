"""Unit tests for analysis.cea: hand-worked fixtures with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.cea import (
    ce_plane,
    ceac,
    ceaf,
    evpi,
    icers,
    mean_with_se,
    net_monetary_benefit,
    paired_difference,
)


def _frame(rows: list[tuple[str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["strategy", "cost", "effect"])


def _by_name(result: pd.DataFrame) -> pd.DataFrame:
    return result.set_index("strategy")


# ----------------------------------------------------------------------------------------------
# icers
# ----------------------------------------------------------------------------------------------


def test_icers_worked_example_herc_dampack() -> None:
    frame = _frame(
        [
            ("E", 55000, 5),
            ("D", 35000, 4),
            ("C", 25000, 3),
            ("B", 10000, 2),
            ("A", 12000, 1.5),
            ("UC", 5000, 1),
        ]
    )
    out = icers(frame)

    # dampack order: ND by cost, then ED, then D
    assert out["strategy"].tolist() == ["UC", "B", "D", "E", "C", "A"]
    assert out["status"].tolist() == ["ND", "ND", "ND", "ND", "ED", "D"]
    assert out["note"].tolist() == ["frontier start", "", "", "", "extendedly dominated", "dominated"]

    r = _by_name(out)
    assert math.isnan(r.loc["UC", "icer"])
    assert math.isnan(r.loc["UC", "inc_cost"])
    assert math.isnan(r.loc["UC", "inc_effect"])
    assert r.loc["B", "icer"] == pytest.approx(5000)
    assert r.loc["D", "icer"] == pytest.approx(12500)
    assert r.loc["E", "icer"] == pytest.approx(20000)
    # increments relative to the previous frontier strategy (D relative to B, not to C)
    assert r.loc["B", ["inc_cost", "inc_effect"]].tolist() == [5000, 1]
    assert r.loc["D", ["inc_cost", "inc_effect"]].tolist() == [25000, 2]
    assert r.loc["E", ["inc_cost", "inc_effect"]].tolist() == [20000, 1]
    for s in ("C", "A"):
        assert r.loc[s, ["inc_cost", "inc_effect", "icer"]].isna().all()
    assert list(out.index) == list(range(6))


def test_icers_strong_dominance() -> None:
    # X costs more and is less effective than Y
    out = _by_name(icers(_frame([("Ref", 0, 0), ("X", 200, 1), ("Y", 100, 2)])))
    assert out.loc["X", "status"] == "D"
    assert out.loc["X", "note"] == "dominated"
    assert out.loc["Y", "status"] == "ND"
    assert out.loc["Y", "icer"] == pytest.approx(50)


def test_icers_new_strategy_cheaper_and_better_dominates_old() -> None:
    out = icers(_frame([("old", 1000, 1.0), ("new", 800, 1.5)]))
    assert out["strategy"].tolist() == ["new", "old"]
    r = _by_name(out)
    assert r.loc["new", "status"] == "ND"
    assert r.loc["new", "note"] == "frontier start"
    assert r.loc["old", "status"] == "D"
    assert r.loc["old", "note"] == "dominated"
    assert out["icer"].isna().all()


def test_icers_equal_effect_costlier_is_dominated() -> None:
    r = _by_name(icers(_frame([("a", 100, 2), ("b", 150, 2)])))
    assert r.loc["a", "status"] == "ND"
    assert r.loc["b", "status"] == "D"
    assert r.loc["b", "note"] == "dominated"


def test_icers_equal_cost_less_effective_is_dominated() -> None:
    r = _by_name(icers(_frame([("a", 100, 2), ("b", 100, 3)])))
    assert r.loc["b", "status"] == "ND"
    assert r.loc["b", "note"] == "frontier start"
    assert r.loc["a", "status"] == "D"
    assert r.loc["a", "note"] == "dominated"


def test_icers_extended_dominance_single_round() -> None:
    # M lies above the chord L-H: ICER(L->M) = 30 > ICER(M->H) = 10
    r = _by_name(icers(_frame([("L", 0, 0), ("M", 30, 1), ("H", 40, 2)])))
    assert r.loc["M", "status"] == "ED"
    assert r.loc["M", "note"] == "extendedly dominated"
    assert r.loc["H", "status"] == "ND"
    assert r.loc["H", "icer"] == pytest.approx(20)  # relative to L once M is removed


def test_icers_extended_dominance_needs_two_rounds() -> None:
    # ICERs A->B 10, B->C 11, C->D 1: round 1 removes C; then A->B 10 > B->D 6, so B goes too.
    out = icers(_frame([("A", 0, 0), ("B", 10, 1), ("C", 21, 2), ("D", 22, 3)]))
    r = _by_name(out)
    assert r.loc["C", "status"] == "ED"
    assert r.loc["B", "status"] == "ED"
    assert r.loc["D", "status"] == "ND"
    assert r.loc["D", "icer"] == pytest.approx(22 / 3)
    assert out["strategy"].tolist() == ["A", "D", "B", "C"]


def test_icers_collinear_points_stay_non_dominated() -> None:
    # dampack requires a strictly greater ICER for extended dominance
    r = _by_name(icers(_frame([("A", 0, 0), ("B", 10, 1), ("C", 20, 2)])))
    assert (r["status"] == "ND").all()
    assert r.loc["B", "icer"] == r.loc["C", "icer"] == 10


def test_icers_single_strategy() -> None:
    out = icers(_frame([("only", 123.0, 4.5)]))
    assert out["status"].tolist() == ["ND"]
    assert out["note"].tolist() == ["frontier start"]
    assert out[["inc_cost", "inc_effect", "icer"]].isna().all().all()


def test_icers_identical_strategies_reported_as_no_difference() -> None:
    # identical pair on the frontier: first by name is kept; the copy is "no difference"
    out = icers(_frame([("base", 0, 0), ("twin_b", 100, 1), ("twin_a", 100, 1)]))
    r = _by_name(out)
    assert r.loc["twin_a", "status"] == "ND"
    assert r.loc["twin_a", "icer"] == pytest.approx(100)
    assert r.loc["twin_b", "status"] == "D"
    assert r.loc["twin_b", "note"] == "no difference"
    assert not np.isinf(out[["inc_cost", "inc_effect", "icer"]].to_numpy()).any()
    # every ND non-reference row has a finite ICER
    nd = out[(out["status"] == "ND") & (out["note"] != "frontier start")]
    assert np.isfinite(nd["icer"]).all()


def test_icers_identical_only_strategies() -> None:
    out = icers(_frame([("b", 10, 1), ("a", 10, 1)]))
    assert out["strategy"].tolist() == ["a", "b"]
    assert out["status"].tolist() == ["ND", "D"]
    assert out["note"].tolist() == ["frontier start", "no difference"]
    assert out["icer"].isna().all()


def test_icers_tie_rule_independent_of_input_order() -> None:
    rows = [("z", 5, 1), ("y", 5, 1), ("x", 0, 0), ("w", 9, 2)]
    a = icers(_frame(rows))
    b = icers(_frame(rows[::-1]))
    pd.testing.assert_frame_equal(a, b)


def test_icers_identical_but_both_dominated_are_dominated() -> None:
    r = _by_name(icers(_frame([("good", 1, 5), ("p", 10, 1), ("q", 10, 1)])))
    assert r.loc["p", "status"] == r.loc["q", "status"] == "D"
    assert r.loc["p", "note"] == r.loc["q", "note"] == "dominated"


def test_icers_keeps_extra_columns_and_custom_names() -> None:
    frame = pd.DataFrame({"arm": ["a", "b"], "c": [0.0, 10.0], "q": [1.0, 2.0], "label": ["x", "y"]})
    out = icers(frame, cost="c", effect="q", strategy="arm")
    assert list(out.columns) == ["arm", "c", "q", "label", "inc_cost", "inc_effect", "icer", "status", "note"]
    assert out.loc[out["arm"] == "b", "label"].item() == "y"
    assert out.loc[out["arm"] == "b", "icer"].item() == pytest.approx(10)


def test_icers_negative_effects_and_costs() -> None:
    # cost savings and QALY losses are legitimate inputs
    r = _by_name(icers(_frame([("a", -100, -1), ("b", 0, 0)])))
    assert r.loc["a", "note"] == "frontier start"
    assert r.loc["b", "icer"] == pytest.approx(100)


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (pd.DataFrame({"strategy": ["a"], "cost": [1.0]}), "missing required column"),
        (pd.DataFrame({"strategy": [], "cost": [], "effect": []}), "empty"),
        (_frame([("a", 1, 1), ("a", 2, 2)]), "duplicate strategy"),
        (_frame([("a", np.nan, 1)]), "non-finite"),
        (_frame([("a", 1, np.inf)]), "non-finite"),
        (pd.DataFrame({"strategy": ["a"], "cost": ["cheap"], "effect": [1]}), "numeric"),
        (pd.DataFrame({"strategy": [None, "b"], "cost": [1, 2], "effect": [1, 2]}), "missing values"),
    ],
)
def test_icers_validation(frame: pd.DataFrame, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        icers(frame)


# ----------------------------------------------------------------------------------------------
# Net monetary benefit
# ----------------------------------------------------------------------------------------------


def test_nmb_scalar_by_hand() -> None:
    frame = _frame([("a", 1000, 0.5), ("b", 3000, 0.6)])
    nmb = net_monetary_benefit(frame, 20000)
    assert isinstance(nmb, pd.Series)
    assert nmb.tolist() == [9000.0, 9000.0]
    assert net_monetary_benefit(frame, 0).tolist() == [-1000.0, -3000.0]


def test_nmb_vector_returns_tidy_frame() -> None:
    frame = _frame([("a", 1000, 0.5), ("b", 3000, 0.6)])
    out = net_monetary_benefit(frame, [0, 10000, 50000])
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == ["strategy", "cost", "effect", "wtp", "nmb"]
    assert len(out) == 6
    assert out["wtp"].tolist() == [0, 0, 10000, 10000, 50000, 50000]
    assert out["nmb"].tolist() == [-1000, -3000, 4000, 3000, 24000, 27000]


def test_nmb_validation() -> None:
    frame = _frame([("a", 1000, 0.5)])
    with pytest.raises(ValueError, match="finite"):
        net_monetary_benefit(frame, np.nan)
    with pytest.raises(ValueError, match="missing required column"):
        net_monetary_benefit(frame, 1.0, effect="qaly")


# ----------------------------------------------------------------------------------------------
# PSA summaries
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def tiny_psa() -> pd.DataFrame:
    """Two draws; A costs nothing and yields nothing; B costs 100 and yields 1 (draw 1) or 3 (draw 2)."""
    return pd.DataFrame(
        {
            "draw": [1, 1, 2, 2],
            "strategy": ["A", "B", "A", "B"],
            "cost": [0.0, 100.0, 0.0, 100.0],
            "effect": [0.0, 1.0, 0.0, 3.0],
        }
    )


def test_ceac_hand_computed(tiny_psa: pd.DataFrame) -> None:
    out = ceac(tiny_psa, [0, 50, 100, 200])
    assert list(out.columns) == ["wtp", "strategy", "probability"]
    prob = out.set_index(["wtp", "strategy"])["probability"]
    # wtp 0: A always wins. wtp 50: B wins in draw 2 only.
    # wtp 100: draw 1 is an exact tie (NMB 0 vs 0), split equally; B wins draw 2.
    expected = {
        (0, "A"): 1.0,
        (0, "B"): 0.0,
        (50, "A"): 0.5,
        (50, "B"): 0.5,
        (100, "A"): 0.25,
        (100, "B"): 0.75,
        (200, "A"): 0.0,
        (200, "B"): 1.0,
    }
    for key, value in expected.items():
        assert prob[key] == pytest.approx(value)


def test_ceac_identical_strategies_share_probability(tiny_psa: pd.DataFrame) -> None:
    copy = tiny_psa[tiny_psa["strategy"] == "B"].assign(strategy="B2")
    out = ceac(pd.concat([tiny_psa, copy]), 200).set_index("strategy")["probability"]
    assert out["B"] == pytest.approx(0.5)
    assert out["B2"] == pytest.approx(0.5)
    assert out["A"] == 0


def test_ceaf_hand_computed(tiny_psa: pd.DataFrame) -> None:
    out = ceaf(tiny_psa, [0, 50, 100, 200])
    assert list(out.columns) == ["wtp", "strategy", "probability", "expected_nmb"]
    # expected NMB: A = 0, B = 2 * wtp - 100; at wtp 50 they tie and the first strategy (A) is reported
    assert out["strategy"].tolist() == ["A", "A", "B", "B"]
    assert out["probability"].tolist() == pytest.approx([1.0, 0.5, 0.75, 1.0])
    assert out["expected_nmb"].tolist() == pytest.approx([0, 0, 100, 300])


def test_ceaf_can_differ_from_most_likely_strategy() -> None:
    # B wins in 3 of 4 draws by a little, A wins 1 draw by a lot: A has the higher expected NMB.
    psa = pd.DataFrame(
        {
            "draw": np.repeat([0, 1, 2, 3], 2),
            "strategy": ["A", "B"] * 4,
            "cost": [0.0] * 8,
            "effect": [0, 1, 0, 1, 0, 1, 10, 0],
        }
    )
    out = ceaf(psa, 1.0)
    assert out["strategy"].item() == "A"
    assert out["probability"].item() == pytest.approx(0.25)
    assert out["expected_nmb"].item() == pytest.approx(2.5)


def test_evpi_zero_when_one_strategy_always_wins(tiny_psa: pd.DataFrame) -> None:
    out = evpi(tiny_psa, [0, 200])
    assert list(out.columns) == ["wtp", "evpi", "se"]
    assert out["evpi"].tolist() == [0.0, 0.0]
    assert out["se"].tolist() == [0.0, 0.0]


def test_evpi_hand_computed_positive(tiny_psa: pd.DataFrame) -> None:
    out = evpi(tiny_psa, 50)
    # E[max NMB] = (0 + 50) / 2 = 25; max E[NMB] = max(0, 0) = 0  =>  EVPI = 25.
    # regrets of the expected-optimal choice are (0, 50): SE = sd(0, 50) / sqrt(2) = 25.
    assert out["evpi"].item() == pytest.approx(25)
    assert out["se"].item() == pytest.approx(25)


def test_evpi_single_draw_is_zero_with_nan_se(tiny_psa: pd.DataFrame) -> None:
    out = evpi(tiny_psa[tiny_psa["draw"] == 1], 50)
    assert out["evpi"].item() == 0
    assert math.isnan(out["se"].item())


def test_ce_plane_pairs_by_draw(tiny_psa: pd.DataFrame) -> None:
    shuffled = tiny_psa.sample(frac=1, random_state=3).reset_index(drop=True)
    out = ce_plane(shuffled, reference="A")
    assert list(out.columns) == ["draw", "strategy", "inc_cost", "inc_effect"]
    assert set(out["strategy"]) == {"B"}
    got = out.set_index("draw")
    assert got.loc[1, "inc_cost"] == 100 and got.loc[1, "inc_effect"] == 1
    assert got.loc[2, "inc_cost"] == 100 and got.loc[2, "inc_effect"] == 3

    back = ce_plane(tiny_psa, reference="B").set_index("draw")
    assert back.loc[2, "inc_effect"] == -3


def test_ce_plane_three_strategies_layout() -> None:
    psa = pd.DataFrame(
        {
            "draw": [0, 0, 0, 1, 1, 1],
            "strategy": ["r", "s", "t"] * 2,
            "cost": [1.0, 2.0, 4.0, 10.0, 20.0, 40.0],
            "effect": [0.0, 1.0, 2.0, 0.0, 3.0, 5.0],
        }
    )
    out = ce_plane(psa, "r")
    assert out["strategy"].tolist() == ["s", "s", "t", "t"]
    assert out["draw"].tolist() == [0, 1, 0, 1]
    assert out["inc_cost"].tolist() == [1.0, 10.0, 3.0, 30.0]
    assert out["inc_effect"].tolist() == [1.0, 3.0, 2.0, 5.0]


@pytest.mark.parametrize("func", [ceac, ceaf, evpi])
def test_psa_validation(func, tiny_psa: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="missing required column"):
        func(tiny_psa.drop(columns="draw"), 1.0)
    with pytest.raises(ValueError, match="unbalanced"):
        func(tiny_psa.iloc[:3], 1.0)
    with pytest.raises(ValueError, match="duplicate"):
        func(pd.concat([tiny_psa, tiny_psa.iloc[:1]]), 1.0)
    with pytest.raises(ValueError, match="non-finite"):
        func(tiny_psa.assign(cost=[0.0, np.nan, 0.0, 1.0]), 1.0)
    with pytest.raises(ValueError, match="empty"):
        func(tiny_psa.iloc[:0], 1.0)
    with pytest.raises(ValueError, match="wtp"):
        func(tiny_psa, [])


def test_ce_plane_validation(tiny_psa: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="reference strategy 'Z' not found"):
        ce_plane(tiny_psa, "Z")
    with pytest.raises(ValueError, match="unbalanced"):
        ce_plane(tiny_psa.iloc[1:], "A")


# ----------------------------------------------------------------------------------------------
# Monte Carlo error helpers
# ----------------------------------------------------------------------------------------------


def test_mean_with_se_by_hand() -> None:
    mean, se = mean_with_se([1.0, 2.0, 3.0, 4.0])
    assert mean == pytest.approx(2.5)
    # sample SD = sqrt(5/3); SE = SD / 2
    assert se == pytest.approx(math.sqrt(5 / 3) / 2)


def test_mean_with_se_single_value_has_nan_se() -> None:
    mean, se = mean_with_se(np.array([7.0]))
    assert mean == 7.0
    assert math.isnan(se)


def test_paired_difference_uses_within_pair_variation() -> None:
    a = np.array([10.0, 20.0, 30.0, 40.0])
    b = a - np.array([1.0, 2.0, 1.0, 2.0])
    mean, se = paired_difference(a, b)
    assert mean == pytest.approx(1.5)
    assert se == pytest.approx(np.std([1, 2, 1, 2], ddof=1) / 2)
    # constant shift: zero variance of the differences
    assert paired_difference(a, a - 3) == (pytest.approx(3.0), 0.0)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: mean_with_se([]), "at least one"),
        (lambda: mean_with_se([1.0, np.nan]), "non-finite"),
        (lambda: mean_with_se([[1.0, 2.0]]), "one-dimensional"),
        (lambda: paired_difference([1.0, 2.0], [1.0]), "same length"),
    ],
)
def test_mc_helpers_validation(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
