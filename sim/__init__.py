"""antimag-sim: a discrete-event model of anti-MAG neuropathy.

Public interface (docs/model.md, DESIGN §3)::

    import sim
    scenario = sim.load_scenario("scenarios/natural_history.toml")
    result = sim.simulate(scenario, n_patients=2000, seed=1, workers=1, keep_events=False)
    result.patients, result.events, result.paths, result.metadata
    sim.outcome_scales(result, times=[0, 5, 10])
"""

from .errors import ScenarioError, SimulationError
from .psa import run_psa
from .runner import SimulationResult, simulate
from .scenario import Scenario, default_scenario_path, load_scenario, scenario_from_dict
from .trajectory import burden_at, outcome_scales
from .trial import TrialResult, load_trial, simulate_trial

__all__ = [
    "Scenario",
    "ScenarioError",
    "SimulationError",
    "SimulationResult",
    "TrialResult",
    "default_scenario_path",
    "load_scenario",
    "load_trial",
    "burden_at",
    "outcome_scales",
    "run_psa",
    "scenario_from_dict",
    "simulate",
    "simulate_trial",
]
