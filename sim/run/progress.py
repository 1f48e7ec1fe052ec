"""Progress of long work: a bar with the time left on a terminal, nothing at all in logs and pipes.

A bar drawn into a redirected stderr leaves carriage-return debris in log files, so the bar is shown only
when stderr is an interactive terminal, and only once the work has lasted a couple of seconds (short runs
stay silent).
"""

from __future__ import annotations

import sys

__all__ = ["progress_bar", "show_progress"]

BAR_FORMAT = "{l_bar}{bar}| {n_fmt}/{total_fmt} {unit} [{elapsed} elapsed, {remaining} left, {rate_fmt}]"


def show_progress(requested: bool) -> bool:
    """True if a bar was asked for and stderr is a terminal."""
    if not requested:
        return False
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def progress_bar(total: int, unit: str, requested: bool, delay: float = 2.0):
    """A ``tqdm`` bar of ``total`` ``unit`` (elapsed, rate and time left), disabled unless on a terminal."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total,
        unit=unit,
        delay=delay,
        leave=False,
        disable=not show_progress(requested),
        dynamic_ncols=True,
        bar_format=BAR_FORMAT,
    )
