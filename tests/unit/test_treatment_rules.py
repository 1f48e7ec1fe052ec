"""Rules of treatment that the wider tests cannot see, because the scenarios they generate never reach the
case: a death from a treatment ends the patient's simulation; a response ends with the effect removed
(relapse); IVIg does nothing to non-responders; a rule never gives more than ``max_courses`` courses.

Each test makes its case certain (probabilities 0 or 1, an effect that halts progression), so that it
fails whenever the rule is broken."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from sim.model.process import MILESTONES

N = 150
SEED = 8


@pytest.fixture(scope="module")
def base() -> sim.Scenario:
    return sim.load_scenario(sim.default_scenario_path()).with_updates({"settings.horizon_years": 30.0})


def fixed(value: float) -> dict:
    return {"value": value, "source": "test"}


def with_rule(scenario: sim.Scenario, give: str, updates: dict | None = None, **rule) -> sim.Scenario:
    spec = {"on": "diagnosis", "give": give, **rule}
    values = {
        f"treatments.{give}.{k}" if not k.startswith("treatments.") else k: fixed(v)
        for k, v in (updates or {}).items()
    }
    return scenario.with_updates(
        {**values, "strategy.rules.under_test": spec, "settings.strategy": f"test_{give}"}
    )


def run(scenario: sim.Scenario) -> sim.SimulationResult:
    return sim.simulate(scenario, n_patients=N, seed=SEED, keep_events=True)


def rate_after(result: sim.SimulationResult, events: pd.DataFrame) -> np.ndarray:
    """Progression rate of each event's patient just after the event (from the recorded path)."""
    paths = result.paths.sort_values("time", kind="stable")
    query = events[["patient_id", "time"]].sort_values("time", kind="stable")
    merged = pd.merge_asof(query, paths[["patient_id", "time", "rate_per_year"]], on="time", by="patient_id")
    return merged["rate_per_year"].to_numpy()


# --------------------------------------------------------------------------------------------- deaths


@pytest.mark.parametrize(
    ("give", "updates"),
    [
        ("rituximab", {"p_severe_infection": 1.0, "p_death_given_severe_infection": 1.0}),
        (
            "cyclophosphamide",
            {
                "bladder_cancer_base_rate_per_year": 5.0,
                "bladder_cancer_lag_years": 0.0,
                "bladder_cancer_excess_mortality_per_year": 5.0,
            },
        ),
    ],
    ids=["infection", "bladder_cancer"],
)
def test_a_death_from_a_treatment_or_its_cancer_ends_the_patient(base, give: str, updates: dict) -> None:
    """Nothing is logged after a treatment death (infection; bladder cancer after cyclophosphamide), no
    milestone falls after it, and life-years end there."""
    result = run(with_rule(base, give, updates))
    p = result.patients.set_index("patient_id")
    treated_deaths = p.index[p["death_cause"] == "treatment"]
    assert len(treated_deaths) > N // 4, "the case under test must happen"
    ev = result.events
    if give == "cyclophosphamide":
        deaths = ev[ev["event"] == "death"]
        assert deaths["detail"].str.contains("bladder cancer").sum() > N // 4
    last = ev.groupby("patient_id").tail(1).set_index("patient_id")
    assert (last.loc[treated_deaths, "event"] == "death").all()
    t_death = p.loc[treated_deaths, "t_death"]
    after = ev[ev["patient_id"].isin(treated_deaths)].join(t_death, on="patient_id")
    assert not (after["time"] > after["t_death"]).any()
    for column in MILESTONES:
        assert not (p.loc[treated_deaths, column] > t_death).any(), column
    np.testing.assert_allclose(p.loc[treated_deaths, "lys_undisc"], t_death, rtol=1e-12)


# --------------------------------------------------------------------------------------------- relapse


HALTING = {
    "efficacy.p_response": 1.0,
    "efficacy.rate_multiplier": 0.0,
    "efficacy.rate_multiplier_spread": 0.0,
}


@pytest.mark.parametrize(
    ("give", "updates"),
    [
        (
            "rituximab",
            {**HALTING, "p_response_low_titre": 1.0, "p_flare": 0.0, "efficacy.response_duration_years": 1.0},
        ),
        ("plasma_exchange", {**HALTING}),
        ("ivig", {**HALTING, "max_years": 1.0, "p_thromboembolism_per_infusion": 0.0}),
    ],
)
def test_when_a_response_ends_the_progression_resumes(base, give: str, updates: dict) -> None:
    """A treatment that halts progression while it works: after each relapse the patient progresses
    again (the effect is removed), so the rate just after the relapse is the untreated one, never 0."""
    result = run(with_rule(base, give, updates))
    ev = result.events
    responses = ev[(ev["event"] == "response") & (ev["detail"] == give)]
    relapses = ev[(ev["event"] == "relapse") & (ev["detail"] == give)]
    assert len(relapses) > N // 4, "the case under test must happen"
    assert (rate_after(result, responses) == 0).all()  # halted while it works
    assert (rate_after(result, relapses) > 0).all()  # and progressing again afterwards


# --------------------------------------------------------------------------------------------- IVIg


def test_ivig_does_nothing_to_non_responders(base) -> None:
    """IVIg with no responders and no adverse events: every patient's course equals natural history
    bit for bit, and nobody is recorded as responding."""
    updates = {
        "efficacy.p_response": 0.0,
        "efficacy.rate_multiplier": 0.0,
        "efficacy.rate_multiplier_spread": 0.0,
        "efficacy.reversal_fraction": 0.5,
        "p_thromboembolism_per_infusion": 0.0,
        "p_other_adverse_event_per_infusion": 0.0,
    }
    treated = run(with_rule(base, "ivig", updates))
    natural = run(base)
    assert treated.courses["treatment"].eq("ivig").sum() > N // 2  # the treatment was really given
    assert not treated.events["event"].eq("response").any()
    a = natural.patients[list(MILESTONES)].to_numpy()
    b = treated.patients[list(MILESTONES)].to_numpy()
    assert np.array_equal(a, b, equal_nan=True)
    times = [1, 5, 10, 20]
    assert np.array_equal(
        sim.burden_at(natural, times)["burden"].to_numpy(), sim.burden_at(treated, times)["burden"].to_numpy()
    )


# --------------------------------------------------------------------------------------------- courses


@pytest.mark.parametrize("max_courses", [1, 2, 3])
def test_a_rule_gives_at_most_max_courses(base, max_courses: int) -> None:
    """A rule that fires again at every relapse, with short responses: some patients reach the cap, and
    none passes it."""
    updates = {**HALTING, "efficacy.response_duration_years": 0.5}
    first = with_rule(base, "plasma_exchange", updates, max_courses=max_courses)
    again = {
        "on": "relapse",
        "after": "plasma_exchange",
        "give": "plasma_exchange",
        "max_courses": max_courses,
    }
    scenario = first.with_updates({"strategy.rules.again": again})
    courses = run(scenario).courses
    per_patient = courses[courses["treatment"] == "plasma_exchange"].groupby("patient_id").size()
    assert per_patient.max() == max_courses
    assert (per_patient == max_courses).sum() > N // 4
