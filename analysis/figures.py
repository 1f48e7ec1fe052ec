"""Figures of the health-economics layer: each takes tidy frames and returns a matplotlib figure.

No function here runs a simulation. Figures are built with the object-oriented interface
(:class:`matplotlib.figure.Figure` on an Agg canvas, never ``pyplot``), so they need no display, leave no
global state and can be saved with ``fig.savefig("x.png")``; :mod:`analysis.figure_style` supplies the
style, and the colour, dash pattern and marker that tell strategies apart.

The Kaplan–Meier curves stop where fewer than :data:`analysis.survival.MIN_AT_RISK` patients remain at risk
(marked with a bar), death is censored (said on the axis), and a curve identical to another is drawn with
staggered markers and says so in the legend (:mod:`analysis.km_drawing`).

=======================  ====================================================================================
function                 input
=======================  ====================================================================================
disability_figure        ``result.patients`` of one or more strategies (concatenated): mRS ≥ 3 incidence
survival_figure          the same: % alive (Kaplan–Meier)
outcome_curves_figure    the same: both panels
ce_plane_figure          :func:`analysis.cea.ce_plane` (one point per draw and strategy)
ceac_figure              :func:`analysis.cea.ceac`, optionally :func:`analysis.cea.ceaf`
evpi_figure              :func:`analysis.cea.evpi`
tornado_figure           :func:`analysis.dsa.one_way`
two_way_figure           :func:`analysis.dsa.two_way`
=======================  ====================================================================================
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from .figure_style import line_looks
from .figure_style import new_figure as _figure
from .figure_style import palette as _palette
from .figure_style import style as _style
from .km_drawing import draw_curves, legend_extras
from .occupancy import occupancy_grid
from .survival import MIN_AT_RISK, incidence_curves

__all__ = [
    "ce_plane_figure",
    "ceac_figure",
    "disability_figure",
    "evpi_figure",
    "outcome_curves_figure",
    "survival_figure",
    "tornado_figure",
    "two_way_figure",
]

DISABILITY_LABEL = "disabled (mRS ≥ 3), cumulative %\n(Kaplan–Meier; death censored)"
SURVIVAL_LABEL = "alive, % (Kaplan–Meier;\ncensored at the end of follow-up)"


def _strategies(frame: pd.DataFrame, column: str = "strategy") -> list[str]:
    if column not in frame.columns:
        raise ValueError(f"the frame needs a '{column}' column; has {list(frame.columns)}")
    if frame.empty:
        raise ValueError("the frame is empty: nothing to plot")
    return list(pd.unique(frame[column]))


def _money_formatter(currency: str) -> FuncFormatter:
    prefix = f"{currency} " if currency else ""
    return FuncFormatter(lambda x, _pos: f"{prefix}{x:,.0f}")


# --------------------------------------------------------------------------------------------- curves


def _curves(
    ax: Axes,
    patients: pd.DataFrame,
    column: str,
    horizon: float,
    grid,
    survival: bool,
    min_at_risk: int,
) -> bool:
    """Draw one Kaplan–Meier curve per strategy; returns whether any was cut short."""
    names = _strategies(patients)
    grid = occupancy_grid(patients, horizon, min_alive=min_at_risk) if grid is None else np.asarray(grid)
    grid = np.asarray(grid, dtype=float)
    curves = incidence_curves(patients, [column], grid, horizon, min_at_risk)
    end = float(min(grid[-1], horizon))
    cut, _twins = draw_curves(ax, curves, "strategy", names, line_looks(names), {}, end, survival=survival)
    ax.set_xlabel("years since first symptom")
    ax.set_xlim(0, end)
    ax.yaxis.set_major_formatter(PercentFormatter(100))
    ax.set_ylim(0, 100)
    return any(cut.values())


def _legend_below(fig: Figure, ax: Axes, any_cut: bool, min_at_risk: int) -> None:
    handles, labels = ax.get_legend_handles_labels()
    extras = legend_extras(True, any_cut, min_at_risk)
    fig.legend(
        handles + extras,
        labels + [h.get_label() for h in extras],
        loc="outside lower center",
        ncols=min(3, len(handles) + len(extras)),
        fontsize="small",
        frameon=False,
    )


def disability_figure(
    patients: pd.DataFrame,
    horizon: float = np.inf,
    grid: Sequence[float] | None = None,
    min_at_risk: int = MIN_AT_RISK,
) -> Figure:
    """Kaplan–Meier cumulative incidence of disability (modified Rankin >= 3) by strategy, death censored,
    with its 95% confidence band (Greenwood, log-log; :func:`analysis.survival.cumulative_incidence`).

    Parameters
    ----------
    patients : pandas.DataFrame
        ``result.patients`` (``strategy``, ``t_disabled``, ``t_death`` and the other ``t_*`` columns), one or
        more strategies concatenated.
    horizon : float
        The run's horizon in years (``inf`` for lifetime), for censoring (:mod:`analysis.survival`).
    grid : sequence of float, optional
        Years at which to evaluate the curves (default: 121 points up to the horizon, or for a lifetime
        horizon up to when fewer than ``min_at_risk`` patients of a strategy are alive).
    min_at_risk : int
        Each curve stops where fewer patients than this remain at risk
        (:data:`analysis.survival.MIN_AT_RISK`).
    """
    with _style():
        fig, (ax,) = _figure(width=7.0, height=4.8)
        cut = _curves(ax, patients, "t_disabled", horizon, grid, False, min_at_risk)
        ax.set_ylabel(DISABILITY_LABEL)
        ax.set_title("Disability by strategy")
        _legend_below(fig, ax, cut, min_at_risk)
    return fig


def survival_figure(
    patients: pd.DataFrame,
    horizon: float = np.inf,
    grid: Sequence[float] | None = None,
    min_at_risk: int = MIN_AT_RISK,
) -> Figure:
    """Kaplan–Meier survival (% alive) since the first symptom, by strategy (same input as
    :func:`disability_figure`)."""
    with _style():
        fig, (ax,) = _figure(width=7.0, height=4.8)
        cut = _curves(ax, patients, "t_death", horizon, grid, True, min_at_risk)
        ax.set_ylabel(SURVIVAL_LABEL)
        ax.set_title("Survival by strategy")
        _legend_below(fig, ax, cut, min_at_risk)
    return fig


def outcome_curves_figure(
    patients: pd.DataFrame,
    horizon: float = np.inf,
    grid: Sequence[float] | None = None,
    min_at_risk: int = MIN_AT_RISK,
) -> Figure:
    """Disability (mRS >= 3) and survival side by side, one legend below (see :func:`disability_figure`)."""
    with _style():
        fig, (left, right) = _figure(ncols=2, width=6.2, height=4.8)
        cut = _curves(left, patients, "t_disabled", horizon, grid, False, min_at_risk)
        left.set_ylabel(DISABILITY_LABEL)
        left.set_title("Disability")
        cut = _curves(right, patients, "t_death", horizon, grid, True, min_at_risk) or cut
        right.set_ylabel(SURVIVAL_LABEL)
        right.set_title("Survival")
        _legend_below(fig, left, cut, min_at_risk)
    return fig


# --------------------------------------------------------------------------------------------- PSA


def ce_plane_figure(
    plane: pd.DataFrame,
    wtp: float | Sequence[float] | None = None,
    reference: str = "",
    currency: str = "",
) -> Figure:
    """Cost-effectiveness plane: incremental QALYs (x) and costs (y) per PSA draw, vs a reference; the
    mean of each strategy as a diamond with ± 2 Monte Carlo standard errors (over draws).

    Parameters
    ----------
    plane : pandas.DataFrame
        :func:`analysis.cea.ce_plane` output: ``draw``, ``strategy``, ``inc_cost``, ``inc_effect``.
    wtp : float or sequence of float, optional
        Willingness-to-pay threshold(s): a line ``inc_cost = wtp × inc_effect`` each.
    reference : str
        Name of the comparator, for the title.
    currency : str
        For the axis labels.
    """
    names = _strategies(plane)
    for col in ("inc_cost", "inc_effect"):
        if col not in plane.columns:
            raise ValueError(f"the CE-plane frame needs '{col}' (analysis.cea.ce_plane output)")
    colours = _palette(names)
    with _style():
        fig, (ax,) = _figure()
        for name in names:
            g = plane[plane["strategy"] == name]
            ax.scatter(g["inc_effect"], g["inc_cost"], s=9, alpha=0.45, color=colours[name], label=name)
            n = max(len(g), 1)
            ax.errorbar(
                [g["inc_effect"].mean()],
                [g["inc_cost"].mean()],
                xerr=[2 * g["inc_effect"].std(ddof=1) / np.sqrt(n) if n > 1 else 0.0],
                yerr=[2 * g["inc_cost"].std(ddof=1) / np.sqrt(n) if n > 1 else 0.0],
                fmt="D",
                markersize=8,
                markeredgecolor="black",
                color=colours[name],
                ecolor="black",
                elinewidth=1.0,
                zorder=3,
            )
        ax.axhline(0, color="0.3", linewidth=0.8)
        ax.axvline(0, color="0.3", linewidth=0.8)
        x_max = float(np.nanmax(np.abs(plane["inc_effect"]))) or 1.0
        xs = np.array([-1.1 * x_max, 1.1 * x_max])
        if wtp is not None:
            for k, w in enumerate(np.atleast_1d(np.asarray(wtp, dtype=float))):
                label = f"WTP {currency + ' ' if currency else ''}{w:,.0f}/QALY"
                style = ("--", ":", "-.")[k % 3]
                ax.plot(xs, w * xs, linestyle=style, color="0.35", linewidth=1.1, label=label)
        ax.set_xlim(xs)
        ax.set_xlabel("incremental QALYs (discounted)")
        ax.set_ylabel(f"incremental cost{f' ({currency})' if currency else ''} (discounted)")
        ax.yaxis.set_major_formatter(_money_formatter(""))
        ax.set_title(f"Cost-effectiveness plane{f' vs {reference}' if reference else ''}")
        ax.legend(fontsize="small", frameon=False)
    return fig


def ceac_figure(ceac: pd.DataFrame, ceaf: pd.DataFrame | None = None, currency: str = "") -> Figure:
    """Cost-effectiveness acceptability curves, with the acceptability frontier if given.

    Parameters
    ----------
    ceac : pandas.DataFrame
        :func:`analysis.cea.ceac` output: ``wtp``, ``strategy``, ``probability``; with a column ``se`` (Monte
        Carlo standard error of each probability) a ± 2 SE band is drawn.
    ceaf : pandas.DataFrame, optional
        :func:`analysis.cea.ceaf` output: drawn as a thick grey line under the curves.
    currency : str
        For the axis label.
    """
    names = _strategies(ceac)
    colours = _palette(names)
    with _style():
        fig, (ax,) = _figure()
        if ceaf is not None and not ceaf.empty:
            ax.plot(
                ceaf["wtp"],
                ceaf["probability"],
                color="0.7",
                linewidth=6,
                alpha=0.6,
                label="frontier (highest expected NMB)",
                solid_capstyle="butt",
            )
        for name in names:
            g = ceac[ceac["strategy"] == name]
            ax.plot(g["wtp"], g["probability"], color=colours[name], label=name, linewidth=1.6)
            if "se" in g.columns:
                lo = (g["probability"] - 2 * g["se"]).clip(0, 1)
                hi = (g["probability"] + 2 * g["se"]).clip(0, 1)
                ax.fill_between(g["wtp"], lo, hi, color=colours[name], alpha=0.15, linewidth=0)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(f"willingness to pay per QALY{f' ({currency})' if currency else ''}")
        ax.set_ylabel("probability cost-effective")
        ax.xaxis.set_major_formatter(_money_formatter(""))
        ax.set_title("Cost-effectiveness acceptability")
        ax.legend(fontsize="small", frameon=False)
    return fig


def evpi_figure(evpi: pd.DataFrame, currency: str = "") -> Figure:
    """Per-patient expected value of perfect information by willingness to pay, with ± 2 MC SE band.

    Parameters
    ----------
    evpi : pandas.DataFrame
        :func:`analysis.cea.evpi` output: ``wtp``, ``evpi``, ``se``.
    """
    for col in ("wtp", "evpi"):
        if col not in evpi.columns:
            raise ValueError(f"the EVPI frame needs '{col}' (analysis.cea.evpi output)")
    with _style():
        fig, (ax,) = _figure()
        ax.plot(evpi["wtp"], evpi["evpi"], color=sns.color_palette("colorblind")[0], linewidth=1.6)
        if "se" in evpi.columns:
            se = evpi["se"].fillna(0.0)
            ax.fill_between(evpi["wtp"], evpi["evpi"] - 2 * se, evpi["evpi"] + 2 * se, alpha=0.2)
        ax.set_xlabel(f"willingness to pay per QALY{f' ({currency})' if currency else ''}")
        ax.set_ylabel(f"EVPI per patient{f' ({currency})' if currency else ''}")
        ax.xaxis.set_major_formatter(_money_formatter(""))
        ax.yaxis.set_major_formatter(_money_formatter(""))
        ax.set_ylim(bottom=0)
        ax.set_title("Expected value of perfect information")
    return fig


# --------------------------------------------------------------------------------------------- DSA


def tornado_figure(tornado: pd.DataFrame, top: int | None = 15, outcome_label: str | None = None) -> Figure:
    """Tornado diagram of a one-way sensitivity analysis.

    Parameters
    ----------
    tornado : pandas.DataFrame
        :func:`analysis.dsa.one_way` output: ``parameter``, ``low_value``, ``high_value``, ``outcome_low``,
        ``outcome_high``, ``base`` (and ``outcome`` naming what is measured).
    top : int, optional
        Show the ``top`` parameters with the widest swing (all if None).
    outcome_label : str, optional
        Axis label (default: the frame's ``outcome`` column).
    """
    needed = ("parameter", "outcome_low", "outcome_high", "base")
    missing = [c for c in needed if c not in tornado.columns]
    if missing:
        raise ValueError(f"the tornado frame needs {missing} (analysis.dsa.one_way output)")
    if tornado.empty:
        raise ValueError("the tornado frame is empty: nothing to plot")
    t = tornado.assign(_swing=(tornado["outcome_high"] - tornado["outcome_low"]).abs())
    t = t.sort_values("_swing", ascending=False, kind="stable")
    if top is not None:
        t = t.head(top)
    t = t.iloc[::-1]
    base = float(t["base"].iloc[0])
    low_colour, high_colour = sns.color_palette("colorblind")[0], sns.color_palette("colorblind")[3]
    labels = []
    for r in t.itertuples(index=False):
        lv = getattr(r, "low_value", np.nan)
        hv = getattr(r, "high_value", np.nan)
        if "label" in t.columns:  # analysis.dsa.one_way: words, unit and the range in natural units
            labels.append(f"{r.label}\n[{r.range}]" if "range" in t.columns else str(r.label))
        else:
            labels.append(f"{r.parameter}  [{lv:.3g}, {hv:.3g}]" if lv == lv else str(r.parameter))
    width = 5.0 + 0.075 * max(len(line) for label in labels for line in label.split("\n"))
    with _style():
        per_row = 0.62 if "label" in t.columns else 0.38
        fig, (ax,) = _figure(width=min(width, 16.0), height=max(3.0, per_row * len(t) + 1.8))
        y = np.arange(len(t))
        ax.barh(y, t["outcome_low"] - base, left=base, color=low_colour, label="parameter at its low value")
        ax.barh(
            y, t["outcome_high"] - base, left=base, color=high_colour, label="parameter at its high value"
        )
        ax.axvline(base, color="black", linewidth=1.0, label=f"base case ({base:,.0f})")
        ax.set_yticks(y, labels, fontsize="small")
        ax.set_xlabel(outcome_label or _outcome_label(t))
        ax.xaxis.set_major_formatter(_money_formatter(""))
        fig.suptitle("One-way sensitivity analysis")
        fig.legend(loc="outside lower center", ncols=3, fontsize="small", frameon=False)
    return fig


def _outcome_label(frame: pd.DataFrame) -> str:
    outcome = str(frame["outcome"].iloc[0]) if "outcome" in frame.columns else "outcome"
    vs = ""
    if {"strategy", "reference"} <= set(frame.columns):
        vs = f"\n{frame['strategy'].iloc[0]} vs {frame['reference'].iloc[0]}"
    if outcome == "inmb":
        wtp = f" at {frame['wtp'].iloc[0]:,.0f} per QALY" if "wtp" in frame.columns else ""
        return f"incremental net monetary benefit{wtp}{vs}"
    if outcome == "icer":
        return f"ICER (cost per QALY){vs}"
    return outcome


def two_way_figure(grid: pd.DataFrame, outcome_label: str | None = None) -> Figure:
    """Heat map of a two-way sensitivity analysis (:func:`analysis.dsa.two_way` output).

    The frame has ``x_parameter``, ``x_value``, ``y_parameter``, ``y_value`` and ``value`` (the outcome);
    cells where the outcome is positive vs negative are separated by a contour at 0 when it crosses.
    """
    needed = ("x_value", "y_value", "value")
    missing = [c for c in needed if c not in grid.columns]
    if missing:
        raise ValueError(f"the two-way frame needs {missing} (analysis.dsa.two_way output)")
    pivot = grid.pivot_table(index="y_value", columns="x_value", values="value", aggfunc="first")
    with _style():
        fig, (ax,) = _figure(width=7.0, height=5.2)
        mesh = ax.pcolormesh(
            pivot.columns.to_numpy(), pivot.index.to_numpy(), pivot.to_numpy(), shading="nearest", cmap="RdBu"
        )
        values = pivot.to_numpy()
        if np.nanmin(values) < 0 < np.nanmax(values):
            ax.contour(pivot.columns.to_numpy(), pivot.index.to_numpy(), values, levels=[0.0], colors="black")
        fig.colorbar(mesh, ax=ax, label=outcome_label or _outcome_label(grid))
        ax.set_xlabel(str(grid["x_parameter"].iloc[0]) if "x_parameter" in grid.columns else "x")
        ax.set_ylabel(str(grid["y_parameter"].iloc[0]) if "y_parameter" in grid.columns else "y")
        ax.set_title("Two-way sensitivity analysis")
    return fig
