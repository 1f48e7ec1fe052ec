"""Figures embedded in the page as base64 PNG data URIs (no file beside the page, no network), each with an
alt text that says what it shows in numbers, for readers who cannot see it."""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure

from analysis.occupancy import MRS_LEVELS
from analysis.summary import SUMMARY_MILESTONES

DPI = 110


@dataclass(frozen=True)
class Image:
    """One embedded figure: its ``data:`` URI, its alt text and a caption."""

    uri: str
    alt: str
    caption: str


def png_data_uri(fig: Figure, dpi: int = DPI) -> str:
    """The figure as a ``data:image/png;base64,...`` URI (no timestamp or software tag: the same bytes on
    every run)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def image(fig: Figure, alt: str, caption: str) -> Image:
    return Image(png_data_uri(fig), alt, caption)


def _at(curve: pd.DataFrame, year: float) -> float:
    before = curve[curve["years"] <= year]
    return float(before["percent"].iloc[-1]) if len(before) else math.nan


def incidence_alt(incidence: pd.DataFrame, year: float = 10.0) -> str:
    """Alt text of the milestone figure: the share reaching each milestone by ``year`` years, per strategy."""
    parts = []
    for strategy, group in incidence.groupby("strategy", sort=False):
        shares = []
        for milestone, curve in group.groupby("milestone", sort=False):
            p = _at(curve, year) if curve["years"].max() >= year else math.nan
            label = SUMMARY_MILESTONES.get(milestone, milestone)
            shares.append(f"{label} {p:.0f}%" if not math.isnan(p) else f"{label} not estimated")
        parts.append(f"{strategy}: " + ", ".join(shares))
    return (
        "Step curves of the cumulative percentage of patients reaching each symptom milestone against years "
        f"since the first symptom (Kaplan–Meier, death censored). By {year:.0f} years: "
        + "; ".join(parts)
        + "."
    )


def occupancy_alt(occupancy: pd.DataFrame, years: tuple[float, ...] = (5.0, 10.0, 20.0)) -> str:
    """Alt text of the modified Rankin occupancy figure: the split of the cohort at a few times."""
    parts = []
    for strategy, group in occupancy.groupby("strategy", sort=False):
        times = group["years"].unique()
        at = []
        for year in years:
            if year > times.max():
                continue
            t = times[abs(times - year).argmin()]
            row = group[group["years"] == t].set_index("mrs")["percent"]
            dead = row.get(6, 0.0)
            disabled = sum(row.get(k, 0.0) for k in (3, 4, 5))
            at.append(f"at {t:.0f} years {disabled:.0f}% alive and disabled (mRS 3–5), {dead:.0f}% dead")
        parts.append(f"{strategy}: " + "; ".join(at))
    levels = ", ".join(MRS_LEVELS.values())
    return (
        f"Stacked areas of the share of the cohort at each modified Rankin level ({levels}) against years "
        "since the first symptom. " + ". ".join(parts) + "."
    )


def outcomes_alt(patients_by_strategy: dict[str, dict[str, float]]) -> str:
    """Alt text of the strategy comparison curves, from each strategy's percent disabled and alive at 10 y."""
    parts = [
        f"{name}: {v['disabled']:.0f}% disabled, {v['alive']:.0f}% alive at 10 years"
        for name, v in patients_by_strategy.items()
    ]
    return (
        "Two panels of Kaplan–Meier step curves by strategy: disability (modified Rankin 3 or more, death "
        "censored) and survival, against years since the first symptom. " + "; ".join(parts) + "."
    )


def patient_alt(story) -> str:
    """Alt text of the one-patient picture: the scales over time and the events marked on it."""
    summary = story.summary.iloc[0]
    return (
        f"Disability scales of patient {story.patient_id} over {summary['years_with_disease']:.0f} years "
        f"since the first symptom under {', '.join(story.strategies)}, with milestones marked and treatment "
        f"courses as bars; {summary['years_disabled']:.1f} years lived disabled under {story.strategies[0]}."
    )
