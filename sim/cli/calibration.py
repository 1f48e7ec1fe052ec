"""``antimag calibration [SCENARIO]``: the natural history against its calibration targets;
``antimag calibration --treatments``: every cited treatment figure beside a simulated study of its design;
``antimag calibration --cohorts``: symptom shares and disability against cohorts that are not targets."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import (
    UsageError,
    cohort_options,
    load_scenario_or_default,
    scenario_argument,
)


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``calibration`` on ``antimag``'s sub-parsers."""
    p = subparsers.add_parser("calibration", help="compare the natural history with its calibration targets")
    scenario_argument(p, optional=True)
    cohort_options(p, patients=5000)
    p.add_argument("--figure", default="calibration.png", help="where to write the figure (PNG)")
    p.add_argument(
        "--treatments",
        action="store_true",
        help="instead: simulated studies of the design of every cited treatment figure (no figure)",
    )
    p.add_argument(
        "--cohorts",
        action="store_true",
        help="instead: symptom shares and disability against published cohorts that are not calibration "
        "targets (no figure)",
    )
    return p


def run_cohorts(args: argparse.Namespace, scenario) -> int:
    """Symptom shares and disability beside published cohorts; exit 1 when a check is missed."""
    from analysis.cohort_validation import cohort_checks
    from sim.run.runner import simulate

    result = simulate(scenario, n_patients=args.patients, seed=args.seed, workers=args.workers)
    table = cohort_checks(result=result)
    print(f"{scenario.name}: {args.patients} patients, seed {args.seed}")
    print(f"{'check':<41}{'n':>4}{'published':>10}{'95% / range':>13}{'simulated':>11}{'MC 95%':>13}  within")
    for r in table.itertuples():
        pub = "—" if r.published != r.published else f"{r.published:.2f}"
        n = "—" if r.n_published == 0 else str(r.n_published)
        flag = "yes" if r.within else "NO"
        print(
            f"{r.check:<41}{n:>4}{pub:>10}{f'{r.published_low:.2f}–{r.published_high:.2f}':>13}"
            f"{r.simulated:>11.3f}{f'{r.mc_low:.3f}–{r.mc_high:.3f}':>13}  {flag}"
        )
    return 0 if table["within"].all() else 1


def run_treatments(args: argparse.Namespace, scenario) -> int:
    """The internal-validation table of the treatment effects; exit 1 when a study is missed."""
    from analysis.treatment_validation import simulate_studies

    table = simulate_studies(scenario, n_patients=args.patients, seed=args.seed, workers=args.workers)
    print(f"{scenario.name}: simulated studies of {args.patients} candidates, seed {args.seed}")
    print(
        f"{'study':<31}{'n':>4}{'published':>10}{'exact 95%':>13}{'simulated':>11}{'MC 95%':>13}"
        f"{'untreated':>11}  within"
    )
    for r in table.itertuples():
        pub = "—" if r.published != r.published else f"{r.published:.2f}"
        ci = "—" if r.published != r.published else f"{r.published_low:.2f}–{r.published_high:.2f}"
        n = "—" if r.n_published == 0 else str(r.n_published)
        flag = "yes" if r.within else "NO"
        print(
            f"{r.study:<31}{n:>4}{pub:>10}{ci:>13}{r.simulated:>11.3f}{f'{r.mc_low:.3f}–{r.mc_high:.3f}':>13}"
            f"{r.untreated:>11.3f}  {flag}"
        )
    return 0 if table["within"].all() else 1


def run(args: argparse.Namespace) -> int:
    """``antimag calibration [SCENARIO]``: exit 1 when a target is missed."""
    from analysis.calibration import calibration_figure, calibration_table
    from sim.run.runner import horizon_of, simulate

    scenario = load_scenario_or_default(args.scenario)
    if args.treatments and args.cohorts:
        raise UsageError("--treatments and --cohorts: choose one")
    if args.treatments:
        return run_treatments(args, scenario)
    if args.cohorts:
        return run_cohorts(args, scenario)
    figure_path = Path(args.figure)
    if not figure_path.parent.exists():
        raise UsageError(f"--figure: directory {figure_path.parent} does not exist")
    result = simulate(
        scenario,
        n_patients=args.patients,
        seed=args.seed,
        workers=args.workers,
        progress=True,
        executor=getattr(args, "executor", None),
    )
    horizon = horizon_of(result.values)
    table = calibration_table(result.patients, horizon)
    print(f"{scenario.name}: {args.patients} patients, seed {args.seed}")
    print(f"{'target':<18}{'published':>10}{'simulated':>11}{'95% interval':>18}  within ±")
    for r in table.itertuples():
        interval = f"{r.low95:.2f}–{r.high95:.2f}"
        flag = "yes" if r.within else "NO"
        print(
            f"{r.target:<18}{r.published:>10.2f}{r.simulated:>11.2f}{interval:>18}  {flag} ({r.tolerance:g})"
        )
    fig = calibration_figure(result.patients, horizon)
    tmp = figure_path.with_name(f".{figure_path.name}.tmp")
    fig.savefig(tmp, dpi=120, format="png")
    tmp.replace(figure_path)
    print(f"Wrote {figure_path}")
    return 0 if table["within"].all() else 1
