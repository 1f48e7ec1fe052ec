"""Costs, QALYs and life-years per patient (sim/model/outcomes.py):
invariants A4–A7, extremes B10 and B14–B16,
and the analytic cross-checks C19 (recomputed from the event log) and C20 (discounting convention).

Every check runs on small cohorts over a 20-year horizon, with scenarios built from the shipped strategy
files by ``Scenario.with_updates``; a changed parameter is replaced as a fixed value
(``{value = x, source = "test"}``) so that its PSA distribution cannot disagree with it.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sim
from analysis.economics import evaluate
from sim.model.outcomes import (
    COST_CATEGORIES,
    OUTCOME_COLUMNS,
    _merge_intervals,
    discount,
    flow,
    force_of_interest,
)
from sim.scenario.loading import bundled_scenario_path

N = 150
SEED = 424242
HORIZON = 20.0
HEALTH = ("lys_undisc", "lys_disc", "qalys_undisc", "qalys_disc")
COSTS = tuple(c for c in OUTCOME_COLUMNS if c.startswith("cost"))
MILESTONE_COLUMNS = ("t_sensory_hands", "t_ataxia", "t_weakness", "t_disabled", "t_diagnosis", "t_death")


def fixed(value: float) -> dict:
    return {"value": float(value), "source": "test"}


@cache
def strategy(name: str, horizon: float = HORIZON) -> sim.Scenario:
    """A shipped strategy over ``horizon`` years."""
    base = sim.load_scenario(bundled_scenario_path(f"{name}.toml"))
    return base.with_updates({"settings.horizon_years": horizon})


def updated(scenario: sim.Scenario, values: dict[str, float], **raw) -> sim.Scenario:
    return scenario.with_updates({**{p: fixed(v) for p, v in values.items()}, **raw})


def run(scenario: sim.Scenario, n: int = N, keep_events: bool = False) -> sim.SimulationResult:
    return sim.simulate(scenario, n_patients=n, seed=SEED, keep_events=keep_events)


def cost_paths(scenario: sim.Scenario) -> list[str]:
    """Every unit cost: economics.costs.*, treatments' costs tables, pain drugs, physiotherapy, devices."""
    out = []
    for path in scenario.parameters():
        leaf = path.rsplit(".", 1)[1]
        if path.startswith("economics.costs.") or (
            path.startswith("treatments.")
            and (".costs." in path or leaf in ("cost_per_year", "cost_per_session", "cost"))
        ):
            out.append(path)
    return out


def utility_paths(scenario: sim.Scenario) -> list[str]:
    return [p for p in scenario.parameters() if p.startswith("economics.utilities.")]


def non_negative_utilities(scenario: sim.Scenario) -> sim.Scenario:
    """Utilities in [0, 1] at every moment: mRS levels 0.9 … 0.35, decrements summing to < 0.35."""
    u = {"mrs0": 0.95, "mrs1": 0.9, "mrs2": 0.75, "mrs3": 0.6, "mrs4": 0.45, "mrs5": 0.35}
    values = {f"economics.utilities.{k}": v for k, v in u.items()}
    values.update(
        {
            "economics.utilities.pain_untreated_decrement": 0.1,
            "economics.utilities.pain_relieved_decrement": 0.05,
            "economics.utilities.malignancy_decrement": 0.1,
            "economics.utilities.bladder_cancer_decrement": 0.1,
            "economics.utilities.physiotherapy_gain": 0.05,
            "economics.utilities.adverse_event_minor_qaly_loss": 0.0,
            "economics.utilities.adverse_event_severe_qaly_loss": 0.0,
        }
    )
    return updated(scenario, values)


STRATEGIES = ("current_practice", "cyclophosphamide_rituximab", "plasma_exchange")


@pytest.fixture(scope="module")
def cohorts() -> dict[str, sim.SimulationResult]:
    """Three strategies that between them give every kind of course, with event logs."""
    return {name: run(strategy(name), keep_events=True) for name in STRATEGIES}


# --------------------------------------------------------------------------------------------- C20


