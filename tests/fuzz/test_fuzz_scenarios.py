"""The standing fuzz run (issue 10, item 7): malformed scenarios never escape as anything but the package's
own error naming the file, and accepted ones simulate without crash or hang.

``pytest -m fuzz`` runs 10,000 cases (about ten minutes); the default suite runs a small fixed sample.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzzing import run_cases

FUZZ_CASES = 10_000


def test_a_sample_of_malformed_scenarios(tmp_path: Path) -> None:
    """80 fixed cases of every kind, the accepted ones simulated: zero failures."""
    tally = run_cases(80, tmp_path, seed=1, simulate_every=1, patients=2)
    print(tally.report())
    assert tally.rejected > 40 and tally.accepted > 0
    assert tally.n_failures == 0, "\n".join(tally.failures)


@pytest.mark.fuzz
def test_ten_thousand_malformed_scenarios(tmp_path: Path) -> None:
    """10,000 cases, every accepted one simulated briefly: zero exceptions, zero unnamed files, zero hangs."""
    tally = run_cases(FUZZ_CASES, tmp_path, seed=2024, simulate_every=1, patients=3)
    print(tally.report())
    assert tally.cases >= FUZZ_CASES
    assert tally.n_failures == 0, tally.report() + "\n" + "\n".join(tally.failures)
