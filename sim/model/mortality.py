"""Background mortality from a life table of age- and sex-specific rates (piecewise constant by single year).

The time of background death is drawn by inversion of the cumulative hazard with one standard exponential
per patient, so that the same patient dies of background causes at the same age in every arm (common random
numbers). Beyond the table's last age its last rate applies, so that with any mortality > 0 every patient
eventually dies (a lifetime horizon ends with everyone dead).
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import ScenarioError
from sim.files import UnreadableFile, read_regular_file

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
def _read_table(path: str, source: str, scenario_file: str | None = None) -> LifeTable:
    """Read and check a life table; every problem is a :class:`ScenarioError` naming the table, the
    scenario file that names it and ``settings.life_table``."""

    def bad(reason: str) -> ScenarioError:
        return ScenarioError(f"life table {path} {reason}", scenario_file, "settings.life_table")

    try:
        raw = read_regular_file(path, "life table (CSV)")
    except UnreadableFile as exc:
        raise bad(exc.reason) from None
    try:
        frame = pd.read_csv(io.BytesIO(raw))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise bad(f"is not a readable CSV table ({_first_line(exc)})") from None
    missing = {"Age", "Female", "Male"} - set(frame.columns)
    if missing:
        raise bad(f"lacks column(s) {sorted(missing)}; needs Age, Female, Male")
    try:
        frame = frame.sort_values("Age")
        ages = frame["Age"].to_numpy(dtype=float)
        rates = frame[["Female", "Male"]].to_numpy(dtype=float).T
    except (TypeError, ValueError):
        raise bad("must hold numbers only in its columns Age, Female and Male") from None
    if not (
        len(ages) > 0
        and np.isfinite(ages).all()
        and np.all(np.diff(ages) == 1)
        and np.isfinite(rates).all()
        and (rates >= 0).all()
    ):
        raise bad("must have consecutive single-year ages and finite rates >= 0")
    if not (rates[:, -1] > 0).all():
        # Beyond its last age the last rate applies: it must be > 0 so that every life ends.
        raise bad("must have a rate > 0 at its last age for both sexes (beyond it that rate applies)")
    return LifeTable(ages=ages, rates=rates, source=source)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:120] if text else type(exc).__name__


def load_life_table(spec: str, resolved: Path | None = None, scenario_file: str | None = None) -> LifeTable:
    """A bundled table by name (``usa_2015``) or a CSV file with columns Age, Female, Male.

    The file must be a regular file of at most :data:`sim.files.MAX_FILE_BYTES` bytes; ``scenario_file``
    (the file that names the table) is named in every error.
    """
    if spec in BUNDLED_TABLES:
        path = resources.files("sim").joinpath("data", BUNDLED_TABLES[spec])
        return _read_table(str(path), f"bundled:{spec}")
    path = resolved or Path(spec)
    try:
        exists = path.exists()
    except (OSError, ValueError):
        exists = True  # an unusable name: reading it reports why
    if not exists:
        raise ScenarioError(
            f"life table '{spec}' is neither bundled ({', '.join(BUNDLED_TABLES)}) nor an existing file",
            scenario_file,
            "settings.life_table",
        )
    return _read_table(str(path), str(path), scenario_file)
