"""The options that ``compare`` and ``psa`` share: willingness to pay, cohort sizes, outputs."""

from __future__ import annotations

import argparse
import math

from sim.cli.common import non_negative_int, positive_int, workers_option

DEFAULT_WTP = "20000,30000"


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
    workers_option(p)
    p.add_argument(
        "--wtp",
        type=parse_wtp,
        default=parse_wtp(DEFAULT_WTP),
        help=f"willingness to pay per QALY, comma-separated (default {DEFAULT_WTP})",
    )
    p.add_argument("--out", default=out, help=f"output directory (default ./{out})")
    p.add_argument("--force", action="store_true", help="replace a non-empty output directory")


def subgroups_type(text: str) -> list[str]:
    """``--subgroups sex,titre_band,age_band`` → the names, checked."""
    from analysis.subgroups import parse_subgroups

    try:
        return parse_subgroups(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_subgroups_argument(p: argparse.ArgumentParser) -> None:
    """``--subgroups``: results by subgroup level in subgroups.csv (``run``, ``compare``) and
    psa_subgroups.csv (``psa``, ``compare --psa``)."""
    p.add_argument(
        "--subgroups",
        type=subgroups_type,
        default=None,
        metavar="NAMES",
        help="also write subgroups.csv (run, compare: the base case) and, with a PSA, psa_subgroups.csv "
        "(over the draws: means, Monte Carlo errors, 2.5-97.5%% intervals): every summary (and with several "
        "strategies every increment, ICER and NMB) by level of sex, titre_band and/or age_band "
        "(comma-separated), on the same paired patients",
    )


def _psa_design(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cohort",
        choices=("shared", "per-draw"),
        default="shared",
        help="PSA design: 'shared' (default) simulates the same base-case patients in every draw, so "
        "patient noise cannot inflate the EVPI or blur the CEAC; 'per-draw' gives each draw new patients and "
        "corrects the decision results for their noise",
    )
    p.add_argument("--shared-cohort", action="store_true", help=argparse.SUPPRESS)  # the default now
    p.add_argument(
        "--precision",
        type=_positive_float,
        default=100.0,
        metavar="MONEY",
        help="target standard error of the mean incremental NMB per patient, for the advice on patients and "
        "draws in psa_variance.csv (default 100)",
    )
    p.add_argument(
        "--evppi",
        action="store_true",
        help="also the EVPPI of every parameter that varies and of each scenario section (evppi.csv, "
        "evppi.png), at the --wtp values",
    )


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


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
    _psa_design(p)
    add_subgroups_argument(p)
    p.add_argument(
        "--reference",
        default=None,
        help="the comparator of every incremental result (default: the first scenario)",
    )
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
    invariants_option(p)


def invariants_option(p: argparse.ArgumentParser) -> None:
    """``--check-invariants``: check the model's invariants on every PSA draw."""
    p.add_argument(
        "--check-invariants",
        action="store_true",
        help="check every simulated cohort of every PSA draw against the model's invariants (events in "
        "order and within follow-up, state counts, symptom order, QALYs within life-years, cost "
        "categories summing to totals; docs/invariants.md) and stop at the first broken one, naming the "
        "draw, strategy and patient (costs a few per cent of the run time)",
    )


def add_psa_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``antimag psa``."""
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="one or more strategy files (TOML)")
    p.add_argument("--draws", type=positive_int, required=True, help="number of parameter draws")
    _common(p, patients=500, out="antimag-psa")
    _psa_design(p)
    add_subgroups_argument(p)
    p.add_argument(
        "--reference",
        default=None,
        help="the comparator of every incremental result: CE plane, pairwise CEAC, ANOVA split (default: the "
        "first scenario)",
    )
    invariants_option(p)
