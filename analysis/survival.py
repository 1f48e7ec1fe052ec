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

    Returns ``years, percent, low, high`` (the Greenwood log-log interval of scipy's ``ecdf``); NaN at
    years beyond a finite ``horizon``, where no one is followed. Death is
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
    # Nobody is followed beyond a finite horizon: a share there is unknown (NaN), never the last value.
    beyond = years > horizon
    sf, sf_high, sf_low = (np.where(beyond, np.nan, x) for x in (sf, sf_high, sf_low))
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


#: Kaplan–Meier curves in figures stop at the last time at which at least this many patients remain at
#: risk: beyond it each further event moves the curve by 5 percentage points or more, and the Greenwood
#: band no longer describes the uncertainty honestly.
MIN_AT_RISK = 20


def observed_times(patients: pd.DataFrame, column: str, horizon: float = np.inf) -> np.ndarray:
    """Each patient's time under observation for ``column``: the event, else death or end of follow-up."""
    event_time = patients[column].to_numpy(dtype=float)
    return np.where(np.isnan(event_time), censoring_times(patients, horizon), event_time)


def number_at_risk(
    patients: pd.DataFrame, column: str, years: Sequence[float], horizon: float = np.inf
) -> np.ndarray:
    """Patients still at risk of ``column`` just before each of ``years``: neither the event yet, nor death,
    nor the end of follow-up."""
    observed = np.sort(observed_times(patients, column, horizon))
    years = np.asarray(years, dtype=float)
    return len(observed) - np.searchsorted(observed, years, side="left")


def incidence_curves(
    patients: pd.DataFrame,
    columns: Sequence[str],
    years: Sequence[float],
    horizon: float = np.inf,
    min_at_risk: int = MIN_AT_RISK,
    by: str = "strategy",
) -> pd.DataFrame:
    """Kaplan–Meier cumulative incidence of several milestones, per group, cut where the data are thin.

    Parameters
    ----------
    patients : pandas.DataFrame
        ``result.patients`` of one or more strategies (``by`` names the group column).
    columns : sequence of str
        Milestone time columns (``t_*``), death censored (:func:`cumulative_incidence`).
    years : sequence of float
        Evaluation times, years since the first symptom.
    horizon : float
        The run's horizon; no point beyond it is returned.
    min_at_risk : int
        A point is returned only while at least this many patients remain at risk (:data:`MIN_AT_RISK`).
    by : str
        The grouping column.

    Returns
    -------
    pandas.DataFrame
        ``strategy, milestone, years, percent, low, high, at_risk`` (the group column keeps its name ``by``),
        one row per kept point, in the order of the groups, then ``columns``, then ``years``.
    """
    if min_at_risk < 1:
        raise ValueError(f"min_at_risk must be >= 1, got {min_at_risk}")
    years = np.asarray(years, dtype=float)
    years = years[years <= horizon]
    frames = []
    for name, group in patients.groupby(by, sort=False):
        for column in columns:
            if column not in group.columns:
                raise ValueError(f"no column '{column}' in the patients frame")
            at_risk = number_at_risk(group, column, years, horizon)
            keep = at_risk >= min_at_risk
            if not keep.any():
                continue
            curve = cumulative_incidence(group, column, years[keep], horizon)
            curve.insert(0, "milestone", column)
            curve.insert(0, by, name)
            curve["at_risk"] = at_risk[keep]
            frames.append(curve)
    columns_out = [by, "milestone", "years", "percent", "low", "high", "at_risk"]
    if not frames:
        return pd.DataFrame(columns=columns_out)
    return pd.concat(frames, ignore_index=True)[columns_out]
