"""How a simulated study reads its outcome from observed scores (analysis.treatment_validation.outcome_hits):
known values, and svahn2018's categories as a partition."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.treatment_validation import outcome_hits

#: Five patients at entry score 3, observed at 6 and 12 months.
BASE = np.array([3, 3, 3, 3, 3])
AT_6 = np.array([2, 2, 3, 4, 4])
AT_12 = np.array([2, 3, 3, 3, 4])


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ("improved", [1, 1, 0, 0, 0]),
        ("stable", [0, 0, 1, 0, 0]),
        ("worse", [0, 0, 0, 1, 1]),
        ("improved_any", [1, 1, 0, 0, 0]),
        # unchanged at 12 and better at neither visit: the patient improved at 6 months is a response
        ("stable_not_improved", [0, 0, 1, 1, 0]),
        # worse at 6, back to the entry score (or better) at 12
        ("worse_transient", [0, 0, 0, 1, 0]),
        ("worse_later", [0, 1, 0, 0, 0]),
    ],
)
def test_known_outcomes(outcome: str, expected: list[int]) -> None:
    assert outcome_hits(outcome, BASE, [AT_6, AT_12]).astype(int).tolist() == expected


def test_unknown_outcome_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown outcome"):
        outcome_hits("better", BASE, [AT_6])


scores = st.lists(st.tuples(*(st.integers(0, 10),) * 3), min_size=1, max_size=30)


@given(scores)
def test_svahn2018_response_and_stabilisation_exclude_each_other(rows) -> None:
    """Response (better at 6 and/or 12 months), stabilisation (unchanged at 12, not a response) and the
    rest (worse at 12, not better at 6) split every patient into exactly one category."""
    base, at_6, at_12 = (np.array(c) for c in zip(*rows, strict=True))
    response = outcome_hits("improved_any", base, [at_6, at_12])
    stable = outcome_hits("stable_not_improved", base, [at_6, at_12])
    rest = (at_12 >= base + 1) & ~(at_6 <= base - 1)
    assert (response.astype(int) + stable.astype(int) + rest.astype(int) == 1).all()
