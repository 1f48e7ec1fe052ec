"""Probabilistic sensitivity analysis (sim/run/psa.py, invariants C23 and D24) and deterministic sensitivity
analysis (analysis/dsa.py): keyed parameter streams, the PSA table, its reproducibility, and tornado data."""

from __future__ import annotations

import copy
from functools import cache

import numpy as np
import pandas as pd
import pytest

import sim
import sim.run.psa as psa
from analysis.dsa import candidate_parameters, one_way, parameter_range, two_way
from sim.model.outcomes import OUTCOME_COLUMNS
from sim.random import parameter_generator
from sim.run.psa import (
    CohortJob,
    check_overrides,
    parameter_uniforms,
    run_cohorts,
    run_psa,
    run_psa_by_subgroup,
    sample_parameters,
    summarise_arm,
)
from sim.run.runner import simulate_outcomes
from sim.scenario.loading import bundled_scenario_path
from sim.scenario.parameters import frozen_distribution, sample
from sim.testing import parameter_kind

SEED = 97
HORIZON = 20.0
STRATEGIES = ("supportive_care", "rituximab_at_diagnosis")


@cache
def strategy(name: str) -> sim.Scenario:
    base = sim.load_scenario(bundled_scenario_path(f"{name}.toml"))
    return base.with_updates({"settings.horizon_years": HORIZON})


@cache
def shipped(name: str) -> sim.Scenario:
    return sim.load_scenario(bundled_scenario_path(f"{name}.toml"))


def pair() -> list[sim.Scenario]:
    return [strategy(n) for n in STRATEGIES]


def all_fixed(scenario: sim.Scenario) -> sim.Scenario:
    """The scenario with every distribution removed (each parameter fixed at its value)."""
    return scenario.with_updates(
        {p: {"value": q.value, "source": "test"} for p, q in scenario.uncertain_parameters().items()}
    )


# --------------------------------------------------------------------------------------------- sampling


def test_each_parameter_is_sampled_by_inversion_of_its_own_stream() -> None:
    """C23: draw d of parameter p is sample(p, u), u the first number of parameter_generator(seed, d, p)."""
    scenario = strategy("rituximab_at_diagnosis")
    table = sample_parameters(scenario, 3, SEED)
    params = scenario.uncertain_parameters()
    assert list(table.columns[2:]) == list(params)
    for path in ("population.p_male", "treatments.rituximab.efficacy.p_response", "economics.costs.csf"):
        for d in (1, 2, 3):
            u = parameter_generator(SEED, d, path).random()
            expected = float(sample(params[path], np.array([u]))[0])
            assert table.loc[table["draw"] == d, path].item() == expected


def test_a_shared_parameter_takes_the_same_value_in_every_strategy() -> None:
    """Strategies that share a parameter (matched by path) get the same draw of it."""
    table = sample_parameters(pair(), 4, SEED)
    shared = [c for c in table.columns[2:] if table[c].notna().all()]
    assert "population.p_male" in shared and "economics.utilities.mrs3" in shared
    for _, g in table.groupby("draw"):
        assert (g[shared].nunique() == 1).all()


def test_a_parameter_draw_does_not_depend_on_the_other_parameters() -> None:
    """Fixing every other parameter (or adding new ones) leaves a parameter's draws unchanged."""
    base = strategy("supportive_care")
    path = "economics.costs.care_per_year_mrs3"
    others_fixed = base.with_updates(
        {p: {"value": q.value, "source": "test"} for p, q in base.uncertain_parameters().items() if p != path}
    )
    a = sample_parameters(base, 5, SEED)[path]
    b = sample_parameters(others_fixed, 5, SEED)[path]
    assert list(sample_parameters(others_fixed, 1, SEED).columns) == ["draw", "strategy", path]
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())


def test_a_parameter_of_only_one_strategy_is_sampled_from_its_own_stream() -> None:
    """A treatment only one strategy has is sampled from the stream of its path; NaN in the other rows.
    The same path with another distribution uses the same uniform, through its own distribution."""
    care, rtx = pair()
    extra = copy.deepcopy(rtx.data["treatments"]["rituximab"])
    extra["efficacy"]["p_response"] = {"value": 0.5, "dist": "beta", "sd": 0.1, "source": "test"}
    rtx2 = rtx.with_updates(
        {
            "settings.strategy": "rituximab_variant",
            "treatments.rituximab_trial": extra,
            "treatments.rituximab.efficacy.p_response": {
                "value": 0.4,
                "dist": "beta",
                "sd": 0.05,
                "source": "test",
            },
        }
    )
    table = sample_parameters([care, rtx, rtx2], 3, SEED)
    path = "treatments.rituximab_trial.efficacy.p_response"
    own = table[table["strategy"] == "rituximab_variant"]
    u = parameter_uniforms(SEED, [1, 2, 3], path)
    np.testing.assert_array_equal(own[path], sample(rtx2.parameters()[path], u))
    assert table.loc[table["strategy"] != "rituximab_variant", path].isna().all()
    p = "treatments.rituximab.efficacy.p_response"
    u = parameter_uniforms(SEED, [1, 2, 3], p)
    np.testing.assert_array_equal(own[p], sample(rtx2.parameters()[p], u))
    np.testing.assert_array_equal(
        table.loc[table["strategy"] == rtx.strategy, p], sample(rtx.parameters()[p], u)
    )
    assert table.loc[table["strategy"] == care.strategy, p].notna().all()  # the catalogue is inherited


