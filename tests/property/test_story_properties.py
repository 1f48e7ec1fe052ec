"""Properties of sim.patient_story over random patients and seeds: the story is the event log, and common
random numbers make the same patient the same person under every strategy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.scenario.loading import bundled_scenario_path

patients = st.integers(min_value=0, max_value=25)
seeds = st.integers(min_value=0, max_value=10_000)


@pytest.fixture(scope="module")
def tiny():
    return sim.load_scenario(bundled_scenario_path("tests/tiny.toml"))


@pytest.fixture(scope="module")
def rtx():
    return sim.load_scenario(bundled_scenario_path("rituximab_at_diagnosis.toml"))


@pytest.fixture(scope="module")
def supportive():
    return sim.load_scenario(bundled_scenario_path("supportive_care.toml"))


@settings(max_examples=8)
@given(pid=patients, seed=seeds)
def test_timeline_is_the_event_log_in_words(tiny, pid: int, seed: int) -> None:
    story = sim.patient_story(tiny, patient_id=pid, seed=seed, n_patients=26)
    result = sim.simulate(tiny, n_patients=pid + 1, seed=seed, keep_events=True)
    log = result.events[result.events["patient_id"] == pid]
    rows = story.timeline[story.timeline["event"] != "end_of_follow_up"]
    assert list(rows["event"]) == list(log["event"])
    assert np.array_equal(rows["time"].to_numpy(), log["time"].to_numpy())
    assert not story.timeline["kind"].eq("other").any()
    assert story.timeline["event"].iloc[-1] in ("death", "end_of_follow_up")
    assert 0.0 <= story.summary.at[0, "years_disabled"] <= story.summary.at[0, "years_with_disease"] + 1e-9


@settings(max_examples=6)
@given(pid=patients, seed=seeds)
def test_a_renamed_copy_of_a_strategy_never_parts(tiny, pid: int, seed: int) -> None:
    """Same natural history, same rules, same seed: the same person, event for event."""
    twin = tiny.with_updates({"settings.strategy": "twin"})
    story = sim.patient_story(tiny, patient_id=pid, seed=seed, compare=[twin], n_patients=26)
    assert story.partings == (None,)
    a, b = (story.timeline[story.timeline["strategy"] == s] for s in (tiny.strategy, "twin"))
    assert list(a["text"]) == list(b["text"])
    assert story.timeline["shared"].all()


@settings(max_examples=6)
@given(pid=patients, seed=seeds)
def test_rituximab_at_diagnosis_parts_from_supportive_care_no_earlier_than_diagnosis(
    rtx, supportive, pid: int, seed: int
) -> None:
    """The two strategies differ only in what happens from the anti-MAG diagnosis on (common random numbers:
    onset, progression, diagnostic journey and background death are the same draws)."""
    story = sim.patient_story(rtx, patient_id=pid, seed=seed, compare=[supportive], n_patients=26)
    (parting,) = story.partings
    tl = story.timeline[story.timeline["strategy"] == rtx.strategy]
    diagnosed = tl.loc[tl["event"] == "diagnosis", "time"]
    if diagnosed.empty:
        assert parting is None
    elif parting is not None:
        assert parting.time >= diagnosed.iloc[0]
