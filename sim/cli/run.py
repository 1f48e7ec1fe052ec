"""``antimag run [SCENARIO]``: simulate a cohort and write its tables and figures."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sim.cli.common import (
    cohort_options,
    load_scenario_or_default,
    output_options,
    save_png,
    scenario_argument,
)
from sim.cli.economics_options import add_subgroups_argument


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``run`` on ``antimag``'s sub-parsers."""
    p = subparsers.add_parser(
        "run",
        help="simulate a cohort and write patients.csv, summary.csv, metadata.json and the cohort's figures",
        description="Simulate a cohort and write patients.csv, summary.csv, metadata.json, milestones.png "
        "(cumulative incidence of each symptom milestone, Kaplan–Meier, death censored) and mrs.png (share "
        "of the cohort at each modified Rankin level over time, the dead included).",
    )
    scenario_argument(p, optional=True)
    cohort_options(p, patients=2000)
    output_options(p, default="antimag-output")
    add_subgroups_argument(p)
    p.add_argument(
        "--events",
        action="store_true",
        help="also write the event log (events.csv) and the courses (courses.csv)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    """``antimag run [SCENARIO]``."""
    from analysis.cohort_course import cohort_course
    from analysis.summary import milestone_summary
    from sim.run.output import atomic_output_dir
    from sim.run.runner import horizon_of, simulate

    scenario = load_scenario_or_default(args.scenario)
    out = Path(args.out)
    with atomic_output_dir(out, force=args.force) as tmp:  # checked before the run starts
        result = simulate(
            scenario,
            n_patients=args.patients,
            seed=args.seed,
            workers=args.workers,
            keep_events=args.events,
            progress=True,
        )
        summary = milestone_summary(result.patients, horizon_of(result.values))
        result.patients.to_csv(tmp / "patients.csv", index=False)
        summary.to_csv(tmp / "summary.csv", index=False)
        if result.events is not None:
            result.events.to_csv(tmp / "events.csv", index=False)
            result.courses.to_csv(tmp / "courses.csv", index=False)
        course = cohort_course(result)
        save_png(course.incidence_figure(), tmp / "milestones.png")
        save_png(course.occupancy_figure(), tmp / "mrs.png")
        if args.subgroups:
            from sim.cli.economics_output import write_subgroups

            write_subgroups(tmp, [result], args.subgroups, None, ())
        files = sorted(p.name for p in tmp.iterdir()) + ["metadata.json"]  # what --force may replace
        metadata = {**result.metadata, "files": files}
        (tmp / "metadata.json").write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    _print_run_summary(scenario, args, summary, out)
    return 0


SHOWN_YEARS = (5, 10, 15)


def _share(percent: float) -> str:
    return f"{percent:>8.1f}" if percent == percent else f"{'-':>8}"


def _print_run_summary(scenario, args, summary, out: Path) -> None:
    print(f"{scenario.name} ({scenario.strategy}): {args.patients} patients, seed {args.seed}")
    print(f"{'milestone':<32}{'reached':>9}{'median y':>10}{'5 y %':>8}{'10 y %':>8}{'15 y %':>8}")
    for r in summary.itertuples():
        median = f"{r.median_years:.1f}" if r.median_years == r.median_years else "-"
        shares = "".join(_share(x) for x in (r.pct_5y, r.pct_10y, r.pct_15y))
        print(f"{r.description:<32}{r.n_reached:>9}{median:>10}{shares}")
    print("Times are years from the first symptom; % are Kaplan–Meier cumulative incidences, death censored.")
    horizon = scenario.model.settings.horizon_years
    if horizon != "lifetime" and horizon < max(SHOWN_YEARS):
        print(f"'-' beyond the {horizon:g}-year horizon: no one is followed there (the share is unknown).")
    extra = ", events.csv, courses.csv" if args.events else ""
    print(f"Wrote {out}/patients.csv, summary.csv, metadata.json, milestones.png, mrs.png{extra}")
