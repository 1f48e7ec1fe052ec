"""Hypothesis properties of the economics layer: outcomes under random utilities and cost scales (A4, A7),
and the paired comparison of analysis/economics.py (increments, ICER intervals, NMB, identical strategies).

The simulation-backed properties use small cohorts over a 20-year horizon; the comparison properties use
synthetic per-patient tables, so they run in milliseconds.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from analysis.economics import (
    MEASURES,
    ROUNDING_RTOL,
    evaluate,
    fieller_interval,
    incremental_table,
    nmb_table,
)
from sim.model.outcomes import OUTCOME_COLUMNS
from sim.run.psa import sample_parameters
from sim.run.runner import SimulationResult
from sim.scenario.loading import bundled_scenario_path

N = 60
SEED = 31


@cache
def strategy(name: str) -> sim.Scenario:
    base = sim.load_scenario(bundled_scenario_path(f"{name}.toml"))
    return base.with_updates({"settings.horizon_years": 20.0})


@cache
def base_run(name: str) -> SimulationResult:
    return sim.simulate(strategy(name), n_patients=N, seed=SEED)


def fixed(v: float) -> dict:
    return {"value": float(v), "source": "hypothesis"}


# --------------------------------------------------------------------------------------------- A4, A7


@st.composite
def utilities_in_unit_interval(draw: st.DrawFn) -> dict[str, float]:
    """mRS utilities in [0, 1] and decrements/gain small enough that utility stays in [0, 1] at all times."""
    levels = [draw(st.floats(0.0, 1.0)) for _ in range(6)]
    lowest = min(levels[1:])
    budget = lowest / 3
    dec = {
        "pain_untreated_decrement": draw(st.floats(0.0, budget)),
        "malignancy_decrement": draw(st.floats(0.0, budget)),
        "bladder_cancer_decrement": draw(st.floats(0.0, budget)),
    }
    dec["pain_relieved_decrement"] = draw(st.floats(0.0, dec["pain_untreated_decrement"]))
    gain = draw(st.floats(0.0, 1.0 - max(levels[1:])))
    out = {f"economics.utilities.mrs{k}": v for k, v in enumerate(levels)}
    out.update({f"economics.utilities.{k}": v for k, v in dec.items()})
    out["economics.utilities.physiotherapy_gain"] = gain
    out["economics.utilities.adverse_event_minor_qaly_loss"] = 0.0
    out["economics.utilities.adverse_event_severe_qaly_loss"] = 0.0
    return out


@settings(max_examples=15)
@given(utilities_in_unit_interval(), st.sampled_from(["current_practice", "rituximab_at_diagnosis"]))
def test_qalys_are_bounded_by_life_years_for_any_utilities(values: dict[str, float], name: str) -> None:
    """A4: for utilities in [0, 1], 0 ≤ QALYs ≤ LYs, discounted ≤ undiscounted, and QALYs / LYs lies between
    the lowest and the highest utility a patient can have."""
    scenario = strategy(name).with_updates({p: fixed(v) for p, v in values.items()})
    p = sim.simulate(scenario, n_patients=N, seed=SEED).patients
    u = {k.rsplit(".", 1)[1]: v for k, v in values.items()}
    levels = [u[f"mrs{k}"] for k in range(1, 6)]
    lowest = (
        min(levels)
        - u["pain_untreated_decrement"]
        - u["malignancy_decrement"]
        - u["bladder_cancer_decrement"]
    )
    highest = max(levels) + u["physiotherapy_gain"]
    tol = 1e-9
    assert (p["qalys_undisc"] >= -tol).all() and (p["qalys_undisc"] <= p["lys_undisc"] + tol).all()
    assert (p["qalys_disc"] <= p["qalys_undisc"] + tol).all()
    assert (p["lys_disc"] <= p["lys_undisc"] + tol).all()
    ratio = p["qalys_undisc"] / p["lys_undisc"]
    assert ratio.between(lowest - tol, highest + tol).all()


@settings(max_examples=12)
@given(st.floats(0.01, 100.0))
def test_scaling_unit_costs_scales_every_cost(k: float) -> None:
    """A7: every unit cost × k → every patient's cost columns × k; health columns unchanged."""
    name = "current_practice"
    s = strategy(name)
    params = s.parameters()
    paths = [
        p
        for p in params
        if p.startswith("economics.costs.")
        or (p.startswith("treatments.") and (".costs." in p or p.rsplit(".", 1)[1].startswith("cost")))
    ]
    scaled = s.with_updates({p: fixed(k * params[p].value) for p in paths})
    a = base_run(name).patients
    b = sim.simulate(scaled, n_patients=N, seed=SEED).patients
    for column in OUTCOME_COLUMNS:
        if column.startswith("cost"):
            np.testing.assert_allclose(b[column], k * a[column], rtol=1e-12, atol=1e-9)
        else:
            np.testing.assert_array_equal(b[column], a[column])


