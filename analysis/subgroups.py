"""Results by subgroup of patients: sex, anti-MAG titre band, age band at onset.

A subgroup is a trait a patient has before anything happens to them, drawn on the patient's own streams, so
under common random numbers patient ``i`` is in the same subgroup in every strategy: every increment is a
mean of paired per-patient differences *within* the subgroup, with its paired standard error, exactly as for
the whole cohort (:mod:`analysis.economics`).

Subgroup variables (:data:`SUBGROUPS`): ``sex`` and ``titre_band`` as in ``result.patients``; ``age_band``,
the age at the first symptom in the bands of :data:`AGE_BANDS` (years: under 55, 55–64, 65–74, 75 and
over).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .cea import paired_difference
from .economics import COST, EFFECT, MEASURES, _ratio_and_note

__all__ = ["AGE_BANDS", "SUBGROUPS", "parse_subgroups", "subgroup_levels", "subgroup_table"]

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


def _ordered(levels: pd.Series) -> list[str]:
    """Levels in their natural order: age bands and titre bands by their lower limit, others by name."""

    def key(level: str) -> tuple[float, str]:
        digits = "".join(c if c.isdigit() or c == "." else " " for c in level).split()
        lower = float(digits[0]) if digits else math.inf
        return (-math.inf if level.startswith("<") else lower, level)

    return sorted(levels.unique(), key=key)


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    if x.size == 0:
        return (math.nan, math.nan)
    se = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else math.nan
    return (float(x.mean()), se)


def subgroup_table(
    patients_by_strategy: dict[str, pd.DataFrame],
    subgroups: Sequence[str],
    reference: str | None = None,
    wtp: Sequence[float] = (),
) -> pd.DataFrame:
    """Every summary, increment, ICER and net monetary benefit by subgroup level.

    Parameters
    ----------
    patients_by_strategy : dict of str to pandas.DataFrame
        Each strategy's ``result.patients``, row ``i`` the same patient in every strategy (common random
        numbers; checked on the subgroup columns).
    subgroups : sequence of str
        Names from :data:`SUBGROUPS`.
    reference : str, optional
        Comparator of the increments (default: the first strategy); ignored with one strategy.
    wtp : sequence of float
        Willingness to pay per QALY for the NMB rows.

    Returns
    -------
    pandas.DataFrame
        Long and tidy: ``subgroup``, ``level``, ``strategy``, ``comparator`` (for increments), ``quantity``,
        ``wtp`` (NMB rows), ``n_patients``, ``mean``, ``se`` (Monte Carlo standard error, paired for
        increments), ``low``/``high`` (95% Fieller interval of an ICER), ``note`` (of an ICER, as in
        :func:`analysis.economics.incremental_table`: dominant, dominated, ...). Quantities: each economic
        measure of the patients table present (``cost_disc``, ``qalys_disc``, ..., and the undiscounted
        ``cost_undisc``, ``qalys_undisc``, ...); with a comparator
        ``inc_<measure>``, ``icer`` (discounted cost per discounted QALY) and, per WTP, ``nmb`` and
        ``inc_nmb``.
    """
    if not patients_by_strategy:
        raise ValueError("subgroup_table(): no strategies")
    names = list(patients_by_strategy)
    ref = names[0] if reference is None else reference
    if ref not in names:
        raise ValueError(f"subgroup_table(): reference {ref!r} is not among {names}")
    first = patients_by_strategy[names[0]]
    measures = [m for m in MEASURES if m in first.columns]
    rows: list[dict] = []
    for sub in subgroups:
        levels = subgroup_levels(first, sub)
        for name in names[1:]:
            if not subgroup_levels(patients_by_strategy[name], sub).equals(levels):
                raise ValueError(
                    f"subgroup_table(): '{name}' does not have the same patients as '{names[0]}'"
                )
        for level in _ordered(levels):
            mask = (levels == level).to_numpy()
            base = {"subgroup": sub, "level": level, "n_patients": int(mask.sum())}
            ref_p = patients_by_strategy[ref][mask]
            for name in names:
                p = patients_by_strategy[name][mask]
                for m in measures:
                    mean, se = _mean_se(p[m].to_numpy(dtype=float))
                    rows.append(base | {"strategy": name, "quantity": m, "mean": mean, "se": se})
                for w in wtp if EFFECT in measures else ():
                    nmb = w * p[EFFECT].to_numpy(dtype=float) - p[COST].to_numpy(dtype=float)
                    mean, se = _mean_se(nmb)
                    rows.append(
                        base | {"strategy": name, "quantity": "nmb", "wtp": float(w), "mean": mean, "se": se}
                    )
                if name == ref or len(names) < 2 or mask.sum() < 2:
                    continue
                vs = base | {"strategy": name, "comparator": ref}
                for m in measures:
                    mean, se = paired_difference(p[m].to_numpy(dtype=float), ref_p[m].to_numpy(dtype=float))
                    rows.append(vs | {"quantity": f"inc_{m}", "mean": mean, "se": se})
                if EFFECT not in measures:
                    continue
                dc = p[COST].to_numpy(dtype=float) - ref_p[COST].to_numpy(dtype=float)
                de = p[EFFECT].to_numpy(dtype=float) - ref_p[EFFECT].to_numpy(dtype=float)
                ratio = _ratio_and_note(dc, de, "fieller", 0.95, 0, 0)  # the cohort's rules and notes
                rows.append(
                    vs
                    | {"quantity": "icer", "mean": ratio["icer"], "low": ratio["icer_low"]}
                    | {"high": ratio["icer_high"], "note": ratio["note"]}
                )
                for w in wtp:
                    mean, se = _mean_se(w * de - dc)
                    rows.append(vs | {"quantity": "inc_nmb", "wtp": float(w), "mean": mean, "se": se})
    columns = ["subgroup", "level", "strategy", "comparator", "quantity", "wtp", "n_patients", "mean", "se"]
    columns += ["low", "high", "note"]
    out = pd.DataFrame(rows)
    for c in columns:
        if c not in out.columns:
            out[c] = np.nan
    for c in ("comparator", "note"):
        out[c] = out[c].astype(object).where(out[c].notna(), "")
    return out[columns]
