"""``antimag compare A.toml B.toml ...``: strategies on common random numbers.

::

    antimag compare scenarios/supportive_care.toml scenarios/rituximab_at_diagnosis.toml \\
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
import contextlib
from pathlib import Path

import pandas as pd

from analysis.economics import EconomicEvaluation
from sim.cli.checkpointing import checkpointed, resume_option
from sim.cli.common import UsageError, save_png
from sim.cli.economics_options import add_compare_arguments
from sim.cli.economics_output import (
    arguments_of,
    incremental_text,
    load_strategies,
    psa_text,
    reference_of,
    run_psa_outputs,
    to_json,
    write_subgroups,
    write_workbook,
)
from sim.run.checkpoint import Checkpoint
from sim.run.output import atomic_output_dir, check_output_dir


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``compare`` on ``antimag``'s sub-parsers."""
    p = subparsers.add_parser(
        "compare",
        help="compare strategies on common random numbers: costs, QALYs, ICERs with intervals, NMB, PSA",
        description="Simulate each strategy on the same patients and write summary.csv, incremental.csv, "
        "icers.csv, nmb.csv, outcomes.png and metadata.json (with --psa N also psa.csv, ceac.csv, "
        "ceaf.csv, evpi.csv and the CE plane, CEAC and EVPI figures).",
    )
    add_compare_arguments(p)
    resume_option(p)
    return p


def run(args: argparse.Namespace) -> int:
    """``antimag compare A.toml B.toml ...``."""
    from analysis.economics import evaluate, format_icer_table
    from analysis.figures import outcome_curves_figure, tornado_figure
    from sim.run.psa import simulate_strategies
    from sim.run.runner import horizon_of

    if len(args.scenarios) < 2:
        raise UsageError("compare needs at least two scenario files (strategies)")
    if args.evppi and not args.psa:
        raise UsageError("--evppi needs a PSA: add --psa N (N draws, e.g. 500)")
    scenarios = load_strategies(args.scenarios)
    reference = reference_of(scenarios, args.reference)
    out = Path(args.out)
    check_output_dir(out, args.force)  # before the run starts
    long_run = contextlib.nullcontext(None)
    if args.psa or args.dsa:  # the parts worth recording as they go (and resuming)
        long_run = checkpointed(args, "compare", {s.strategy: s.sha256 for s in scenarios}, out)
    with long_run as checkpoint, atomic_output_dir(out, force=args.force) as tmp:
        results = simulate_strategies(
            scenarios,
            args.patients,
            args.seed,
            args.workers,
            progress=True,
            executor=getattr(args, "executor", None),
        )
        if args.check_invariants:
            from sim.run.invariants import check_invariants

            for result in results:
                check_invariants(result, "the base case")
        ev = evaluate(results, reference=reference, wtp=args.wtp, interval=args.interval)
        ev.summary.to_csv(tmp / "summary.csv", index=False)
        ev.incremental.to_csv(tmp / "incremental.csv", index=False)
        ev.icers.to_csv(tmp / "icers.csv", index=False)
        ev.nmb.to_csv(tmp / "nmb.csv", index=False)
        patients = pd.concat([r.patients for r in results], ignore_index=True)
        save_png(outcome_curves_figure(patients, horizon_of(results[0].values)), tmp / "outcomes.png")
        metadata = {"command": "compare", "arguments": arguments_of(args), **ev.metadata}
        tables = {"summary": ev.summary, "incremental": ev.incremental, "icers": ev.icers, "nmb": ev.nmb}
        if args.subgroups:
            tables["subgroups"] = write_subgroups(tmp, results, args.subgroups, reference, args.wtp)
        psa_tables: dict[str, pd.DataFrame] = {}
        if args.psa:
            n_psa = args.psa_patients or args.patients
            psa_tables, metadata["psa"] = run_psa_outputs(
                tmp, scenarios, reference, args, args.psa, n_psa, checkpoint=checkpoint
            )
        tornado = None
        if args.dsa:
            tornado, versus = _tornado(scenarios, reference, ev, args, checkpoint)
            tornado.to_csv(tmp / "tornado.csv", index=False)
            label = (
                f"incremental NMB, {versus} vs {reference}\n({ev.currency}, WTP {args.wtp[0]:,.0f} per QALY)"
            )
            save_png(tornado_figure(tornado, outcome_label=label), tmp / "tornado.png")
            metadata["dsa"] = {
                "versus": versus,
                "reference": reference,
                "top_k": args.dsa,
                "wtp": args.wtp[0],
            }
        tables |= psa_tables | ({"tornado": tornado} if tornado is not None else {})
        write_workbook(tmp, tables)
        metadata["files"] = sorted(p.name for p in tmp.iterdir()) + ["metadata.json"]
        (tmp / "metadata.json").write_text(to_json(metadata))
    print(
        f"{len(scenarios)} strategies, {args.patients} patients each, seed {args.seed} "
        "(common random numbers)"
    )
    print(format_icer_table(ev))
    print()
    print(incremental_text(ev))
    nmb = ev.nmb
    for w in args.wtp:
        at = nmb[nmb["wtp"] == w]
        best = at[at["best"]]["strategy"].tolist()
        print(f"Highest expected NMB at {ev.currency} {w:,.0f}/QALY: {', '.join(best)}")
    if psa_tables:
        print()
        print(psa_text(psa_tables, args.wtp, ev.currency))
    if tornado is not None:
        print()
        print(
            f"One-way sensitivity, {metadata['dsa']['versus']} vs {reference}: incremental NMB per patient "
            f"({ev.currency}, WTP {args.wtp[0]:,.0f}/QALY) with each parameter at the 2.5th and 97.5th "
            "percentile of its distribution; widest swing first."
        )
        print(f"  {'parameter':<72}{'range':<34}{'INMB at low':>13}{'INMB at high':>14}")
        for r in tornado.head(args.dsa).itertuples():
            label = r.label if len(r.label) <= 70 else r.label[:69] + "…"
            print(f"  {label:<72}{r.range:<34}{r.outcome_low:>13,.0f}{r.outcome_high:>14,.0f}")
    print(f"Wrote {out}/: {', '.join(metadata['files'])}")
    return 0


def _tornado(
    scenarios: list,
    reference: str,
    ev: EconomicEvaluation,
    args: argparse.Namespace,
    checkpoint: Checkpoint | None = None,
):
    """One-way DSA of the strategy with the highest expected NMB at the first WTP (or, if that is the
    reference, the next best) against the reference, on the INMB at that WTP."""
    from analysis.dsa import one_way

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
        checkpoint=checkpoint,
        executor=getattr(args, "executor", None),
    )
    return tornado, versus
