"""Checks and reshaping of the tidy tables that the decision-analysis functions take.

One place for the rules every PSA function applies to its input: the columns exist, costs and effects are
finite numbers, labels are not missing, and the table is balanced (every draw holds every strategy once), so
that each function can pivot it to draws x strategies matrices and stay vectorised.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = ["as_wtp_array", "finite_column", "no_missing_labels", "psa_matrices", "require_columns"]


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing required column(s) {missing}; has {list(frame.columns)}")
    if frame.empty:
        raise ValueError(f"{what} is empty: at least one row is required")


def finite_column(frame: pd.DataFrame, column: str, what: str) -> np.ndarray:
    """Return ``frame[column]`` as a float array, raising if it is non-numeric or non-finite."""
    try:
        values = pd.to_numeric(frame[column], errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}: column {column!r} must be numeric ({exc})") from exc
    bad = ~np.isfinite(values)
    if bad.any():
        rows = list(frame.index[bad][:5])
        raise ValueError(f"{what}: column {column!r} has non-finite values (NaN or inf) at rows {rows}")
    return values


def no_missing_labels(frame: pd.DataFrame, column: str, what: str) -> None:
    if frame[column].isna().any():
        raise ValueError(f"{what}: column {column!r} has missing values")


def as_wtp_array(wtp: float | Sequence[float] | np.ndarray) -> np.ndarray:
    values = np.atleast_1d(np.asarray(wtp, dtype=float))
    if values.ndim != 1:
        raise ValueError(f"wtp must be a scalar or a 1-D sequence, got shape {np.shape(wtp)}")
    if values.size == 0:
        raise ValueError("wtp must contain at least one value")
    if not np.all(np.isfinite(values)):
        raise ValueError("wtp values must be finite")
    return values


def psa_matrices(
    psa: pd.DataFrame, draw: str, strategy: str, cost: str, effect: str, what: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate a long PSA table and pivot it to draws x strategies cost and effect matrices.

    Returns ``(draw_labels, strategy_labels, costs, effects)``; labels are in first-appearance order.
    """
    require_columns(psa, [draw, strategy, cost, effect], what)
    no_missing_labels(psa, draw, what)
    no_missing_labels(psa, strategy, what)
    c = finite_column(psa, cost, what)
    e = finite_column(psa, effect, what)
    dup = psa.duplicated(subset=[draw, strategy])
    if dup.any():
        examples = psa.loc[dup, [draw, strategy]].head(5).to_records(index=False).tolist()
        raise ValueError(f"{what}: duplicate (draw, strategy) rows, e.g. {examples}")
    d_codes, d_labels = pd.factorize(psa[draw], sort=False)
    s_codes, s_labels = pd.factorize(psa[strategy], sort=False)
    n_d, n_s = len(d_labels), len(s_labels)
    if len(psa) != n_d * n_s:
        present = np.zeros((n_d, n_s), dtype=bool)
        present[d_codes, s_codes] = True
        missing_d, missing_s = np.nonzero(~present)
        examples = [(d_labels[i], s_labels[j]) for i, j in zip(missing_d[:5], missing_s[:5], strict=True)]
        raise ValueError(
            f"{what}: unbalanced PSA table: every draw must contain every strategy "
            f"({n_d} draws x {n_s} strategies expected {n_d * n_s} rows, got {len(psa)}); "
            f"missing (draw, strategy) e.g. {examples}"
        )
    costs = np.empty((n_d, n_s))
    effects = np.empty((n_d, n_s))
    costs[d_codes, s_codes] = c
    effects[d_codes, s_codes] = e
    return np.asarray(d_labels, dtype=object), np.asarray(s_labels, dtype=object), costs, effects
