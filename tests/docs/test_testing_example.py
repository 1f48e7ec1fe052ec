"""The example in the docstring of :mod:`sim.testing` runs as written, under Hypothesis's default settings.

The test suite's own Hypothesis profile (``tests/conftest.py``) disables the deadline and the health checks,
so the example is run in a fresh interpreter, where Hypothesis uses its defaults: 100 examples, a 200 ms
deadline, every health check. A strategy that draws too slowly (it once took a third of a second per scenario)
fails here as it would for a user.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import doctest, sys
import hypothesis
import sim.testing
assert hypothesis.settings().max_examples == 100 and hypothesis.settings().deadline is not None
result = doctest.testmod(sim.testing, verbose=False, optionflags=doctest.ELLIPSIS)
print(f"attempted={result.attempted} failed={result.failed}")
sys.exit(1 if result.failed or not result.attempted else 0)
"""


def test_documented_example_of_sim_testing_passes_under_default_hypothesis_settings(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_PROFILE"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "failed=0" in done.stdout
