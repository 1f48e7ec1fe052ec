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

#: The cohort figures are drawn from at most this many patients (the first ids), so that a run of any size
#: stays in flat memory; the tables always hold every patient.
FIGURE_PATIENTS = 20_000


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``run`` on ``antimag``'s sub-parsers."""
    p = subparsers.add_parser(
        "run",
        help="simulate a cohort and write patients.csv, summary.csv, metadata.json and the cohort's figures",
        description="Simulate a cohort and write patients.csv, summary.csv, metadata.json, milestones.png "
        "(cumulative incidence of each symptom milestone, Kaplan–Meier, death censored) and mrs.png (share "
        "of the cohort at each modified Rankin level over time, the dead included). Tables are written "
        f"block by block as the run goes (flat memory); the figures show the first {FIGURE_PATIENTS:,} "
        "patients of larger runs.",
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
    p.add_argument(
        "--format",
        choices=("csv", "parquet"),
        default="csv",
        help="format of the patient, event and course tables (default csv; parquet needs pyarrow)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    """``antimag run [SCENARIO]``: blocks of patients are written as they finish (flat memory, unless
    ``--subgroups`` asks for every patient's outcomes at the end)."""
    from analysis.cohort_course import cohort_course
    from analysis.summary import milestone_summary
    from sim.cli.common import UsageError
    from sim.run.output import atomic_output_dir
    from sim.run.runner import horizon_of, result_from_blocks
    from sim.run.streaming import stream_run

    scenario = load_scenario_or_default(args.scenario)
    fmt = getattr(args, "format", "csv")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise UsageError("--format parquet needs pyarrow: pip install 'antimag-sim[parquet]'") from None
    out = Path(args.out)
    subgroups = getattr(args, "subgroups", None)
    kept: list = []
    n_kept = args.patients if subgroups else min(args.patients, FIGURE_PATIENTS)

    def keep(block) -> None:
        if sum(b.n for b in kept) < n_kept:
            kept.append(block)

    with atomic_output_dir(out, force=args.force) as tmp:  # checked before the run starts
        streamed = stream_run(
            scenario,
            tmp,
            n_patients=args.patients,
            seed=args.seed,
            workers=args.workers,
            keep_events=args.events,
            fmt=fmt,
            progress=True,
            executor=getattr(args, "executor", None),
            on_block=keep,
        )
        summary = milestone_summary(streamed.summary_patients, horizon_of(streamed.values))
        summary.to_csv(tmp / "summary.csv", index=False)
        first = result_from_blocks(scenario, streamed.values, kept, streamed.metadata)
        if len(first.patients) > FIGURE_PATIENTS:
            first = result_from_blocks(scenario, streamed.values, _first_patients(kept), streamed.metadata)
        course = cohort_course(first)
        not_drawn = []  # a figure is drawn only where enough patients remain to show something
        if course.incidence.empty:
            not_drawn.append("milestones.png")
        else:
            save_png(course.incidence_figure(), tmp / "milestones.png")
        if course.occupancy.empty:
            not_drawn.append("mrs.png")
        else:
            save_png(course.occupancy_figure(), tmp / "mrs.png")
        if subgroups:
            from sim.cli.economics_output import write_subgroups

            everyone = result_from_blocks(scenario, streamed.values, kept, streamed.metadata)
            write_subgroups(tmp, [everyone], subgroups, None, ())
        files = sorted(p.name for p in tmp.iterdir()) + ["metadata.json"]  # what --force may replace
        metadata = {**streamed.metadata, "files": files}
        (tmp / "metadata.json").write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    _print_run_summary(scenario, args, summary, out, files)
    if not_drawn:
        print(
            f"Not drawn: {', '.join(not_drawn)}: fewer than {course.min_at_risk} patients at risk at every "
            "time, too few to show a course (run more patients)."
        )
    return 0


def _first_patients(blocks: list) -> list:
    """The blocks that hold the first :data:`FIGURE_PATIENTS` patients."""
    out, n = [], 0
    for block in blocks:
        if n >= FIGURE_PATIENTS:
            break
        out.append(block)
        n += block.n
    return out


SHOWN_YEARS = (5, 10, 15)


def _share(percent: float) -> str:
    return f"{percent:>8.1f}" if percent == percent else f"{'-':>8}"


def _print_run_summary(scenario, args, summary, out: Path, files: list[str]) -> None:
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
    if args.patients > FIGURE_PATIENTS:
        print(f"The figures show the first {FIGURE_PATIENTS:,} patients; the tables hold all of them.")
    print(f"Wrote {out}/: {', '.join(files)}")
