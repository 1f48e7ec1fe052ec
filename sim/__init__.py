"""antimag-sim: a discrete-event model of anti-MAG neuropathy.

Public interface (docs/model.md)::

    import sim
    scenario = sim.load_scenario("scenarios/natural_history.toml")
    result = sim.simulate(scenario, n_patients=2000, seed=1, workers=1, keep_events=False)
    result.patients, result.events, result.paths, result.metadata
    sim.outcome_scales(result, times=[0, 5, 10])
    sim.patient_story(scenario, patient_id=3, compare=[other])   # one patient, in plain words

The package is built in floors, each importing only the floors below it:
``sim.cli`` (the command line) → :mod:`analysis` → ``sim.trial`` (simulated trials) → ``sim.run`` (runners,
PSA, output) → ``sim.scenario`` (files, schema, parameters) → ``sim.model`` (the patient) →
``sim.errors`` and ``sim.random`` (the ground floor).
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from sim.errors import ScenarioError, SimulationError
from sim.run.psa import run_psa
from sim.run.runner import SimulationResult, simulate
from sim.run.trajectory import burden_at, outcome_scales
from sim.scenario.loading import Scenario, default_scenario_path, load_scenario, scenario_from_dict
from sim.story import PatientStory, patient_story
from sim.trial import TrialResult, load_trial, simulate_trial

try:
    __version__ = _version("antimag-sim")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "PatientStory",
    "Scenario",
    "ScenarioError",
    "SimulationError",
    "SimulationResult",
    "TrialResult",
    "__version__",
    "burden_at",
    "default_scenario_path",
    "load_scenario",
    "load_trial",
    "outcome_scales",
    "patient_story",
    "run_psa",
    "scenario_from_dict",
    "simulate",
    "simulate_trial",
]
