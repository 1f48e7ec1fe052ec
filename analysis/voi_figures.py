"""Figures of the value-of-information layer: EVPPI ranking, expected loss curves, pairwise acceptability.

Tidy frames in, a matplotlib figure out, in the style of :mod:`analysis.figures` (object-oriented
interface on an Agg canvas, no global state).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from .figures import _figure, _money_formatter, _palette, _strategies, _style

__all__ = ["evppi_figure", "expected_loss_figure", "pairwise_ceac_figure"]


def _wtp_label(currency: str) -> str:
    return f"willingness to pay per QALY{f' ({currency})' if currency else ''}"


def evppi_figure(ranked: pd.DataFrame, currency: str = "", top: int = 15, wtp: float | None = None) -> Figure:
    """Which parameters matter most: EVPPI per patient of single parameters and of groups, at one WTP.

    Parameters
    ----------
    ranked : pandas.DataFrame
        :func:`analysis.voi.information_rank` (or :func:`analysis.evppi.evppi`) output: ``parameters``,
        ``n_parameters``, ``wtp``, ``evppi``, ``se``, ``evpi``; an optional ``label`` column is shown
        instead of ``parameters``.
    currency : str
        Of the money axis.
    top : int
        Single parameters shown (the highest EVPPI); every group is shown.
    wtp : float, optional
        Which WTP (default: the smallest in the frame).
    """
    for col in ("parameters", "n_parameters", "wtp", "evppi", "se", "evpi"):
        if col not in ranked.columns:
            raise ValueError(f"the EVPPI frame needs '{col}' (analysis.evppi.evppi output)")
    if ranked.empty:
        raise ValueError("the EVPPI frame is empty: nothing to plot")
    w = float(ranked["wtp"].min()) if wtp is None else float(wtp)
    at = ranked[ranked["wtp"] == w]
    label = "label" if "label" in at.columns else "parameters"
    singles = at[at["n_parameters"] == 1].sort_values("evppi", ascending=False).head(top)
    groups = at[at["n_parameters"] > 1].sort_values("evppi", ascending=False)
    panels = [("single parameters", singles), ("groups (scenario sections)", groups)]
    panels = [(t, f) for t, f in panels if not f.empty]
    evpi = float(at["evpi"].iloc[0])
    rows = max(len(f) for _, f in panels)
    longest = max(len(str(x)) for _, f in panels for x in f[label])
    colour = sns.color_palette("colorblind")[0]
    with _style():
        fig, axes = _figure(ncols=len(panels), width=3.6 + 0.06 * longest, height=max(3.2, 0.32 * rows + 2.0))
        for ax, (title, frame) in zip(axes, panels, strict=True):
            frame = frame.iloc[::-1]
            y = np.arange(len(frame))
            ok = (
                (frame["fit_check"] == "ok").to_numpy()
                if "fit_check" in frame.columns
                else np.ones(len(y), bool)
            )
            ax.barh(y[ok], frame["evppi"][ok], color=colour, label="EVPPI per patient")
            if not ok.all():
                ax.barh(y[~ok], frame["evppi"][~ok], color="white", edgecolor="0.5", hatch="///",
                        label="fit check failed: too few draws to trust")  # fmt: skip
            ax.errorbar(
                frame["evppi"], y, xerr=2 * frame["se"].fillna(0.0), fmt="none", ecolor="black", capsize=2,
                linewidth=0.8, label="± 2 standard errors",
            )  # fmt: skip
            ax.axvline(evpi, color="0.4", linestyle="--", linewidth=1.0, label=f"EVPI ({evpi:,.0f})")
            ax.set_yticks(y, [str(x) for x in frame[label]], fontsize="small")
            ax.set_xlabel(f"EVPPI per patient{f' ({currency})' if currency else ''}")
            ax.xaxis.set_major_formatter(_money_formatter(""))
            ax.set_xlim(left=0)
            ax.set_title(title, fontsize="medium")
        seen: dict[str, object] = {}
        for ax in axes:
            for handle, text in zip(*ax.get_legend_handles_labels(), strict=True):
                seen.setdefault(text, handle)
        fig.legend(
            list(seen.values()),
            list(seen),
            loc="outside lower center",
            ncols=3,
            fontsize="small",
            frameon=False,
        )
        fig.suptitle(f"Expected value of partial perfect information at {w:,.0f} per QALY")
    return fig


def expected_loss_figure(loss: pd.DataFrame, currency: str = "") -> Figure:
    """Expected loss curves (:func:`analysis.psa_curves.expected_loss`), ± 2 SE bands; the lower envelope,
    marked, is the EVPI."""
    names = _strategies(loss)
    colours = _palette(names)
    with _style():
        fig, (ax,) = _figure()
        for name in names:
            g = loss[loss["strategy"] == name]
            ax.plot(g["wtp"], g["expected_loss"], color=colours[name], label=name, linewidth=1.6)
            se = g["se"].fillna(0.0)
            lo = (g["expected_loss"] - 2 * se).clip(lower=0)
            ax.fill_between(g["wtp"], lo, g["expected_loss"] + 2 * se, color=colours[name], alpha=0.15, lw=0)
        best = loss[loss["optimal"]]
        ax.plot(best["wtp"], best["expected_loss"], color="black", linestyle=":", linewidth=2.0,
                label="lowest loss = EVPI")  # fmt: skip
        ax.set_xlabel(_wtp_label(currency))
        ax.set_ylabel(f"expected loss per patient{f' ({currency})' if currency else ''}")
        ax.xaxis.set_major_formatter(_money_formatter(""))
        ax.yaxis.set_major_formatter(_money_formatter(""))
        ax.set_ylim(bottom=0)
        ax.set_title("Expected loss of each strategy")
        ax.legend(fontsize="small", frameon=False)
    return fig


def pairwise_ceac_figure(pairwise: pd.DataFrame, currency: str = "") -> Figure:
    """Probability of a higher NMB than the comparator (:func:`analysis.psa_curves.pairwise_ceac`)."""
    names = _strategies(pairwise)
    colours = _palette(names)
    comparator = str(pairwise["comparator"].iloc[0])
    with _style():
        fig, (ax,) = _figure()
        for name in names:
            g = pairwise[pairwise["strategy"] == name]
            ax.plot(g["wtp"], g["probability"], color=colours[name], label=f"{name} vs {comparator}", lw=1.6)
            lo = (g["probability"] - 2 * g["se"]).clip(0, 1)
            hi = (g["probability"] + 2 * g["se"]).clip(0, 1)
            ax.fill_between(g["wtp"], lo, hi, color=colours[name], alpha=0.15, linewidth=0)
        ax.axhline(0.5, color="0.6", linewidth=0.8, linestyle="--", label="even chance")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(_wtp_label(currency))
        ax.set_ylabel(f"probability of a higher NMB than {comparator}")
        ax.xaxis.set_major_formatter(_money_formatter(""))
        ax.set_title("Pairwise acceptability (± 2 SE)")
        ax.legend(fontsize="small", frameon=False)
    return fig
