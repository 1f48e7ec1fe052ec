"""Atomic output directories and files: a run's files appear all at once or not at all, and nothing
else is lost.

Files are written into a hidden temporary directory beside the target, ``.<name>.<pid>.<random>.tmp``,
which is renamed into place only when every file is complete. A killed run leaves at most that temporary
directory, never a half-written output; the next run with the same target removes the temporary
directories of runs whose process no longer exists, and reports any it cannot attribute.

Everything that can make the output unusable is checked before any work (:func:`check_output_dir`): the
target is not the current directory or one that contains it, is a directory if it exists, is empty unless
``force`` is given, and its parent accepts a new directory (tried, not inferred from permission bits, so
``/proc/...`` or a read-only file system is found before the run). ``force`` replaces only a directory that
this tool wrote, recognised by its ``metadata.json``; any other non-empty directory is refused, naming the
files that would have been deleted.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

#: The file every command writes into its output directory; its ``versions`` name this package.
METADATA_FILE = "metadata.json"
_PACKAGE = "antimag-sim"
_SHOWN_FILES = 10
#: What a command writes when its metadata does not list its files: tables, figures, metadata.
_OUTPUT_SUFFIXES = (".csv", ".png", ".json")


class OutputDirError(ValueError):
    """The output directory cannot be used (not empty, not writable, a file, not this tool's)."""


def output_path(out: str | os.PathLike) -> Path:
    """``out`` as an absolute path with ``.`` and ``..`` resolved in the text (``X/..`` is X's parent)."""
    return Path(os.path.abspath(os.fspath(out)))


def check_output_dir(out: str | os.PathLike, force: bool) -> Path:
    """Raise :class:`OutputDirError` before any work if ``out`` cannot receive the results.

    Returns the normalised target (:func:`output_path`). Removes (and reports) temporary directories
    left beside it by runs that were killed.
    """
    target = output_path(out)
    shown = os.fspath(out)
    _refuse_enclosing(target, shown)
    try:
        exists = target.exists()
        is_dir = target.is_dir()
    except OSError as exc:
        raise OutputDirError(f"cannot use output path {shown}: {exc.strerror or exc}") from None
    if exists and not is_dir:
        raise OutputDirError(f"output path {shown} exists and is not a directory")
    if is_dir:
        entries = _entries(target, shown)
        if entries and not force:
            raise OutputDirError(
                f"output directory {shown} is not empty; use --force to replace it (only a directory "
                "written by antimag is replaced)"
            )
        if entries:
            _refuse_foreign(target, shown, entries)
    parent = target.parent
    if not parent.is_dir():
        raise OutputDirError(f"cannot create {shown}: directory {parent} does not exist")
    _try_writing_in(parent, shown)
    clean_stale_temporaries(target)
    return target


def is_tool_output(directory: Path) -> bool:
    """Whether ``directory`` was written by this tool: its ``metadata.json`` names the package version."""
    try:
        meta = json.loads((directory / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    versions = meta.get("versions") if isinstance(meta, dict) else None
    return isinstance(versions, dict) and _PACKAGE in versions


def _refuse_enclosing(target: Path, shown: str) -> None:
    """Never replace the current directory, one that contains it, or a file-system root."""
    try:
        here = Path.cwd().resolve()
        real = target.resolve()
    except OSError:
        return
    if real == Path(real.anchor):
        raise OutputDirError(f"--out {shown} is the root of the file system; name a new directory")
    if real == here or real in here.parents:
        raise OutputDirError(
            f"--out {shown} is the current directory or contains it, which cannot be replaced; "
            "name a new directory, e.g. --out results"
        )


def _entries(target: Path, shown: str) -> list[str]:
    try:
        return sorted(p.name for p in target.iterdir())
    except OSError as exc:
        raise OutputDirError(f"cannot read output directory {shown}: {exc.strerror or exc}") from None


def _refuse_foreign(target: Path, shown: str, entries: list[str]) -> None:
    """``--force`` only over a directory this tool wrote, and only over the files it lists."""
    if not is_tool_output(target):
        raise OutputDirError(
            f"--force replaces only an output directory written by antimag (with its {METADATA_FILE}); "
            f"{shown} is not one, and replacing it would delete: {_listing(entries)}"
        )
    try:
        listed = json.loads((target / METADATA_FILE).read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError):
        listed = None
    if isinstance(listed, list):
        extra = [name for name in entries if name not in listed]
    else:  # an older or smaller metadata without its list of files: only tables, figures and JSON
        extra = [n for n in entries if not (_is_file(target / n) and n.endswith(_OUTPUT_SUFFIXES))]
    if extra:
        raise OutputDirError(
            f"output directory {shown} holds files that antimag did not write; --force would delete: "
            f"{_listing(extra)}. Move them away first"
        )


def _is_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN_FILES])
    more = len(names) - _SHOWN_FILES
    return shown + (f" and {more} more" if more > 0 else "")


def _try_writing_in(parent: Path, shown: str) -> None:
    """Create and remove a directory in ``parent``: the only reliable test that the rename will work."""
    try:
        probe = tempfile.mkdtemp(prefix=".antimag-probe.", dir=parent)
    except OSError as exc:
        raise OutputDirError(
            f"cannot create {shown}: cannot write in {parent} ({exc.strerror or exc})"
        ) from None
    with contextlib.suppress(OSError):
        os.rmdir(probe)


_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.(?:[^.]+\.tmp|old)$")


def clean_stale_temporaries(target: Path) -> list[Path]:
    """Remove the temporary directories beside ``target`` left by killed runs; returns those removed.

    A temporary directory carries the process id of its run: it is removed only when that process no
    longer exists (a run still writing is left alone). One without a process id, from an older version,
    is reported and left for the user.
    """
    removed: list[Path] = []
    unknown: list[Path] = []
    try:
        candidates = [p for p in target.parent.glob(f".{glob_escape(target.name)}.*") if p.is_dir()]
    except OSError:
        return removed
    for path in candidates:
        match = _TEMPORARY.match(path.name)
        if match is None or match["name"] != target.name:
            if path.name.endswith(".tmp"):
                unknown.append(path)
            continue
        if _process_exists(int(match["pid"])):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    if removed:
        print(f"removed {len(removed)} temporary folder(s) of killed runs beside {target}", file=sys.stderr)
    if unknown:
        names = ", ".join(p.name for p in unknown)
        print(f"note: {names} beside {target}: temporary folder(s) of an earlier run", file=sys.stderr)
    return removed


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _process_exists(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


@contextlib.contextmanager
def atomic_output_dir(out: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a temporary directory; on success it replaces ``out`` atomically, on failure it is removed.

    ``out`` is checked (:func:`check_output_dir`) before the block runs, and checked again before it is
    replaced, in case another program wrote into it meanwhile.
    """
    target = check_output_dir(out, force)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        _replace(target, tmp, force, os.fspath(out))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _replace(target: Path, tmp: Path, force: bool, shown: str) -> None:
    os.chmod(tmp, 0o755)
    old = None
    if target.is_dir():
        entries = _entries(target, shown)
        if entries:
            if not force:
                raise OutputDirError(f"output directory {shown} was filled by another program during the run")
            _refuse_foreign(target, shown, entries)
            old = target.with_name(f".{target.name}.{os.getpid()}.old")
            target.rename(old)
        else:
            target.rmdir()
    tmp.rename(target)
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
