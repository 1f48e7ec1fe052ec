"""Each treatment of the catalogue does what its definition says, and nothing more."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sim
from sim.model.outcomes import OutcomeAccounting
from sim.model.process import MILESTONES
from sim.model.treatments import (
    COURSE_NORMALS,
    COURSE_UNIFORMS,
    MONTH,
    WEEK,
    Course,
    TreatmentContext,
    binomial_quantile,
)
from sim.random import BLOCK_SIZE, PURPOSES, generator, stable_key

N = 600
SEED = 5
MILESTONE_COLUMNS = list(MILESTONES)  # every milestone, diagnosis and death included


@pytest.fixture(scope="module")
def base() -> sim.Scenario:
    return sim.load_scenario(sim.default_scenario_path())


def fixed(value: float) -> dict:
    return {"value": value, "source": "test"}


def with_rule(scenario: sim.Scenario, give: str, on: str = "diagnosis", **extra) -> sim.Scenario:
    rule = {"on": on, "give": give, **extra}
    return scenario.with_updates({"strategy.rules.under_test": rule, "settings.strategy": f"test_{give}"})


def run(scenario: sim.Scenario, n: int = N) -> sim.SimulationResult:
    return sim.simulate(scenario, n_patients=n, seed=SEED, keep_events=True)


def neutral_rituximab(scenario: sim.Scenario) -> sim.Scenario:
    updates = {
        "treatments.rituximab.efficacy.rate_multiplier": fixed(1.0),
        "treatments.rituximab.efficacy.rate_multiplier_spread": fixed(0.0),
        "treatments.rituximab.efficacy.reversal_fraction": fixed(0.0),
        "treatments.rituximab.p_flare": fixed(0.0),
        "treatments.rituximab.p_infusion_reaction": fixed(0.0),
        "treatments.rituximab.p_hypogammaglobulinaemia": fixed(0.0),
        "treatments.rituximab.p_severe_infection": fixed(0.0),
    }
    return scenario.with_updates(updates)


def test_neutral_treatment_reproduces_natural_history_exactly(base):
    """A treatment with neutral efficacy and no adverse events leaves every patient's course bit-identical."""
    natural = run(base)
    treated = run(with_rule(neutral_rituximab(base), "rituximab"))
    assert treated.courses["treatment"].eq("rituximab").sum() > 100  # the treatment was really given
    a = natural.patients[MILESTONE_COLUMNS].to_numpy()
    b = treated.patients[MILESTONE_COLUMNS].to_numpy()
    assert np.array_equal(a, b, equal_nan=True)
    assert natural.patients["death_cause"].equals(treated.patients["death_cause"])
    burden_a = sim.burden_at(natural, [1, 5, 10, 20])["burden"].to_numpy()
    burden_b = sim.burden_at(treated, [1, 5, 10, 20])["burden"].to_numpy()
    assert np.array_equal(burden_a, burden_b)


def test_effective_rituximab_delays_disability_in_responders(base):
    """Rituximab that halts progression (and no IgM flare) delays disability and never hastens it."""
    strong = with_rule(
        base.with_updates(
            {
                "treatments.rituximab.p_flare": fixed(0.0),
                "treatments.rituximab.efficacy.p_response": fixed(1.0),
                "treatments.rituximab.p_response_low_titre": fixed(1.0),
                "treatments.rituximab.efficacy.rate_multiplier": fixed(0.0),
                "treatments.rituximab.efficacy.rate_multiplier_spread": fixed(0.0),
                "treatments.rituximab.efficacy.response_duration_years": fixed(100.0),
            }
        ),
        "rituximab",
    )
    natural, treated = run(base), run(strong)
    assert treated.patients["t_disabled"].notna().sum() < natural.patients["t_disabled"].notna().sum()
    # Disease milestones can only be later (or never) under an effective treatment, never earlier.
    for column in ("t_ataxia", "t_weakness", "t_disabled", "t_walking_aid"):
        a = natural.patients[column].to_numpy()
        b = treated.patients[column].to_numpy()
        both = ~np.isnan(a) & ~np.isnan(b)
        assert np.all(b[both] >= a[both] - 1e-9)
        assert not np.any(np.isnan(a) & ~np.isnan(b) & (natural.patients["t_death"].isna()))


