"""Checkpoints of long runs: finished work recorded as it completes, so that ``--resume`` continues a killed
run and still writes byte-identical outputs.

A checkpoint is a hidden folder beside the output directory, ``.<name>.checkpoint/`` for ``--out <name>``
(beside, not inside, because the output directory appears only when the run is complete). It holds

* ``run.json``: the *fingerprint* of the run, i.e. everything that determines its outputs (the command, the
  hash of every scenario or trial file and every option except the number of workers). A resume whose
  fingerprint differs is refused, naming what changed;
* one small JSON file per finished unit of work, ``<stage>-<index>.json`` (a PSA draw, a DSA run, a trial
  replicate), written atomically (temporary file, then rename), so a kill at any instant leaves every file
  either complete or absent. Each file also holds a digest of the job it answers, so a recorded result is
  never used for a different job.

A unit's result is a tree of numbers and strings; JSON stores a float by its shortest round-trip repr, so a
reloaded result is bit-identical to the computed one, and so are the outputs built from it. The folder is
removed once the outputs are written.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Checkpoint", "CheckpointError", "Stage", "checkpoint_dir", "job_digest"]

FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint cannot be used: it belongs to a different run, or is unreadable (bad input: exit 2)."""


def checkpoint_dir(out: str | os.PathLike) -> Path:
    """The checkpoint folder of output directory ``out``: ``.<name>.checkpoint`` in the same parent."""
    out = Path(out)
    name = Path(os.path.abspath(out)).name
    return Path(os.path.abspath(out)).parent / f".{name}.checkpoint"


def _plain(x: Any) -> Any:
    """NumPy scalars as Python ones (exact: ``float(np.float64)`` keeps every bit)."""
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x)
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"cannot record {type(x).__name__} in a checkpoint")


def _dumps(data: Any, sort_keys: bool = True) -> str:
    return json.dumps(data, sort_keys=sort_keys, default=_plain, allow_nan=True)


def job_digest(job: Any) -> str:
    """A stable digest of a job's description (its draw, parameter values, replicate index...)."""
    return hashlib.sha256(_dumps(job).encode()).hexdigest()[:20]


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _describe(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=_plain)
    return text if len(text) <= 80 else text[:77] + "..."


def fingerprint_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What differs between two fingerprints, one phrase per field (nested tables by dotted key)."""
    changes: list[str] = []

    def walk(a: Any, b: Any, key: str) -> None:
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            for k in sorted(set(a) | set(b), key=str):
                sub = f"{key}.{k}" if key else str(k)
                if k not in a:
                    changes.append(f"{sub} is new ({_describe(b[k])})")
                elif k not in b:
                    changes.append(f"{sub} is gone (was {_describe(a[k])})")
                else:
                    walk(a[k], b[k], sub)
        elif _dumps(a) != _dumps(b):
            changes.append(f"{key} was {_describe(a)}, now {_describe(b)}")

    walk(old, new, "")
    return changes


class Checkpoint:
    """The record of finished work of one run; see the module docstring.

    Use :meth:`open`; pass :meth:`stage` objects to the runners
    (:func:`sim.run.psa.run_psa`, :func:`analysis.dsa.one_way`, :func:`sim.trial.simulate_trial`).
    """

    def __init__(self, directory: Path, fingerprint: Mapping[str, Any]) -> None:
        self.directory = Path(directory)
        self.fingerprint = dict(fingerprint)

    @classmethod
    def open(cls, out: str | os.PathLike, fingerprint: Mapping[str, Any], resume: bool) -> Checkpoint:
        """The checkpoint of output directory ``out``, checked against ``fingerprint``.

        Parameters
        ----------
        out : path
            The run's output directory (its checkpoint folder is :func:`checkpoint_dir`).
        fingerprint : mapping
            JSON-able description of everything that determines the outputs.
        resume : bool
            Continue the recorded run. Without it, an existing checkpoint is refused (it holds the work of
            an interrupted run that ``--resume`` would continue), so nothing is thrown away silently.

        Raises
        ------
        CheckpointError
            A checkpoint exists and ``resume`` is False; or it was made by a different run (the message
            lists what changed); or it cannot be read.
        """
        directory = checkpoint_dir(out)
        record = {"format": FORMAT, **fingerprint}
        run_file = directory / "run.json"
        if directory.exists() and not directory.is_dir():
            raise CheckpointError(f"checkpoint path {directory} exists and is not a directory")
        if directory.is_dir() and run_file.exists():
            if not resume:
                raise CheckpointError(
                    f"an interrupted run left its finished work in {directory}: add --resume to continue "
                    f"it, or delete that folder to start again"
                )
            try:
                old = json.loads(run_file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CheckpointError(
                    f"cannot read checkpoint {run_file} ({exc}); delete {directory} to start again"
                ) from None
            changes = fingerprint_changes(old, json.loads(_dumps(record)))
            if changes:
                raise CheckpointError(
                    "cannot resume: the checkpoint was made by a different run; "
                    + "; ".join(changes[:10])
                    + (f" (and {len(changes) - 10} more)" if len(changes) > 10 else "")
                    + f". Run with the original inputs, or delete {directory} to start again"
                )
        else:
            try:
                directory.mkdir(exist_ok=True)
                _write_atomic(run_file, _dumps(record))
            except OSError as exc:
                raise CheckpointError(f"cannot create checkpoint folder {directory}: {exc}") from None
        return cls(directory, fingerprint)

    def stage(self, name: str) -> Stage:
        """The records of one part of the run (``"psa"``, ``"dsa"``, ``"replicates"``...)."""
        return Stage(self, name)

    def remove(self) -> None:
        """Delete the checkpoint folder (the outputs are complete)."""
        shutil.rmtree(self.directory, ignore_errors=True)


class Stage:
    """Finished units of one stage of a run, keyed by index and by the digest of the job they answer."""

    def __init__(self, checkpoint: Checkpoint, name: str) -> None:
        self.checkpoint = checkpoint
        self.name = name

    def _path(self, index: int) -> Path:
        return self.checkpoint.directory / f"{self.name}-{index:07d}.json"

    def load(self, index: int, job: Any) -> Any | None:
        """The recorded result of unit ``index`` if it answers ``job``, else None (to be computed)."""
        path = self._path(index)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None  # never written completely (cannot happen with atomic writes): recompute it
        if not isinstance(record, dict) or record.get("job") != job_digest(job):
            return None
        return record.get("result")

    def save(self, index: int, job: Any, result: Any) -> None:
        """Record the result of unit ``index`` (atomically)."""
        # keys in their order: a recorded row of a table rebuilds the same columns in the same order
        _write_atomic(self._path(index), _dumps({"job": job_digest(job), "result": result}, sort_keys=False))
