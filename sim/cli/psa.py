"""``antimag psa SCENARIO [...] --draws N``: probabilistic sensitivity analysis of one or more strategies."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import executor_from_args
from sim.cli.economics_options import add_psa_arguments
from sim.cli.economics_output import (
    arguments_of,
    load_strategies,
    psa_text,
    reference_of,
    to_json,
    versions,
    write_psa_outputs,
)
from sim.run.output import atomic_output_dir


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``psa`` on ``antimag``'s sub-parsers."""
    p = subparsers.add_parser(
        "psa",
        help="probabilistic sensitivity analysis of one or more strategies",
        description="Sample every uncertain parameter N times, simulate each strategy on shared patients "
        "per draw, and write psa.csv (and with two or more strategies ceac.csv, ceaf.csv, evpi.csv "
        "and figures) with metadata.json.",
    )
    add_psa_arguments(p)
    return p


def run(args: argparse.Namespace) -> int:
    """``antimag psa SCENARIO [...] --draws N``."""
    from sim.run.psa import run_psa

    scenarios = load_strategies(args.scenarios)
    reference = reference_of(scenarios, args.reference)
    currency = scenarios[0].model.economics.currency
    out = Path(args.out)
    with atomic_output_dir(out, force=args.force) as tmp, executor_from_args(args) as executor:
        psa = run_psa(
            scenarios,
            args.draws,
            args.patients,
            args.seed,
            args.workers,
            progress=True,
            shared_cohort=args.shared_cohort,
            executor=executor,
        )
        tables = write_psa_outputs(tmp, psa, args.wtp, reference, currency)
        metadata = {"command": "psa", "arguments": arguments_of(args), **psa.attrs}
        metadata["versions"] = versions()
        metadata["files"] = sorted(p.name for p in tmp.iterdir()) + ["metadata.json"]
        (tmp / "metadata.json").write_text(to_json(metadata))
    price_year = scenarios[0].model.economics.price_year
    print(
        f"{len(scenarios)} strateg{'y' if len(scenarios) == 1 else 'ies'}, {args.draws} draws × "
        f"{args.patients} patients, seed {args.seed}; costs in {currency} ({price_year} prices)"
    )
    print(psa_text(tables, args.wtp, currency))
    print(f"Wrote {out}/: {', '.join(metadata['files'])}")
    return 0
