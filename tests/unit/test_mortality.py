"""Background mortality: inversion of the life table's cumulative hazard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sim
from sim.model.mortality import LifeTable, load_life_table


def constant_table(rate: float, ages: int = 111) -> LifeTable:
    return LifeTable(ages=np.arange(ages, dtype=float), rates=np.full((2, ages), rate), source="test")


@pytest.fixture(scope="module")
def usa() -> LifeTable:
    return load_life_table("usa_2015")


def test_bundled_table_has_both_sexes_and_rising_old_age_mortality(usa: LifeTable) -> None:
    """The bundled table covers ages 0–110 for women and men, and mortality rises after middle age."""
    assert usa.ages[0] == 0 and usa.ages[-1] >= 100
    assert usa.rates.shape == (2, len(usa.ages))
    assert np.all(usa.rates[:, 90] > usa.rates[:, 60])
    assert usa.rates[1, 60] > usa.rates[0, 60]  # men die more at 60


def test_death_age_is_never_before_the_current_age(usa: LifeTable) -> None:
    """Whatever the exponential draw, the age at death is at least the age now."""
    rng = np.random.default_rng(5)
    age_now = rng.uniform(0, 115, 5000)  # including ages beyond the table
    male = rng.random(5000) < 0.5
    draws = rng.exponential(size=5000)
    draws[:10] = 0.0
    death = usa.death_age(male, age_now, draws, 1.0)
    assert np.all(death >= age_now)
    assert np.all(np.isfinite(death))
    assert np.array_equal(death[:10], age_now[:10])  # a zero draw is death now


def test_death_age_inverts_the_cumulative_hazard(usa: LifeTable) -> None:
    """H(death age) − H(age now) equals the exponential draw (divided by the multiplier)."""
    rng = np.random.default_rng(6)
    age_now = rng.uniform(25, 95, 2000)
    male = rng.random(2000) < 0.5
    draws = rng.exponential(size=2000)
    for multiplier in (1.0, 2.5):
        death = usa.death_age(male, age_now, draws, multiplier)
        gained = usa.cumulative_hazard(male, death) - usa.cumulative_hazard(male, age_now)
        assert gained == pytest.approx(draws / multiplier, rel=1e-9, abs=1e-12)


def test_larger_draw_means_later_death(usa: LifeTable) -> None:
    """Death age is increasing in the exponential draw (monotone coupling of arms)."""
    draws = np.linspace(0.01, 5, 50)
    death = usa.death_age(np.ones(50, bool), np.full(50, 60.0), draws, 1.0)
    assert np.all(np.diff(death) > 0)


def test_constant_rate_gives_an_exponential_time_to_death() -> None:
    """With the same rate μ at every age, the time to death is exactly the draw divided by μ."""
    table = constant_table(0.05)
    age_now = np.array([0.0, 30.5, 80.25, 109.9, 130.0])
    draws = np.array([0.3, 1.0, 2.0, 4.0, 0.5])
    death = table.death_age(np.array([0, 1, 0, 1, 0]), age_now, draws, 1.0)
    assert death - age_now == pytest.approx(draws / 0.05)


def test_constant_rate_death_times_pass_a_ks_test() -> None:
    """Times to death under a constant rate are Exp(μ) (Kolmogorov–Smirnov, C22)."""
    rng = np.random.default_rng(8)
    table = constant_table(0.1)
    age_now = rng.uniform(20, 90, 4000)
    t = table.death_age(rng.random(4000) < 0.5, age_now, rng.exponential(size=4000), 1.0) - age_now
    assert stats.kstest(t, "expon", args=(0, 10.0)).pvalue > 0.001


def test_zero_multiplier_means_no_background_death(usa: LifeTable) -> None:
    """A multiplier of 0 switches background mortality off: death age is infinite."""
    death = usa.death_age(np.array([0, 1]), np.array([50.0, 70.0]), np.array([1.0, 1.0]), 0.0)
    assert np.all(np.isinf(death))


def test_higher_multiplier_means_earlier_death(usa: LifeTable) -> None:
    """Scaling every rate up by k brings every death forward."""
    male = np.array([0, 1, 1])
    age = np.array([40.0, 60.0, 85.0])
    draws = np.array([0.5, 1.0, 2.0])
    assert np.all(usa.death_age(male, age, draws, 3.0) < usa.death_age(male, age, draws, 1.0))


def test_beyond_the_table_the_last_rate_applies() -> None:
    """After the last age the last rate continues, so everyone dies eventually."""
    table = LifeTable(ages=np.arange(3, dtype=float), rates=np.array([[0.0, 0.0, 0.5]] * 2), source="test")
    death = table.death_age(np.array([0]), np.array([2.0]), np.array([3.0]), 1.0)
    assert death == pytest.approx([2.0 + 3.0 / 0.5])


def test_zero_rate_ages_are_skipped() -> None:
    """Nobody dies at an age whose rate is 0: the death falls in the next age with a positive rate."""
    table = LifeTable(ages=np.arange(4, dtype=float), rates=np.array([[0.0, 0.0, 1.0, 1.0]] * 2), source="t")
    death = table.death_age(np.array([1]), np.array([0.0]), np.array([0.5]), 1.0)
    assert death == pytest.approx([2.5])


# --------------------------------------------------------------------------- reading tables


def test_custom_table_is_read_from_csv(tmp_path: Path) -> None:
    """A CSV with Age, Female, Male columns is a valid life table."""
    path = tmp_path / "t.csv"
    pd.DataFrame({"Age": range(5), "Female": [0.1] * 5, "Male": [0.2] * 5}).to_csv(path, index=False)
    table = load_life_table(str(path))
    assert table.rates[:, 0] == pytest.approx([0.1, 0.2])


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"Age": [0, 1], "Female": [0.1, 0.1]}), "lacks column"),
        (pd.DataFrame({"Age": [0, 2], "Female": [0.1, 0.1], "Male": [0.1, 0.1]}), "consecutive"),
        (pd.DataFrame({"Age": [0, 1], "Female": [0.1, -0.1], "Male": [0.1, 0.1]}), ">= 0"),
    ],
)
def test_bad_custom_table_is_a_scenario_error(tmp_path: Path, frame: pd.DataFrame, message: str) -> None:
    """A table lacking a column, with gaps in age or negative rates is rejected at settings.life_table."""
    path = tmp_path / f"bad_{len(message)}.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(sim.ScenarioError, match=message) as info:
        load_life_table(str(path))
    assert info.value.field == "settings.life_table"


def test_unknown_table_name_is_a_scenario_error(tmp_path: Path) -> None:
    """A life table that is neither bundled nor a file is reported with the bundled names."""
    with pytest.raises(sim.ScenarioError, match="usa_2015"):
        load_life_table(str(tmp_path / "nope.csv"))
