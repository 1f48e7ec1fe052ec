"""``antimag trial FILE``: replicate a simulated randomised trial and report its power.

A bad trial or scenario file raises :class:`sim.ScenarioError` and an unusable output directory
:class:`sim.run.output.OutputDirError`, which :func:`sim.cli.main` turns into exit status 2.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sim.cli.checkpointing import checkpointed, resume_option
from sim.cli.common import UsageError, positive_int, seed_option, workers_option

if TYPE_CHECKING:
    import pandas as pd

    from sim.run.checkpoint import Checkpoint
    from sim.trial import Trial, TrialResult


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``trial`` sub-command to the ``antimag`` parser's sub-parsers; returns its parser."""
    p = subparsers.add_parser(
        "trial",
        help="replicate a simulated randomised trial; print the effect and power of each endpoint",
        description=(
            "Simulate a published randomised trial (a trial file, e.g. scenarios/trials/leger2013.toml) "
            "many times: screen, randomise, follow up, measure with error and analyse; print per endpoint "
            "the mean estimate, its 95%% range over replicates and the power."
        ),
    )
    p.add_argument("trial", help="trial file (TOML)")
    p.add_argument("--replicates", type=positive_int, default=200, help="simulated trials (default 200)")
    seed_option(p)
    workers_option(p)
    p.add_argument("--out", default=None, help="directory for replicates.csv, summary.csv, metadata.json")
    p.add_argument("--force", action="store_true", help="replace a non-empty output directory")
    resume_option(p)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``antimag trial``; returns the exit status (0)."""
    from sim.run.output import atomic_output_dir, check_output_dir
    from sim.trial import load_trial

    trial = load_trial(args.trial)
    out = Path(args.out) if args.out else None
    if out is None:
        if args.resume:
            raise UsageError(
                "--resume needs --out: the checkpoint of a run lives beside its output directory"
            )
        run_and_print(trial, args)
        return 0
    check_output_dir(out, args.force)  # before the run, not after minutes of work
    inputs = {"trial": trial.sha256, **{f"arm {k}": s.sha256 for k, s in trial.arms.items()}}
    with (
        checkpointed(args, "trial", inputs, out) as checkpoint,
        atomic_output_dir(out, force=args.force) as tmp,
    ):
        result = run_and_print(trial, args, checkpoint)
        result.replicates.to_csv(tmp / "replicates.csv", index=False)
        result.summary.to_csv(tmp / "summary.csv", index=False)
        result.baseline.to_csv(tmp / "baseline.csv", index=False)
        (tmp / "metadata.json").write_text(json.dumps(result.metadata, indent=2, sort_keys=True) + "\n")
    print(f"Wrote {out}/replicates.csv, summary.csv, baseline.csv, metadata.json")
    return 0


def run_and_print(
    trial: Trial, args: argparse.Namespace, checkpoint: Checkpoint | None = None
) -> TrialResult:
    """Replicate the trial and print its summary."""
    from sim.trial import simulate_trial

    t0 = time.perf_counter()
    result = simulate_trial(
        trial,
        replicates=args.replicates,
        seed=args.seed,
        workers=args.workers,
        progress=True,
        checkpoint=checkpoint,
        executor=getattr(args, "executor", None),
    )
    print_summary(result.summary, trial, args.replicates, args.seed, time.perf_counter() - t0)
    return result


def print_summary(summary: pd.DataFrame, trial: Trial, replicates: int, seed: int, elapsed: float) -> None:
    """Print one line per endpoint and comparison: mean estimate, 95% range, power ± Monte Carlo SE."""
    arms = ", ".join(f"{k} {a.patients}" for k, a in trial.model.arms.items())
    print(f"{trial.name}: {arms}; {replicates} replicates, seed {seed} ({elapsed:.1f} s)")
    print(f"source: {trial.model.source}")
    header = (
        f"{'endpoint':<24}{'comparison':<26}{'months':>7}{'mean':>9}{'SD':>8}{'95% range':>20}{'power':>16}"
    )
    print(header)
    for r in summary.itertuples():
        name = r.endpoint + (" *" if r.primary else "")
        comparison = f"{r.arm_a} - {r.arm_b}"
        spread = f"{r.p2_5:.3f} to {r.p97_5:.3f}"
        power = f"{r.power:.3f} ± {r.power_mcse:.3f}"
        print(
            f"{name:<24}{comparison:<26}{r.months:>7g}{r.mean_estimate:>9.3f}{r.sd_estimate:>8.3f}"
            f"{spread:>20}{power:>16}"
        )
    print(
        "* primary. Estimates are treatment minus control: difference in mean change from entry (scale "
        "points; INCAT, ISS and mRS: negative = better; MRC: positive = better) or in responder shares. "
        "Power: share of replicates with p < alpha favouring the treatment; ± Monte Carlo SE."
    )
