"""The compiled model (mypyc, ``sim.model.compiled``) gives exactly the interpreted model's results.

The installed package is run in child processes started outside the source tree, once as installed and
once with ``ANTIMAG_INTERPRETED=1`` (the Python source of the compiled modules). Where the installed
package is not compiled (an editable install, or no C compiler at install time) there is nothing to
compare and the comparison is skipped, saying so, unless ``ANTIMAG_REQUIRE_COMPILED`` is set, as
``.ci/run`` sets it: there a build that fell back to Python fails.
"""

from __future__ import annotations

import os
import pickle
import runpy
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.model.compiled import COMPILED_MODULES, INTERPRETED_VARIABLE

ROOT = Path(__file__).resolve().parents[2]
#: Set (by .ci/run) to fail, rather than skip, where the installed package is not compiled.
REQUIRE_COMPILED = "ANTIMAG_REQUIRE_COMPILED"

#: Every bundled strategy scenario with its event log and courses, a PSA of four arms and a bundled trial.
CHILD = """
import glob, os, pickle, sys
import sim
from sim.model.compiled import compiled_modules

out = {"compiled": compiled_modules(), "sim": sim.__file__}
folder = os.path.dirname(sim.default_scenario_path())
paths = sorted(glob.glob(os.path.join(folder, "*.toml")))
for path in paths:
    r = sim.simulate(sim.load_scenario(path), n_patients=400, seed=11, workers=1, keep_events=True)
    out[os.path.basename(path)] = (r.patients, r.events, r.paths, r.courses)
arms = [sim.load_scenario(os.path.join(folder, name)) for name in (
    "supportive_care.toml", "rituximab_at_diagnosis.toml", "ivig_maintenance.toml",
    "cyclophosphamide_rituximab.toml")]
out["psa"] = (sim.run_psa(arms, n_draws=3, n_patients=150, seed=5),)
trial = sim.simulate_trial(os.path.join(folder, "trials", "dalakas2009.toml"), replicates=4, seed=3)
out["trial"] = (trial.replicates, trial.summary, trial.baseline)
with open(sys.argv[1], "wb") as fh:
    pickle.dump(out, fh)
"""


def _run_installed(tmp_path: Path, name: str, interpreted: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", INTERPRETED_VARIABLE)}
    if interpreted:
        env[INTERPRETED_VARIABLE] = "1"
    out = tmp_path / f"{name}.pkl"
    # The child's working directory is outside the source tree, so it imports the installed package.
    subprocess.run([sys.executable, "-c", CHILD, str(out)], cwd=tmp_path, env=env, check=True, timeout=600)
    with open(out, "rb") as fh:
        return pickle.load(fh)


def test_the_compiled_model_gives_the_interpreted_results_exactly(tmp_path: Path) -> None:
    compiled = _run_installed(tmp_path, "compiled", interpreted=False)
    if not compiled["compiled"]:
        why = f"the installed package ({compiled['sim']}) is not compiled"
        if os.environ.get(REQUIRE_COMPILED, "") not in ("", "0"):  # CI: a build that fell back is a failure
            pytest.fail(f"{why}, and {REQUIRE_COMPILED} asks for it (see the install's output)")
        pytest.skip(f"{why}: nothing to compare")
    assert compiled["compiled"] == COMPILED_MODULES
    interpreted = _run_installed(tmp_path, "interpreted", interpreted=True)
    assert interpreted["compiled"] == ()
    assert compiled.keys() == interpreted.keys()
    assert len(compiled) > 10  # the scenarios, the PSA and the trial
    for key in compiled.keys() - {"compiled", "sim"}:
        for a, b in zip(compiled[key], interpreted[key], strict=True):
            if a is None and b is None:
                continue
            pd.testing.assert_frame_equal(a, b, check_exact=True, obj=key)


def test_the_interpreted_variable_runs_the_python_source(tmp_path: Path) -> None:
    env = {**os.environ, INTERPRETED_VARIABLE: "1"}
    code = (
        "import sim, sim.model.process as p; from sim.model.compiled import compiled_modules; "
        "print(compiled_modules(), p.__file__.endswith('.py'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["()", "True"]


def test_the_build_compiles_the_listed_modules_unless_told_not_to(monkeypatch: pytest.MonkeyPatch) -> None:
    """setup.py compiles the files of sim.model.compiled.COMPILED_MODULES; ANTIMAG_PURE_PYTHON=1 none."""
    build = runpy.run_path(str(ROOT / "setup.py"), run_name="setup_under_test")  # defines, builds nothing
    sources = build["compiled_sources"]()
    assert sources == [str(Path(*name.split(".")).with_suffix(".py")) for name in COMPILED_MODULES]
    assert all((ROOT / source).is_file() for source in sources)
    monkeypatch.setenv("ANTIMAG_PURE_PYTHON", "1")
    assert build["compiled_extensions"]() == []


def test_courses_pickle_as_installed(tmp_path: Path) -> None:
    """Results cross process boundaries (pools, Dask) as pickles: a course must pickle and unpickle, as the
    installed package builds it (compiled, where it is) and as the Python source does."""
    code = (
        "import pickle; from sim.model.compiled import compiled_modules; "
        "from sim.model.treatments import Course; "
        "c = Course('rituximab', 'rituximab', 1, 0.5, doses=[(0.5, 700.0)], end=1.0, responder=True); "
        "c.adverse_events.append((0.6, 'infusion reaction', False)); "
        "a = pickle.loads(pickle.dumps(c)); "
        "print(bool(compiled_modules()), (a.treatment, a.kind, a.number, a.start, a.doses, a.end, "
        "a.cost_per_year, a.repeat_years, a.responder, a.outcome, a.adverse_events))"
    )
    expected = (
        "('rituximab', 'rituximab', 1, 0.5, [(0.5, 700.0)], 1.0, 0.0, None, True, 'ongoing', "
        "[(0.6, 'infusion reaction', False)])"
    )
    for interpreted in (False, True):
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", INTERPRETED_VARIABLE)}
        if interpreted:
            env[INTERPRETED_VARIABLE] = "1"
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        compiled, fields = done.stdout.strip().split(" ", 1)
        assert fields == expected
        if interpreted:
            assert compiled == "False"