@pytest.mark.parametrize("rate", [0.0, 0.015, 0.035, 0.06])
@pytest.mark.parametrize("t", [0.0, 0.5, 1.0, 7.25, 40.0])
def test_one_off_amount_discounts_by_annual_rate_to_the_power_of_time(rate: float, t: float) -> None:
    """C20: a one-off amount at year t is worth e^(−δt) = (1 + r)^(−t) with δ = ln(1 + r)."""
    delta = force_of_interest(rate)
    assert delta == pytest.approx(math.log(1 + rate), rel=1e-13, abs=0)
    assert discount(t, delta) == pytest.approx((1 + rate) ** -t, rel=1e-13)


@pytest.mark.parametrize("rate", [0.0, 0.035])
def test_a_flow_is_the_integral_of_the_discount_factor(rate: float) -> None:
    """The present value of 1 per year over [t1, t2] is ∫ (1 + r)^(−t) dt (and t2 − t1 at r = 0)."""
    from scipy.integrate import quad

    delta = force_of_interest(rate)
    for t1, t2 in [(0.0, 1.0), (2.5, 9.0), (10.0, 10.0), (3.0, 1.0)]:
        exact = quad(lambda t: (1 + rate) ** -t, t1, t2)[0] if t2 > t1 else 0.0
        assert flow(t1, t2, delta) == pytest.approx(exact, rel=1e-12, abs=1e-15)


def test_a_diagnostic_cost_is_discounted_from_the_time_of_the_test() -> None:
    """C20 end to end: with only the NCS/EMG costing 1,000, each patient's discounted diagnostic cost is
    Σ 1,000 · (1 + r)^(−t) over their NCS/EMG events in the log."""
    base = strategy("supportive_care")
    zero = {p: 0.0 for p in cost_paths(base)}
    scenario = updated(base, {**zero, "economics.costs.ncs_emg": 1000.0})
    result = run(scenario, keep_events=True)
    r = scenario.values().economics.discount_rate_costs
    ev = result.events[result.events["event"] == "ncs_emg"]
    expected = ev.assign(pv=1000.0 * (1 + r) ** -ev["time"]).groupby("patient_id")["pv"].sum()
    got = result.patients.set_index("patient_id")["cost_diagnostics_disc"]
    expected = expected.reindex(got.index, fill_value=0.0)
    assert (expected > 0).sum() > N // 2
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(result.patients["cost_disc"], result.patients["cost_diagnostics_disc"])


# --------------------------------------------------------------------------------------------- A4, A5


@pytest.mark.parametrize("name", ["current_practice", "rituximab_at_diagnosis"])
def test_qalys_within_life_years_and_discounted_within_undiscounted(name: str) -> None:
    """A4: with utilities in [0, 1] at every moment, QALYs ≤ LYs, discounted ≤ undiscounted (costs, LYs,
    QALYs), and undiscounted QALYs / LYs lies between the lowest and the highest utility a patient has."""
    scenario = non_negative_utilities(strategy(name))
    p = run(scenario).patients
    u = scenario.values().economics.utilities
    levels = [u.mrs1, u.mrs2, u.mrs3, u.mrs4, u.mrs5]  # patients start at mRS 1 and never go below it
    lowest = min(levels) - u.pain_untreated_decrement - u.malignancy_decrement - u.bladder_cancer_decrement
    highest = max(levels) + u.physiotherapy_gain
    assert lowest >= 0 and highest <= 1
    tol = 1e-9
    assert (p["qalys_undisc"] <= p["lys_undisc"] + tol).all()
    assert (p["qalys_disc"] <= p["lys_disc"] + tol).all()
    for m in ("qalys", "lys", "cost"):
        u = p[f"{m}_undisc"]
        assert (p[f"{m}_disc"] <= u + tol * np.maximum(1, u)).all(), m
    ratio = p["qalys_undisc"] / p["lys_undisc"]
    assert ratio.between(lowest - tol, highest + tol).all()