def test_rituximab_schedule_doses_and_titre(base):
    """375 mg/m² weekly × 4: four doses a week apart of 375 × body surface mg."""
    result = run(with_rule(base, "rituximab"), n=300)
    courses = result.courses[result.courses["treatment"] == "rituximab"]
    assert len(courses) > 0
    assert (courses["n_doses"] == 4).all()
    assert np.allclose(courses["total_dose"], 4 * 375 * 1.9)


def test_rituximab_response_more_likely_at_high_titre(base):
    """Responders are about p_response at titres >= 10,000 BTU and p_response_low_titre below."""
    scenario = with_rule(base, "rituximab")
    result = sim.simulate(scenario, n_patients=4000, seed=SEED, keep_events=True)
    first = result.courses[(result.courses["treatment"] == "rituximab") & (result.courses["course"] == 1)]
    merged = first.merge(result.patients[["patient_id", "titre_band"]], on="patient_id")
    low = merged[merged["titre_band"] == "1000-10000"]["responder"].astype(float).mean()
    high = merged[merged["titre_band"] != "1000-10000"]["responder"].astype(float).mean()
    p = base.values().treatments["rituximab"]
    assert abs(high - p.efficacy.p_response) < 0.04
    assert abs(low - p.p_response_low_titre) < 0.08
    assert high > low


def test_ivig_non_responders_stop_at_assessment(base):
    """IVIg non-responders stop at the 3-month assessment; responders stay on up to max_years."""
    result = run(with_rule(base, "ivig"))
    courses = result.courses[result.courses["treatment"] == "ivig"]
    non = courses[courses["responder"] == False]  # noqa: E712 - object column
    assert len(non) > 0
    stopped = non[non["outcome"] == "stopped: no response"]
    assert len(stopped) > 0
    interval = 4 * WEEK
    expected_doses = 1 + int(np.floor(3 * MONTH / interval + 1e-9))
    assert (stopped["n_doses"] == expected_doses).all()
    assert np.allclose(stopped["end"] - stopped["start"], 3 * MONTH)
    first = 2.0 * 75
    assert np.allclose(stopped["total_dose"], first + (expected_doses - 1) * 1.0 * 75)


def test_plasma_exchange_course(base):
    """A course is five exchanges over two weeks, with a short-lived benefit at most."""
    result = run(with_rule(base, "plasma_exchange"), n=300)
    courses = result.courses[result.courses["treatment"] == "plasma_exchange"]
    assert (courses["n_doses"] == 5).all()
    ended = courses.dropna(subset=["end"])
    assert np.allclose(ended["end"] - ended["start"], 2 * WEEK)


def test_cyclophosphamide_bladder_cancer_rises_with_cumulative_dose(base):
    """More cumulative cyclophosphamide never delays bladder cancer, and brings more of it."""

    def cancers(max_courses: int) -> pd.Series:
        scenario = base.with_updates(
            {
                "treatments.cyclophosphamide.bladder_cancer_base_rate_per_year": fixed(0.02),
                "treatments.cyclophosphamide.bladder_cancer_excess_mortality_per_year": fixed(0.0),
                "strategy.rules.first": {"on": "diagnosis", "give": "cyclophosphamide"},
                "strategy.rules.again": {
                    "on": "progression",
                    "give": "cyclophosphamide",
                    "max_courses": max_courses,
                },
            }
        )
        events = run(scenario, n=1500).events
        cancer = events[events["event"] == "bladder_cancer"]
        assert not cancer["patient_id"].duplicated().any()  # a new course replaces the pending clock
        return cancer.groupby("patient_id")["time"].min()

    one, many = cancers(1), cancers(8)
    assert len(many) > len(one) > 0
    common = one.index.intersection(many.index)
    assert (many.loc[common] <= one.loc[common] + 1e-9).all()


