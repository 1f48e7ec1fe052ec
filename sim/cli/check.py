"""``antimag check FILE``: validate a scenario or trial file, and everything a run would read, without
simulating.

A scenario is checked with its ``extends`` chain, its life table and the cross-field rules of its base-case
values; a trial file (recognised by its ``arms`` table) with every arm's scenario and the trial's own rules.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.common import scenario_argument


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``check`` on ``antimag``'s sub-parsers."""
    p = subparsers.add_parser(
        "check",
        help="validate a scenario or trial file and the files it reads",
        description="Validate a scenario file (with its extends chain and life table) or a trial file "
        "(with the scenarios of its arms) without simulating.",
    )
    scenario_argument(p, optional=False)
    return p


def is_trial_file(data: dict) -> bool:
    """A trial file has an ``arms`` table and no ``settings`` (a scenario always has ``settings``)."""
    return isinstance(data.get("arms"), dict) and "settings" not in data


def run(args: argparse.Namespace) -> int:
    """``antimag check FILE``."""
    from sim.scenario.loading import read_toml

    path = Path(args.scenario)
    data = read_toml(path, "scenario or trial file")
    if is_trial_file(data):
        return _check_trial(path)
    return _check_scenario(path)


def _check_scenario(path: Path) -> int:
    from sim.run.runner import check_sampled_values, life_table_for
    from sim.scenario.loading import load_scenario

    scenario = load_scenario(path)
    table = life_table_for(scenario)  # run reads it: a bad table is found here, not after the run
    check_sampled_values(scenario.values(), scenario.path)
    params = scenario.parameters()
    uncertain = sum(p.uncertain for p in params.values())
    print(
        f"{path}: valid scenario '{scenario.name}' (strategy '{scenario.strategy}'), "
        f"{len(params)} parameters, {uncertain} with a distribution; life table {table.source}; "
        f"sha256 {scenario.sha256[:12]}"
    )
    return 0


def _check_trial(path: Path) -> int:
    from sim.run.runner import check_sampled_values, life_table_for
    from sim.trial import load_trial

    trial = load_trial(path)
    for scenario in trial.arms.values():
        life_table_for(scenario)
        check_sampled_values(scenario.values(), scenario.path)
    arms = ", ".join(f"{label} ({arm.patients} patients)" for label, arm in trial.model.arms.items())
    print(
        f"{path}: valid trial '{trial.name}', arms {arms}, control '{trial.control}', "
        f"{len(trial.model.endpoints)} endpoints; sha256 {trial.sha256[:12]}"
    )
    return 0