def test_sample_means_agree_with_the_point_estimates() -> None:
    """C23: over 400 draws, each uncertain parameter's sample mean lies within 4.5 Monte Carlo SEs of its
    distribution's mean, which is within 5% of the point value (exactly it when given by sd)."""
    scenario = shipped("current_practice")
    table = sample_parameters(scenario, 400, SEED)
    for path, p in scenario.uncertain_parameters().items():
        x = table[path].to_numpy()
        dist = frozen_distribution(p)
        mean = float(dist.mean())
        se = float(dist.std()) / np.sqrt(x.size)
        assert abs(x.mean() - mean) <= 4.5 * se, path
        assert abs(mean - p.value) <= 0.05 * abs(p.value) + 1e-12, path
        if p.sd is not None:
            assert mean == pytest.approx(p.value, rel=1e-9), path


def test_every_draw_stays_in_the_domain_of_its_field() -> None:
    """A sampled probability is in [0, 1], a cost >= 0, a utility <= 1: inversion never leaves the support."""
    scenario = shipped("current_practice")
    table = sample_parameters(scenario, 200, SEED)
    for path in scenario.uncertain_parameters():
        kind = parameter_kind(scenario, path)
        assert kind is not None, path
        assert all(kind.contains(x) for x in table[path]), path


def _family_violations(scenario: sim.Scenario, prefix_ok) -> list[str]:
    return [
        f"{path}: {p.dist}"
        for path, p in scenario.uncertain_parameters().items()
        if not prefix_ok(path, p, parameter_kind(scenario, path))
    ]


def test_probabilities_have_bounded_distributions() -> None:
    """Every uncertain probability has a distribution on [0, 1] (beta or a uniform inside it)."""
    scenario = shipped("current_practice")
    bad = _family_violations(
        scenario, lambda path, p, kind: kind.name != "probability" or p.dist in ("beta", "uniform")
    )
    assert bad == []


def test_probabilities_are_beta_distributed() -> None:
    """C23, strictly: probabilities are beta distributed."""
    scenario = shipped("current_practice")
    bad = _family_violations(scenario, lambda path, p, kind: kind.name != "probability" or p.dist == "beta")
    assert bad == []


def test_costs_are_gamma_or_lognormal() -> None:
    """C23: every uncertain unit cost is gamma or log-normal distributed."""
    scenario = shipped("current_practice")

    def ok(path: str, p, kind) -> bool:
        leaf = path.rsplit(".", 1)[1]
        is_cost = ".costs." in path or path.startswith("economics.costs.") or leaf.startswith("cost")
        return not is_cost or p.dist in ("gamma", "lognormal")

    assert _family_violations(scenario, ok) == []


def test_utilities_have_bounded_distributions() -> None:
    """Utilities are uniform within [-1, 1] (the schema allows no beta: the mRS 5 utility is negative) and
    decrements gamma (non-negative)."""
    scenario = shipped("natural_history")
    for path, p in scenario.uncertain_parameters().items():
        if path.startswith("economics.utilities.mrs"):
            assert p.dist == "uniform" and -1 <= p.low < p.high <= 1, path
        elif path.startswith("economics.utilities."):
            assert p.dist in ("gamma", "lognormal"), path


# --------------------------------------------------------------------------------------------- PSA table


@pytest.fixture(scope="module")
def small_psa() -> pd.DataFrame:
    return run_psa(pair(), n_draws=3, n_patients=40, seed=SEED, shared_cohort=False)


