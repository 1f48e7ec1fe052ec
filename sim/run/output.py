"""Atomic output directories and files: a run's files appear all at once or not at all.

Files are written into a hidden temporary directory beside the target, which is renamed into place only
when every file is complete. A killed run leaves at most that temporary directory, never a half-written
output; an existing non-empty directory is kept unless ``force`` is given, and even then it is replaced
only once the new one is complete.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


class OutputDirError(ValueError):
    """The output directory cannot be used (not empty, not writable, a file)."""


def check_output_dir(out: Path, force: bool) -> None:
    """Raise :class:`OutputDirError` before any work if ``out`` cannot receive the results."""
    if out.exists() and not out.is_dir():
        raise OutputDirError(f"output path {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputDirError(f"output directory {out} is not empty; use --force to replace its contents")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise OutputDirError(f"cannot create {out}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputDirError(f"cannot write in {parent} (permission denied)")


@contextlib.contextmanager
def atomic_output_dir(out: Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary directory; on success it replaces ``out`` atomically, on failure it is removed."""
    out = Path(out)
    check_output_dir(out, force)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.resolve().parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.chmod(tmp, 0o755)
    old = None
    if out.exists():
        if any(out.iterdir()):
            old = out.with_name(f".{out.name}.old.{os.getpid()}")
            out.rename(old)
        else:
            out.rmdir()
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def check_output_file(out: Path, force: bool) -> None:
    """Raise :class:`OutputDirError` before any work if the single file ``out`` cannot be written: it exists
    and ``force`` is not given, it is a directory, or its directory is missing or not writable."""
    out = Path(out)
    if out.is_dir():
        raise OutputDirError(
            f"output path {out} is a directory; give a file name such as {out / 'report.html'}"
        )
    if out.exists() and not force:
        raise OutputDirError(f"output file {out} exists; use --force to replace it")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise OutputDirError(f"cannot create {out}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputDirError(f"cannot write in {parent} (permission denied)")


def atomic_write_text(out: Path, text: str, force: bool = False) -> None:
    """Write ``text`` (UTF-8) to ``out`` atomically: into a hidden temporary file beside it, flushed to disk,
    then renamed over ``out``; a failure or a kill leaves ``out`` as it was."""
    out = Path(out)
    check_output_file(out, force)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.resolve().parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
