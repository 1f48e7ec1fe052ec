"""What the command-line modules share: checked arguments, the options of run commands, and one way of
reporting errors (exit status 2 on bad input, never a traceback)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad command-line input detected after parsing (reported with exit status 2)."""


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
    from sim.errors import SimulationError

    try:
        with sigterm_as_interrupt():
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


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Handle SIGTERM as SIGINT (KeyboardInterrupt): the same clean-up, the same exit status 130.

    ``kill`` and job schedulers send SIGTERM; without this a run so stopped would leave its temporary
    folder and its worker processes behind.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def scenario_argument(p: argparse.ArgumentParser, optional: bool) -> None:
    """The positional scenario file; optional ones default to the bundled natural history."""
    help_text = "scenario file (TOML)" + ("; default: the bundled natural_history.toml" if optional else "")
    p.add_argument("scenario", nargs="?" if optional else None, help=help_text)


def seed_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--seed", type=non_negative_int, default=1, help="root seed of every random stream (default 1)"
    )


def workers_option(p: argparse.ArgumentParser) -> None:
    """``--workers`` and the Dask options (``--scheduler``, ``--dask``) of every command that simulates."""
    p.add_argument("--workers", type=positive_int, default=1, help="processes; results do not depend on it")
    executor_options(p)


def cohort_options(p: argparse.ArgumentParser, patients: int) -> None:
    """``--patients``, ``--seed``, ``--workers`` and the Dask options of a command that simulates a cohort."""
    p.add_argument(
        "--patients", type=positive_int, default=patients, help=f"cohort size (default {patients})"
    )
    seed_option(p)
    workers_option(p)


def executor_options(p: argparse.ArgumentParser) -> None:
    """``--scheduler ADDRESS`` and ``--dask``: run the work on a Dask cluster instead of local processes."""
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on the Dask cluster of this scheduler (e.g. tcp://10.0.0.5:8786); results do not change",
    )
    g.add_argument(
        "--dask",
        action="store_true",
        help="start a local Dask cluster of --workers processes for the run (its dashboard shows progress)",
    )


@contextlib.contextmanager
def executor_from_args(args: argparse.Namespace) -> Iterator[object]:
    """The executor that ``--scheduler``/``--dask`` ask for (a ``dask.distributed.Client``), else None.

    Raises :class:`UsageError` if Dask is not installed or the scheduler cannot be reached.
    """
    address = getattr(args, "scheduler", None)
    local = getattr(args, "dask", False)
    if not address and not local:
        yield None
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UsageError(
            "--scheduler and --dask need Dask: pip install 'antimag-sim[dask]' (dask[distributed])"
        ) from None
    with contextlib.ExitStack() as stack:
        if address:
            try:
                client = stack.enter_context(Client(address, timeout="5s"))
            except (OSError, TimeoutError) as exc:
                raise UsageError(f"--scheduler {address}: cannot reach the Dask scheduler ({exc})") from None
        else:
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=getattr(args, "workers", 1),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            )
            client = stack.enter_context(Client(cluster))
        yield client


def output_options(p: argparse.ArgumentParser, default: str | None) -> None:
    """``--out DIR`` and ``--force``."""
    where = f"(default ./{default})" if default else "(default: none)"
    p.add_argument("--out", default=default, help=f"output directory {where}")
    p.add_argument("--force", action="store_true", help="replace a non-empty output directory")


def load_scenario_or_default(path: str | None):
    """The scenario at ``path``, or the bundled default when ``path`` is None."""
    from sim.scenario.loading import default_scenario_path, load_scenario

    return load_scenario(path if path else default_scenario_path())


def bad_input_errors() -> tuple[type[BaseException], ...]:
    """Every exception that means bad input (exit status 2)."""
    from analysis.economics import ComparisonError
    from sim.errors import ScenarioError
    from sim.run.checkpoint import CheckpointError
    from sim.run.output import OutputDirError

    return (ScenarioError, OutputDirError, UsageError, ComparisonError, CheckpointError)


def save_png(fig, path: Path) -> None:
    """Write a figure as PNG without a timestamp or software tag, so reruns give identical bytes."""
    fig.savefig(path, dpi=120, format="png", metadata={"Software": None})
