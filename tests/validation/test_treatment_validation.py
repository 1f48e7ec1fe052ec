"""Internal validation of the treatment effects: every cited efficacy figure reproduced by a simulated
study of its design, within a tolerance derived from the study's own sample size (docs/validation.md)."""

from __future__ import annotations

import numpy as np
import pytest

import sim
from analysis.treatment_validation import STUDIES, simulate_studies


@pytest.fixture(scope="module")
def table(default_scenario: sim.Scenario):
    return simulate_studies(default_scenario, n_patients=1500, seed=3)


def test_every_cited_treatment_figure_has_a_simulated_study(table) -> None:
    """One row per study, each source a cited key, with a published share or a statement's bound."""
    assert list(table["study"]) == [s.name for s in STUDIES]
    sources = {s.source for s in STUDIES}
    assert {"svahn2018", "gazzola2017", "benedetti2007", "notermans1996", "aan2025_abstract"} <= sources
    assert {"dalakas1996", "comi2002", "dyck1991"} <= sources
    assert (table["n_simulated"] > 200).all()


@pytest.mark.parametrize("name", [s.name for s in STUDIES])
def test_simulated_study_lies_within_the_published_interval(table, name: str) -> None:
    """Simulated share inside the published exact binomial 95% interval widened by 1.96 MC SE (or, for a
    statement without a number, a treated-minus-untreated gain below its bound)."""
    row = table.set_index("study").loc[name]
    assert row["within"], row.to_dict()


def test_svahn2018_categories_are_read_as_published(table) -> None:
    """svahn2018 counts response (6 and/or 7-12 months) and stabilisation (7-12 months) as exclusive
    categories of all 92 rituximab patients, whatever their titre: the two shares come from the same
    patients and never add up to more than everyone; rituximab moves patients from stable to improved."""
    rows = table.set_index("study")
    response, stable = rows.loc["svahn2018 response"], rows.loc["svahn2018 stabilisation"]
    assert response["n_simulated"] == stable["n_simulated"]
    assert response["simulated"] + stable["simulated"] < 1
    assert response["simulated"] > response["untreated"] and stable["simulated"] < stable["untreated"]
    study = next(s for s in STUDIES if s.name == "svahn2018 response")
    assert study.min_titre_band == 0 and study.months == (6, 12) and study.outcome == "improved_any"


def test_tolerance_follows_the_published_sample_size(table) -> None:
    """A smaller study has a wider published interval: benedetti2007 (n=13) wider than svahn2018 (n=92)."""
    rows = table.set_index("study")
    width = rows["published_high"] - rows["published_low"]
    assert width["benedetti2007"] > width["svahn2018 response"]
    assert np.isfinite(rows.loc["svahn2018 response", ["mc_low", "mc_high"]].astype(float)).all()


def test_rituximab_improves_more_than_no_treatment(table) -> None:
    """Paired on the same patients and measurement draws, rituximab improves more than natural history."""
    rows = table.set_index("study")
    for name in ("svahn2018 response", "gazzola2017 6 months", "gazzola2017 42 months"):
        assert rows.loc[name, "simulated"] > rows.loc[name, "untreated"] + 0.03, name
