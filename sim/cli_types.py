"""What the command-line modules share: checked number arguments and one way of reporting errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

EXIT_BAD_INPUT = 2


def positive_int(text: str) -> int:
    """An integer >= 1 (patients, workers, draws, replicates)."""
    value = non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """An integer >= 0 (seeds)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def run_reporting_errors(
    prog: str, action: Callable[[], int], bad_input: tuple[type[BaseException], ...]
) -> int:
    """Run a command: exit status 2 with a one-paragraph message on bad input, 1 if a simulation fails,
    130 if interrupted; never a traceback for any of these."""
    from .errors import SimulationError

    try:
        return action()
    except bad_input as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SimulationError as exc:
        print(f"{prog}: simulation failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; nothing was written", file=sys.stderr)
        return 130
