"""State occupancy: the share of a cohort at each modified Rankin level over time, the dead included."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .survival import MIN_AT_RISK

#: The modified Rankin levels in the standard wording of the scale, shortened; 6 is death.
MRS_LEVELS = {
    0: "0 no symptoms",
    1: "1 symptoms, no disability",
    2: "2 slight disability",
    3: "3 moderate disability (walks unaided)",
    4: "4 moderately severe (cannot walk unaided)",
    5: "5 severe disability (bedridden)",
    6: "6 dead",
}


def mrs_occupancy(scales: pd.DataFrame, min_alive: int = MIN_AT_RISK) -> pd.DataFrame:
    """Percent of each strategy's cohort at each modified Rankin level (0–6, 6 = dead) at each time.

    Parameters
    ----------
    scales : pandas.DataFrame
        :func:`sim.outcome_scales` output: ``strategy, patient_id, time, mrs, followed`` (the dead have
        mRS 6).
    min_alive : int
        Times at which fewer than this many patients are alive are dropped (with the dead included the
        shares still sum to 100%, but the split of the few survivors between levels is noise), as are times
        at or beyond the horizon (``followed`` False).

    Returns
    -------
    pandas.DataFrame
        ``strategy, years, mrs, n, percent, n_alive``: one row per strategy, time and level 0–6 (levels
        with no patient have ``n = 0``); the percentages of a strategy and time sum to 100.
    """
    needed = {"strategy", "time", "mrs", "followed"}
    missing = sorted(needed - set(scales.columns))
    if missing:
        raise ValueError(f"the scales frame needs {missing} (sim.outcome_scales output)")
    followed = scales[scales["followed"].astype(bool)]
    levels = list(MRS_LEVELS)
    counts = (
        followed.assign(mrs=followed["mrs"].astype(int))
        .groupby(["strategy", "time", "mrs"], sort=False)
        .size()
        .unstack("mrs", fill_value=0)
        .reindex(columns=levels, fill_value=0)
    )
    n_alive = counts[[k for k in levels if k != 6]].sum(axis=1)
    counts = counts[n_alive >= min_alive]
    n_alive = n_alive[n_alive >= min_alive]
    total = counts.sum(axis=1)
    long = counts.stack().rename("n").reset_index().rename(columns={"time": "years"})
    long["percent"] = 100.0 * long["n"] / long.set_index(["strategy", "years"]).index.map(total).to_numpy()
    long["n_alive"] = long.set_index(["strategy", "years"]).index.map(n_alive).to_numpy()
    order = pd.unique(scales["strategy"])
    long["strategy"] = pd.Categorical(long["strategy"], categories=order, ordered=True)
    long = long.sort_values(["strategy", "years", "mrs"], kind="stable")
    long["strategy"] = long["strategy"].astype(str)
    return long.reset_index(drop=True)[["strategy", "years", "mrs", "n", "percent", "n_alive"]]


def occupancy_grid(
    patients: pd.DataFrame, horizon: float, points: int = 121, min_alive: int = MIN_AT_RISK
) -> np.ndarray:
    """Times (years since the first symptom) at which to evaluate the cohort figures: up to the horizon; for
    a lifetime horizon up to the time at which fewer than ``min_alive`` patients of some strategy are still
    alive (beyond it the figures would show noise)."""
    if np.isfinite(horizon):
        return np.linspace(0.0, float(horizon), points)
    end = np.inf
    for _name, group in patients.groupby("strategy", sort=False):
        deaths = np.sort(group["t_death"].to_numpy(dtype=float))  # NaN (alive at the end) sort last
        k = len(deaths) - min_alive  # at the k-th death (1-based) min_alive remain; one more and fewer do
        if k >= 1 and np.isfinite(deaths[k - 1]):
            end = min(end, float(deaths[k - 1]))
    if not np.isfinite(end):
        times = patients.filter(regex=r"^t_").to_numpy(dtype=float)
        end = float(np.nanmax(times)) if np.isfinite(times).any() else 30.0
    return np.linspace(0.0, max(end, 1e-9), points)
