"""The health-economics commands of ``antimag``: ``compare`` and ``psa``.

Registered by :func:`add_commands` on the sub-parsers of :func:`sim.cli.build_parser`; the handlers are
:func:`cmd_compare` and :func:`cmd_psa` (:data:`COMMANDS`, to merge into ``sim.cli.COMMANDS``). They share
their options and outputs with ``python -m analysis.compare`` (see that module). Defining the options needs
nothing but :mod:`argparse`, so registering the commands costs no import of the analysis stack; the handlers
import it when they run. Bad input raises the errors that :func:`sim.cli.main` reports with exit status 2 and
no traceback (:class:`sim.ScenarioError`, :class:`sim.output.OutputDirError`, ``sim.cli.UsageError``).
"""

from __future__ import annotations

import argparse
import math

from .cli_types import non_negative_int, positive_int

__all__ = [
    "COMMANDS",
    "DEFAULT_WTP",
    "add_commands",
    "add_compare_arguments",
    "add_psa_arguments",
    "cmd_compare",
    "cmd_psa",
    "parse_wtp",
]

DEFAULT_WTP = "20000,30000"


# --------------------------------------------------------------------------------------------- options


def parse_wtp(text: str) -> list[float]:
    """``"20000,30000"`` → ``[20000.0, 30000.0]``: finite, non-negative willingness-to-pay values."""
    values = []
    for part in str(text).split(","):
        part = part.strip().replace("_", "")
        if not part:
            continue
        try:
            value = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated numbers such as 20000,30000, got {text!r}"
            ) from None
        if not math.isfinite(value) or value < 0:
            raise argparse.ArgumentTypeError(f"willingness to pay must be finite and >= 0, got {part}")
        values.append(value)
    if not values:
        raise argparse.ArgumentTypeError(f"expected at least one willingness-to-pay value, got {text!r}")
    return values


def _common(p: argparse.ArgumentParser, patients: int, out: str) -> None:
    p.add_argument(
        "--patients", type=positive_int, default=patients, help=f"patients per strategy (default {patients})"
    )
    p.add_argument("--seed", type=non_negative_int, default=1, help="root seed of every stream (default 1)")
    p.add_argument("--workers", type=positive_int, default=1, help="processes; results do not depend on it")
    p.add_argument(
        "--wtp",
        type=parse_wtp,
        default=parse_wtp(DEFAULT_WTP),
        help=f"willingness to pay per QALY, comma-separated (default {DEFAULT_WTP})",
    )
    p.add_argument("--out", default=out, help=f"output directory (default ./{out})")
    p.add_argument("--force", action="store_true", help="replace a non-empty output directory")


def add_compare_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``compare`` (shared by ``python -m analysis.compare`` and ``antimag compare``)."""
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="two or more strategy files (TOML)")
    _common(p, patients=2000, out="antimag-compare")
    p.add_argument(
        "--psa", type=non_negative_int, default=0, metavar="N", help="also run a PSA of N draws (default 0)"
    )
    p.add_argument(
        "--psa-patients",
        type=positive_int,
        default=None,
        metavar="N",
        help="patients per strategy and PSA draw (default: --patients)",
    )
    p.add_argument(
        "--shared-cohort",
        action="store_true",
        help="PSA: simulate the base-case patients in every draw, so only the parameters vary",
    )
    p.add_argument("--reference", default=None, help="comparator strategy name (default: the first scenario)")
    p.add_argument(
        "--dsa",
        type=non_negative_int,
        default=0,
        metavar="K",
        help="also a one-way sensitivity analysis (tornado) of the K most influential parameters, on the "
        "incremental NMB at the first WTP of the best strategy vs the reference (default 0: none)",
    )
    p.add_argument(
        "--interval",
        choices=("fieller", "bootstrap"),
        default="fieller",
        help="interval of each ICER (default fieller; bootstrap over patients with a fixed seed)",
    )


def add_psa_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``antimag psa``."""
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="one or more strategy files (TOML)")
    p.add_argument("--draws", type=positive_int, required=True, help="number of parameter draws")
    _common(p, patients=500, out="antimag-psa")
    p.add_argument(
        "--shared-cohort",
        action="store_true",
        help="simulate the same (base-case) patients in every draw, so only the parameters vary",
    )
    p.add_argument(
        "--reference", default=None, help="reference of the CE plane (default: the first scenario)"
    )


# --------------------------------------------------------------------------------------------- commands


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``compare`` and ``psa`` on ``antimag``'s sub-parsers."""
    compare = subparsers.add_parser(
        "compare",
        help="compare strategies on common random numbers: costs, QALYs, ICERs with intervals, NMB, PSA",
        description="Simulate each strategy on the same patients and write summary.csv, incremental.csv, "
        "icers.csv, nmb.csv, outcomes.png and metadata.json (with --psa N also psa.csv, ceac.csv, "
        "ceaf.csv, evpi.csv and the CE plane, CEAC and EVPI figures).",
    )
    add_compare_arguments(compare)
    psa = subparsers.add_parser(
        "psa",
        help="probabilistic sensitivity analysis of one or more strategies",
        description="Sample every uncertain parameter N times, simulate each strategy on shared patients "
        "per draw, and write psa.csv (and with two or more strategies ceac.csv, ceaf.csv, evpi.csv "
        "and figures) with metadata.json.",
    )
    add_psa_arguments(psa)


def _as_usage_error(exc: Exception) -> Exception:
    from .cli import UsageError

    return UsageError(str(exc))


def cmd_compare(args: argparse.Namespace) -> int:
    """``antimag compare A.toml B.toml ...``: see :mod:`analysis.compare`."""
    from analysis.compare import CompareInputError, run_compare
    from analysis.economics import ComparisonError

    try:
        return run_compare(args)
    except (ComparisonError, CompareInputError) as exc:
        raise _as_usage_error(exc) from None


def cmd_psa(args: argparse.Namespace) -> int:
    """``antimag psa SCENARIO [...] --draws N``: see :func:`sim.psa.run_psa`."""
    from analysis.compare import CompareInputError, run_psa_command
    from analysis.economics import ComparisonError

    try:
        return run_psa_command(args)
    except (ComparisonError, CompareInputError) as exc:
        raise _as_usage_error(exc) from None


#: Handlers by command name, to merge into ``sim.cli.COMMANDS``.
COMMANDS = {"compare": cmd_compare, "psa": cmd_psa}
