"""Kaplan–Meier cumulative incidence of milestones, with death and end of follow-up as censoring."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import CensoredData, ecdf


def censoring_times(patients: pd.DataFrame, horizon: float) -> np.ndarray:
    """When each patient leaves observation: death, else the horizon (or the last time seen if lifetime)."""
    if np.isfinite(horizon):
        end = np.full(len(patients), float(horizon))
    else:
        times = patients.filter(regex=r"^t_").to_numpy(dtype=float)
        end = np.nanmax(np.where(np.isfinite(times), times, np.nan), axis=1)
    death = patients["t_death"].to_numpy(dtype=float)
    return np.where(np.isnan(death), end, death)


def cumulative_incidence(
    patients: pd.DataFrame,
    column: str,
    years: Sequence[float],
    horizon: float = np.inf,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Kaplan–Meier cumulative incidence (%) of ``column`` at ``years``, death censored, with its CI.

    Returns ``years, percent, low, high`` (the Greenwood log-log interval of scipy's ``ecdf``). Death is
    treated as censoring, as in the published natural-history series (a Kaplan–Meier estimate, not a
    competing-risk cumulative incidence).
    """
    event_time = patients[column].to_numpy(dtype=float)
    event = ~np.isnan(event_time)
    censor = censoring_times(patients, horizon)
    t = np.where(event, event_time, censor)
    fit = ecdf(CensoredData(uncensored=t[event], right=t[~event]))
    with warnings.catch_warnings():  # undefined at the extremes (S = 0 or 1): reported as the bound itself
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = fit.sf.confidence_interval(confidence_level=confidence, method="log-log")
    years = np.asarray(years, dtype=float)
    sf = fit.sf.evaluate(years)
    sf_high = ci.high.evaluate(years)
    sf_low = ci.low.evaluate(years)
    sf_high = np.where(np.isnan(sf_high), sf, sf_high)
    sf_low = np.where(np.isnan(sf_low), sf, sf_low)
    return pd.DataFrame(
        {
            "years": years,
            "percent": 100 * (1 - sf),
            "low": 100 * (1 - sf_high),
            "high": 100 * (1 - sf_low),
        }
    )


def km_curve(
    patients: pd.DataFrame, column: str, horizon: float = np.inf, grid: Sequence[float] | None = None
):
    """Cumulative incidence (%) on a grid, for figures: ``years, percent``."""
    grid = np.linspace(0, 30, 121) if grid is None else np.asarray(grid)
    return cumulative_incidence(patients, column, grid, horizon)[["years", "percent"]]
