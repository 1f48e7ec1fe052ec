"""``antimag check FILE``: validate a scenario file without simulating."""

from __future__ import annotations

import argparse

from sim.cli.common import load_scenario_or_default, scenario_argument


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``check`` on ``antimag``'s sub-parsers."""
    p = subparsers.add_parser("check", help="validate a scenario file")
    scenario_argument(p, optional=False)
    return p


def run(args: argparse.Namespace) -> int:
    """``antimag check FILE``."""
    scenario = load_scenario_or_default(args.scenario)
    params = scenario.parameters()
    uncertain = sum(p.uncertain for p in params.values())
    print(
        f"{args.scenario}: valid scenario '{scenario.name}' (strategy '{scenario.strategy}'), "
        f"{len(params)} parameters, {uncertain} with a distribution; sha256 {scenario.sha256[:12]}"
    )
    return 0
