"""Drawing Kaplan–Meier curves (from :func:`analysis.survival.incidence_curves`) so that they do not mislead.

* A curve stops where fewer than ``min_at_risk`` patients remain at risk; the stop is marked with a bar
  and the legend says what the bar means.
* Every curve has its own colour, dash pattern and marker; markers of different curves sit at staggered
  times, so a curve lying exactly on another stays visible, and a note in the panel names the curves that
  are identical (the note belongs to the panel: two panels of one figure may differ).
* The confidence band has a legend entry of its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .figure_style import LineLook

BAND_LABEL = "95% confidence band (Greenwood, log-log)"
MARKERS_PER_CURVE = 8


def end_label(min_at_risk: int) -> str:
    return f"curve ends: fewer than {min_at_risk} patients left at risk"


def draw_curves(
    ax: Axes,
    curves: pd.DataFrame,
    key: str,
    names: Sequence[str],
    looks: dict[str, LineLook],
    labels: dict[str, str],
    end: float,
    survival: bool = False,
    band: bool = True,
) -> tuple[dict[str, bool], list[tuple[str, str]]]:
    """Draw one step curve per ``names`` (rows of ``curves`` whose ``key`` column equals the name).

    ``end`` is the time the curves would reach with enough patients (the horizon or the grid's end); a curve
    that stops earlier gets an end bar. With ``survival`` the curves are drawn as 100 − percent. A name
    without rows is left out of the legend.

    Returns
    -------
    cut : dict
        Per name drawn, whether its curve stops before ``end``.
    twins : list of (str, str)
        Pairs of labels whose curves are identical (the later one, the first one it equals); also written
        as a note in the panel.
    """
    drawn: dict[str, np.ndarray] = {}
    cut: dict[str, bool] = {}
    twins: list[tuple[str, str]] = []
    n = max(len(names), 1)
    for k, name in enumerate(names):
        c = curves[curves[key] == name]
        if c.empty:
            continue
        x = c["years"].to_numpy(dtype=float)
        y, low, high = (c[col].to_numpy(dtype=float) for col in ("percent", "low", "high"))
        if survival:
            y, low, high = 100.0 - y, 100.0 - high, 100.0 - low
        label = labels.get(name, str(name))
        twin = next((other for other, ys in drawn.items() if _same(ys, y)), None)
        if twin is not None:
            twins.append((label, labels.get(twin, str(twin))))
        drawn[name] = y
        look = looks[name]
        stride = max(len(x) // MARKERS_PER_CURVE, 1)
        ax.step(
            x,
            y,
            where="post",
            label=label,
            linewidth=1.6,
            markersize=5,
            markevery=(int(k * stride / n), stride),
            markerfacecolor="white",
            **look.kwargs(),
        )
        if band:
            ax.fill_between(x, low, high, step="post", color=look.color, alpha=0.12, linewidth=0)
        cut[name] = bool(x[-1] < end - 1e-9 * max(abs(end), 1.0))
        if cut[name]:
            ax.plot([x[-1]], [y[-1]], marker="|", markersize=14, markeredgewidth=2.2, color=look.color)
    if twins:
        note = "identical curves:\n" + "\n".join(f"{a} = {b}" for a, b in twins)
        ax.text(
            0.98,
            0.97 if survival else 0.03,
            note,
            transform=ax.transAxes,
            ha="right",
            va="top" if survival else "bottom",
            fontsize="x-small",
            bbox={"facecolor": "white", "edgecolor": "0.6", "boxstyle": "round,pad=0.3"},
        )
    return cut, twins


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return len(a) == len(b) and bool(np.allclose(a, b, rtol=0.0, atol=1e-9))


def legend_extras(band: bool, any_cut: bool, min_at_risk: int) -> list:
    """Legend handles for the band and the end bar (each only if drawn)."""
    extras: list = []
    if band:
        extras.append(Patch(facecolor="0.45", alpha=0.25, label=BAND_LABEL))
    if any_cut:
        extras.append(
            Line2D(
                [],
                [],
                marker="|",
                markersize=14,
                markeredgewidth=2.2,
                color="0.25",
                linestyle="none",
                label=end_label(min_at_risk),
            )
        )
    return extras
