"""A simulated patient's state at any time: burden from the recorded path, and the clinical scales."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.model.scales import all_scales
from sim.run.runner import SimulationResult, horizon_of


def burden_at(result: SimulationResult, times: Sequence[float]) -> pd.DataFrame:
    """Burden of every patient at each time: ``strategy, patient_id, time, burden, alive, followed``.

    The burden is linear between recorded changes of rate (``result.paths``), capped at 1. ``alive`` is
    False from death on; ``followed`` is False from the horizon on (the burden is still reported there).
    """
    times = np.asarray(sorted(set(float(t) for t in times)), dtype=float)
    if times.size == 0 or np.any(times < 0) or not np.all(np.isfinite(times)):
        raise ValueError(f"times must be finite and >= 0, got {list(times)}")
    pts = result.patients[["strategy", "patient_id", "t_death"]]
    query = pts.loc[pts.index.repeat(len(times))].reset_index(drop=True)
    query["time"] = np.tile(times, len(pts))
    query = query.sort_values("time", kind="stable")
    paths = result.paths.rename(columns={"time": "t_segment"}).sort_values("t_segment", kind="stable")
    paths["time"] = paths["t_segment"]
    merged = pd.merge_asof(query, paths, on="time", by=["strategy", "patient_id"], direction="backward")
    burden = np.minimum(
        1.0, merged["burden"] + merged["rate_per_year"] * (merged["time"] - merged["t_segment"])
    )
    out = merged[["strategy", "patient_id", "time"]].copy()
    out["burden"] = burden.to_numpy()
    out["alive"] = ~(merged["t_death"].to_numpy() <= merged["time"].to_numpy())
    out["followed"] = merged["time"].to_numpy() < horizon_of(result.values)
    return out.sort_values(["strategy", "patient_id", "time"], kind="stable").reset_index(drop=True)


def outcome_scales(result: SimulationResult, times: Sequence[float]) -> pd.DataFrame:
    """Clinical scales of every patient at each time (years from onset), as a tidy frame.

    Columns: ``strategy, patient_id, time, burden, alive, followed, incat_arm, incat_leg, incat_total,
    incat_sensory, mrc_sum, mrs, onls_arm, onls_leg, onls_total``. The dead have mRS 6 and NaN on the other
    scales. How each scale derives from the burden: :mod:`sim.model.scales` and docs/model.md.
    """
    frame = burden_at(result, times)
    traits = result.patients.set_index(["strategy", "patient_id"])[
        ["arm_factor", "sensory_factor", "motor_factor", "tremor_burden", "ataxia_burden", "disabled_burden"]
    ]
    joined = frame.join(traits, on=["strategy", "patient_id"])
    scales = all_scales(
        joined["burden"].to_numpy(),
        result.values.thresholds,
        joined["arm_factor"].to_numpy(),
        joined["sensory_factor"].to_numpy(),
        joined["motor_factor"].to_numpy(),
        joined["tremor_burden"].to_numpy(),
        dead=~joined["alive"].to_numpy(),
        ataxia_burden=joined["ataxia_burden"].to_numpy(),
        disabled_burden=joined["disabled_burden"].to_numpy(),
    )
    for name, col in scales.items():
        frame[name] = col
    return frame
