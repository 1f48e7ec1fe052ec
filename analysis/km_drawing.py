"""Drawing Kaplan–Meier curves (from :func:`analysis.survival.incidence_curves`) so that they do not mislead.

* A curve stops where fewer than ``min_at_risk`` patients remain at risk; the stop is marked with a bar
  and the legend says what the bar means.
* Every curve has its own colour, dash pattern and marker; markers of different curves sit at staggered
  times, so a curve lying exactly on another stays visible, and its legend entry says it is identical.
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
) -> dict[str, bool]:
    """Draw one step curve per ``names`` (rows of ``curves`` whose ``key`` column equals the name).

    ``end`` is the time the curves would reach with enough patients (the horizon or the grid's end); a curve
    that stops earlier gets an end bar. With ``survival`` the curves are drawn as 100 − percent. Returns,
    per name, whether its curve was cut short. A name without rows is left out of the legend.
    """
    drawn: dict[str, np.ndarray] = {}
    cut: dict[str, bool] = {}
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
        twin = next((other for other, ys in drawn.items() if len(ys) == len(y) and np.allclose(ys, y)), None)
        if twin is not None:
            label = f"{label} (identical to {labels.get(twin, twin)})"
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
    return cut


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
