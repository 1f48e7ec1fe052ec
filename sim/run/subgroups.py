"""Subgroups of patients (sex, anti-MAG titre band, age band at onset) and their per-cohort summaries.

Here, below the analysis, because a PSA summarises each draw's cohort by subgroup where it is simulated
(in the worker), so that the per-patient tables never travel back. A subgroup is a trait a patient has
before anything happens to them, drawn on the patient's own streams: under common random numbers patient
``i`` is in the same level in every strategy, and every increment is a mean of paired differences within the
level.

Subgroup variables (:data:`SUBGROUPS`): ``sex`` and ``titre_band`` as in ``result.patients``; ``age_band``,
the age at the first symptom in the bands of :data:`AGE_BANDS` (years: under 55, 55–64, 65–74, 75 and
over).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.model.columns import COST_DISC, QALYS_DISC

__all__ = [
    "AGE_BANDS",
    "SUBGROUPS",
    "ordered_levels",
    "parse_subgroups",
    "subgroup_levels",
    "subgroup_summaries",
]

#: Lower limits (years) of the age-at-onset bands; the last band is open.
AGE_BANDS: tuple[float, ...] = (0.0, 55.0, 65.0, 75.0)
SUBGROUPS: tuple[str, ...] = ("sex", "titre_band", "age_band")


def _age_label(k: int) -> str:
    lo = AGE_BANDS[k]
    if k == 0:
        return f"<{AGE_BANDS[1]:.0f}"
    if k == len(AGE_BANDS) - 1:
        return f">={lo:.0f}"
    return f"{lo:.0f}-{AGE_BANDS[k + 1] - 1:.0f}"


def parse_subgroups(text: str) -> list[str]:
    """``"sex,age_band"`` → ``["sex", "age_band"]``; raises ``ValueError`` naming the allowed names."""
    names = [part.strip() for part in str(text).split(",") if part.strip()]
    bad = [n for n in names if n not in SUBGROUPS]
    if bad or not names:
        raise ValueError(f"unknown subgroup(s) {bad or [text]}; allowed: {', '.join(SUBGROUPS)}")
    return list(dict.fromkeys(names))


def subgroup_levels(patients: pd.DataFrame, name: str) -> pd.Series:
    """Each patient's level of subgroup ``name`` (a string Series aligned with ``patients``)."""
    if name == "age_band":
        age = patients["age_at_onset"].to_numpy(dtype=float)
        k = np.searchsorted(np.asarray(AGE_BANDS[1:]), age, side="right")
        return pd.Series([_age_label(int(i)) for i in k], index=patients.index, name=name)
    if name not in SUBGROUPS:
        raise ValueError(f"unknown subgroup {name!r}; allowed: {', '.join(SUBGROUPS)}")
    return patients[name].astype(str).rename(name)


def ordered_levels(levels: pd.Series) -> list[str]:
    """Levels in their natural order: age bands and titre bands by their lower limit, others by name."""

    def key(level: str) -> tuple[float, str]:
        digits = "".join(c if c.isdigit() or c == "." else " " for c in level).split()
        lower = float(digits[0]) if digits else math.inf
        return (-math.inf if level.startswith("<") else lower, level)

    return sorted(levels.unique(), key=key)


def _se(x: np.ndarray) -> float:
    return float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.nan


def _mean_cov(x: np.ndarray, y: np.ndarray) -> float:
    """Covariance of the means of two paired samples."""
    return float(np.cov(x, y, ddof=1)[0, 1] / x.size) if x.size > 1 else math.nan


def _cov(p: pd.DataFrame, mask: np.ndarray, a: str, b: str, measures: Sequence[str]) -> float:
    if a not in measures or b not in measures:
        return math.nan
    return _mean_cov(p[a].to_numpy(dtype=float)[mask], p[b].to_numpy(dtype=float)[mask])


def subgroup_summaries(
    patients: Sequence[pd.DataFrame], subgroups: Sequence[str], measures: Sequence[str]
) -> list[dict]:
    """Per subgroup level and strategy: the cohort's means of ``measures`` and their Monte Carlo errors.

    ``patients`` are the strategies' patient tables of one cohort (row ``i`` the same patient; the first is
    the comparator of the increments). Each record: ``subgroup``, ``level``, ``strategy`` (its index in
    ``patients``), ``n_patients``, for each measure ``m`` the mean ``m`` and its standard error ``m_se``,
    the paired standard error ``inc_m_se`` of the mean increment over the first strategy,
    ``cost_qalys_disc_cov`` and ``inc_cost_qalys_disc_cov``, the covariances of the mean discounted cost and
    QALYs and of their increments (what the Monte Carlo error of a net benefit needs at any willingness to
    pay).
    """
    first = patients[0]
    records: list[dict] = []
    for sub in subgroups:
        levels = subgroup_levels(first, sub)
        for j, p in enumerate(patients[1:], start=1):
            if not subgroup_levels(p, sub).equals(levels):
                raise ValueError(f"strategy {j} does not have the same patients as the first strategy")
        for level in ordered_levels(levels):
            mask = (levels == level).to_numpy()
            n = int(mask.sum())
            ref = {m: first[m].to_numpy(dtype=float)[mask] for m in measures}
            for j, p in enumerate(patients):
                row: dict = {"subgroup": sub, "level": level, "strategy": j, "n_patients": n}
                diffs = {}
                for m in measures:
                    x = p[m].to_numpy(dtype=float)[mask]
                    row[m] = float(x.mean()) if n else math.nan
                    row[f"{m}_se"] = _se(x)
                    diffs[m] = x - ref[m]
                    row[f"inc_{m}_se"] = _se(diffs[m])
                row["cost_qalys_disc_cov"] = _cov(p, mask, COST_DISC, QALYS_DISC, measures)
                row["inc_cost_qalys_disc_cov"] = (
                    _mean_cov(diffs[COST_DISC], diffs[QALYS_DISC])
                    if COST_DISC in diffs and QALYS_DISC in diffs
                    else math.nan
                )
                records.append(row)
    return records
