"""The examples for modellers run as written, and drawing scenarios stays cheap.

Two sets of examples: the one in the docstring of :mod:`sim.testing` (run by doctest), and every Python block
of the modellers' page (``docs/modellers.md``). They run in one fresh interpreter, because the suite's own
Hypothesis profile (``tests/conftest.py``) changes the defaults a reader gets. There they run with
Hypothesis's defaults (100 examples, every health check) except its two wall-clock checks, the 200 ms
deadline and the "generation is slow" health check: a test of this suite is never timed, and on a machine
busy with other jobs a single garbage collection can take a second. What made the examples fail those checks
(re-validating a scenario froze every parameter's scipy distribution again, a third of a second per draw)
is checked without a clock, by counting, in the last test. The interpreter starts in a folder holding the
repository's scenarios, as a reader would run the examples from a checkout.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings

from sim.scenario.parameters import frozen_distribution
from sim.testing import valid_scenarios

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "modellers.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)

RUNNER = """
import doctest, json, sys, traceback
from hypothesis import HealthCheck, settings
import sim.testing

settings.register_profile(
    "defaults-untimed", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.load_profile("defaults-untimed")
assert settings().max_examples == 100, settings()
failures = []
result = doctest.testmod(sim.testing, optionflags=doctest.ELLIPSIS, verbose=False)
if result.failed or not result.attempted:
    failures.append(f"sim.testing docstring: {result.failed} of {result.attempted} examples failed")
for number, code in enumerate(json.loads(sys.argv[1]), 1):
    try:
        exec(compile(code, f"docs/modellers.md example {number}", "exec"), {"__name__": "__main__"})
    except BaseException:
        failures.append(f"docs/modellers.md example {number}:\\n" + traceback.format_exc()[-2500:])
print("\\n\\n".join(failures))
sys.exit(1 if failures else 0)
"""


def _page_examples() -> list[str]:
    return BLOCK.findall(PAGE.read_text(encoding="utf-8"))


def test_the_modellers_page_has_examples():
    assert len(_page_examples()) >= 4


def test_documented_examples_pass_under_default_hypothesis_settings(tmp_path):
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios", target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_PROFILE"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(_page_examples())],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]


def test_drawing_scenarios_freezes_no_distribution_again(default_scenario):
    """Each drawn scenario is validated in full; only its few changed parameters are new to the cache."""
    strategy = valid_scenarios(max_changes=2)
    drawn = []

    @settings(max_examples=30, database=None)
    @given(strategy)
    def draw(scenario):
        drawn.append(scenario)

    before = frozen_distribution.cache_info().misses
    draw()
    misses = frozen_distribution.cache_info().misses - before
    assert len(drawn) >= 10
    assert misses <= 3 * len(drawn), f"{misses} distributions frozen for {len(drawn)} scenarios"
