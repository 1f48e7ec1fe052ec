"""The ``antimag`` command line.

Exit status: 0 on success, 2 on bad input (a scenario, an option, an output directory) with a one-paragraph
message and never a traceback, 1 if a simulation fails, 130 if interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .cli_types import non_negative_int, positive_int, run_reporting_errors
from .econ_cli import COMMANDS as ECON_COMMANDS
from .econ_cli import add_commands as add_econ_commands
from .errors import ScenarioError
from .output import OutputDirError, atomic_output_dir
from .trial_cli import add_trial_command, cmd_trial


class UsageError(Exception):
    """Bad command-line input detected after parsing."""


def _scenario_argument(p: argparse.ArgumentParser, optional: bool) -> None:
    help_text = "scenario file (TOML)" + ("; default: the bundled natural_history.toml" if optional else "")
    p.add_argument("scenario", nargs="?" if optional else None, help=help_text)


def _common_run_options(p: argparse.ArgumentParser, patients: int) -> None:
    p.add_argument(
        "--patients", type=positive_int, default=patients, help=f"cohort size (default {patients})"
    )
    p.add_argument(
        "--seed", type=non_negative_int, default=1, help="root seed of every random stream (default 1)"
    )
    p.add_argument("--workers", type=positive_int, default=1, help="processes; results do not depend on it")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="antimag", description="Simulate the course of anti-MAG neuropathy and compare strategies."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="simulate a cohort and write patients.csv, summary.csv, metadata.json")
    _scenario_argument(run, optional=True)
    _common_run_options(run, patients=2000)
    run.add_argument("--out", default="antimag-output", help="output directory (default ./antimag-output)")
    run.add_argument("--force", action="store_true", help="replace a non-empty output directory")
    run.add_argument(
        "--events",
        action="store_true",
        help="also write the event log (events.csv) and the courses (courses.csv)",
    )

    check = sub.add_parser("check", help="validate a scenario file")
    _scenario_argument(check, optional=False)

    cal = sub.add_parser("calibration", help="compare the natural history with its calibration targets")
    _scenario_argument(cal, optional=True)
    _common_run_options(cal, patients=5000)
    cal.add_argument("--figure", default="calibration.png", help="where to write the figure (PNG)")
    add_trial_command(sub)
    add_econ_commands(sub)
    return parser


def _load(path: str | None):
    from .scenario import default_scenario_path, load_scenario

    return load_scenario(path if path else default_scenario_path())


def cmd_run(args: argparse.Namespace) -> int:
    from analysis.summary import milestone_summary

    from .runner import horizon_of, simulate

    scenario = _load(args.scenario)
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
        (tmp / "metadata.json").write_text(json.dumps(result.metadata, indent=2, sort_keys=True) + "\n")
    _print_run_summary(scenario, args, summary, out)
    return 0


def _print_run_summary(scenario, args, summary, out: Path) -> None:
    print(f"{scenario.name} ({scenario.strategy}): {args.patients} patients, seed {args.seed}")
    print(f"{'milestone':<32}{'reached':>9}{'median y':>10}{'5 y %':>8}{'10 y %':>8}{'15 y %':>8}")
    for r in summary.itertuples():
        median = f"{r.median_years:.1f}" if r.median_years == r.median_years else "-"
        print(
            f"{r.description:<32}{r.n_reached:>9}{median:>10}{r.pct_5y:>8.1f}{r.pct_10y:>8.1f}{r.pct_15y:>8.1f}"
        )
    print("Times are years from the first symptom; % are Kaplan–Meier cumulative incidences, death censored.")
    extra = ", events.csv, courses.csv" if args.events else ""
    print(f"Wrote {out}/patients.csv, summary.csv, metadata.json{extra}")


def cmd_check(args: argparse.Namespace) -> int:
    scenario = _load(args.scenario)
    params = scenario.parameters()
    uncertain = sum(p.uncertain for p in params.values())
    print(
        f"{args.scenario}: valid scenario '{scenario.name}' (strategy '{scenario.strategy}'), "
        f"{len(params)} parameters, {uncertain} with a distribution; sha256 {scenario.sha256[:12]}"
    )
    return 0


def cmd_calibration(args: argparse.Namespace) -> int:
    from analysis.calibration import calibration_figure, calibration_table

    from .runner import horizon_of, simulate

    scenario = _load(args.scenario)
    figure_path = Path(args.figure)
    if not figure_path.parent.exists():
        raise UsageError(f"--figure: directory {figure_path.parent} does not exist")
    result = simulate(scenario, n_patients=args.patients, seed=args.seed, workers=args.workers, progress=True)
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


COMMANDS = {
    "run": cmd_run,
    "check": cmd_check,
    "calibration": cmd_calibration,
    "trial": cmd_trial,
    **ECON_COMMANDS,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with status 2 and a usage message on bad options
    bad_input = (ScenarioError, OutputDirError, UsageError)
    return run_reporting_errors(f"antimag {args.command}", lambda: COMMANDS[args.command](args), bad_input)


if __name__ == "__main__":
    sys.exit(main())
