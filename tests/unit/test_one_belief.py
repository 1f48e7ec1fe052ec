"""One belief: every shipped scenario's point value is the mean of its PSA distribution, so the deterministic
run and the PSA describe the same uncertainty; and one-way ranges follow one convention."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from analysis.dsa import parameter_range
from sim.scenario.parameters import frozen_distribution

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
#: Point values are written to four significant figures, e.g. 0.3152 for a Beta(29, 63) mean of 0.31522.
RELATIVE_TOLERANCE = 5e-4


def _shipped() -> list[Path]:
    files = []
    for path in sorted(SCENARIOS.rglob("*.toml")):
        try:
            sim.load_scenario(path)
        except sim.ScenarioError:
            continue  # a trial file, not a scenario (checked by the trial tests)
        files.append(path)
    return files


FILES = _shipped()


def test_the_shipped_scenarios_are_found():
    assert any(p.name == "natural_history.toml" for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SCENARIOS)))
def test_point_values_are_their_distributions_means(path: Path):
    scenario = sim.load_scenario(path)
    off = []
    for name, param in scenario.parameters().items():
        dist = frozen_distribution(param)
        if dist is None:
            continue
        mean = float(dist.mean())
        if abs(mean - param.value) > RELATIVE_TOLERANCE * max(abs(param.value), 1e-12):
            off.append(f"{name}: value {param.value:g}, {param.dist} mean {mean:.6g}")
    assert not off, "\n".join(off)


@pytest.mark.parametrize("path", FILES[:1], ids=lambda p: p.name)
def test_one_way_ranges_are_central_95_percent_intervals_for_every_distribution(path: Path):
    scenario = sim.load_scenario(path)
    kinds = set()
    for param in scenario.uncertain_parameters().values():
        dist = frozen_distribution(param)
        lo, hi = parameter_range(param)
        assert (lo, hi) == pytest.approx(tuple(dist.ppf([0.025, 0.975])), rel=1e-12)
        assert lo < param.value < hi
        kinds.add(param.dist)
    assert {"beta", "gamma", "uniform"} <= kinds