def test_psa_table_has_one_row_per_draw_and_strategy(small_psa: pd.DataFrame) -> None:
    """Draw-major rows, every measure with its Monte Carlo SE, then one column per sampled parameter."""
    t = small_psa
    assert list(t["draw"]) == [1, 1, 2, 2, 3, 3]
    assert list(t["strategy"]) == list(STRATEGIES) * 3
    for m in ("cost_disc", "qalys_disc", "lys_disc", "cost_undisc", "qalys_undisc", "lys_undisc"):
        assert t[m].notna().all() and (t[m + "_se"] > 0).all(), m
    assert (t["cost_disc"] <= t["cost_undisc"]).all() and (t["lys_disc"] <= t["lys_undisc"]).all()
    params = sample_parameters(pair(), 3, SEED)
    pd.testing.assert_frame_equal(t[params.columns[2:]], params[params.columns[2:]])
    assert t.attrs["seed"] == SEED and t.attrs["currency"] == "GBP"


def test_psa_rows_are_the_simulation_with_the_sampled_values(small_psa: pd.DataFrame) -> None:
    """Row (d, s) is simulate(s, draw=d, overrides=its sampled values), summarised."""
    rtx = pair()[1]
    row = small_psa[(small_psa["draw"] == 2) & (small_psa["strategy"] == rtx.strategy)].iloc[0]
    overrides = {p: float(row[p]) for p in rtx.uncertain_parameters()}
    result = sim.simulate(rtx, n_patients=40, seed=SEED, draw=2, overrides=overrides)
    expected = summarise_arm(result.patients)
    for key, value in expected.items():
        assert row[key] == value, key


def test_an_arms_outcomes_are_the_outcome_columns_of_its_simulation() -> None:
    """What a PSA arm summarises (simulate_outcomes) is simulate(...).patients' outcome columns, exactly."""
    rtx = pair()[1]
    overrides = {"treatments.rituximab.efficacy.p_response": 0.6}
    outcomes = simulate_outcomes(rtx, 300, SEED, 2, overrides)
    patients = sim.simulate(rtx, n_patients=300, seed=SEED, draw=2, overrides=overrides).patients
    assert list(outcomes) == list(OUTCOME_COLUMNS)
    pd.testing.assert_frame_equal(pd.DataFrame(outcomes), patients[list(OUTCOME_COLUMNS)], check_exact=True)
    assert summarise_arm(outcomes) == summarise_arm(patients)


def test_psa_is_reproducible_and_independent_of_workers(small_psa: pd.DataFrame) -> None:
    """D24/C23: the same call gives the same table, with one worker or two."""
    again = run_psa(pair(), n_draws=3, n_patients=40, seed=SEED, shared_cohort=False)
    parallel = run_psa(pair(), n_draws=3, n_patients=40, seed=SEED, workers=2, shared_cohort=False)
    pd.testing.assert_frame_equal(small_psa, again, check_exact=True)
    pd.testing.assert_frame_equal(small_psa, parallel, check_exact=True)


def test_psa_with_every_distribution_fixed_is_the_deterministic_run() -> None:
    """C23: with no uncertainty, draw d equals simulate(..., draw=d) (and with shared_cohort=True every draw
    equals the base case, draw 0)."""
    fixed = [all_fixed(s) for s in pair()]
    table = run_psa(fixed, n_draws=2, n_patients=30, seed=SEED, shared_cohort=False)
    assert [c for c in table.columns if "." in c] == []
    shared = run_psa(fixed, n_draws=2, n_patients=30, seed=SEED, shared_cohort=True)
    for s in fixed:
        base = summarise_arm(sim.simulate(s, n_patients=30, seed=SEED).patients)
        for d in (1, 2):
            own = summarise_arm(sim.simulate(s, n_patients=30, seed=SEED, draw=d).patients)
            row = table[(table["draw"] == d) & (table["strategy"] == s.strategy)].iloc[0]
            row_shared = shared[(shared["draw"] == d) & (shared["strategy"] == s.strategy)].iloc[0]
            for key in own:
                assert row[key] == own[key], key
                assert row_shared[key] == base[key], key


def test_a_single_scenario_is_accepted() -> None:
    t = run_psa(strategy("supportive_care"), n_draws=2, n_patients=10, seed=SEED)
    assert list(t["strategy"]) == ["supportive_care"] * 2


@pytest.mark.parametrize(
    ("updates", "field"),
    [
        (
            {
                "population.p_titre_low": {
                    "value": 0.5,
                    "dist": "uniform",
                    "low": 0.3,
                    "high": 0.7,
                    "source": "t",
                }
            },
            "population",
        ),
        (
            {
                "thresholds.ataxia": {
                    "value": 0.28,
                    "dist": "uniform",
                    "low": 0.2,
                    "high": 0.36,
                    "source": "t",
                }
            },
            "thresholds",
        ),
    ],
)
def test_a_draw_that_breaks_a_cross_field_rule_is_a_scenario_error(updates: dict, field: str) -> None:
    """A sampled value that breaks a rule of the schema (p_titre_low + p_titre_high <= 1; increasing
    thresholds) raises ScenarioError naming the draw, the field and the values, before any simulation."""
    scenario = strategy("supportive_care").with_updates(updates)
    with pytest.raises(sim.ScenarioError) as info:
        run_psa(scenario, n_draws=40, n_patients=10, seed=SEED)
    message = str(info.value)
    assert "PSA draw" in message and field in message and "sampled" in message
    assert info.value.field is not None and info.value.field.startswith(field)


