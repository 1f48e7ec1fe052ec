"""Eligibility at entry: the observed scores, being alive and diagnosed, the titre band and milestones."""

from __future__ import annotations

import numpy as np

from sim.run.runner import SimulationResult
from sim.scenario.loading import Scenario
from sim.scenario.treatment_schema import TITRE_ORDER
from sim.trial.loading import Trial, arm_rules
from sim.trial.measurement import ScaleReader, observe
from sim.trial.schema import MILESTONE_COLUMN, SCALES
from sim.trial.streams import STREAM_ENTRY, patient_draws

#: The screening doubles until enough candidates are eligible, up to this many per patient needed.
MAX_SCREENED_PER_PATIENT = 256


def eligible_entry(trial: Trial, nh: SimulationResult, seed: int, draw: int) -> tuple[np.ndarray, np.ndarray]:
    """Entry time of every candidate (NaN if none possible) and whether each is eligible at entry."""
    crit = trial.model.entry
    pts = nh.patients
    n = len(pts)
    ids = pts["patient_id"].to_numpy()
    lo = np.full(n, crit.duration_years.min)
    hi = crit.duration_years.max
    if crit.diagnosed is not None and crit.diagnosed.value:
        lo = np.maximum(lo, pts["t_diagnosis"].to_numpy())  # NaN (never diagnosed) stays NaN
    u = patient_draws(seed, draw, (STREAM_ENTRY,), ids, 1, normal=False)[0]
    entry = np.where(lo < hi, lo + u * (hi - lo), np.nan)
    ok = np.isfinite(entry)
    ok &= ~(pts["t_death"].to_numpy() <= entry)
    if crit.min_titre is not None:
        band = pts["titre_band"].map(TITRE_ORDER.index).to_numpy()
        ok &= band >= TITRE_ORDER.index(crit.min_titre.value)
    if crit.no_malignancy is not None and crit.no_malignancy.value:
        ok &= ~(pts["t_malignancy"].to_numpy() <= entry)
    if crit.any_milestone is not None:
        reached = np.zeros(n, dtype=bool)
        for name in crit.any_milestone.any_of:
            reached |= pts[MILESTONE_COLUMN[name]].to_numpy() <= entry
        ok &= reached
    candidates = np.flatnonzero(ok)
    if candidates.size:
        true = ScaleReader(nh).at(ids[candidates], entry[candidates])
        obs = observe(true, trial.model.measurement_error, seed, draw, 0.0)
        keep = obs["alive"].copy()
        for name in SCALES:
            rng = getattr(crit, name)
            if rng is None:
                continue
            x = obs[name]
            if rng.min is not None:
                keep &= x >= rng.min
            if rng.max is not None:
                keep &= x <= rng.max
        ok[candidates[~keep]] = False
    return entry, ok


def has_entry_rules(scenario: Scenario) -> bool:
    return any(r.on == "entry" for r in arm_rules(scenario).values())