def test_pain_drug_relief_follows_nnt(base):
    """Gabapentin relieves pain in p_placebo + 1/NNT of the patients who stay on it."""
    result = sim.simulate(base, n_patients=6000, seed=SEED, keep_events=True)
    courses = result.courses[result.courses["treatment"] == "gabapentin"]
    stayed = courses[courses["outcome"] != "stopped: adverse event"]
    share = stayed["responder"].astype(float).mean()
    assert abs(share - (0.2 + 1 / 7.2)) < 0.05
    second_line = result.courses[result.courses["treatment"] == "duloxetine"]["patient_id"]
    failed_first = courses[courses["outcome"].str.startswith("stopped")]["patient_id"]
    assert set(second_line) <= set(failed_first)


def test_assistive_devices_follow_disability(base):
    """A cane at the walking-aid milestone, a walker at mRS 4 and a wheelchair at mRS 5, at those times."""
    result = run(base)
    events = result.events
    for device, milestone in (("cane", "walking_aid"), ("walker", "mrs4"), ("wheelchair", "mrs5")):
        got = events[(events["event"] == "device") & (events["detail"] == device)].set_index("patient_id")[
            "time"
        ]
        reached = events[events["event"] == milestone].groupby("patient_id")["time"].min()
        assert set(got.index) == set(reached.index)
        assert np.allclose(got.sort_index(), reached.loc[got.index].sort_index())


def test_severe_adverse_event_can_kill_and_stops_treatment(base):
    """Certain severe infection with certain death: every treated patient dies of the treatment."""
    scenario = with_rule(
        base.with_updates(
            {
                "treatments.rituximab.p_severe_infection": fixed(1.0),
                "treatments.rituximab.p_death_given_severe_infection": fixed(1.0),
            }
        ),
        "rituximab",
    )
    result = run(scenario, n=300)
    treated = result.courses["patient_id"][result.courses["treatment"] == "rituximab"].unique()
    assert len(treated) > 0
    p = result.patients.set_index("patient_id").loc[treated]
    assert (p["death_cause"] == "treatment").all()
    starts = result.courses[result.courses["treatment"] == "rituximab"]
    assert (starts.groupby("patient_id").size() == 1).all()
    assert np.allclose(
        p["t_death"].to_numpy(), starts.set_index("patient_id").loc[treated, "start"].to_numpy()
    )


def test_swapping_treatment_inputs_swaps_outcomes(base):
    """Two arms giving the same treatment with different inputs: swapping the inputs swaps the outcomes."""
    weak = {"treatments.rituximab.efficacy.p_response": fixed(0.2)}
    strong = {"treatments.rituximab.efficacy.p_response": fixed(0.8)}
    arm_a = with_rule(base.with_updates(weak), "rituximab")
    arm_b = with_rule(base.with_updates(strong), "rituximab")
    swapped_a = with_rule(base.with_updates(strong), "rituximab")
    swapped_b = with_rule(base.with_updates(weak), "rituximab")
    cols = MILESTONE_COLUMNS + ["qalys_disc", "cost_disc"]
    a, b = run(arm_a, 300).patients[cols], run(arm_b, 300).patients[cols]
    sa, sb = run(swapped_a, 300).patients[cols], run(swapped_b, 300).patients[cols]
    assert sa.equals(b) and sb.equals(a)
    assert not a.equals(b)