@settings(max_examples=10)
@given(
    st.integers(0, 2**31 - 1),
    st.permutations(["supportive_care", "rituximab_at_diagnosis", "plasma_exchange"]),
)
def test_parameter_draws_do_not_depend_on_the_order_of_strategies(seed: int, order: list[str]) -> None:
    """The value of a parameter in a draw depends on (seed, draw, path) only."""
    a = sample_parameters([strategy(n) for n in order], 2, seed)
    b = sample_parameters([strategy(n) for n in sorted(order)], 2, seed)
    key = ["draw", "strategy"]
    a = a.sort_values(key).reset_index(drop=True)
    b = b.sort_values(key).reset_index(drop=True)[a.columns]
    pd.testing.assert_frame_equal(a, b)


# --------------------------------------------------------------------------------------------- comparisons


def synthetic(name: str, cost: np.ndarray, qalys: np.ndarray) -> SimulationResult:
    """A result of strategy ``name`` whose patients have the given discounted costs and QALYs."""
    scenario = strategy("supportive_care")
    n = cost.size
    frame = {"strategy": np.full(n, name, dtype=object), "patient_id": np.arange(n)}
    for m in MEASURES:
        if m.startswith("cost"):
            frame[m] = cost
        elif m.startswith("qalys"):
            frame[m] = qalys
        else:
            frame[m] = qalys + 1.0
    return SimulationResult(
        pd.DataFrame(frame), None, pd.DataFrame(), {"seed": 1, "draw": 0}, scenario, scenario.values()
    )