def test_cost_categories_sum_to_the_totals_and_are_never_negative(cohorts) -> None:
    """A5: drugs + administration + monitoring + adverse events + diagnostics + devices + disease care =
    total, undiscounted and discounted, and every category is ≥ 0."""
    for result in cohorts.values():
        p = result.patients
        for suffix in ("_undisc", "_disc"):
            parts = p[[f"cost_{c}{suffix}" for c in COST_CATEGORIES]]
            assert (parts >= 0).all().all()
            np.testing.assert_allclose(parts.sum(axis=1), p[f"cost{suffix}"], rtol=1e-12, atol=1e-9)
    every = pd.concat([r.patients for r in cohorts.values()])
    for c in COST_CATEGORIES:  # each category in use somewhere, so the check is not vacuous
        assert every[f"cost_{c}_undisc"].sum() > 0, c


# --------------------------------------------------------------------------------------------- A6


def test_a_shorter_horizon_never_increases_totals() -> None:
    """A6: over 10 instead of 20 years every patient's costs, life-years and (non-negative utility) QALYs
    are no larger, discounted or not."""
    long_ = non_negative_utilities(strategy("current_practice", 20.0))
    short = long_.with_updates({"settings.horizon_years": 10.0})
    a, b = run(long_).patients, run(short).patients
    for column in OUTCOME_COLUMNS:
        assert (b[column] <= a[column] + 1e-9 * np.maximum(1, a[column].abs())).all(), column
    assert (b["lys_undisc"] < a["lys_undisc"]).any()


def test_a_higher_discount_rate_never_increases_discounted_totals() -> None:
    """A6: at 6% instead of 3.5% per year, discounted costs, life-years and QALYs never rise; undiscounted
    values do not change."""
    base = non_negative_utilities(strategy("current_practice"))
    higher = updated(base, {"economics.discount_rate_costs": 0.06, "economics.discount_rate_effects": 0.06})
    a, b = run(base).patients, run(higher).patients
    for column in OUTCOME_COLUMNS:
        if column.endswith("_disc"):
            assert (b[column] <= a[column] + 1e-12 * np.maximum(1, a[column].abs())).all(), column
        else:
            np.testing.assert_array_equal(b[column], a[column])
    assert (b["cost_disc"] < a["cost_disc"]).mean() > 0.9


def test_a_higher_drug_price_raises_costs_only() -> None:
    """A6: doubling the rituximab price never lowers a patient's costs, raises them for every treated
    patient, and leaves health outcomes and every milestone bit-identical."""
    base = strategy("rituximab_at_diagnosis")
    price = base.parameters()["treatments.rituximab.costs.drug_cost_per_unit"].value
    dearer = updated(base, {"treatments.rituximab.costs.drug_cost_per_unit": 2 * price})
    a, b = run(base).patients, run(dearer).patients
    treated = a["n_courses"].to_numpy() > 0
    assert (b["cost_undisc"] >= a["cost_undisc"]).all() and (b["cost_disc"] >= a["cost_disc"]).all()
    rtx = run(base, keep_events=True).courses
    got_rituximab = a["patient_id"].isin(rtx.loc[rtx["treatment"] == "rituximab", "patient_id"])
    assert got_rituximab.sum() > 10
    assert (b["cost_drugs_undisc"][got_rituximab] > a["cost_drugs_undisc"][got_rituximab]).all()
    assert treated.sum() >= got_rituximab.sum()
    for column in (*HEALTH, *MILESTONE_COLUMNS):
        np.testing.assert_array_equal(b[column], a[column])


# --------------------------------------------------------------------------------------------- A7


