"""analysis.patient_figure: what is drawn is the story's data, and every mark is in the legend."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

import sim
from analysis.patient_figure import SCALES, patient_figure
from sim.scenario.loading import bundled_scenario_path


@pytest.fixture(scope="module")
def story():
    rtx = sim.load_scenario(bundled_scenario_path("rituximab_at_diagnosis.toml"))
    supportive = sim.load_scenario(bundled_scenario_path("supportive_care.toml"))
    return sim.patient_story(rtx, patient_id=1, seed=1, compare=[supportive], n_patients=10)


def _line(ax, label: str):
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == label]
    return line


def test_one_column_per_strategy_and_every_scale_panel(story) -> None:
    fig = patient_figure(story)
    try:
        grid = fig.axes[0].get_gridspec()
        panels = sum(1 for c in ("incat_total", "onls_total") if c in story.scales.columns)
        assert (grid.nrows, grid.ncols) == (panels + 3, 2)
        titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
        assert titles == ["rituximab at diagnosis", "supportive care"]
    finally:
        plt.close(fig)


def test_step_lines_are_the_scales_of_the_story(story) -> None:
    fig = patient_figure(story)
    try:
        for column, strategy in enumerate(story.strategies):
            ax = [a for a in fig.axes if a.get_subplotspec().colspan.start == column][0]
            line = _line(ax, SCALES["incat_total"][0])
            scales = story.scales[story.scales["strategy"] == strategy]
            alive = scales["incat_total"].dropna()
            ys = np.asarray(line.get_ydata(), dtype=float)
            assert set(ys[np.isfinite(ys)]) == set(alive)
            assert np.nanmax(ys) == alive.max()
    finally:
        plt.close(fig)


def test_every_mark_has_a_legend_entry(story) -> None:
    fig = patient_figure(story)
    try:
        labels = {t.get_text() for t in fig.legends[0].get_texts()}
        for treatment in set(story.courses["treatment"]):
            assert any(
                lbl.startswith("course: ") and lbl.endswith(treatment.replace("_", " ")) for lbl in labels
            )
        assert "courses part from the first strategy" in labels
        assert "modified Rankin (6 = dead)" in labels
        for column in ("incat_arm", "incat_leg", "incat_total", "onls_total"):
            if column in story.scales.columns:
                assert SCALES[column][0] in labels
        if (story.timeline["event"] == "adverse_event").any():
            assert labels & {"adverse event", "serious adverse event"}
    finally:
        plt.close(fig)


def test_parting_is_drawn_where_the_courses_part(story) -> None:
    (parting,) = story.partings
    fig = patient_figure(story)
    try:
        xs = {
            float(np.asarray(ln.get_xdata())[0])
            for ax in fig.axes
            for ln in ax.get_lines()
            if ln.get_linestyle() == "--" and ln.get_color() == "#d62728"
        }
        assert xs == {parting.time}
    finally:
        plt.close(fig)