def test_check_overrides_accepts_valid_values_and_names_bad_ones() -> None:
    s = strategy("supportive_care")
    check_overrides(s, {"population.p_male": 0.5})
    with pytest.raises(sim.ScenarioError, match="population.p_male"):
        check_overrides(s, {"population.p_male": 1.5}, "test")
    with pytest.raises(sim.ScenarioError, match="unknown"):
        check_overrides(s, {"population.nope": 1.0}, "test")


def test_a_check_of_values_changes_neither_the_scenario_nor_the_next_check() -> None:
    """Each check writes its values into copies of the tables it touches, never into the shared template."""
    s = strategy("supportive_care")
    before = copy.deepcopy(s.data)
    with pytest.raises(sim.ScenarioError, match="population.p_male"):
        check_overrides(s, {"population.p_male": 1.5, "progression.faster_phase_multiplier": 2.0}, "test")
    check_overrides(s, {"progression.faster_phase_multiplier": 2.0})  # p_male = 1.5 did not stay behind
    assert s.data == before


def test_duplicate_strategies_and_bad_sizes_are_rejected() -> None:
    s = strategy("supportive_care")
    with pytest.raises(sim.ScenarioError, match="more than once"):
        run_psa([s, s], n_draws=1, n_patients=5, seed=1)
    with pytest.raises(ValueError, match="n_draws"):
        run_psa(s, n_draws=0, n_patients=5, seed=1)
    with pytest.raises(ValueError, match="seed"):
        run_psa(s, n_draws=1, n_patients=5, seed=-1)


def test_run_cohorts_keeps_job_order() -> None:
    s = pair()
    jobs = [CohortJob(0, ({}, {})), CohortJob(3, ({}, {"economics.costs.csf": 0.0}))]
    out = run_cohorts(s, jobs, n_patients=10, seed=SEED)
    assert list(out["job"]) == [0, 0, 1, 1] and list(out["draw"]) == [0, 0, 3, 3]


# --------------------------------------------------------------------------------------------- DSA


def test_parameter_range_is_the_central_95_percent() -> None:
    """One convention for every distribution, uniforms included (not their whole range)."""
    params = strategy("rituximab_at_diagnosis").parameters()
    beta = params["treatments.rituximab.efficacy.p_response"]
    lo, hi = parameter_range(beta)
    dist = frozen_distribution(beta)
    assert (lo, hi) == pytest.approx((dist.ppf(0.025), dist.ppf(0.975)))
    uni = params["treatments.rituximab.efficacy.months_to_response"]
    width = uni.high - uni.low
    assert parameter_range(uni) == pytest.approx((uni.low + 0.025 * width, uni.high - 0.025 * width))
    fixed = params["treatments.rituximab.costs.drug_cost_per_unit"]
    assert parameter_range(fixed) == (fixed.value, fixed.value)


def test_unused_treatments_are_not_varied() -> None:
    """Parameters of treatments neither strategy gives (IVIg, plasma exchange, ...) cannot matter."""
    names = candidate_parameters(pair())
    assert "treatments.rituximab.efficacy.p_response" in names
    assert not any(n.startswith(("treatments.ivig.", "treatments.plasma_exchange.")) for n in names)
    assert any(n.startswith("treatments.ivig.") for n in candidate_parameters(pair(), include_unused=True))


@pytest.fixture(scope="module")
def tornado() -> pd.DataFrame:
    params = [
        "treatments.rituximab.costs.administration_cost_per_dose",
        "treatments.rituximab.efficacy.p_response",
        "economics.utilities.mrs3",
    ]
    return one_way(*pair(), n_patients=60, seed=SEED, wtp=30000, parameters=params)


def test_one_way_base_is_the_deterministic_comparison(tornado: pd.DataFrame) -> None:
    """The base outcome is the INMB of the two base-case runs (same seed, draw 0)."""
    care, rtx = (sim.simulate(s, n_patients=60, seed=SEED).patients for s in pair())
    d_cost = rtx["cost_disc"].mean() - care["cost_disc"].mean()
    d_qalys = rtx["qalys_disc"].mean() - care["qalys_disc"].mean()
    assert tornado["base"].iloc[0] == pytest.approx(30000 * d_qalys - d_cost, rel=1e-12)
    assert set(tornado["outcome"]) == {"inmb"}
    assert tornado["swing"].is_monotonic_decreasing


