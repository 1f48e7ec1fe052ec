"""The cohort's course as tidy frames and figures, from one or more simulation results.

The one place that decides the grids and cuts of the cohort figures, so that ``antimag run`` and
the report draw the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.run.runner import SimulationResult, horizon_of
from sim.run.trajectory import outcome_scales

from .cohort_figures import COHORT_MILESTONES, milestone_incidence_figure, mrs_occupancy_figure
from .occupancy import mrs_occupancy, occupancy_grid
from .survival import MIN_AT_RISK, incidence_curves

GRID_POINTS = 121

#: Patients whose scales are evaluated at once: the tidy scales frame has a row per patient and grid time
#: (20,000 patients x 121 times took about 700 MB at once), so the mRS counts are gathered chunk by chunk.
SCALES_CHUNK = 2000


@dataclass
class CohortCourse:
    """The tidy frames behind the cohort figures, and the time their axes end."""

    incidence: pd.DataFrame
    occupancy: pd.DataFrame
    end: float
    min_at_risk: int

    def incidence_figure(self) -> Figure:
        return milestone_incidence_figure(self.incidence, self.end, self.min_at_risk)

    def occupancy_figure(self) -> Figure:
        return mrs_occupancy_figure(self.occupancy, self.end, self.min_at_risk)


def cohort_course(
    results: SimulationResult | Sequence[SimulationResult], min_at_risk: int = MIN_AT_RISK
) -> CohortCourse:
    """Milestone incidence (:data:`analysis.cohort_figures.COHORT_MILESTONES`) and modified Rankin
    occupancy of each result, on one grid up to the horizon (a lifetime run: up to the last death)."""
    items = [results] if isinstance(results, SimulationResult) else list(results)
    if not items:
        raise ValueError("no simulation results given")
    horizon = horizon_of(items[0].values)
    patients = pd.concat([r.patients for r in items], ignore_index=True)
    grid = occupancy_grid(patients, horizon, GRID_POINTS)
    incidence = incidence_curves(patients, COHORT_MILESTONES, grid, horizon, min_at_risk)
    scales = pd.concat([_mrs_at(chunk, grid) for r in items for chunk in _chunks(r)], ignore_index=True)
    occupancy = mrs_occupancy(scales, min_alive=min_at_risk)
    return CohortCourse(incidence, occupancy, float(grid[-1]), min_at_risk)


def _chunks(result: SimulationResult) -> list[SimulationResult]:
    """``result`` cut into results of at most :data:`SCALES_CHUNK` patients (patients, paths and values
    only: what :func:`sim.outcome_scales` reads), in patient order."""
    ids = result.patients["patient_id"].to_numpy()
    if len(ids) <= SCALES_CHUNK:
        return [result]
    cuts = np.unique(ids)[::SCALES_CHUNK]
    out = []
    for low, high in zip(cuts, [*cuts[1:], np.inf], strict=True):
        patients = result.patients[
            (result.patients["patient_id"] >= low) & (result.patients["patient_id"] < high)
        ]
        paths = result.paths[(result.paths["patient_id"] >= low) & (result.paths["patient_id"] < high)]
        out.append(replace(result, patients=patients, paths=paths, events=None, courses=None))
    return out


def _mrs_at(result: SimulationResult, grid: np.ndarray) -> pd.DataFrame:
    """The columns of :func:`sim.outcome_scales` that :func:`analysis.occupancy.mrs_occupancy` reads."""
    scales = outcome_scales(result, grid)
    return scales[["strategy", "time", "mrs", "followed"]]
