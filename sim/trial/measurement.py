"""Reading the outcome scales of simulated patients at visits, with measurement error."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sim.model.scales import all_scales
from sim.run.runner import SimulationResult
from sim.trial.schema import MEASURED, SCALES, MeasurementError
from sim.trial.streams import STREAM_MEASURE, patient_draws, visit_key


class ScaleReader:
    """Reads the true scales of a single-strategy result at given (patient, time) pairs.

    Built once per result (the path and traits as arrays), then :meth:`at` is vectorised: the burden of
    each pair comes from the last path segment of that patient starting at or before the time, exactly as
    in :func:`sim.burden_at` (ties: the last segment recorded wins).
    """

    _TRAITS = (
        "arm_factor",
        "sensory_factor",
        "motor_factor",
        "tremor_burden",
        "ataxia_burden",
        "disabled_burden",
        "t_death",
    )

    def __init__(self, result: SimulationResult) -> None:
        paths = result.paths
        pid = paths["patient_id"].to_numpy(dtype=np.int64)
        t = paths["time"].to_numpy(dtype=float)
        order = np.lexsort((t, pid))  # stable: ties keep the order in which segments were recorded
        self.seg_pid = pid[order]
        self.seg_t = t[order]
        self.seg_b = paths["burden"].to_numpy(dtype=float)[order]
        self.seg_rate = paths["rate_per_year"].to_numpy(dtype=float)[order]
        pts = result.patients
        self.pids = pts["patient_id"].to_numpy(dtype=np.int64)
        self.row_order = np.argsort(self.pids, kind="stable")
        self.traits = {name: pts[name].to_numpy(dtype=float) for name in self._TRAITS}
        self.thresholds = result.values.thresholds

    def at(self, patient_ids: Sequence[int], times: Sequence[float]) -> dict[str, np.ndarray]:
        """``patient_id, time, burden, alive`` and every scale (dead: mRS 6, NaN elsewhere), input order."""
        ids = np.asarray(patient_ids, dtype=np.int64)
        t = np.asarray(times, dtype=float)
        if ids.shape != t.shape or ids.ndim != 1:
            raise ValueError(f"patient_ids and times must be 1-d of equal length ({ids.shape} vs {t.shape})")
        if t.size and (np.any(t < 0) or not np.all(np.isfinite(t))):
            raise ValueError("times must be finite and >= 0")
        n_seg = self.seg_pid.size
        all_pid = np.concatenate([self.seg_pid, ids])
        all_t = np.concatenate([self.seg_t, t])
        is_query = np.concatenate([np.zeros(n_seg, dtype=np.int8), np.ones(ids.size, dtype=np.int8)])
        order = np.lexsort((is_query, all_t, all_pid))  # by patient, time; segments before queries at ties
        seg_index = np.where(order < n_seg, order, -1)
        last = np.maximum.accumulate(seg_index)  # segments appear in increasing index along ``order``
        found = np.empty(ids.size, dtype=np.int64)
        q_pos = order >= n_seg
        found[order[q_pos] - n_seg] = last[q_pos]
        bad = (found < 0) | (self.seg_pid[np.maximum(found, 0)] != ids)
        if np.any(bad):
            raise ValueError(f"patient ids not in the result: {sorted(set(ids[bad].tolist()))[:5]}")
        burden = np.minimum(1.0, self.seg_b[found] + self.seg_rate[found] * (t - self.seg_t[found]))
        rows = self.row_order[np.searchsorted(self.pids, ids, sorter=self.row_order)]
        tr = {name: col[rows] for name, col in self.traits.items()}
        alive = ~(tr["t_death"] <= t)
        scales = all_scales(
            burden,
            self.thresholds,
            tr["arm_factor"],
            tr["sensory_factor"],
            tr["motor_factor"],
            tr["tremor_burden"],
            dead=~alive,
            ataxia_burden=tr["ataxia_burden"],
            disabled_burden=tr["disabled_burden"],
        )
        return {"patient_id": ids, "time": t, "burden": burden, "alive": alive, **scales}


def scales_at(result: SimulationResult, patient_ids: Sequence[int], times: Sequence[float]) -> pd.DataFrame:
    """True clinical scales of patient ``patient_ids[i]`` at time ``times[i]`` (years from onset).

    The pairwise counterpart of :func:`sim.outcome_scales` (which evaluates every patient at every time),
    for a single-strategy result. Columns: ``patient_id, time, burden, alive`` and the scales; the dead have
    mRS 6 and NaN on the other scales. Rows follow the input order.
    """
    return pd.DataFrame(ScaleReader(result).at(patient_ids, times))


def observe(
    true: Mapping[str, np.ndarray], errors: MeasurementError, seed: int, draw: int, months: float
) -> dict[str, np.ndarray]:
    """Observed scores at one visit: true + N(0, sd), rounded and clipped; NaN for the dead."""
    ids = np.asarray(true["patient_id"])
    z = patient_draws(seed, draw, (STREAM_MEASURE, visit_key(months)), ids, len(MEASURED), normal=True)
    alive = np.asarray(true["alive"], dtype=bool)
    out: dict[str, np.ndarray] = {}
    for row, name in enumerate(MEASURED):
        lo, hi, _ = SCALES[name]
        x = np.asarray(true[name], dtype=float) + errors.sd(name) * z[row]
        out[name] = np.where(alive, np.clip(np.rint(x), lo, hi), np.nan)
    out["incat_total"] = out["incat_arm"] + out["incat_leg"]
    out["onls_total"] = out["onls_arm"] + out["onls_leg"]
    out["alive"] = alive
    return out