def test_an_earlier_course_does_not_end_the_benefit_of_a_newer_one(base):
    """A second rituximab course started while the first still works: when the first course's benefit
    ends, the newer course's benefit goes on (it owns the effect)."""
    import math

    import simpy

    from sim.model.process import Patient, threshold_list
    from sim.model.treatments import TreatmentContext, build_catalogue

    values = base.with_updates(
        {
            "treatments.rituximab.efficacy.p_response": fixed(1.0),
            "treatments.rituximab.p_response_low_titre": fixed(1.0),
            "treatments.rituximab.p_flare": fixed(0.0),
            "treatments.rituximab.p_severe_infection": fixed(0.0),
            "treatments.rituximab.efficacy.response_duration_years": fixed(2.0),
        }
    ).values()
    env = simpy.Environment()
    b0 = values.progression.burden_at_onset
    times = [math.nan] * len(MILESTONES)
    th = threshold_list(values.thresholds, b0, float("nan"), float("nan"))
    patient = Patient(env, 3, 60.0, math.inf, times, b0, 0.05, math.inf, 1.0, th)
    patient.start_disease()
    rituximab = build_catalogue(values.treatments, TreatmentContext(1, 0), True)["rituximab"]
    rituximab.start(patient)
    env.run(until=1.5)  # the first course responds after ~9 months
    assert "effect:rituximab" in patient.effects
    rituximab.start(patient)
    env.run(until=1.5 + 1.2)  # past the first course's end of benefit (~0.75 + ~2 y), before the second's
    relapses = [t for t, e, d, _ in patient.history if e == "relapse"]
    assert "effect:rituximab" in patient.effects, relapses


def test_course_streams_are_the_keyed_streams_whether_seeded_alone_or_in_a_batch() -> None:
    """A course's stream is ``generator(seed, draw, treatment purpose, crc32(name), pid, number)``: for the
    first courses of a block (seeded one at a time), for those after the switch to a batch, and for course
    numbers beyond the batch."""
    ctx = TreatmentContext(123, 4)
    block = 3
    asked = [(block * BLOCK_SIZE + i, 1 + i % 3) for i in range(TreatmentContext.BATCH_AFTER + 40)]
    asked += [(block * BLOCK_SIZE + 7, TreatmentContext.BATCH_NUMBERS), (block * BLOCK_SIZE + 9, 11)]
    for pid, number in asked:
        expected = generator(123, 4, PURPOSES["treatment"], stable_key("rituximab"), pid, number).random(4)
        assert np.array_equal(ctx.course_rng("rituximab", pid, number).random(4), expected), (pid, number)
    assert isinstance(ctx._course_seeds[("rituximab", block)], np.ndarray)  # the batch was used


def test_a_courses_draws_are_its_row_of_the_block_stream_then_its_own_stream() -> None:
    """Course draws: the patient's row of the ``(BLOCK_SIZE, COURSE_UNIFORMS)`` uniforms and then of the
    ``(BLOCK_SIZE, COURSE_NORMALS)`` normals of stream ``(draw, 8, crc32(name), 0xFFFD, block, number)``;
    a request that does not fit in what is left of the row comes from the course's own stream."""
    block, column, number = 2, 37, 3
    pid = block * BLOCK_SIZE + column
    block_stream = generator(123, 4, PURPOSES["treatment"], stable_key("rituximab"), 0xFFFD, block, number)
    uniforms = block_stream.random((BLOCK_SIZE, COURSE_UNIFORMS))[column]
    normals = block_stream.standard_normal((BLOCK_SIZE, COURSE_NORMALS))[column]
    own = generator(123, 4, PURPOSES["treatment"], stable_key("rituximab"), pid, number)

    ctx = TreatmentContext(123, 4)
    ctx.course_draws("rituximab", pid + 1, number)  # another patient of the block asks first: no matter
    draws = ctx.course_draws("rituximab", pid, number)
    assert draws.uniforms(6) == uniforms[:6].tolist()
    assert draws.uniforms(2) == uniforms[6:8].tolist()
    assert [draws.standard_normal() for _ in range(COURSE_NORMALS)] == normals.tolist()
    assert draws.uniforms(3) == own.random(3).tolist()  # the row is spent: the own stream from its start
    assert draws.standard_normal() == own.standard_normal()

    too_many = TreatmentContext(123, 4).course_draws("rituximab", pid, number)
    own = generator(123, 4, PURPOSES["treatment"], stable_key("rituximab"), pid, number)
    assert too_many.uniforms(COURSE_UNIFORMS + 1) == own.random(COURSE_UNIFORMS + 1).tolist()
    assert too_many.uniforms(2) == uniforms[:2].tolist()  # a request that fits still reads the row


