"""What ``compare`` and ``psa`` write and print: PSA tables and figures, metadata, the text tables."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.cea import ce_plane, ceac, ceaf, evpi
from analysis.economics import EconomicEvaluation
from sim.cli.common import UsageError, save_png


def load_strategies(paths: Sequence[str]):
    """Load every scenario file and check they form a set of distinct strategies on one population."""
    from sim.run.psa import as_scenario_list
    from sim.scenario.loading import load_scenario

    return as_scenario_list([load_scenario(p) for p in paths])


def reference_of(scenarios, name: str | None) -> str:
    """The ``--reference`` strategy (default: the first scenario's), checked against the strategies."""
    names = [s.strategy for s in scenarios]
    if name is None:
        return names[0]
    if name not in names:
        raise UsageError(f"--reference '{name}' is not one of the strategies {names}")
    return name


def wtp_grid(wtp: Sequence[float], points: int = 101) -> np.ndarray:
    """Willingness-to-pay grid of the acceptability curves: 0 to ``max(2 × max(wtp), 50,000)``, plus
    the given values."""
    top = max(2.0 * max(wtp), 50_000.0)
    return np.unique(np.concatenate([np.linspace(0.0, top, points), np.asarray(wtp, dtype=float)]))


def to_json(data: Any) -> str:
    def default(x: Any) -> Any:
        if isinstance(x, np.integer):
            return int(x)
        if isinstance(x, np.floating):
            return float(x)
        if isinstance(x, Path):
            return str(x)
        return str(x)

    return json.dumps(data, indent=2, sort_keys=True, default=default) + "\n"


def write_psa_outputs(
    tmp: Path, psa: pd.DataFrame, wtp: Sequence[float], reference: str, currency: str
) -> dict[str, pd.DataFrame]:
    """Write ``psa.csv`` and, with two or more strategies, the CEAC/CEAF/EVPI tables and figures.

    Returns the tables written (``psa``, and ``ceac``, ``ceaf``, ``evpi``, ``ce_plane`` when computed).
    """
    from analysis.figures import ce_plane_figure, ceac_figure, evpi_figure

    psa.to_csv(tmp / "psa.csv", index=False)
    out = {"psa": psa}
    if psa["strategy"].nunique() < 2:
        return out
    grid = wtp_grid(wtp)
    kw = {"effect": "qalys"}
    n_draws = psa["draw"].nunique()
    out["ceac"] = _with_binomial_se(ceac(psa, grid, **kw), n_draws)
    out["ceaf"] = _with_binomial_se(ceaf(psa, grid, **kw), n_draws)
    out["evpi"] = evpi(psa, grid, **kw)
    out["ce_plane"] = ce_plane(psa, reference, **kw)
    for name in ("ceac", "ceaf", "evpi", "ce_plane"):
        out[name].to_csv(tmp / f"{name}.csv", index=False)
    save_png(ce_plane_figure(out["ce_plane"], wtp, reference, currency), tmp / "ce_plane.png")
    save_png(ceac_figure(out["ceac"], out["ceaf"], currency), tmp / "ceac.png")
    save_png(evpi_figure(out["evpi"], currency), tmp / "evpi.png")
    return out


def _with_binomial_se(frame: pd.DataFrame, n_draws: int) -> pd.DataFrame:
    """Add ``se``, the Monte Carlo standard error of a proportion of draws, ``sqrt(p (1 − p) / n)``."""
    p = frame["probability"].to_numpy(dtype=float)
    return frame.assign(se=np.sqrt(p * (1 - p) / n_draws))


def psa_text(tables: dict[str, pd.DataFrame], wtp: Sequence[float], currency: str) -> str:
    psa = tables["psa"]
    n = psa["draw"].nunique()
    lines = [f"PSA: {n} draws; mean over draws (± standard error over draws), discounted."]
    lines.append(f"{'strategy':<28}{'cost':>12}{'± se':>9}{'QALYs':>9}{'± se':>8}")
    for name, g in psa.groupby("strategy", sort=False):
        sd_c = g["cost"].std(ddof=1) / math.sqrt(len(g)) if len(g) > 1 else math.nan
        sd_q = g["qalys"].std(ddof=1) / math.sqrt(len(g)) if len(g) > 1 else math.nan
        lines.append(
            f"{name:<28}{g['cost'].mean():>12,.0f}{sd_c:>9,.0f}{g['qalys'].mean():>9.3f}{sd_q:>8.3f}"
        )
    if "ceac" in tables:
        c = tables["ceac"]
        for w in wtp:
            at = c[c["wtp"] == w]
            probs = ", ".join(f"{r.strategy} {r.probability:.2f}" for r in at.itertuples())
            lines.append(f"P(cost-effective) at {currency} {w:,.0f}/QALY: {probs}")
    return "\n".join(lines)


def incremental_text(ev: EconomicEvaluation) -> str:
    t = ev.incremental
    if t.empty:
        return ""
    lines = [
        f"Incremental vs {ev.reference} (paired patients; mean ± SE; discounted):",
        f"{'strategy':<28}{'inc cost':>12}{'± se':>9}{'inc QALYs':>11}{'± se':>8}{'ICER':>11}  note",
    ]
    for r in t.itertuples(index=False):
        icer = "-" if r.icer != r.icer else f"{r.icer:,.0f}"
        lines.append(
            f"{r.strategy:<28}{r.inc_cost_disc:>12,.0f}{r.inc_cost_disc_se:>9,.0f}"
            f"{r.inc_qalys_disc:>11.3f}{r.inc_qalys_disc_se:>8.3f}{icer:>11}  {r.note}"
        )
    return "\n".join(lines)


def versions() -> dict[str, str]:
    from sim.run.runner import versions as _versions

    return _versions()


#: Options that say where the work runs, not what it computes: left out of the metadata, so that outputs are
#: byte-identical whatever the number of workers or the executor.
WHERE_IT_RUNS = ("workers", "scheduler", "dask")


def arguments_of(args: argparse.Namespace) -> dict[str, Any]:
    skip = ("func", "command", *WHERE_IT_RUNS)
    return {k: v for k, v in sorted(vars(args).items()) if k not in skip}
