"""Cohort summaries of a run: milestone timing and shares, as tidy frames (no simulation here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import CensoredData, ecdf

from .survival import censoring_times, cumulative_incidence

SUMMARY_MILESTONES = {
    "t_sensory_hands": "sensory symptoms in the hands",
    "t_ataxia": "sensory ataxia",
    "t_weakness": "distal weakness",
    "t_tremor": "tremor",
    "t_disabled": "disabled (mRS >= 3)",
    "t_walking_aid": "walking aid",
    "t_diagnosis": "diagnosis",
    "t_malignancy": "Waldenström or lymphoma",
    "t_death": "death",
}
SUMMARY_YEARS = (5, 10, 15, 20)


def km_median(patients: pd.DataFrame, column: str, horizon: float = np.inf) -> float:
    """Kaplan–Meier median time to ``column`` (death censored; NaN if the curve never reaches 50%)."""
    t_event = patients[column].to_numpy(dtype=float)
    event = ~np.isnan(t_event)
    censor = censoring_times(patients, horizon)
    t = np.where(event, t_event, censor)
    if not event.any():
        return float("nan")
    cdf = ecdf(CensoredData(uncensored=t[event], right=t[~event])).cdf
    reached = np.nonzero(cdf.probabilities >= 0.5)[0]
    return float(cdf.quantiles[reached[0]]) if reached.size else float("nan")


def milestone_summary(patients: pd.DataFrame, horizon: float = np.inf) -> pd.DataFrame:
    """Per strategy and milestone: patients reaching it, KM median years, KM % at 5/10/15/20 y (95% CI)."""
    rows = []
    for strategy, group in patients.groupby("strategy", sort=False):
        for column, label in SUMMARY_MILESTONES.items():
            ci = cumulative_incidence(group, column, SUMMARY_YEARS, horizon)
            row = {
                "strategy": strategy,
                "milestone": column,
                "description": label,
                "n_patients": len(group),
                "n_reached": int(group[column].notna().sum()),
                "median_years": km_median(group, column, horizon),
            }
            for r in ci.itertuples():
                y = int(r.years)
                row[f"pct_{y}y"] = r.percent
                row[f"pct_{y}y_low95"] = r.low
                row[f"pct_{y}y_high95"] = r.high
            rows.append(row)
    return pd.DataFrame(rows)
