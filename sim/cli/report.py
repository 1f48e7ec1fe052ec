"""``antimag report SCENARIO [MORE.toml ...]``: one self-contained HTML page of a run.

::

    antimag report scenarios/supportive_care.toml scenarios/rituximab_at_diagnosis.toml \\
        --patients 2000 --seed 1 --out report.html

The page opens with no network (figures embedded, style inline, no script, a Content-Security-Policy that
forbids any request): the disease in brief; one patient's story with its picture; the cohort's course; with
two or more scenarios the strategies compared (outcome curves, ICER table with intervals); every parameter
with its value, distribution and source; provenance (seed, scenario hashes, versions). Several scenarios
are strategies on the same patients (common random numbers), the first the reference.

Exit status: 0 on success; 2 on bad input (a scenario, an option, an existing ``--out`` without
``--force``) with a one-paragraph message and no traceback, checked before anything is simulated; 1 if a
simulation fails; 130 if interrupted. The file is written atomically: all of it or nothing.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from sim.cli.common import cohort_options, non_negative_int


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``report`` on ``antimag``'s sub-parsers."""
    p = subparsers.add_parser(
        "report",
        help="write one self-contained HTML report: disease, one patient, the cohort, strategies, parameters",
        description="Simulate the scenarios (strategies on the same patients; the first is the reference) "
        "and write one HTML page that opens without a network: the disease in brief, one patient's story, "
        "the cohort's course, with two or more scenarios the strategies compared and their economics, every "
        "parameter with its source, and the provenance.",
    )
    p.add_argument(
        "scenarios", nargs="+", metavar="SCENARIO", help="scenario files (TOML); first = reference"
    )
    cohort_options(p, patients=2000)
    p.add_argument(
        "--id", type=non_negative_int, default=0, help="the patient whose story is told (default 0)"
    )
    p.add_argument("--out", default="report.html", help="the HTML file to write (default ./report.html)")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    return p


def run(args: argparse.Namespace) -> int:
    """``antimag report SCENARIO [MORE.toml ...]``."""
    from analysis.economics import evaluate
    from analysis.report import build_report
    from sim.cli.common import UsageError
    from sim.cli.economics_output import load_strategies
    from sim.run.output import atomic_write_text, check_output_file
    from sim.run.psa import simulate_strategies
    from sim.run.runner import simulate
    from sim.scenario.loading import load_scenario
    from sim.story.story import patient_story

    out = Path(args.out)
    check_output_file(out, args.force)  # before anything is simulated
    if args.id >= args.patients:
        raise UsageError(
            f"--id {args.id} is outside the cohort: allowed 0 to {args.patients - 1} (--patients)"
        )
    if len(args.scenarios) == 1:
        scenarios = [load_scenario(args.scenarios[0])]
        results = [
            simulate(
                scenarios[0],
                n_patients=args.patients,
                seed=args.seed,
                workers=args.workers,
                progress=True,
                executor=getattr(args, "executor", None),
            )
        ]
        evaluation = None
    else:
        scenarios = load_strategies(args.scenarios)
        results = simulate_strategies(
            scenarios,
            args.patients,
            args.seed,
            args.workers,
            progress=True,
            executor=getattr(args, "executor", None),
        )
        evaluation = evaluate(results)
    story = patient_story(
        scenarios[0], patient_id=args.id, seed=args.seed, compare=scenarios[1:2], n_patients=args.patients
    )
    html = build_report(results, evaluation, story, _command_of(args))
    atomic_write_text(out, html, force=args.force)
    size = out.stat().st_size / 1e6
    strategies = "1 strategy" if len(results) == 1 else f"{len(results)} strategies"
    print(f"{strategies}, {args.patients} patients each, seed {args.seed}")
    print(f"Wrote {out} ({size:.1f} MB): a self-contained page, open it in any browser")
    return 0


def _command_of(args: argparse.Namespace) -> str:
    """The command as recorded in the page: rebuilt from the options, file names without their folders (a
    page that is passed around should not carry the folders of the machine that made it)."""
    files = " ".join(shlex.quote(Path(p).name) for p in args.scenarios)
    return (
        f"antimag report {files} --patients {args.patients} --seed {args.seed} --id {args.id}"
        f" --out {shlex.quote(Path(args.out).name)}"
    )
