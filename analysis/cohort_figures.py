"""Figures of one cohort's course: when symptom milestones arrive, and the disability levels over time.

Each function takes a tidy frame and returns a matplotlib figure; none runs a simulation.

==========================  ===============================================================================
function                    input
==========================  ===============================================================================
milestone_incidence_figure  :func:`analysis.survival.incidence_curves` of :data:`COHORT_MILESTONES`
mrs_occupancy_figure        :func:`analysis.occupancy.mrs_occupancy`
==========================  ===============================================================================
"""

from __future__ import annotations

import math

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from .figure_style import line_looks, new_figure, style
from .km_drawing import draw_curves, legend_extras
from .occupancy import MRS_LEVELS
from .summary import SUMMARY_MILESTONES
from .survival import MIN_AT_RISK

__all__ = ["COHORT_MILESTONES", "milestone_incidence_figure", "mrs_occupancy_figure"]

#: The symptom milestones of the cohort figure, in the order the disease usually brings them.
COHORT_MILESTONES = (
    "t_sensory_hands",
    "t_ataxia",
    "t_weakness",
    "t_tremor",
    "t_walking_aid",
    "t_disabled",
    "t_diagnosis",
)
INCIDENCE_LABEL = "patients who reached it, %\n(Kaplan–Meier; death censored)"


def _panels(n: int) -> tuple[int, int]:
    ncols = 1 if n == 1 else 2
    return math.ceil(n / ncols), ncols


def milestone_incidence_figure(
    curves: pd.DataFrame, end: float, min_at_risk: int = MIN_AT_RISK, band: bool = True
) -> Figure:
    """Cumulative incidence of each symptom milestone, one panel per strategy.

    Parameters
    ----------
    curves : pandas.DataFrame
        :func:`analysis.survival.incidence_curves` output (``strategy, milestone, years, percent, low,
        high``), typically of :data:`COHORT_MILESTONES`, already cut where fewer than ``min_at_risk``
        patients remain at risk.
    end : float
        The time the curves would reach with enough patients (the horizon, or the grid's end for a
        lifetime run): the x axis ends here and a curve that stops earlier is marked.
    min_at_risk : int
        The cut used for ``curves``, for the legend.
    band : bool
        Draw the 95% confidence bands.
    """
    if curves.empty:
        raise ValueError("the incidence frame is empty: no milestone has enough patients at risk to plot")
    strategies = list(pd.unique(curves["strategy"]))
    milestones = [m for m in COHORT_MILESTONES if m in set(curves["milestone"])]
    milestones += [m for m in pd.unique(curves["milestone"]) if m not in milestones]
    looks = line_looks(milestones)
    labels = {m: SUMMARY_MILESTONES.get(m, m) for m in milestones}
    nrows, ncols = _panels(len(strategies))
    with style():
        fig, axes = new_figure(
            ncols=ncols, nrows=nrows, width=7.2 if ncols == 1 else 5.6, height=4.6, sharey=True
        )
        any_cut = False
        for ax, name in zip(axes, strategies, strict=False):
            cut, _twins = draw_curves(
                ax, curves[curves["strategy"] == name], "milestone", milestones, looks, labels, end, band=band
            )
            any_cut = any_cut or any(cut.values())
            ax.set_title(str(name))
            ax.set_xlim(0, end)
            ax.set_ylim(0, 100)
            ax.yaxis.set_major_formatter(PercentFormatter(100))
            ax.set_xlabel("years since first symptom")
            ax.set_ylabel(INCIDENCE_LABEL)
        for ax in axes[len(strategies) :]:
            ax.set_visible(False)
        handles, names = axes[0].get_legend_handles_labels()
        extras = legend_extras(band, any_cut, min_at_risk)
        fig.legend(
            handles + extras,
            names + [h.get_label() for h in extras],
            loc="outside lower center",
            ncols=2 if ncols == 1 else 3,
            fontsize="small",
            frameon=False,
        )
        fig.suptitle("Symptom milestones: when patients reach them")
    return fig


def _mrs_colours() -> dict[int, tuple]:
    ramp = sns.color_palette("YlOrRd", 6)
    colours = {level: ramp[level] for level in range(6)}
    colours[6] = (0.25, 0.25, 0.25)
    return colours


def mrs_occupancy_figure(occupancy: pd.DataFrame, end: float, min_alive: int = MIN_AT_RISK) -> Figure:
    """Share of the cohort at each modified Rankin level over time as stacked areas, the dead on top; one
    panel per strategy.

    Parameters
    ----------
    occupancy : pandas.DataFrame
        :func:`analysis.occupancy.mrs_occupancy` output (``strategy, years, mrs, percent``).
    end : float
        The horizon (or for a lifetime run the grid's end): the x axis ends here; the area stops where the
        frame stops (fewer than ``min_alive`` patients alive) and the blank part is labelled.
    min_alive : int
        The cut used for ``occupancy``, for the label.
    """
    needed = {"strategy", "years", "mrs", "percent"}
    missing = sorted(needed - set(occupancy.columns))
    if missing:
        raise ValueError(f"the occupancy frame needs {missing} (analysis.occupancy.mrs_occupancy output)")
    if occupancy.empty:
        raise ValueError("the occupancy frame is empty: nothing to plot")
    strategies = list(pd.unique(occupancy["strategy"]))
    colours = _mrs_colours()
    present = set(occupancy.loc[occupancy["percent"] > 0, "mrs"].astype(int))
    levels = [level for level in MRS_LEVELS if level in present or level == 6]  # no empty legend entries
    nrows, ncols = _panels(len(strategies))
    with style():
        fig, axes = new_figure(
            ncols=ncols, nrows=nrows, width=7.2 if ncols == 1 else 5.6, height=4.2, sharey=True
        )
        for ax, name in zip(axes, strategies, strict=False):
            wide = (
                occupancy[occupancy["strategy"] == name]
                .pivot_table(index="years", columns="mrs", values="percent", aggfunc="first")
                .reindex(columns=levels, fill_value=0.0)
                .fillna(0.0)
            )
            years = wide.index.to_numpy(dtype=float)
            ax.stackplot(
                years,
                [wide[level].to_numpy() for level in levels],
                colors=[colours[level] for level in levels],
                labels=[MRS_LEVELS[level] for level in levels],
                linewidth=0,
            )
            if years[-1] < end - 0.02 * end:
                ax.axvspan(years[-1], end, color="white", zorder=0)
                ax.text(
                    (years[-1] + end) / 2,
                    50,
                    f"not shown:\nfewer than\n{min_alive} alive",
                    ha="center",
                    va="center",
                    fontsize="x-small",
                    color="0.35",
                )
            ax.set_xlim(0, end)
            ax.set_ylim(0, 100)
            ax.yaxis.set_major_formatter(PercentFormatter(100))
            ax.set_xlabel("years since first symptom")
            ax.set_ylabel("share of the cohort, %")
            ax.set_title(str(name))
            ax.grid(False)
        for ax in axes[len(strategies) :]:
            ax.set_visible(False)
        handles, names = axes[0].get_legend_handles_labels()
        fig.legend(
            handles[::-1],
            names[::-1],
            loc="outside right center",
            fontsize="small",
            frameon=False,
            title="modified Rankin\nlevel (mRS)",
        )
        fig.suptitle("Disability levels over time (the dead included)")
    return fig