@st.composite
def paired_arms(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(5, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    base_cost = rng.gamma(2.0, 20000.0, n)
    base_q = rng.uniform(0, 15, n)
    d_cost = rng.normal(draw(st.floats(-5000, 5000)), draw(st.floats(1, 5000)), n)
    d_q = rng.normal(draw(st.floats(-1, 1)), draw(st.floats(0.01, 1)), n)
    return base_cost, base_q, base_cost + d_cost, base_q + d_q


@given(paired_arms())
def test_increments_are_antisymmetric(arms) -> None:
    """B − A = −(A − B), with the same standard error."""
    c0, q0, c1, q1 = arms
    a, b = synthetic("A", c0, q0), synthetic("B", c1, q1)
    ab = incremental_table([a, b]).iloc[0]
    ba = incremental_table([b, a]).iloc[0]
    assert ab["inc_cost_disc"] == pytest.approx(-ba["inc_cost_disc"], rel=1e-12, abs=1e-9)
    assert ab["inc_qalys_disc_se"] == pytest.approx(ba["inc_qalys_disc_se"], rel=1e-12)


@given(paired_arms())
def test_fieller_interval_contains_the_icer(arms) -> None:
    """A bounded Fieller interval always contains the point estimate."""
    c0, q0, c1, q1 = arms
    dc, dq = c1 - c0, q1 - q0
    low, high = fieller_interval(dc, dq)
    if not math.isnan(low):
        icer = dc.mean() / dq.mean()
        tol = 1e-9 * max(abs(low), abs(high), 1.0)
        assert low - tol <= icer <= high + tol


@given(paired_arms(), st.floats(0.1, 10.0))
def test_icer_and_its_interval_scale_with_costs(arms, k: float) -> None:
    """Costs × k → incremental cost, ICER and its interval × k; QALYs unchanged."""
    c0, q0, c1, q1 = arms
    one = incremental_table([synthetic("A", c0, q0), synthetic("B", c1, q1)]).iloc[0]
    two = incremental_table([synthetic("A", k * c0, q0), synthetic("B", k * c1, q1)]).iloc[0]
    assert two["inc_cost_disc"] == pytest.approx(k * one["inc_cost_disc"], rel=1e-9, abs=1e-6)
    assert two["inc_qalys_disc"] == one["inc_qalys_disc"]
    for col in ("icer", "icer_low", "icer_high"):
        if math.isnan(one[col]):
            assert math.isnan(two[col])
        else:
            assert two[col] == pytest.approx(k * one[col], rel=1e-6), col


def test_fieller_interval_collapses_when_costs_are_proportional_to_effects() -> None:
    """If every patient's Δcost = R × ΔQALYs, the ratio is known exactly: the interval is [R, R]."""
    rng = np.random.default_rng(5)
    dq = rng.normal(0.3, 0.2, 500)
    low, high = fieller_interval(25000.0 * dq, dq)
    assert low == pytest.approx(25000.0, rel=1e-9) and high == pytest.approx(25000.0, rel=1e-9)


def test_fieller_interval_is_unbounded_when_the_effect_is_not_significant() -> None:
    rng = np.random.default_rng(6)
    dq = rng.normal(0.0, 1.0, 50)
    dq -= dq.mean() - 0.01
    assert all(math.isnan(x) for x in fieller_interval(rng.normal(1000, 100, 50), dq))


@given(paired_arms(), st.lists(st.floats(0, 100000), min_size=1, max_size=4))
def test_incremental_nmb_is_wtp_times_incremental_qalys_minus_incremental_cost(arms, wtps) -> None:
    c0, q0, c1, q1 = arms
    a, b = synthetic("A", c0, q0), synthetic("B", c1, q1)
    inc = incremental_table([a, b]).iloc[0]
    nmb = nmb_table([a, b], wtps)
    for w in wtps:
        row = nmb[(nmb["wtp"] == w) & (nmb["strategy"] == "B")].iloc[0]
        expected = w * inc["inc_qalys_disc"] - inc["inc_cost_disc"]
        assert row["inc_nmb"] == pytest.approx(expected, rel=1e-9, abs=1e-6)
    assert (nmb.loc[nmb["strategy"] == "A", "inc_nmb"] == 0).all()


@given(paired_arms(), st.integers(0, 3))
def test_identical_strategies_are_no_difference(arms, ulps: int) -> None:
    """A copy of a strategy (even one differing by a few units in the last place, as rounding makes it)
    has increments exactly 0, note "no difference", no infinite or NaN ICER anywhere it matters."""
    c0, q0, _, _ = arms
    noisy_c = c0 * (1 + ulps * np.finfo(float).eps)
    noisy_q = q0 * (1 + ulps * np.finfo(float).eps)
    assert ulps * np.finfo(float).eps < ROUNDING_RTOL
    ev = evaluate([synthetic("A", c0, q0), synthetic("B", noisy_c, noisy_q)])
    inc = ev.incremental.iloc[0]
    assert inc["inc_cost_disc"] == 0 and inc["inc_qalys_disc"] == 0 and inc["inc_cost_disc_se"] == 0
    assert inc["note"] == "no difference"
    assert not np.isinf(ev.icers["icer"]).any()
    assert set(ev.icers["note"]) == {"frontier start", "no difference"}
    assert ev.nmb["inc_nmb"].eq(0).all()


def test_bootstrap_interval_is_reproducible_and_agrees_with_fieller() -> None:
    """The bootstrap interval (fixed seed) is the same on every call and, for a clearly positive effect and a
    large cohort, close to Fieller's."""
    from analysis.economics import bootstrap_interval

    rng = np.random.default_rng(8)
    dq = rng.normal(0.2, 0.5, 4000)
    dc = 20000 * dq + rng.normal(1000, 3000, 4000)
    a = bootstrap_interval(dc, dq, n_boot=1000)
    assert a == bootstrap_interval(dc, dq, n_boot=1000)
    f = fieller_interval(dc, dq)
    assert a[0] == pytest.approx(f[0], rel=0.05) and a[1] == pytest.approx(f[1], rel=0.05)
    ev = evaluate(
        [synthetic("A", np.zeros(4000), np.zeros(4000)), synthetic("B", dc, dq)],
        interval="bootstrap",
        n_boot=500,
    )
    row = ev.incremental.iloc[0]
    assert row["icer_low"] < row["icer"] < row["icer_high"]
    assert ev.metadata["icer_interval"]["method"] == "bootstrap"
