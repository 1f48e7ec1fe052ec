"""Background mortality from a life table of age- and sex-specific rates (piecewise constant by single year).

The time of background death is drawn by inversion of the cumulative hazard with one standard exponential
per patient, so that the same patient dies of background causes at the same age in every arm (common random
numbers). Beyond the table's last age its last rate applies, so that with any mortality > 0 every patient
eventually dies (a lifetime horizon ends with everyone dead).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import ScenarioError

BUNDLED_TABLES = {"usa_2015": "life_table_usa_2015_mx.csv"}


@dataclass(frozen=True)
class LifeTable:
    """Rates per person-year by single year of age for females (row 0) and males (row 1)."""

    ages: np.ndarray
    rates: np.ndarray  # shape (2, n_ages)
    source: str

    @functools.cached_property
    def cumulative(self) -> np.ndarray:
        """Cumulative hazard at each integer age, shape (2, n_ages + 1), from the first age."""
        out = np.zeros((2, len(self.ages) + 1))
        np.cumsum(self.rates, axis=1, out=out[:, 1:])
        return out

    def cumulative_hazard(self, male: np.ndarray, age: np.ndarray) -> np.ndarray:
        """Cumulative hazard from the table's first age to ``age`` (vectorised)."""
        sex = np.asarray(male, dtype=int)
        a = np.clip(np.asarray(age, dtype=float) - self.ages[0], 0, None)
        last = len(self.ages) - 1
        k = np.minimum(np.floor(a).astype(int), last)
        return self.cumulative[sex, k] + self.rates[sex, k] * (a - k)

    def death_age(
        self, male: np.ndarray, age_now: np.ndarray, exp_draw: np.ndarray, multiplier: float
    ) -> np.ndarray:
        """Age at background death given survival to ``age_now``, by inversion with ``exp_draw`` ~ Exp(1).

        ``multiplier`` scales every rate (0: nobody dies of background causes; the result is ``inf``).
        """
        if multiplier <= 0:
            return np.full(np.shape(age_now), np.inf)
        sex = np.asarray(male, dtype=int)
        target = self.cumulative_hazard(sex, age_now) + np.asarray(exp_draw) / multiplier
        out = np.empty(np.shape(target))
        for s in (0, 1):
            mask = sex == s
            if not mask.any():
                continue
            cum = self.cumulative[s]
            rates = self.rates[s]
            t = target[mask]
            k = np.searchsorted(cum, t, side="right") - 1
            beyond = k >= len(rates)
            k = np.minimum(k, len(rates) - 1)
            within_rate = rates[k]
            with np.errstate(divide="ignore", invalid="ignore"):
                age = np.where(within_rate > 0, k + (t - cum[k]) / within_rate, np.inf)
                age = np.where(beyond, len(rates) + (t - cum[-1]) / rates[-1], age)
            out[mask] = self.ages[0] + age
        return np.maximum(out, np.asarray(age_now, dtype=float))


@functools.lru_cache(maxsize=16)
def _read_table(path: str, source: str) -> LifeTable:
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"cannot read life table {path}: {exc}", field="settings.life_table") from None
    missing = {"Age", "Female", "Male"} - set(frame.columns)
    if missing:
        raise ScenarioError(
            f"life table {path} lacks column(s) {sorted(missing)}; needs Age, Female, Male",
            field="settings.life_table",
        )
    frame = frame.sort_values("Age")
    ages = frame["Age"].to_numpy(dtype=float)
    rates = frame[["Female", "Male"]].to_numpy(dtype=float).T
    if not (np.all(np.diff(ages) == 1) and np.isfinite(rates).all() and (rates >= 0).all()):
        raise ScenarioError(
            f"life table {path} must have consecutive single-year ages and finite rates >= 0",
            field="settings.life_table",
        )
    return LifeTable(ages=ages, rates=rates, source=source)


def load_life_table(spec: str, resolved: Path | None = None) -> LifeTable:
    """A bundled table by name (``usa_2015``) or a CSV file with columns Age, Female, Male."""
    if spec in BUNDLED_TABLES:
        path = resources.files("sim").joinpath("data", BUNDLED_TABLES[spec])
        return _read_table(str(path), f"bundled:{spec}")
    path = resolved or Path(spec)
    if not path.exists():
        raise ScenarioError(
            f"life table '{spec}' is neither bundled ({', '.join(BUNDLED_TABLES)}) nor an existing file",
            field="settings.life_table",
        )
    return _read_table(str(path), str(path))