@pytest.mark.parametrize("k", [2.0, 0.5, 3.0])
def test_scaling_every_unit_cost_scales_costs_and_increments(k: float) -> None:
    """A7: every unit cost × k multiplies every patient's costs (all categories) and the incremental costs
    by k and leaves health outcomes unchanged; exactly so for a power of two."""
    names = ("supportive_care", "rituximab_at_diagnosis")
    base = [strategy(n) for n in names]
    scaled = []
    for s in base:
        params = s.parameters()
        scaled.append(updated(s, {p: k * params[p].value for p in cost_paths(s)}))
    before = [run(s) for s in base]
    after = [run(s) for s in scaled]
    exact = math.log2(k).is_integer()
    for a, b in zip(before, after, strict=True):
        for column in COSTS:
            if exact:
                np.testing.assert_array_equal(b.patients[column], k * a.patients[column])
            else:
                np.testing.assert_allclose(b.patients[column], k * a.patients[column], rtol=1e-12)
        for column in HEALTH:
            np.testing.assert_array_equal(b.patients[column], a.patients[column])
    inc_a = evaluate(before).incremental.iloc[0]
    inc_b = evaluate(after).incremental.iloc[0]
    assert inc_b["inc_cost_disc"] == pytest.approx(k * inc_a["inc_cost_disc"], rel=1e-11)
    assert inc_b["inc_cost_disc_se"] == pytest.approx(k * inc_a["inc_cost_disc_se"], rel=1e-9)
    assert inc_b["inc_qalys_disc"] == inc_a["inc_qalys_disc"]


# --------------------------------------------------------------------------------------------- B10


def neutral_rituximab(p_response: float) -> sim.Scenario:
    """Rituximab at diagnosis, but the drug does nothing, harms no one and costs nothing."""
    t = "treatments.rituximab."
    values = {
        t + "efficacy.p_response": p_response,
        t + "p_response_low_titre": p_response,
        t + "efficacy.rate_multiplier": 1.0,
        t + "efficacy.rate_multiplier_spread": 0.0,
        t + "efficacy.reversal_fraction": 0.0,
        t + "p_flare": 0.0,
        t + "p_infusion_reaction": 0.0,
        t + "p_hypogammaglobulinaemia": 0.0,
        t + "p_severe_infection": 0.0,
        t + "p_death_given_severe_infection": 0.0,
        t + "costs.drug_cost_per_unit": 0.0,
        t + "costs.administration_cost_per_dose": 0.0,
        t + "costs.monitoring_cost_per_course": 0.0,
    }
    return updated(strategy("rituximab_at_diagnosis"), values)


@pytest.mark.parametrize("p_response", [0.0, 1.0])
def test_a_neutral_free_treatment_changes_nothing(p_response: float) -> None:
    """B10: a treatment with neutral efficacy (every patient a non-responder, or every patient a
    'responder' whose rate is multiplied by 1), no adverse events and no cost, vs supportive care: every
    patient's trajectory is identical, the increments are exactly 0 and reported as "no difference",
    never as an infinite or NaN ICER."""
    care, neutral = run(strategy("supportive_care")), run(neutral_rituximab(p_response))
    assert (neutral.patients["n_courses"] > care.patients["n_courses"]).sum() > 10  # it was given
    for column in (*MILESTONE_COLUMNS, "t_mrs4", "t_walking_aid"):
        np.testing.assert_array_equal(neutral.patients[column], care.patients[column])
    assert neutral.patients["death_cause"].equals(care.patients["death_cause"])
    for column in OUTCOME_COLUMNS:  # bit-identical: spells close only where the utility may change
        np.testing.assert_array_equal(neutral.patients[column], care.patients[column], err_msg=column)
    ev = evaluate([care, neutral])
    inc = ev.incremental.iloc[0]
    for column in ev.incremental.columns:
        if column.startswith("inc_"):
            assert inc[column] == 0.0, column
    assert inc["note"] == "no difference"
    table = ev.icers
    assert not np.isinf(table["icer"]).any()
    copy = table[table["strategy"] == "rituximab_at_diagnosis"].iloc[0]
    assert copy["note"] == "no difference" or copy["note"] == "frontier start"
    assert set(table["note"]) == {"frontier start", "no difference"}


def test_a_neutral_free_treatment_gives_bit_identical_outcomes() -> None:
    """B10, strictly: every economic column bit-identical with a neutral, free treatment."""
    care, neutral = run(strategy("supportive_care")), run(neutral_rituximab(1.0))
    for column in OUTCOME_COLUMNS:
        np.testing.assert_array_equal(neutral.patients[column], care.patients[column], err_msg=column)


