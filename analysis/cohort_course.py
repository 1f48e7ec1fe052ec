"""The cohort's course as tidy frames and figures, from one or more simulation results.

The one place that decides the grids and cuts of the cohort figures, so that ``antimag run`` and
the report draw the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure

from sim.run.runner import SimulationResult, horizon_of
from sim.run.trajectory import outcome_scales

from .cohort_figures import COHORT_MILESTONES, milestone_incidence_figure, mrs_occupancy_figure
from .occupancy import mrs_occupancy, occupancy_grid
from .survival import MIN_AT_RISK, incidence_curves

GRID_POINTS = 121


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
    scales = pd.concat([outcome_scales(r, grid) for r in items], ignore_index=True)
    occupancy = mrs_occupancy(scales, min_alive=min_at_risk)
    return CohortCourse(incidence, occupancy, float(grid[-1]), min_at_risk)