def test_course_draws_differ_between_courses_patients_and_treatments() -> None:
    ctx = TreatmentContext(5, 0)
    seen = {
        tuple(ctx.course_draws(name, pid, number).uniforms(COURSE_UNIFORMS))
        for name in ("rituximab", "cyclophosphamide")
        for pid in (0, 1, BLOCK_SIZE)
        for number in (1, 2)
    }
    assert len(seen) == 12


@given(
    n=st.integers(0, 400),
    p=st.floats(0.0, 1.0),
    u=st.floats(0.0, 1.0, exclude_max=True),
    more=st.integers(0, 50),
    higher=st.floats(0.0, 1.0),
)
def test_a_binomial_count_by_inversion_rises_with_the_chances_and_the_risk(n, p, u, more, higher) -> None:
    k = binomial_quantile(u, n, p)
    assert 0 <= k <= n
    assert binomial_quantile(u, n + more, p) >= k
    assert binomial_quantile(u, n, max(p, higher)) >= k


@pytest.mark.parametrize(("n", "p"), [(1, 0.3), (12, 0.05), (65, 0.02), (400, 0.5), (300, 0.999)])
def test_a_binomial_count_by_inversion_has_the_binomial_distribution(n, p) -> None:
    """Over a fine grid of uniforms the share of each count is its binomial probability (to the grid's
    resolution): the inversion is exact, also where ``(1 - p) ** n`` underflows."""
    grid = (np.arange(20_000) + 0.5) / 20_000
    counts = np.bincount([binomial_quantile(float(u), n, p) for u in grid], minlength=n + 1)
    k = np.arange(n + 1)
    log_pmf = (
        np.array([math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in k])
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )
    np.testing.assert_allclose(counts / len(grid), np.exp(log_pmf), atol=1e-4)  # the grid: 5e-5


@given(
    first=st.floats(0.0, 60.0),
    step=st.floats(0.0, 1.0),
    n=st.integers(0, 30),
    t_end=st.floats(0.0, 70.0),
)
def test_a_scheduled_course_lists_and_costs_its_doses_as_a_listed_one(
    first: float, step: float, n: int, t_end: float
) -> None:
    """A course whose doses are a schedule reads, compares, prints, pickles and costs as the course with
    the same doses listed (physiotherapy's sessions are scheduled)."""
    listed = Course("physiotherapy", "physiotherapy", 1, first)
    listed.doses = [(first + i * step, 1.0) for i in range(n)]
    scheduled = Course("physiotherapy", "physiotherapy", 1, first)
    scheduled.schedule(first, step, n, 1.0)
    assert scheduled.scheduled() == n
    scenario = sim.load_scenario(sim.default_scenario_path())
    values = scenario.values()
    accounting = OutcomeAccounting(values.economics, values.treatments)
    history = [(0.0, "onset", "", 1)]
    assert accounting.patient(history, [scheduled], t_end) == accounting.patient(history, [listed], t_end)
    assert scheduled.scheduled() == n  # costing did not list them
    assert pickle.loads(pickle.dumps(scheduled)) == listed
    assert scheduled.doses == listed.doses and scheduled.total_dose == listed.total_dose
    assert scheduled.scheduled() == 0  # listed once read
    assert scheduled == listed and repr(scheduled) == repr(listed)
