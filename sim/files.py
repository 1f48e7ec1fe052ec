"""Reading the files a scenario names (its parents, a trial's arms, a life table) with bounded work.

A scenario can name any path; a device (``/dev/zero``), a pipe or a huge file named by mistake would be read
until memory runs out. Every such file must therefore be a regular file of at most :data:`MAX_FILE_BYTES`
bytes, checked before reading, and no more than that many bytes are ever read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: Largest file a scenario may read: a scenario or a life table is a few tens of kilobytes.
MAX_FILE_BYTES = 1024 * 1024


class UnreadableFile(Exception):
    """A named file cannot be used; ``reason`` says why in words that complete "the file ..."."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_regular_file(path: str | Path, what: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes.

    Raises :class:`UnreadableFile` (does not exist, a directory, a device or pipe, too large, unreadable,
    an impossible name) before reading anything it would refuse.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise UnreadableFile("does not exist (file not found)") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot be read: {exc.strerror or exc}") from None
    except ValueError as exc:  # e.g. an embedded NUL character
        raise UnreadableFile(f"is not a usable file name ({exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise UnreadableFile(f"is a directory, not a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise UnreadableFile(f"is not a regular file (a device, pipe or socket), not a {what}")
    if info.st_size > limit:
        raise UnreadableFile(f"has {info.st_size:,} bytes; a {what} may have at most {limit:,}")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(limit + 1)
    except OSError as exc:
        raise UnreadableFile(f"cannot be read: {exc.strerror or exc}") from None
    if len(raw) > limit:  # it grew after the check
        raise UnreadableFile(f"has more than {limit:,} bytes; a {what} may have at most {limit:,}")
    return raw
