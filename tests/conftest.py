"""Shared fixtures: the bundled scenarios, one simulated cohort for the whole session, Hypothesis profiles.

Hypothesis runs under the ``antimag`` profile (deterministic, no deadline, 25 examples) to stay fast
and reproducible; ``HYPOTHESIS_PROFILE=thorough pytest`` runs 300 random examples per property.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import sim
from sim.scenario.loading import bundled_scenario_path

settings.register_profile(
    "antimag",
    deadline=None,
    max_examples=25,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "antimag"))

#: Seed of the shared cohort; fixed so that every run of the suite sees the same patients.
COHORT_SEED = 20240917
COHORT_SIZE = 1000


@pytest.fixture(scope="session")
def default_scenario() -> sim.Scenario:
    """The bundled default scenario (natural history, lifetime horizon)."""
    return sim.load_scenario(sim.default_scenario_path())


@pytest.fixture(scope="session")
def tiny_scenario() -> sim.Scenario:
    """The bundled test scenario: the default natural history over a 20-year horizon."""
    return sim.load_scenario(bundled_scenario_path("tests/tiny.toml"))


@pytest.fixture(scope="session")
def tiny_cohort(tiny_scenario: sim.Scenario) -> sim.SimulationResult:
    """1,000 patients of the tiny scenario with their event log, shared by the tests that only read it."""
    return sim.simulate(tiny_scenario, n_patients=COHORT_SIZE, seed=COHORT_SEED, keep_events=True)


@pytest.fixture(scope="session")
def antimag_exe() -> str:
    """The installed ``antimag`` console script of the interpreter running the tests."""
    candidate = Path(sys.executable).parent / "antimag"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("antimag")
    if found is None:
        pytest.fail("the antimag console script is not installed beside the test interpreter")
    return found
