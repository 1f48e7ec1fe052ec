"""sim.patient_story: one patient's timeline in plain words, picks, and the same patient under other
strategies."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.scenario.loading import bundled_scenario_path
from sim.story import PICKS, StoryError, parting_point
from sim.story.words import EVENT_KINDS

TINY = bundled_scenario_path("tests/tiny.toml")
RTX = bundled_scenario_path("rituximab_at_diagnosis.toml")
SUPPORTIVE = bundled_scenario_path("supportive_care.toml")
PICK_COHORT = 200
SCENARIOS = Path(RTX).parent


@pytest.fixture(scope="module")
def tiny():
    return sim.load_scenario(TINY)


@pytest.fixture(scope="module")
def rtx():
    return sim.load_scenario(RTX)


@pytest.fixture(scope="module")
def supportive():
    return sim.load_scenario(SUPPORTIVE)


def test_story_is_the_event_log_in_order_with_ages(tiny) -> None:
    """One timeline row per logged event, in the logged order, with age = age at onset + time."""
    story = sim.patient_story(tiny, patient_id=3, seed=5)
    result = sim.simulate(tiny, n_patients=4, seed=5, keep_events=True)
    events = result.events[result.events["patient_id"] == 3].reset_index(drop=True)
    rows = story.timeline[story.timeline["event"] != "end_of_follow_up"].reset_index(drop=True)
    assert list(rows["event"]) == list(events["event"])
    assert np.array_equal(rows["time"].to_numpy(), events["time"].to_numpy())
    assert np.all(np.diff(story.timeline["time"].to_numpy()) >= 0)
    age0 = story.traits["age_at_onset"]
    assert np.allclose(story.timeline["age"], age0 + story.timeline["time"])
    assert story.timeline["text"].str.len().gt(10).all()


def _logged_names() -> set[str]:
    """Every event name the model's code can log: log/record calls, the milestones, the diagnostic steps."""
    import re

    from sim.model.cohort import JOURNEY_SLOTS
    from sim.model.milestones import THRESHOLD_ORDER

    model = Path(sim.__file__).parent / "model"
    names = (
        set(THRESHOLD_ORDER)
        | set(JOURNEY_SLOTS)
        | {
            "onset",
            "tremor",
            "neuropathic_pain",
            "faster_phase",
            "death",
            "malignancy",
        }
    )
    for path in model.glob("*.py"):
        code = path.read_text(encoding="utf-8")
        names |= set(re.findall(r"\.(?:log|record)\(\s*\"([a-z_]+)\"", code))
        names |= set(re.findall(r"\((?:te|t|t \+ lab|float\(t_present\[i\]\)), \"([a-z_]+)\",", code))
        names |= set(re.findall(r"_code\(\s*\"([a-z_]+)\"", code))  # the precomputed timeline's entries
    return names


def test_every_event_the_model_can_log_has_words() -> None:
    """Read from the model's code, so that a new kind of event without words fails here."""
    names = _logged_names()
    assert {"response_onset", "cidp_label", "nerve_biopsy", "bladder_cancer", "igm_flare"} <= names
    assert names <= set(EVENT_KINDS), names - set(EVENT_KINDS)


@pytest.mark.parametrize("name", sorted(p.name for p in SCENARIOS.glob("*.toml")))
def test_every_logged_event_is_told_in_words(name: str) -> None:
    """No event of any shipped strategy falls back to the generic wording (kind 'other')."""
    scenario = sim.load_scenario(SCENARIOS / name)
    result = sim.simulate(scenario, n_patients=60, seed=2, keep_events=True)
    assert set(result.events["event"]) <= set(EVENT_KINDS)
    for pid in (0, 1, 2):
        story = sim.patient_story(scenario, patient_id=pid, seed=2, n_patients=60)
        assert not story.timeline["kind"].eq("other").any()


@pytest.fixture(scope="module")
def rtx_cohort(rtx):
    return sim.simulate(rtx, n_patients=PICK_COHORT, seed=3, keep_events=True)


