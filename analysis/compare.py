"""Compare strategies on common random numbers: ``python -m analysis.compare A.toml B.toml ...``.

This is a command-line entry point and runs simulations (the rest of :mod:`analysis` does not)::

    python -m analysis.compare scenarios/supportive_care.toml scenarios/rituximab_at_diagnosis.toml \\
        --patients 2000 --seed 1 --psa 200 --wtp 20000,30000 --out results/rtx

Every strategy is simulated on the same patients (same seed, ``draw=0``); the first scenario is the
reference of the incremental and NMB tables unless ``--reference`` names another. Written atomically into
``--out`` (all files or none):

=====================  ===========================================================================
``summary.csv``        per strategy: mean costs (total and by category), QALYs and life-years,
                       discounted and not, each with its Monte Carlo standard error
``incremental.csv``    each strategy minus the reference, patient by patient, with paired SEs; ICER
                       vs the reference with its interval
``icers.csv``          the ICER table (dominance, extended dominance) with an interval per ICER
``nmb.csv``            net monetary benefit per strategy and WTP, and incremental vs the reference
``outcomes.png``       disability (mRS >= 3) and survival curves by strategy
``psa.csv``            with ``--psa N``: one row per draw × strategy (:func:`sim.psa.run_psa`)
``ceac.csv``           with ``--psa N``: acceptability curves; also ``ceaf.csv``, ``evpi.csv``
``*.png``              with ``--psa N``: ``ce_plane.png``, ``ceac.png``, ``evpi.png``
``metadata.json``      seed, sizes, scenario hashes, currency and price year, versions
=====================  ===========================================================================

Exit status: 0 on success; 2 on bad input (a scenario, an option, an output directory) with a one-paragraph
message and no traceback; 1 if a simulation fails; 130 if interrupted.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.cli_types import run_reporting_errors
from sim.econ_cli import DEFAULT_WTP, add_compare_arguments, add_psa_arguments, parse_wtp
from sim.errors import ScenarioError
from sim.output import OutputDirError, atomic_output_dir

from .cea import ce_plane, ceac, ceaf, evpi
from .economics import ComparisonError, EconomicEvaluation, evaluate, format_icer_table

__all__ = [
    "DEFAULT_WTP",
    "CompareInputError",
    "add_compare_arguments",
    "add_psa_arguments",
    "build_parser",
    "main",
    "parse_wtp",
    "run_compare",
    "run_psa_command",
    "wtp_grid",
    "write_psa_outputs",
]

PROG = "python -m analysis.compare"


class CompareInputError(ValueError):
    """Bad command-line input found after parsing (e.g. an unknown reference strategy)."""


# --------------------------------------------------------------------------------------------- options


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m analysis.compare`` (the options of :func:`add_compare_arguments`)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Compare strategies on common random numbers: costs, QALYs, ICERs, NMB, PSA.",
    )
    add_compare_arguments(parser)
    return parser


# --------------------------------------------------------------------------------------------- helpers


def _load_all(paths: Sequence[str]):
    from sim.psa import as_scenario_list
    from sim.scenario import load_scenario

    return as_scenario_list([load_scenario(p) for p in paths])


def _reference(scenarios, name: str | None) -> str:
    names = [s.strategy for s in scenarios]
    if name is None:
        return names[0]
    if name not in names:
        raise CompareInputError(f"--reference '{name}' is not one of the strategies {names}")
    return name


def wtp_grid(wtp: Sequence[float], points: int = 101) -> np.ndarray:
    """Willingness-to-pay grid of the acceptability curves: 0 to ``max(2 × max(wtp), 50,000)``, plus
    the given values."""
    top = max(2.0 * max(wtp), 50_000.0)
    return np.unique(np.concatenate([np.linspace(0.0, top, points), np.asarray(wtp, dtype=float)]))


def _save(fig, path: Path) -> None:
    fig.savefig(path, dpi=120, format="png", metadata={"Software": None})


def _json(data: Any) -> str:
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
    from .figures import ce_plane_figure, ceac_figure, evpi_figure

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
    _save(ce_plane_figure(out["ce_plane"], wtp, reference, currency), tmp / "ce_plane.png")
    _save(ceac_figure(out["ceac"], out["ceaf"], currency), tmp / "ceac.png")
    _save(evpi_figure(out["evpi"], currency), tmp / "evpi.png")
    return out


def _with_binomial_se(frame: pd.DataFrame, n_draws: int) -> pd.DataFrame:
    """Add ``se``, the Monte Carlo standard error of a proportion of draws, ``sqrt(p (1 − p) / n)``."""
    p = frame["probability"].to_numpy(dtype=float)
    return frame.assign(se=np.sqrt(p * (1 - p) / n_draws))


def _psa_text(tables: dict[str, pd.DataFrame], wtp: Sequence[float], currency: str) -> str:
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


def _incremental_text(ev: EconomicEvaluation) -> str:
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


# --------------------------------------------------------------------------------------------- commands


def run_compare(args: argparse.Namespace) -> int:
    """The ``compare`` command (parsed arguments from :func:`add_compare_arguments`)."""
    from sim.psa import psa_attrs, run_psa, simulate_strategies
    from sim.runner import horizon_of

    from .figures import outcome_curves_figure, tornado_figure

    if len(args.scenarios) < 2:
        raise CompareInputError("compare needs at least two scenario files (strategies)")
    scenarios = _load_all(args.scenarios)
    reference = _reference(scenarios, args.reference)
    out = Path(args.out)
    with atomic_output_dir(out, force=args.force) as tmp:  # checked before the run starts
        results = simulate_strategies(scenarios, args.patients, args.seed, args.workers, progress=True)
        ev = evaluate(results, reference=reference, wtp=args.wtp, interval=args.interval)
        ev.summary.to_csv(tmp / "summary.csv", index=False)
        ev.incremental.to_csv(tmp / "incremental.csv", index=False)
        ev.icers.to_csv(tmp / "icers.csv", index=False)
        ev.nmb.to_csv(tmp / "nmb.csv", index=False)
        patients = pd.concat([r.patients for r in results], ignore_index=True)
        _save(outcome_curves_figure(patients, horizon_of(results[0].values)), tmp / "outcomes.png")
        metadata = {"command": "compare", "arguments": _arguments(args), **ev.metadata}
        psa_tables: dict[str, pd.DataFrame] = {}
        if args.psa:
            n_psa = args.psa_patients or args.patients
            psa = run_psa(
                scenarios,
                args.psa,
                n_psa,
                args.seed,
                args.workers,
                progress=True,
                shared_cohort=args.shared_cohort,
            )
            psa_tables = write_psa_outputs(tmp, psa, args.wtp, reference, ev.currency)
            metadata["psa"] = psa_attrs(scenarios, args.psa, n_psa, args.seed, args.shared_cohort)
        tornado = None
        if args.dsa:
            tornado, versus = _tornado(scenarios, reference, ev, args)
            tornado.to_csv(tmp / "tornado.csv", index=False)
            label = (
                f"incremental NMB, {versus} vs {reference}\n({ev.currency}, WTP {args.wtp[0]:,.0f} per QALY)"
            )
            _save(tornado_figure(tornado, outcome_label=label), tmp / "tornado.png")
            metadata["dsa"] = {
                "versus": versus,
                "reference": reference,
                "top_k": args.dsa,
                "wtp": args.wtp[0],
            }
        metadata["files"] = sorted(p.name for p in tmp.iterdir()) + ["metadata.json"]
        (tmp / "metadata.json").write_text(_json(metadata))
    print(
        f"{len(scenarios)} strategies, {args.patients} patients each, seed {args.seed} "
        "(common random numbers)"
    )
    print(format_icer_table(ev))
    print()
    print(_incremental_text(ev))
    nmb = ev.nmb
    for w in args.wtp:
        at = nmb[nmb["wtp"] == w]
        best = at[at["best"]]["strategy"].tolist()
        print(f"Highest expected NMB at {ev.currency} {w:,.0f}/QALY: {', '.join(best)}")
    if psa_tables:
        print()
        print(_psa_text(psa_tables, args.wtp, ev.currency))
    if tornado is not None:
        print()
        print(f"One-way sensitivity ({metadata['dsa']['versus']} vs {reference}), widest swings of the INMB:")
        for r in tornado.head(args.dsa).itertuples():
            print(f"  {r.parameter:<60}{r.outcome_low:>14,.0f}{r.outcome_high:>14,.0f}")
    print(f"Wrote {out}/: {', '.join(metadata['files'])}")
    return 0


def _tornado(scenarios: list, reference: str, ev: EconomicEvaluation, args: argparse.Namespace):
    """One-way DSA of the strategy with the highest expected NMB at the first WTP (or, if that is the
    reference, the next best) against the reference, on the INMB at that WTP."""
    from .dsa import one_way

    by_name = {s.strategy: s for s in scenarios}
    at = ev.nmb[ev.nmb["wtp"] == args.wtp[0]].sort_values("nmb", ascending=False)
    versus = next(name for name in at["strategy"] if name != reference)
    tornado = one_way(
        by_name[reference],
        by_name[versus],
        n_patients=args.patients,
        seed=args.seed,
        wtp=args.wtp[0],
        top_k=args.dsa,
        workers=args.workers,
        progress=True,
    )
    return tornado, versus


def run_psa_command(args: argparse.Namespace) -> int:
    """The ``psa`` command (parsed arguments from :func:`add_psa_arguments`)."""
    from sim.psa import run_psa

    scenarios = _load_all(args.scenarios)
    reference = _reference(scenarios, args.reference)
    currency = scenarios[0].model.economics.currency
    out = Path(args.out)
    with atomic_output_dir(out, force=args.force) as tmp:
        psa = run_psa(
            scenarios,
            args.draws,
            args.patients,
            args.seed,
            args.workers,
            progress=True,
            shared_cohort=args.shared_cohort,
        )
        tables = write_psa_outputs(tmp, psa, args.wtp, reference, currency)
        metadata = {"command": "psa", "arguments": _arguments(args), **psa.attrs}
        metadata["versions"] = _versions()
        metadata["files"] = sorted(p.name for p in tmp.iterdir()) + ["metadata.json"]
        (tmp / "metadata.json").write_text(_json(metadata))
    price_year = scenarios[0].model.economics.price_year
    print(
        f"{len(scenarios)} strateg{'y' if len(scenarios) == 1 else 'ies'}, {args.draws} draws × "
        f"{args.patients} patients, seed {args.seed}; costs in {currency} ({price_year} prices)"
    )
    print(_psa_text(tables, args.wtp, currency))
    print(f"Wrote {out}/: {', '.join(metadata['files'])}")
    return 0


def _versions() -> dict[str, str]:
    from sim.runner import versions

    return versions()


def _arguments(args: argparse.Namespace) -> dict[str, Any]:
    return {k: v for k, v in sorted(vars(args).items()) if k not in ("func", "command")}


def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.compare``: exit 0 on success, 2 on bad input, 1 if a simulation fails."""
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with status 2 and a usage message on bad options
    bad_input = (ScenarioError, OutputDirError, ComparisonError, CompareInputError)
    return run_reporting_errors(PROG, lambda: run_compare(args), bad_input)


if __name__ == "__main__":
    sys.exit(main())
