"""The cohort's course (analysis.survival, analysis.occupancy, analysis.cohort_figures, analysis.km_drawing):
the tidy frames behind the figures, and what the figures draw from them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sim
from analysis.cohort_course import cohort_course
from analysis.cohort_figures import COHORT_MILESTONES, milestone_incidence_figure, mrs_occupancy_figure
from analysis.km_drawing import BAND_LABEL, end_label
from analysis.occupancy import mrs_occupancy, occupancy_grid
from analysis.survival import MIN_AT_RISK, cumulative_incidence, incidence_curves, number_at_risk


def frame(events, deaths, strategy="A") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "strategy": strategy,
            "patient_id": range(len(events)),
            "t_x": np.asarray(events, dtype=float),
            "t_death": np.asarray(deaths, dtype=float),
        }
    )


def test_number_at_risk_counts_those_neither_reached_nor_censored() -> None:
    # events at 1 and 3; patient 2 dies at 2 without the event; patient 3 followed to the horizon 5
    patients = frame([1.0, 3.0, np.nan, np.nan], [np.nan, np.nan, 2.0, np.nan])
    assert number_at_risk(patients, "t_x", [0, 1, 1.5, 2, 2.5, 3, 4, 5], horizon=5.0).tolist() == [
        4,
        4,
        3,
        3,
        2,
        2,
        1,
        1,
    ]


@given(
    n=st.integers(min_value=1, max_value=60),
    min_at_risk=st.integers(min_value=1, max_value=40),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_incidence_curves_stop_where_too_few_remain_at_risk(n: int, min_at_risk: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    events = np.where(rng.random(n) < 0.6, rng.uniform(0, 10, n), np.nan)
    deaths = np.where(rng.random(n) < 0.3, rng.uniform(0, 12, n), np.nan)
    patients = frame(events, deaths)
    grid = np.linspace(0, 12, 49)
    curves = incidence_curves(patients, ["t_x"], grid, horizon=10.0, min_at_risk=min_at_risk)
    at_risk = number_at_risk(patients, "t_x", grid, horizon=10.0)
    kept = grid[(at_risk >= min_at_risk) & (grid <= 10.0)]
    assert curves["years"].tolist() == kept.tolist()  # a prefix of the grid, nothing beyond the horizon
    assert (curves["at_risk"] >= min_at_risk).all()
    if len(kept):
        full = cumulative_incidence(patients, "t_x", kept, horizon=10.0)
        assert curves["percent"].to_numpy() == pytest.approx(full["percent"].to_numpy())


def test_incidence_curves_reject_a_missing_column_and_a_zero_cut() -> None:
    patients = frame([1.0], [np.nan])
    with pytest.raises(ValueError, match="t_y"):
        incidence_curves(patients, ["t_y"], [0, 1], 5.0)
    with pytest.raises(ValueError, match="min_at_risk"):
        incidence_curves(patients, ["t_x"], [0, 1], 5.0, min_at_risk=0)


def scales_frame(mrs_by_patient: list[list[int]], times: list[float], horizon: float) -> pd.DataFrame:
    rows = [
        {"strategy": "A", "patient_id": p, "time": t, "mrs": m, "followed": t < horizon}
        for p, levels in enumerate(mrs_by_patient)
        for t, m in zip(times, levels, strict=True)
    ]
    return pd.DataFrame(rows)


def test_occupancy_counts_every_patient_the_dead_included() -> None:
    scales = scales_frame([[1, 2, 6], [1, 1, 3], [1, 3, 6]], [0.0, 1.0, 2.0], horizon=5.0)
    occ = mrs_occupancy(scales, min_alive=1)
    wide = occ.pivot_table(index="years", columns="mrs", values="n")
    assert wide.loc[2.0, 6] == 2 and wide.loc[2.0, 3] == 1
    assert occ.groupby("years")["n"].sum().tolist() == [3, 3, 3]
    assert occ.groupby("years")["percent"].sum().to_numpy() == pytest.approx([100, 100, 100])
    assert sorted(occ["mrs"].unique()) == list(range(7))  # empty levels are rows with n = 0


def test_occupancy_drops_times_beyond_the_horizon_and_with_too_few_alive() -> None:
    scales = scales_frame([[1, 2, 6], [1, 1, 3], [1, 3, 6]], [0.0, 1.0, 2.0], horizon=1.5)
    assert mrs_occupancy(scales, min_alive=1)["years"].max() == 1.0  # 2.0 is beyond the horizon
    scales = scales_frame([[1, 2, 6], [1, 1, 3], [1, 3, 6]], [0.0, 1.0, 2.0], horizon=5.0)
    assert mrs_occupancy(scales, min_alive=2)["years"].max() == 1.0  # one alive at 2.0
    with pytest.raises(ValueError, match="followed"):
        mrs_occupancy(scales.drop(columns="followed"))


def test_lifetime_grid_ends_when_too_few_are_alive() -> None:
    deaths = np.arange(1.0, 31.0)  # 30 patients dying at 1, 2, ..., 30 years
    patients = frame(np.full(30, np.nan), deaths)
    grid = occupancy_grid(patients, np.inf, points=11, min_alive=5)
    assert grid[-1] == 25.0  # at 25 y five are alive; at 26 y four
    assert occupancy_grid(patients, 12.0, points=5)[-1] == 12.0


@pytest.fixture(scope="module")
def course():
    scenario = sim.load_scenario(sim.scenario.loading.bundled_scenario_path("tests/tiny.toml"))
    return cohort_course(sim.simulate(scenario, n_patients=120, seed=4))


def test_cohort_course_covers_the_milestones_up_to_the_horizon(course) -> None:
    assert set(course.incidence["milestone"]) <= set(COHORT_MILESTONES)
    assert course.incidence["years"].max() <= course.end == 20.0
    assert (course.incidence["at_risk"] >= MIN_AT_RISK).all()
    assert course.occupancy["years"].max() < 20.0
    assert course.occupancy.groupby("years")["n"].sum().eq(120).all()


def test_milestone_figure_labels_every_curve_band_and_end_mark(course) -> None:
    fig = milestone_incidence_figure(course.incidence, course.end)
    ax = fig.axes[0]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "diagnosis" in labels and "sensory ataxia" in labels
    assert BAND_LABEL in labels
    assert end_label(MIN_AT_RISK) in labels  # the hands curve is cut: most patients reach it early
    assert "death censored" in ax.get_ylabel()
    assert ax.get_xlim() == (0.0, 20.0)
    for line in ax.get_lines():
        assert np.all(np.asarray(line.get_xdata(), dtype=float) <= 20.0)


def test_mrs_figure_stacks_levels_with_the_dead_on_top(course) -> None:
    fig = mrs_occupancy_figure(course.occupancy, course.end)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[0] == "6 dead"
    assert all(not label.startswith("0 ") for label in labels)  # nobody at mRS 0: no empty entry
    assert fig.axes[0].get_xlim() == (0.0, 20.0)
    with pytest.raises(ValueError, match="empty"):
        mrs_occupancy_figure(course.occupancy.iloc[0:0], 20.0)


def test_occupancy_gathered_in_patient_chunks_equals_the_whole_cohort_at_once(monkeypatch) -> None:
    """The mRS counts are gathered chunk by chunk to bound memory; the figure's frame must not change."""
    import analysis.cohort_course as course_module
    from sim.run.trajectory import outcome_scales

    result = sim.simulate(sim.load_scenario(sim.default_scenario_path()), n_patients=300, seed=4)
    monkeypatch.setattr(course_module, "SCALES_CHUNK", 64)
    chunked = cohort_course(result)
    assert len(course_module._chunks(result)) == 5
    grid = occupancy_grid(result.patients, np.inf, course_module.GRID_POINTS)
    whole = mrs_occupancy(outcome_scales(result, grid))
    pd.testing.assert_frame_equal(chunked.occupancy, whole, check_exact=True)