@pytest.mark.parametrize("criterion", sorted(PICKS))
def test_picked_patient_satisfies_its_criterion(rtx, rtx_cohort, criterion: str) -> None:
    """The picked patient is the one the documented rule names, and the reason is given."""
    story = sim.patient_story(rtx, pick=criterion, seed=3, n_patients=PICK_COHORT)
    cohort = rtx_cohort
    p = cohort.patients.set_index("patient_id")
    pid = story.patient_id
    ev = cohort.events[cohort.events["patient_id"] == pid]
    if criterion == "fast-progressor":
        assert p.at[pid, "t_disabled"] == p["t_disabled"].min()
    elif criterion == "rituximab-responder":
        responses = cohort.events[
            (cohort.events["event"] == "response") & (cohort.events["detail"] == "rituximab")
        ]
        assert (
            ev[(ev["event"] == "response") & (ev["detail"] == "rituximab")]["time"].min()
            == responses["time"].min()
        )
    elif criterion == "cidp-first":
        delay = p["t_diagnosis"] - p["t_cidp_label"]
        assert delay[pid] == delay.max()
    elif criterion == "transformation":
        assert p.at[pid, "t_malignancy"] == p["t_malignancy"].min()
    elif criterion == "treatment-harm":
        assert ((ev["event"] == "adverse_event") & (ev["value"] >= 0.5)).any()
    assert story.pick == criterion and story.reason
    assert f"--pick {criterion}" in story.text()


def test_compare_is_identical_up_to_the_parting_point(rtx, supportive) -> None:
    """Same patient, same random numbers: the histories agree event for event until the parting point,
    which is the first event that differs."""
    story = sim.patient_story(rtx, patient_id=5, seed=4, compare=[supportive])
    (parting,) = story.partings
    a = story.timeline[story.timeline["strategy"] == rtx.strategy].reset_index(drop=True)
    b = story.timeline[story.timeline["strategy"] == supportive.strategy].reset_index(drop=True)
    k = parting.index
    cols = ["time", "event", "detail", "text"]
    assert a.iloc[:k][cols].equals(b.iloc[:k][cols])
    assert not a.iloc[k][cols].equals(b.iloc[k][cols])
    assert parting.time == min(a.at[k, "time"], b.at[k, "time"])
    assert a["shared"].iloc[:k].all() and not a["shared"].iloc[k:].any()
    assert "The courses part at year" in story.text()


def test_parting_point_of_identical_logs_is_none(tiny) -> None:
    result = sim.simulate(tiny, n_patients=2, seed=1, keep_events=True)
    log = result.events[result.events["patient_id"] == 1]
    assert parting_point(log, log.copy(), "x") is None
    shorter = log.iloc[:-1]
    assert parting_point(log, shorter, "x").index == len(log) - 1


def test_summary_years_disabled_match_the_rankin_steps(rtx) -> None:
    story = sim.patient_story(rtx, patient_id=1, seed=1)
    steps = story.scales
    t = steps["time"].to_numpy()
    mrs = steps["mrs"].to_numpy()
    disabled = sum(t[i + 1] - t[i] for i in range(len(t) - 1) if 3 <= mrs[i] < 6)
    assert math.isclose(story.summary.at[0, "years_disabled"], disabled, abs_tol=0.03)
    assert "qalys_disc" in story.summary.columns and story.currency == "GBP"


def test_bad_requests_name_the_option(rtx, tiny) -> None:
    with pytest.raises(StoryError, match="--pick 'nope'.*fast-progressor"):
        sim.patient_story(rtx, pick="nope")
    with pytest.raises(StoryError, match="--id 50 .*0 to 49"):
        sim.patient_story(rtx, patient_id=50, n_patients=50)
    other = tiny.with_updates({"thresholds.walking_aid": 0.62, "settings.strategy": "other"})
    with pytest.raises(
        sim.ScenarioError, match="--compare needs strategies on one natural history.*thresholds.walking_aid"
    ):
        sim.patient_story(tiny, patient_id=0, compare=[other])


def test_a_later_parting_is_marked_within_its_continuation(rtx, supportive) -> None:
    """Under three strategies the shared part ends at the earliest parting; a strategy that parts later
    first repeats the reference's events, then its own parting is marked (text and markdown)."""
    threshold = sim.load_scenario(bundled_scenario_path("rituximab_at_threshold.toml"))
    story = sim.patient_story(supportive, patient_id=0, seed=4, compare=[rtx, threshold], n_patients=20)
    early, late = story.partings
    assert early.index < late.index
    ref = story.timeline[story.timeline["strategy"] == supportive.strategy].reset_index(drop=True)
    other = story.timeline[story.timeline["strategy"] == threshold.strategy].reset_index(drop=True)
    assert list(ref["text"].iloc[: late.index]) == list(other["text"].iloc[: late.index])
    text = story.text()
    marker = f"--> here the course under {threshold.strategy} parts from {supportive.strategy}'s"
    assert text.count(marker) == 1
    after = text.split(marker)[1].split("\n")[1]
    assert other["text"].iloc[late.index] in after
    assert (
        f"**Here the course under {threshold.strategy} parts from {supportive.strategy}'s.**"
        in story.markdown()
    )
