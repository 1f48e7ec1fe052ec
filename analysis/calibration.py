"""Calibration of the natural history: simulated milestones beside the published targets.

Targets are in ``analysis/calibration_targets.toml`` (with sources). The simulated value of each is the
Kaplan–Meier cumulative incidence from onset, death censored, with its 95% interval; population targets
(mean onset age, male share) are reported with their Monte Carlo 95% interval.
"""

from __future__ import annotations

import tomllib
from importlib import resources

import numpy as np
import pandas as pd

from .survival import cumulative_incidence

POPULATION_TARGETS = (
    ("mean onset age", 62.6, 2.0, "svahn2018"),
    ("male share", 0.78, 0.04, "aotsuka2024"),
)


def load_targets() -> pd.DataFrame:
    """The calibration targets: ``name, column, years, percent, tolerance, source``."""
    text = resources.files("analysis").joinpath("calibration_targets.toml").read_text(encoding="utf-8")
    return pd.DataFrame(tomllib.loads(text)["target"])


def calibration_table(patients: pd.DataFrame, horizon: float = np.inf) -> pd.DataFrame:
    """Each target beside the simulated value and its 95% interval, and whether it lies within tolerance."""
    rows = []
    for t in load_targets().itertuples():
        est = cumulative_incidence(patients, t.column, [t.years], horizon).iloc[0]
        rows.append(
            (
                t.name,
                t.percent,
                t.tolerance,
                est.percent,
                est.low,
                est.high,
                abs(est.percent - t.percent) <= t.tolerance,
                t.source,
            )
        )
    n = len(patients)
    age = patients["age_at_onset"].to_numpy()
    male = (patients["sex"] == "male").to_numpy(dtype=float)
    for (name, target, tol, source), x in zip(POPULATION_TARGETS, (age, male), strict=True):
        mean, se = float(x.mean()), float(x.std(ddof=1) / np.sqrt(n))
        rows.append(
            (name, target, tol, mean, mean - 1.96 * se, mean + 1.96 * se, abs(mean - target) <= tol, source)
        )
    return pd.DataFrame(
        rows, columns=["target", "published", "tolerance", "simulated", "low95", "high95", "within", "source"]
    )


def calibration_figure(patients: pd.DataFrame, horizon: float = np.inf):
    """Simulated cumulative incidence curves of disability and transformation with the published points."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    targets = load_targets()
    grid = np.linspace(0, 20, 81)
    sns.set_theme(style="whitegrid")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    titles = {"t_disabled": "Disabled (mRS ≥ 3)", "t_malignancy": "Waldenström or lymphoma"}
    for ax, column in zip(axes, titles, strict=True):
        curve = cumulative_incidence(patients, column, grid, horizon)
        ax.plot(curve["years"], curve["percent"], label="simulated (Kaplan–Meier)")
        ax.fill_between(curve["years"], curve["low"], curve["high"], alpha=0.25, label="95% interval")
        pts = targets[targets["column"] == column]
        ax.errorbar(
            pts["years"],
            pts["percent"],
            yerr=pts["tolerance"],
            fmt="o",
            color="black",
            capsize=4,
            label="published ± tolerance",
        )
        ax.set_title(titles[column])
        ax.set_xlabel("years from first symptom")
    axes[0].set_ylabel("cumulative incidence (%)")
    axes[0].legend(loc="upper left")
    fig.tight_layout()
    return fig
