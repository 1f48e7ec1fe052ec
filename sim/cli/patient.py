"""``antimag patient [SCENARIO]``: one simulated patient's story in plain words, and its picture."""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import (
    load_scenario_or_default,
    non_negative_int,
    positive_int,
    save_png,
    scenario_argument,
    seed_option,
)

FORMATS = {"text": "story.txt", "markdown": "story.md", "json": "story.json"}


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``patient`` on ``antimag``'s sub-parsers."""
    from sim.story.picks import PICKS
    from sim.story.story import DEFAULT_COHORT

    p = subparsers.add_parser(
        "patient",
        help="tell one simulated patient's story in plain words (and draw it)",
        description="Tell one simulated patient's course in plain words, event by event, with a closing "
        "summary; optionally the same patient under other strategies, and a picture.",
    )
    scenario_argument(p, optional=True)
    p.add_argument("--id", type=non_negative_int, default=None, help="patient id (default 0)")
    p.add_argument(
        "--pick",
        default=None,
        metavar="CRITERION",
        help=f"pick a teaching example from the cohort instead of --id: {', '.join(PICKS)}",
    )
    p.add_argument(
        "--patients",
        type=positive_int,
        default=DEFAULT_COHORT,
        help=f"cohort size: where --pick looks and the range of --id (default {DEFAULT_COHORT})",
    )
    seed_option(p)
    p.add_argument(
        "--compare",
        nargs="+",
        default=[],
        metavar="OTHER.toml",
        help="the same patient under other strategies (same natural history, same random numbers)",
    )
    p.add_argument(
        "--out",
        default=None,
        help="also write story.(txt|md|json), timeline.csv, patient.png and patient.svg into this directory",
    )
    p.add_argument("--force", action="store_true", help="replace a non-empty output directory")
    p.add_argument("--format", choices=tuple(FORMATS), default="text", help="how to print the story")
    return p


def run(args: argparse.Namespace) -> int:
    """``antimag patient [SCENARIO]``."""
    from sim.run.output import atomic_output_dir, check_output_dir
    from sim.scenario.loading import load_scenario
    from sim.story.story import patient_story

    scenario = load_scenario_or_default(args.scenario)
    others = [load_scenario(path) for path in args.compare]
    out = Path(args.out) if args.out else None
    if out is not None:
        check_output_dir(out, args.force)  # before any simulation
    story = patient_story(
        scenario, patient_id=args.id, pick=args.pick, seed=args.seed, compare=others, n_patients=args.patients
    )
    rendered = story.render(args.format)
    if out is not None:
        with atomic_output_dir(out, force=args.force) as tmp:
            write_story(story, tmp, args.format, rendered)
    print(rendered, end="")
    if out is not None:
        print(f"Wrote {out}/{FORMATS[args.format]}, timeline.csv, patient.png, patient.svg")
    return 0


def write_story(story, directory: Path, fmt: str, rendered: str) -> None:
    """The story, its timeline and its picture (PNG and SVG) into ``directory``."""
    import matplotlib
    import matplotlib.pyplot as plt

    from analysis.patient_figure import patient_figure

    (directory / FORMATS[fmt]).write_text(rendered, encoding="utf-8")
    story.timeline.to_csv(directory / "timeline.csv", index=False)
    fig = patient_figure(story)
    try:
        save_png(fig, directory / "patient.png")
        with matplotlib.rc_context({"svg.hashsalt": "antimag-patient"}):
            fig.savefig(directory / "patient.svg", format="svg", metadata={"Date": None})
    finally:
        plt.close(fig)
