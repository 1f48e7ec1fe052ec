"""The ``antimag`` command line: one module per command, each with ``add_parser(subparsers)`` and
``run(args) -> int``; :mod:`sim.cli.common` holds the shared options and the one error path.

Exit status: 0 on success, 2 on bad input (a scenario, an option, an output directory) with a one-paragraph
message and never a traceback, 1 if a simulation fails, 130 if interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from sim.cli.common import UsageError, bad_input_errors, executor_from_args, run_reporting_errors

__all__ = ["COMMANDS", "UsageError", "build_parser", "main"]

#: Command name → module of :mod:`sim.cli` that defines it, in the order ``antimag --help`` lists them.
COMMANDS = {
    "run": "run",
    "check": "check",
    "calibration": "calibration",
    "trial": "trial",
    "compare": "compare",
    "psa": "psa",
    "patient": "patient",
    "report": "report",
}


def _module(command: str):
    return importlib.import_module(f"sim.cli.{COMMANDS[command]}")


def _version() -> str:
    from sim import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    """The ``antimag`` parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="antimag", description="Simulate the course of anti-MAG neuropathy and compare strategies."
    )
    parser.add_argument("--version", action="version", version=f"antimag-sim {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        _module(command).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``antimag`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with status 2 and a usage message on bad options
    module = _module(args.command)
    return run_reporting_errors(f"antimag {args.command}", lambda: _run(module, args), bad_input_errors())


def _run(module, args: argparse.Namespace) -> int:
    """Run a command with ``args.executor`` set: the Dask client of ``--scheduler``/``--dask``, else None."""
    with executor_from_args(args) as executor:
        args.executor = executor
        return module.run(args)


if __name__ == "__main__":
    sys.exit(main())