def test_one_way_uses_common_random_numbers(tornado: pd.DataFrame) -> None:
    """Raising a cost of the alternative moves only its cost: the INMB falls by exactly that, QALYs stay."""
    row = tornado.set_index("parameter").loc["treatments.rituximab.costs.administration_cost_per_dose"]
    assert row["inc_qalys_disc_low"] == row["inc_qalys_disc_high"]
    assert row["inmb_low"] > row["base"] > row["inmb_high"]
    outcome = tornado.set_index("parameter").loc["treatments.rituximab.efficacy.p_response"]
    assert outcome["inc_qalys_disc_high"] > outcome["inc_qalys_disc_low"]


def test_one_way_low_run_matches_a_direct_simulation(tornado: pd.DataFrame) -> None:
    path = "economics.utilities.mrs3"
    row = tornado.set_index("parameter").loc[path]
    runs = [sim.simulate(s, n_patients=60, seed=SEED, overrides={path: row["low_value"]}) for s in pair()]
    d_cost = runs[1].patients["cost_disc"].mean() - runs[0].patients["cost_disc"].mean()
    d_qalys = runs[1].patients["qalys_disc"].mean() - runs[0].patients["qalys_disc"].mean()
    assert row["outcome_low"] == pytest.approx(30000 * d_qalys - d_cost, rel=1e-12)


def test_one_way_top_k_keeps_the_widest_swings() -> None:
    params = [
        "treatments.rituximab.costs.administration_cost_per_dose",
        "treatments.rituximab.efficacy.p_response",
        "economics.costs.gp_visit",
    ]
    t = one_way(*pair(), n_patients=40, seed=SEED, parameters=params, top_k=2, screen_patients=40)
    assert len(t) == 2 and "economics.costs.gp_visit" not in set(t["parameter"])


def test_two_way_grid() -> None:
    x, y = (
        "treatments.rituximab.efficacy.p_response",
        "treatments.rituximab.costs.administration_cost_per_dose",
    )
    t = two_way(*pair(), x, y, n_patients=30, seed=SEED, n_points=3)
    assert len(t) == 9 and t["x_value"].nunique() == 3 and t["y_value"].nunique() == 3
    assert (t["value"] == t["inmb"]).all()
    with pytest.raises(ValueError, match="two different"):
        two_way(*pair(), x, x, n_patients=10, seed=SEED)


def test_a_psa_by_subgroup_gives_the_same_psa_table_and_levels_that_partition_each_draws_cohort() -> None:
    """The subgroup summaries ride on the same simulations: the PSA table is unchanged, every draw's levels
    add up to its cohort, and an empty list of subgroups is refused with the allowed names."""
    plain = run_psa(pair(), 3, 20, SEED)
    psa, by = run_psa_by_subgroup(pair(), 3, 20, SEED, ["sex", "age_band"], workers=2)
    pd.testing.assert_frame_equal(psa, plain)
    sizes = by.groupby(["draw", "subgroup", "strategy"])["n_patients"].sum()
    assert (sizes == 20).all() and set(by["subgroup"]) == {"sex", "age_band"}
    first = by[by["strategy"] == STRATEGIES[0]]
    assert (first["inc_cost_disc_se"] == 0).all()
    with pytest.raises(ValueError, match="allowed: sex, titre_band, age_band"):
        run_psa_by_subgroup(pair(), 2, 10, SEED, [])


def test_draws_checked_on_several_workers_raise_the_serial_error_before_any_draw_runs(monkeypatch) -> None:
    """The checks of the draws are shared among the workers in chunks taken in order: the error is that
    of the first bad draw, as on one worker, and no draw has run."""
    scenario = strategy("supportive_care").with_updates(
        {"thresholds.ataxia": {"value": 0.28, "dist": "uniform", "low": 0.2, "high": 0.36, "source": "t"}}
    )
    messages = []
    for workers in (1, 2):
        monkeypatch.setattr(psa, "_run_cohorts", lambda *a, **k: pytest.fail("a draw ran"))
        with pytest.raises(sim.ScenarioError) as info:
            run_psa(scenario, n_draws=3 * psa.CHECK_CHUNK, n_patients=10, seed=SEED, workers=workers)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    first_bad = int(messages[0].split("PSA draw ")[1].split(":")[0].split()[0])
    assert first_bad > 1  # not trivially the first draw
