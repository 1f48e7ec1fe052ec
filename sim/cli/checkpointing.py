"""``--resume`` of the long commands (``psa``, ``compare --psa/--dsa``, ``trial``): the option, the run's
fingerprint and the checkpoint's life cycle (kept when the run is killed, removed when its outputs are
written)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sim.run.checkpoint import Checkpoint, checkpoint_dir

#: Options that never change a command's outputs, so a resume may change them.
#: Options that do not change the outputs (where to run, whether to resume or replace), left out of the
#: fingerprint so that a run killed on a Dask cluster can be resumed on local workers and the reverse.
NOT_IN_FINGERPRINT = frozenset(
    {
        "func",
        "command",
        "workers",
        "scheduler",
        "dask",
        "executor",
        "resume",
        "force",
        "out",
        "check_invariants",
    }
)


def resume_option(p: argparse.ArgumentParser) -> None:
    """``--resume``: continue the killed run whose checkpoint is beside ``--out``."""
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run with the same output directory, inputs and options: finished "
        "work recorded in .OUT.checkpoint/ beside the output directory is not done again; the outputs "
        "are identical to an uninterrupted run's (--workers may change)",
    )


def fingerprint(args: argparse.Namespace, command: str, inputs: Mapping[str, str]) -> dict[str, Any]:
    """Everything that determines a command's outputs: the command, the hash of every input file (by
    strategy or arm name), every option except those of :data:`NOT_IN_FINGERPRINT`, and the package
    version."""
    from sim.run.runner import versions

    options = {
        f"--{k.replace('_', '-')}": v
        for k, v in sorted(vars(args).items())
        if k not in NOT_IN_FINGERPRINT and k not in ("scenarios", "trial")
    }
    return {
        "command": command,
        "inputs (sha256)": dict(inputs),
        "options": options,
        "antimag-sim version": versions()["antimag-sim"],
    }


@contextlib.contextmanager
def checkpointed(
    args: argparse.Namespace, command: str, inputs: Mapping[str, str], out: Path
) -> Iterator[Checkpoint]:
    """Open the checkpoint of ``out`` (refusing a changed run, see :meth:`Checkpoint.open`); remove it
    once the block completes, keep it (and say so) when the run is interrupted."""
    checkpoint = Checkpoint.open(out, fingerprint(args, command, inputs), resume=bool(args.resume))
    try:
        yield checkpoint
    except KeyboardInterrupt:
        print(
            f"finished work is kept in {checkpoint_dir(out)}; run the same command with --resume to continue",
            file=sys.stderr,
        )
        raise
    checkpoint.remove()
