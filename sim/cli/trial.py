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

from sim.cli.common import executor_from_args, positive_int, seed_option, workers_option

if TYPE_CHECKING:
    import pandas as pd

    from sim.trial import Trial


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
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``antimag trial``; returns the exit status (0)."""
    from sim.run.output import atomic_output_dir, check_output_dir
    from sim.trial import load_trial, simulate_trial

    trial = load_trial(args.trial)
    out = Path(args.out) if args.out else None
    if out is not None:
        check_output_dir(out, getattr(args, "force", False))  # before the run, not after minutes of work
    t0 = time.perf_counter()
    with executor_from_args(args) as executor:
        result = simulate_trial(
            trial,
            replicates=args.replicates,
            seed=args.seed,
            workers=args.workers,
            progress=True,
            executor=executor,
        )
    elapsed = time.perf_counter() - t0
    print_summary(result.summary, trial, args.replicates, args.seed, elapsed)
    if out is not None:
        with atomic_output_dir(out, force=getattr(args, "force", False)) as tmp:
            result.replicates.to_csv(tmp / "replicates.csv", index=False)
            result.summary.to_csv(tmp / "summary.csv", index=False)
            result.baseline.to_csv(tmp / "baseline.csv", index=False)
            (tmp / "metadata.json").write_text(json.dumps(result.metadata, indent=2, sort_keys=True) + "\n")
        print(f"Wrote {out}/replicates.csv, summary.csv, baseline.csv, metadata.json")
    return 0


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
