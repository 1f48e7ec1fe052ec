"""``antimag psa SCENARIO [...] --draws N``: probabilistic sensitivity analysis of one or more strategies."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.checkpointing import checkpointed, resume_option
from sim.cli.economics_options import add_psa_arguments
from sim.cli.economics_output import (
    arguments_of,
    load_strategies,
    psa_text,
    reference_of,
    run_psa_outputs,
    to_json,
    versions,
    write_workbook,
)
from sim.run.output import atomic_output_dir, check_output_dir


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``psa`` on ``antimag``'s sub-parsers."""
    p = subparsers.add_parser(
        "psa",
        help="probabilistic sensitivity analysis of one or more strategies",
        description="Sample every uncertain parameter N times, simulate each strategy on the same patients, "
        "and write psa.csv, psa_variance.csv (patient noise vs parameter uncertainty, with advice on "
        "patients and draws), with two or more strategies the acceptability, expected-loss, EVPI and "
        "PSA-ICER tables and figures (with --evppi also evppi.csv, with --subgroups psa_subgroups.csv over "
        "the draws), results.xlsx (every table) and metadata.json.",
    )
    add_psa_arguments(p)
    resume_option(p)
    return p


def run(args: argparse.Namespace) -> int:
    """``antimag psa SCENARIO [...] --draws N``."""
    scenarios = load_strategies(args.scenarios)
    reference = reference_of(scenarios, args.reference)
    currency = scenarios[0].model.economics.currency
    out = Path(args.out)
    check_output_dir(out, args.force)  # before any work
    inputs = {s.strategy: s.sha256 for s in scenarios}
    with (
        checkpointed(args, "psa", inputs, out) as checkpoint,
        atomic_output_dir(out, force=args.force) as tmp,
    ):
        tables, attrs = run_psa_outputs(
            tmp, scenarios, reference, args, args.draws, args.patients, checkpoint=checkpoint
        )
        write_workbook(tmp, tables)
        metadata = {"command": "psa", "arguments": arguments_of(args), **attrs}
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
