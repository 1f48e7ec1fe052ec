"""What the report says, as plain Python data: rows of tables and short texts, built from tidy frames.

Nothing here renders HTML (that is :mod:`analysis.report.page` with its Jinja2 templates) or runs a
simulation; every function takes results that already exist.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from analysis.economics import NOTE_NO_DIFFERENCE, EconomicEvaluation
from sim.scenario.loading import Scenario
from sim.scenario.parameters import Param

#: How each distribution's parameters are written in the parameter table.
_DIST_KEYS = {
    "beta": ("alpha", "beta", "sd"),
    "gamma": ("shape", "scale", "sd"),
    "lognormal": ("mu", "sigma", "sd"),
    "normal": ("sd",),
    "uniform": ("low", "high"),
}
_GREEK = {"alpha": "α", "beta": "β", "mu": "μ", "sigma": "σ", "sd": "SD"}

#: STATUS codes of the ICER table in words.
STATUS_WORDS = {
    "ND": "on the frontier",
    "D": "dominated",
    "ED": "extendedly dominated",
}


def number(x: float, digits: int = 3) -> str:
    """A number with ``digits`` significant digits, thousands separated; "–" for NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    x = float(x)
    if x == 0:
        return "0"
    if abs(x) >= 10 ** (digits - 1):
        return f"{x:,.0f}"
    return f"{x:,.{digits}g}" if abs(x) >= 1e-4 else f"{x:.2e}"


def money(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.0f}"


def distribution_text(p: Param) -> str:
    """The PSA distribution of a parameter in words, e.g. ``beta (α 104, β 29)`` or ``fixed``."""
    if p.dist == "fixed":
        return "fixed (no uncertainty)"
    keys = [k for k in _DIST_KEYS.get(p.dist, ()) if getattr(p, k, None) is not None]
    inside = ", ".join(f"{_GREEK.get(k, k)} {number(getattr(p, k), 4)}" for k in keys)
    return f"{p.dist} ({inside})" if inside else p.dist


def _thin(source: str) -> bool:
    """An assumption not already flagged with ⚠ in its source text (a flagged one shows its own ⚠)."""
    return source.startswith("assumption") and "⚠" not in source


def parameter_rows(scenario: Scenario) -> list[dict[str, str]]:
    """Every parameter of a scenario in file order: path, value, distribution, source (and the note)."""
    rows = []
    for path, p in scenario.parameters().items():
        rows.append(
            {
                "path": path,
                "value": number(p.value, 4),
                "distribution": distribution_text(p),
                "source": p.source,
                "note": p.note or "",
                "thin": _thin(p.source),
            }
        )
    return rows


def parameter_differences(reference: Scenario, other: Scenario) -> list[dict[str, str]]:
    """Parameters of ``other`` that differ from ``reference`` (value, distribution or source), or that only
    one of them has; ``reference_value`` is "–" for a parameter the reference lacks."""
    ref = reference.parameters()
    rows = []
    for path, p in other.parameters().items():
        q = ref.get(path)
        if q is not None and q == p:
            continue
        rows.append(
            {
                "path": path,
                "value": number(p.value, 4),
                "reference_value": "–" if q is None else number(q.value, 4),
                "distribution": distribution_text(p),
                "source": p.source,
                "note": p.note or "",
                "thin": _thin(p.source),
            }
        )
    return rows


def milestone_rows(summary: pd.DataFrame, years: Sequence[int] = (5, 10, 15)) -> list[dict[str, Any]]:
    """Rows of :func:`analysis.summary.milestone_summary` in words: reached, median, % at ``years``."""
    rows = []
    for r in summary.to_dict("records"):
        row = {
            "strategy": r["strategy"],
            "milestone": r["description"],
            "reached": f"{int(r['n_reached']):,} of {int(r['n_patients']):,}",
            "median": "not reached" if math.isnan(r["median_years"]) else f"{r['median_years']:.1f}",
        }
        for y in years:
            p, lo, hi = r[f"pct_{y}y"], r[f"pct_{y}y_low95"], r[f"pct_{y}y_high95"]
            row[f"pct_{y}y"] = "–" if math.isnan(p) else f"{p:.0f}% ({lo:.0f}–{hi:.0f})"
        rows.append(row)
    return rows


def icer_rows(ev: EconomicEvaluation) -> list[dict[str, str]]:
    """The ICER table (dominance and extended dominance) with Monte Carlo SEs and an interval per ICER."""
    rows = []
    for r in ev.icers.to_dict("records"):
        icer = "no difference" if r["note"] == NOTE_NO_DIFFERENCE else money(r["icer"])
        if not math.isnan(r["icer_low"]):
            interval = f"{money(r['icer_low'])} to {money(r['icer_high'])}"
        elif r["status"] == "ND" and not math.isnan(r["icer"]):
            interval = "unbounded"
        else:
            interval = ""
        rows.append(
            {
                "strategy": r["strategy"],
                "cost": f"{money(r['cost_disc'])} ± {money(r['cost_disc_se'])}",
                "qalys": f"{r['qalys_disc']:.3f} ± {r['qalys_disc_se']:.3f}",
                "lys": f"{r['lys_disc']:.2f} ± {r['lys_disc_se']:.2f}",
                "comparator": r["comparator"] or "",
                "inc_cost": money(r["inc_cost_disc"]),
                "inc_qalys": "–" if math.isnan(r["inc_qalys_disc"]) else f"{r['inc_qalys_disc']:.3f}",
                "icer": icer,
                "interval": interval,
                "status": STATUS_WORDS.get(r["status"], r["status"]),
                "note": r["note"],
            }
        )
    return rows


def incremental_rows(ev: EconomicEvaluation) -> list[dict[str, str]]:
    """Each strategy minus the reference, patient by patient (paired SEs), with the ICER's interval."""
    rows = []
    for r in ev.incremental.to_dict("records"):
        interval = (
            f"{money(r['icer_low'])} to {money(r['icer_high'])}" if not math.isnan(r["icer_low"]) else ""
        )
        rows.append(
            {
                "strategy": r["strategy"],
                "inc_cost": f"{money(r['inc_cost_disc'])} ± {money(r['inc_cost_disc_se'])}",
                "inc_qalys": f"{r['inc_qalys_disc']:.3f} ± {r['inc_qalys_disc_se']:.3f}",
                "icer": "–" if math.isnan(r["icer"]) else money(r["icer"]),
                "interval": interval,
                "note": r["note"],
            }
        )
    return rows


def best_at(ev: EconomicEvaluation) -> list[dict[str, str]]:
    """The strategy with the highest expected net monetary benefit at each willingness to pay."""
    out = []
    for w, group in ev.nmb.groupby("wtp", sort=True):
        best = group[group["best"]]["strategy"].tolist()
        out.append({"wtp": money(w), "best": ", ".join(best)})
    return out
