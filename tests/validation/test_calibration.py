"""The default natural history reproduces its published calibration targets (calibration_targets.toml).

Targets: disabled (mRS >= 3) in 16/24/50% at 5/10/15 years (nobile2000, ±5 points), Waldenström or lymphoma
in 10/18/24% (kyle2003, ±4 points), mean onset age 62.6 ± 2 years (svahn2018), male share 0.78 ± 0.04
(aotsuka2024). One run of 5,000 patients with a fixed seed (~0.5 s).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim
from analysis.calibration import calibration_table, load_targets
from analysis.survival import cumulative_incidence

N_PATIENTS = 5000
SEED = 20240521


@pytest.fixture(scope="module")
def cohort(default_scenario: sim.Scenario) -> pd.DataFrame:
    return sim.simulate(default_scenario, n_patients=N_PATIENTS, seed=SEED).patients


@pytest.fixture(scope="module")
def table(cohort: pd.DataFrame) -> pd.DataFrame:
    return calibration_table(cohort).set_index("target")


@pytest.mark.parametrize(
    ("target", "published", "tolerance"),
    [
        ("disabled@5y", 16, 5),
        ("disabled@10y", 24, 5),
        ("disabled@15y", 50, 5),
        ("malignancy@5y", 10, 4),
        ("malignancy@10y", 18, 4),
        ("malignancy@15y", 24, 4),
    ],
)
def test_milestone_reproduces_the_published_percentage(
    table: pd.DataFrame, target: str, published: float, tolerance: float
) -> None:
    """The Kaplan–Meier cumulative incidence (death censored) lies within the acceptance band."""
    row = table.loc[target]
    assert row["published"] == published
    assert abs(row["simulated"] - published) <= tolerance, row.to_dict()
    assert row["low95"] <= row["simulated"] <= row["high95"]
    assert bool(row["within"])


def test_mean_onset_age_matches_svahn2018(cohort: pd.DataFrame, table: pd.DataFrame) -> None:
    """Mean age at the first symptom is 62.6 ± 2 years, and no onset lies outside 25–91."""
    assert abs(cohort["age_at_onset"].mean() - 62.6) <= 2.0
    assert table.loc["mean onset age", "simulated"] == pytest.approx(cohort["age_at_onset"].mean())
    assert cohort["age_at_onset"].between(25.0, 91.0).all()


def test_male_share_matches_aotsuka2024(cohort: pd.DataFrame, table: pd.DataFrame) -> None:
    """78% ± 4 points of patients are men."""
    share = float((cohort["sex"] == "male").mean())
    assert abs(share - 0.78) <= 0.04
    assert table.loc["male share", "simulated"] == pytest.approx(share)


def test_every_target_is_checked_and_sourced() -> None:
    """The targets file has the six milestone targets above, each with a source."""
    targets = load_targets()
    assert sorted(targets["name"]) == sorted(
        ["disabled@5y", "disabled@10y", "disabled@15y", "malignancy@5y", "malignancy@10y", "malignancy@15y"]
    )
    assert targets["source"].str.len().gt(0).all()


def test_disability_rises_with_time(cohort: pd.DataFrame) -> None:
    """The cumulative incidence of disability increases from 5 to 10 to 15 to 20 years."""
    curve = cumulative_incidence(cohort, "t_disabled", [5, 10, 15, 20])["percent"].to_numpy()
    assert np.all(np.diff(curve) > 0)


def test_calibration_table_can_fail(cohort: pd.DataFrame) -> None:
    """The control: a cohort without any disability misses the disability targets."""
    never = cohort.assign(t_disabled=np.nan)
    table = calibration_table(never).set_index("target")
    assert not table.loc["disabled@15y", "within"]
    assert table.loc["disabled@15y", "simulated"] == 0
