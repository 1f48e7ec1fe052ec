"""A treatment with zero efficacy for a patient leaves that patient's course exactly as in natural history.

For every treatment type of the catalogue, two ways of having no efficacy for a patient:

* **non-responders**: the shipped efficacy, and the patients whose courses all say "no response" (and who
  had no IgM flare, no adverse event and no bladder cancer from it): their disease is untouched;
* **neutral responders**: everyone responds, with a rate multiplier of 1 and nothing reversed, and no
  adverse events: every patient's course is untouched.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.model.process import MILESTONES

#: Each disease-modifying type with the catalogue entries a strategy starts (a combination gives two), and
#: the adverse-event probabilities that a neutral variant sets to 0.
TYPES = {
    "rituximab": (
        ("rituximab",),
        ("p_flare", "p_infusion_reaction", "p_hypogammaglobulinaemia", "p_severe_infection"),
    ),
    "ivig": (
        ("ivig",),
        ("p_thromboembolism_per_infusion", "p_other_adverse_event_per_infusion"),
    ),
    "plasma_exchange": (
        ("plasma_exchange",),
        ("p_adverse_event_per_exchange", "p_severe_adverse_event_per_course"),
    ),
    "cyclophosphamide": (
        ("cyclophosphamide",),
        (
            "p_haemorrhagic_cystitis_per_course",
            "p_severe_leukopenia_per_course",
            "bladder_cancer_base_rate_per_year",
        ),
    ),
    "rituximab_combination": (
        ("rituximab_combination", "cyclophosphamide_with_rituximab"),
        ("p_flare", "p_infusion_reaction", "p_hypogammaglobulinaemia", "p_severe_infection"),
    ),
}
DISEASE_COLUMNS = [m for m in MILESTONES if m != "t_death"]
HARMS = ("igm_flare", "adverse_event", "bladder_cancer")  # events of a treatment that change a course


def fixed(value: float) -> dict:
    return {"value": value, "source": "test"}


@pytest.fixture(scope="module")
def base() -> sim.Scenario:
    return sim.load_scenario(sim.default_scenario_path())


def arm(base: sim.Scenario, entries: tuple[str, ...], neutral: bool, harms: tuple[str, ...]) -> sim.Scenario:
    updates: dict = {"settings.strategy": "under_test"}
    for name in entries:
        updates[f"strategy.rules.test_{name}"] = {"on": "diagnosis", "give": name, "max_courses": 2}
        if neutral:
            for key, value in (
                ("p_response", 1.0),
                ("rate_multiplier", 1.0),
                ("rate_multiplier_spread", 0.0),
                ("reversal_fraction", 0.0),
            ):
                updates[f"treatments.{name}.efficacy.{key}"] = fixed(value)
            for key in harms:
                if key in base.data["treatments"][name]:
                    updates[f"treatments.{name}.{key}"] = fixed(0.0)
    return base.with_updates(updates)


@settings(max_examples=10)
@given(kind=st.sampled_from(sorted(TYPES)), neutral=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_zero_efficacy_leaves_the_course_of_natural_history(base, kind, neutral, seed) -> None:
    """Milestones, death and the burden path of a patient with no efficacy equal natural history's."""
    entries, harms = TYPES[kind]
    n = 120
    natural = sim.simulate(base, n_patients=n, seed=seed, keep_events=True)
    treated = sim.simulate(arm(base, entries, neutral, harms), n_patients=n, seed=seed, keep_events=True)
    courses = treated.courses[treated.courses["treatment"].isin(entries)]
    assert len(courses) > 0  # the treatment was really given
    events = treated.events
    own = events["detail"].isin(entries) | ~events["event"].eq("adverse_event")  # not the pain drugs'
    harmed = set(events.loc[events["event"].isin(HARMS) & own, "patient_id"])
    if neutral:
        assert not harmed  # neutral variants have no harms
        untouched = set(treated.patients["patient_id"])
    else:
        responders = set(courses.loc[courses["responder"].fillna(False).astype(bool), "patient_id"])
        untouched = set(courses["patient_id"]) - responders - harmed
    assert untouched, "no patient without efficacy to compare"
    ids = sorted(untouched)
    a = natural.patients.set_index("patient_id").loc[ids]
    b = treated.patients.set_index("patient_id").loc[ids]
    assert np.array_equal(a[DISEASE_COLUMNS].to_numpy(), b[DISEASE_COLUMNS].to_numpy(), equal_nan=True)
    assert np.array_equal(a["t_death"].to_numpy(), b["t_death"].to_numpy(), equal_nan=True)
    pa = natural.paths[natural.paths["patient_id"].isin(ids)][
        ["patient_id", "time", "burden", "rate_per_year"]
    ]
    pb = treated.paths[treated.paths["patient_id"].isin(ids)][
        ["patient_id", "time", "burden", "rate_per_year"]
    ]
    assert np.array_equal(pa.to_numpy(), pb.to_numpy())
