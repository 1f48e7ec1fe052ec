"""Analytic cross-checks (invariants C18, C22): simulated times against their exact distributions.

Tolerance: 3 Monte Carlo standard errors for means; Kolmogorov–Smirnov p-values above 0.001 for shapes.
Seeds are fixed, so each check is deterministic.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.linalg import expm

import sim
from sim.model.cohort import REFERENCE_ONSET_AGE

KS_ALPHA = 0.001


def constant_rate_table(directory: Path, rate: float) -> Path:
    """A life table with the same death rate at every age 0–110 for both sexes."""
    path = directory / f"constant_{rate:g}.csv"
    ages = np.arange(111)
    pd.DataFrame({"Age": ages, "Female": rate, "Male": rate}).to_csv(path, index=False)
    return path


def fixed(value: float) -> dict:
    return {"value": value, "source": "analytic test"}


# --------------------------------------------------------------------------- C18


@pytest.mark.parametrize("rate", [0.02, 0.1, 0.5])
def test_c18_mean_time_to_death_is_one_over_the_rate(
    default_scenario: sim.Scenario, tmp_path: Path, rate: float
) -> None:
    """One alive state with death rate μ (constant life table, no excess death): mean life-years → 1/μ."""
    scenario = default_scenario.with_updates(
        {
            "settings.life_table": str(constant_rate_table(tmp_path, rate)),
            "settings.horizon_years": "lifetime",
            "malignancy.excess_mortality_rate_per_year": fixed(0.0),
            "mortality.background_rate_multiplier": fixed(1.0),
        }
    )
    patients = sim.simulate(scenario, n_patients=4000, seed=18).patients
    t = patients["t_death"].to_numpy()
    assert np.all(np.isfinite(t))
    assert (patients["death_cause"] == "background").all()
    se = t.std(ddof=1) / math.sqrt(len(t))
    assert abs(t.mean() - 1 / rate) < 3 * se, (t.mean(), 1 / rate, se)
    assert patients["lys_undisc"].to_numpy() == pytest.approx(t, rel=1e-9)
    assert stats.kstest(t, "expon", args=(0, 1 / rate)).pvalue > KS_ALPHA


def test_c18_discounted_qalys_are_u_over_mu_plus_delta(
    default_scenario: sim.Scenario, tmp_path: Path
) -> None:
    """With one utility u in every state and continuous discounting δ, mean discounted QALYs → u/(μ+δ)."""
    rate, u, annual = 0.1, 0.7, 0.035
    utilities = {
        path: fixed(u if path.rsplit(".", 1)[1].startswith("mrs") else 0.0)
        for path in default_scenario.parameters()
        if path.startswith("economics.utilities.")
    }
    scenario = default_scenario.with_updates(
        {
            "settings.life_table": str(constant_rate_table(tmp_path, rate)),
            "malignancy.excess_mortality_rate_per_year": fixed(0.0),
            "economics.discount_rate_effects": fixed(annual),
            **utilities,
        }
    )
    patients = sim.simulate(scenario, n_patients=4000, seed=19).patients
    delta = math.log1p(annual)  # annual rate r as a force of interest
    q = patients["qalys_disc"].to_numpy()
    se = q.std(ddof=1) / math.sqrt(len(q))
    assert abs(q.mean() - u / (rate + delta)) < 3 * se, (q.mean(), u / (rate + delta), se)
    # per patient exactly: u (1 - e^{-δ T}) / δ
    t = patients["t_death"].to_numpy()
    assert q == pytest.approx(u * -np.expm1(-delta * t) / delta, rel=1e-6)


# --------------------------------------------------------------------------- C22


@pytest.fixture(scope="module")
def immortal(default_scenario: sim.Scenario) -> sim.SimulationResult:
    """4,000 patients who never die, followed 200 years, with frequent transformation: nothing is censored."""
    scenario = default_scenario.with_updates(
        {
            "settings.horizon_years": 200.0,
            "mortality.background_rate_multiplier": fixed(0.0),
            "malignancy.excess_mortality_rate_per_year": fixed(0.0),
            "malignancy.rate_per_year_at_1g_dl": fixed(0.5),
        }
    )
    return sim.simulate(scenario, n_patients=4000, seed=22, keep_events=True)


def test_c22_onset_age_is_the_truncated_normal(immortal: sim.SimulationResult) -> None:
    """Age at onset follows normal(mean, sd) truncated to [min, max] (KS, mean within 3 SE)."""
    pop = immortal.values.population
    lo = (pop.age_onset_min - pop.age_onset_mean) / pop.age_onset_sd
    hi = (pop.age_onset_max - pop.age_onset_mean) / pop.age_onset_sd
    dist = stats.truncnorm(lo, hi, loc=pop.age_onset_mean, scale=pop.age_onset_sd)
    age = immortal.patients["age_at_onset"].to_numpy()
    assert stats.kstest(age, dist.cdf).pvalue > KS_ALPHA
    assert abs(age.mean() - dist.mean()) < 3 * dist.std() / math.sqrt(len(age))
    assert age.min() >= pop.age_onset_min and age.max() <= pop.age_onset_max


def test_c22_presentation_delay_is_log_normal(immortal: sim.SimulationResult) -> None:
    """Time from first symptom to presentation is log-normal(median, sigma) (KS and variance)."""
    d = immortal.values.diagnosis
    dist = stats.lognorm(s=d.presentation_delay_sigma, scale=d.presentation_delay_median_years)
    t = immortal.patients["t_presentation"].to_numpy()
    assert np.all(np.isfinite(t))
    assert stats.kstest(t, dist.cdf).pvalue > KS_ALPHA
    log_t = np.log(t)
    assert np.var(log_t, ddof=1) == pytest.approx(d.presentation_delay_sigma**2, rel=0.1)


def test_c22_referral_wait_is_exponential(immortal: sim.SimulationResult) -> None:
    """Time from presentation to the neurology exam is exponential with the scenario's mean."""
    events = immortal.events
    first = events[events["event"].isin(["presentation", "neurology_exam"])].groupby(["patient_id", "event"])
    times = first["time"].min().unstack()
    wait = (times["neurology_exam"] - times["presentation"]).to_numpy()
    mean = immortal.values.diagnosis.referral_wait_mean_years
    assert stats.kstest(wait, "expon", args=(0, mean)).pvalue > KS_ALPHA