# --------------------------------------------------------------------------------------------- B14, B15


def test_utilities_all_one_give_qalys_equal_to_life_years() -> None:
    """B14: every utility 1 and no decrement, gain or loss → QALYs = LYs (discounted and not)."""
    base = strategy("current_practice")
    values = {p: 0.0 for p in utility_paths(base)}
    values.update({f"economics.utilities.mrs{k}": 1.0 for k in range(6)})
    p = run(updated(base, values)).patients
    np.testing.assert_allclose(p["qalys_undisc"], p["lys_undisc"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(p["qalys_disc"], p["lys_disc"], rtol=1e-12, atol=1e-12)


def test_utilities_all_zero_give_zero_qalys() -> None:
    """B14: every utility, decrement, gain and loss 0 → QALYs are exactly 0."""
    base = strategy("current_practice")
    p = run(updated(base, {p: 0.0 for p in utility_paths(base)})).patients
    assert (p["qalys_undisc"] == 0).all() and (p["qalys_disc"] == 0).all()
    assert (p["lys_undisc"] > 0).all()


def test_costs_all_zero_give_zero_costs() -> None:
    """B14: every unit cost 0 → every cost column is exactly 0, health outcomes unchanged."""
    base = strategy("current_practice")
    before = run(base).patients
    p = run(updated(base, {c: 0.0 for c in cost_paths(base)})).patients
    for column in COSTS:
        assert (p[column] == 0).all(), column
    for column in HEALTH:
        np.testing.assert_array_equal(p[column], before[column])


def test_discount_rate_zero_makes_discounted_equal_undiscounted() -> None:
    """B15: with both discount rates 0 every discounted column equals its undiscounted twin exactly."""
    base = strategy("current_practice")
    p = run(updated(base, {"economics.discount_rate_costs": 0.0, "economics.discount_rate_effects": 0.0}))
    for column in OUTCOME_COLUMNS:
        if column.endswith("_disc"):
            np.testing.assert_array_equal(p.patients[column], p.patients[column[: -len("_disc")] + "_undisc"])


# --------------------------------------------------------------------------------------------- B16

AE_RATES = {
    "rituximab": ("p_infusion_reaction", "p_hypogammaglobulinaemia", "p_severe_infection"),
    "rituximab_combination": ("p_infusion_reaction", "p_hypogammaglobulinaemia", "p_severe_infection"),
    "ivig": ("p_thromboembolism_per_infusion", "p_other_adverse_event_per_infusion"),
    "plasma_exchange": ("p_adverse_event_per_exchange", "p_severe_adverse_event_per_course"),
    "cyclophosphamide": ("p_haemorrhagic_cystitis_per_course", "p_severe_leukopenia_per_course"),
    "cyclophosphamide_with_rituximab": (
        "p_haemorrhagic_cystitis_per_course",
        "p_severe_leukopenia_per_course",
    ),
}
AE_DEATH = {
    "rituximab": "p_death_given_severe_infection",
    "rituximab_combination": "p_death_given_severe_infection",
    "ivig": "p_death_given_thromboembolism",
    "plasma_exchange": "p_death_given_severe",
}


def _b16_pair(name: str) -> tuple[sim.Scenario, sim.Scenario]:
    """(adverse-event consequences 0, adverse-event rates 0) for a strategy; courses are never stopped
    for an adverse event (``stop_on_adverse_event = false``) and the pain drugs' discontinuation, which
    changes treatment rather than costing or harming, is off in both."""
    base = strategy(name).with_updates({"strategy.stop_on_adverse_event": False})
    no_switch = {
        "treatments.gabapentin.p_discontinue_adverse_event": 0.0,
        "treatments.duloxetine.p_discontinue_adverse_event": 0.0,
    }
    consequences = {
        **no_switch,
        "economics.costs.adverse_event_minor": 0.0,
        "economics.costs.adverse_event_severe": 0.0,
        "economics.utilities.adverse_event_minor_qaly_loss": 0.0,
        "economics.utilities.adverse_event_severe_qaly_loss": 0.0,
        **{f"treatments.{t}.{p}": 0.0 for t, p in AE_DEATH.items()},
    }
    rates = {**no_switch, **{f"treatments.{t}.{p}": 0.0 for t, ps in AE_RATES.items() for p in ps}}
    return updated(base, consequences), updated(base, rates)


def _assert_same_results(a: pd.DataFrame, b: pd.DataFrame) -> None:
    for column in (*MILESTONE_COLUMNS, "t_mrs4", "t_mrs5", "t_walking_aid"):
        np.testing.assert_array_equal(a[column], b[column], err_msg=column)
    for (
        column
    ) in OUTCOME_COLUMNS:  # an adverse event splits a spell in two: rounding differs in the last bits
        np.testing.assert_allclose(a[column], b[column], rtol=1e-9, atol=1e-9, err_msg=column)


@pytest.mark.parametrize("name", ["rituximab_at_diagnosis", "cyclophosphamide_rituximab"])
def test_adverse_events_without_consequences_are_the_same_as_no_adverse_events(name: str) -> None:
    """B16: adverse-event costs, QALY losses and deaths 0 give the same results as adverse-event rates 0."""
    with_aes, without = _b16_pair(name)
    a, b = run(with_aes), run(without)
    assert a.patients["n_adverse_events"].sum() > 0 and b.patients["n_adverse_events"].sum() == 0
    _assert_same_results(a.patients, b.patients)


def test_plasma_exchange_adverse_events_without_consequences_are_the_same_as_none() -> None:
    """B16 for plasma exchange."""
    with_aes, without = _b16_pair("plasma_exchange")
    _assert_same_results(run(with_aes).patients, run(without).patients)


def test_ivig_adverse_events_without_consequences_are_the_same_as_none() -> None:
    """B16 for IVIg."""
    with_aes, without = _b16_pair("ivig_maintenance")
    _assert_same_results(run(with_aes).patients, run(without).patients)


# --------------------------------------------------------------------------------------------- C19

WEEK = 1.0 / 52.0
MRS_EVENTS = ("mrs2", "disabled", "mrs4", "mrs5", "mrs")


def _pv(amount: float, t: float, delta: float) -> float:
    return amount * math.exp(-delta * t)


def _pv_flow(rate: float, t1: float, t2: float, delta: float) -> float:
    if t2 <= t1:
        return 0.0
    if delta == 0:
        return rate * (t2 - t1)
    return rate * (math.exp(-delta * t1) - math.exp(-delta * t2)) / delta


def _doses(spec, course) -> list[tuple[float, float]]:
    """The dose schedule of a course, from the treatment's regimen (sim/model/treatments.py conventions)."""
    t0, n = float(course.start), int(course.n_doses)
    if spec.type == "rituximab":
        if spec.regimen == "375mg_m2_x4":
            return [(t0 + i * WEEK, 375.0 * spec.body_surface_m2) for i in range(4)]
        return [(t0, 1000.0), (t0 + 2 * WEEK, 1000.0)]
    if spec.type == "ivig":
        step = spec.maintenance_interval_weeks * WEEK
        first = [(t0, spec.induction_g_per_kg * spec.weight_kg)]
        return first + [(t0 + i * step, spec.maintenance_g_per_kg * spec.weight_kg) for i in range(1, n)]
    if spec.type == "plasma_exchange":
        step = spec.course_weeks * WEEK / max(1, n - 1) if n > 1 else 0.0
        return [(t0 + i * step, 1.0) for i in range(n)]
    if spec.type == "cyclophosphamide":
        return [(t0 + i * spec.interval_weeks * WEEK, spec.dose_per_pulse_g) for i in range(n)]
    if spec.type == "physiotherapy":
        return [(t0 + i * spec.course_weeks * WEEK / n, 1.0) for i in range(n)]
    raise AssertionError(spec.type)


class Ledger:
    """One patient's running QALYs and costs, with the state that sets the utility and the care cost."""

    def __init__(self, values, t_end: float) -> None:
        econ = values.economics
        self.u, self.c, self.t_end = econ.utilities, econ.costs, t_end
        self.de = math.log(1 + econ.discount_rate_effects)
        self.dc = math.log(1 + econ.discount_rate_costs)
        self.cost = {k: 0.0 for k in COST_CATEGORIES}
        self.cost_d = {k: 0.0 for k in COST_CATEGORIES}
        self.q = self.q_d = 0.0
        self.mrs, self.pain, self.malignant, self.bladder = 1, "none", False, False

    def spell(self, t1: float, t2: float) -> None:
        u, c = self.u, self.c
        pain = {"none": 0.0, "untreated": u.pain_untreated_decrement, "relieved": u.pain_relieved_decrement}
        w = getattr(u, f"mrs{self.mrs}") - pain[self.pain]
        w -= (u.malignancy_decrement if self.malignant else 0.0) + (
            u.bladder_cancer_decrement if self.bladder else 0.0
        )
        self.q += w * (t2 - t1)
        self.q_d += _pv_flow(w, t1, t2, self.de)
        care = getattr(c, f"care_per_year_mrs{self.mrs}") if self.mrs > 0 else 0.0
        care += c.malignancy_care_per_year if self.malignant else 0.0
        self.per_year("disease_care", care, t1, t2)

    def per_year(self, category: str, rate: float, t1: float, t2: float) -> None:
        t2 = min(t2, self.t_end)
        if t2 > t1:
            self.cost[category] += rate * (t2 - t1)
            self.cost_d[category] += _pv_flow(rate, t1, t2, self.dc)

    def one_off(self, category: str, amount: float, t: float) -> None:
        if t < self.t_end:
            self.cost[category] += amount
            self.cost_d[category] += _pv(amount, t, self.dc)

    def qaly_loss(self, loss: float, t: float) -> None:
        self.q -= loss
        self.q_d -= _pv(loss, t, self.de)

    def gain(self, intervals: list[tuple[float, float]]) -> None:
        merged: list[list[float]] = []
        for a, b in sorted(intervals):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        for a, b in merged:
            self.q += self.u.physiotherapy_gain * (b - a)
            self.q_d += _pv_flow(self.u.physiotherapy_gain, a, b, self.de)


DIAGNOSTIC_EVENTS = {
    "presentation": "gp_visit",
    "neurology_exam": "neurology_exam",
    "ncs_emg": "ncs_emg",
    "serology": "serology",
    "csf": "csf",
    "nerve_biopsy": "nerve_biopsy",
}


def _replay_events(ledger: Ledger, events: pd.DataFrame) -> None:
    c, u, t_end = ledger.c, ledger.u, ledger.t_end
    t0 = 0.0
    physio: list[tuple[float, float]] = []
    for e in events.itertuples(index=False):
        if e.time >= t_end:
            break
        ledger.spell(t0, e.time)
        t0 = e.time
        if e.event in MRS_EVENTS:
            ledger.mrs = int(e.value)
        elif e.event == "neuropathic_pain" and ledger.pain == "none":
            ledger.pain = "untreated"
        elif e.event == "pain_relief":
            ledger.pain = "relieved"
        elif e.event == "malignancy":
            ledger.malignant = True
        elif e.event == "bladder_cancer":
            ledger.bladder = True
            ledger.one_off("adverse_events", c.bladder_cancer, e.time)
        elif e.event == "adverse_event":
            severe = e.value >= 1
            ledger.qaly_loss(
                u.adverse_event_severe_qaly_loss if severe else u.adverse_event_minor_qaly_loss, e.time
            )
            ledger.one_off(
                "adverse_events", c.adverse_event_severe if severe else c.adverse_event_minor, e.time
            )
        elif e.event == "function_improved":
            physio.append((e.time, min(e.time + e.value / 12.0, t_end)))
        elif e.event in DIAGNOSTIC_EVENTS:
            ledger.one_off("diagnostics", getattr(c, DIAGNOSTIC_EVENTS[e.event]), e.time)
    ledger.spell(t0, t_end)
    ledger.gain(physio)


def _replay_courses(ledger: Ledger, courses: pd.DataFrame, treatments: dict) -> None:
    for course in courses.itertuples(index=False):
        spec = treatments[course.treatment]
        if spec.type == "assistive_device":
            k = 0
            while course.start + k * spec.replacement_years < ledger.t_end:
                ledger.one_off("devices", spec.cost, course.start + k * spec.replacement_years)
                k += 1
        elif spec.type == "pain_drug":
            stop = course.end if course.end == course.end else ledger.t_end
            ledger.per_year("drugs", spec.cost_per_year, course.start, stop)
        elif spec.type == "physiotherapy":
            for t, _ in _doses(spec, course):
                ledger.one_off("disease_care", spec.cost_per_session, t)
        else:
            doses = _doses(spec, course)
            assert sum(a for _, a in doses) == pytest.approx(course.total_dose, rel=1e-12)
            ledger.one_off("monitoring", spec.costs.monitoring_cost_per_course, course.start)
            for t, amount in doses:
                ledger.one_off("drugs", amount * spec.costs.drug_cost_per_unit, t)
                ledger.one_off("administration", spec.costs.administration_cost_per_dose, t)


def recompute(result: sim.SimulationResult) -> pd.DataFrame:
    """Each patient's QALYs and costs by category from the event log and the course table alone."""
    v = result.values
    horizon = math.inf if v.settings.horizon_years == "lifetime" else float(v.settings.horizon_years)
    events = dict(tuple(result.events.groupby("patient_id", sort=False)))
    courses = dict(tuple(result.courses.groupby("patient_id", sort=False)))
    rows = []
    for patient in result.patients.itertuples(index=False):
        t_end = patient.t_death if patient.t_death == patient.t_death else horizon
        ledger = Ledger(v, t_end)
        _replay_events(ledger, events[patient.patient_id])
        if patient.patient_id in courses:
            _replay_courses(ledger, courses[patient.patient_id], v.treatments)
        row = {"patient_id": patient.patient_id, "qalys_undisc": ledger.q, "qalys_disc": ledger.q_d}
        row.update({f"cost_{k}_undisc": ledger.cost[k] for k in COST_CATEGORIES})
        row.update({f"cost_{k}_disc": ledger.cost_d[k] for k in COST_CATEGORIES})
        rows.append(row)
    return pd.DataFrame(rows)


def test_qalys_and_costs_recomputed_from_the_event_log_match(cohorts) -> None:
    """C19: every patient's QALYs and costs by category, recomputed from the event log and the course table
    without sim/model/outcomes.py, equal the package's to 1e-9."""
    for name, result in cohorts.items():
        mine = recompute(result)
        theirs = result.patients
        assert (mine["patient_id"].to_numpy() == theirs["patient_id"].to_numpy()).all()
        for column in mine.columns[1:]:
            np.testing.assert_allclose(
                mine[column], theirs[column], rtol=1e-9, atol=1e-9, err_msg=f"{name}: {column}"
            )
        assert result.events["event"].isin(["adverse_event", "function_improved", "pain_relief"]).any()


def _merged_after_sorting(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The merge of physiotherapy benefit intervals as first written: sort, then merge."""
    out: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


_INTERVAL = st.tuples(
    st.sampled_from([0.0, 0.5, 1.0, 1.25, 3.0]), st.sampled_from([0.0, 0.25, 0.5, 2.0])
).map(lambda p: (p[0], p[0] + p[1]))


@given(st.lists(_INTERVAL, max_size=8), st.booleans())
def test_merging_intervals_in_order_is_merging_them_sorted(intervals, in_order: bool) -> None:
    """Intervals merged as they come (starts in order, ties in any order) or out of order give the merge of
    the sorted intervals, bit for bit."""
    if in_order:
        intervals = sorted(intervals, key=lambda ab: ab[0])  # starts in order, ends of ties unsorted
    assert _merge_intervals(intervals) == _merged_after_sorting(intervals)