def test_c22_slow_progression_rate_is_log_normal(immortal: sim.SimulationResult) -> None:
    """Slow progressors' rates, once the onset-age factor is removed, are log-normal(median, sigma)."""
    prog = immortal.values.progression
    slow = immortal.patients[~immortal.patients["fast_progressor"]]
    factor = prog.rate_ratio_per_decade_of_onset_age ** ((slow["age_at_onset"] - REFERENCE_ONSET_AGE) / 10.0)
    z = np.log(slow["rate_per_year"] / factor / prog.rate_slow_median_per_year) / prog.rate_slow_sigma
    assert stats.kstest(z, "norm").pvalue > KS_ALPHA
    share_fast = immortal.patients["fast_progressor"].mean()
    n = len(immortal.patients)
    p = prog.p_fast_progressor
    assert abs(share_fast - p) < 3 * math.sqrt(p * (1 - p) / n)


def test_c22_transformation_time_is_exponential_given_the_m_protein(immortal: sim.SimulationResult) -> None:
    """Scaled by each patient's hazard (log-linear in the M-protein), transformation times are Exp(1)."""
    mal = immortal.values.malignancy
    patients = immortal.patients
    hazard = mal.rate_per_year_at_1g_dl * np.exp(
        mal.log_hazard_ratio_per_g_dl * (patients["mprotein_g_dl"] - 1.0)
    )
    e = (patients["t_malignancy"] * hazard).to_numpy()
    assert np.all(np.isfinite(e))
    assert stats.kstest(e, "expon").pvalue > KS_ALPHA


def test_c22_male_share_is_binomial(immortal: sim.SimulationResult) -> None:
    """The number of men is Binomial(n, p_male)."""
    n = len(immortal.patients)
    men = int((immortal.patients["sex"] == "male").sum())
    assert stats.binomtest(men, n, immortal.values.population.p_male).pvalue > KS_ALPHA


def test_c22_ks_detects_a_wrong_distribution(immortal: sim.SimulationResult) -> None:
    """The control: presentation delays are not log-normal with twice the median."""
    d = immortal.values.diagnosis
    wrong = stats.lognorm(s=d.presentation_delay_sigma, scale=2 * d.presentation_delay_median_years)
    assert stats.kstest(immortal.patients["t_presentation"], wrong.cdf).pvalue < KS_ALPHA


# --------------------------------------------------------------------------- C21


def test_c21_state_occupancy_matches_the_markov_solution(
    default_scenario: sim.Scenario, tmp_path: Path
) -> None:
    """With constant hazards the model is a Markov chain: alive without malignancy (A), alive after a
    malignant transformation (M), dead of background causes (D_b) or of the malignancy (D_m), with
    A→M at λ, A→D_b and M→D_b at μ, M→D_m at ε. The simulated share in each state at each time matches
    p₀·expm(Q t) within 3 Monte Carlo standard errors."""
    mu, lam, eps = 0.05, 0.08, 0.15
    scenario = default_scenario.with_updates(
        {
            "settings.life_table": str(constant_rate_table(tmp_path, mu)),
            "settings.horizon_years": "lifetime",
            "malignancy.rate_per_year_at_1g_dl": fixed(lam),
            "malignancy.log_hazard_ratio_per_g_dl": fixed(0.0),  # the same hazard whatever the M-protein
            "malignancy.excess_mortality_rate_per_year": fixed(eps),
            "mortality.background_rate_multiplier": fixed(1.0),
        }
    )
    n = 4000
    patients = sim.simulate(scenario, n_patients=n, seed=21).patients
    assert set(patients["death_cause"].dropna()) <= {"background", "malignancy"}
    q = np.array(
        [
            [-(lam + mu), lam, mu, 0.0],
            [0.0, -(mu + eps), mu, eps],
            [0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
        ]
    )
    p0 = np.array([1.0, 0.0, 0.0, 0.0])
    t_mal = patients["t_malignancy"].to_numpy()
    t_death = patients["t_death"].to_numpy()
    cause = patients["death_cause"].to_numpy()
    for t in (0.5, 2.0, 5.0, 10.0, 20.0, 40.0):
        dead = t_death <= t
        malignant = t_mal <= t
        simulated = np.array(
            [
                np.mean(~dead & ~malignant),
                np.mean(~dead & malignant),
                np.mean(dead & (cause == "background")),
                np.mean(dead & (cause == "malignancy")),
            ]
        )
        exact = p0 @ expm(q * t)
        se = np.sqrt(exact * (1 - exact) / n)
        assert np.all(np.abs(simulated - exact) <= 3 * se + 1e-12), (t, simulated, exact, se)
