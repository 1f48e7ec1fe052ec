"""Every parameter of every shipped scenario cites a source that docs/references.md explains."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import sim
from sim.scenario.loading import bundled_scenario_path

ROOT = bundled_scenario_path("natural_history.toml").parent
REFERENCES = Path(__file__).resolve().parents[2] / "docs" / "references.md"
KEY = re.compile(r"^`?([a-z][a-z0-9_]*)")
SCENARIOS = [
    *sorted(ROOT.glob("*.toml")),
    *sorted((ROOT / "tests").glob("*.toml")),
    *sorted((ROOT / "trials" / "arms").glob("*.toml")),
]


def documented_keys() -> set[str]:
    text = REFERENCES.read_text(encoding="utf-8")
    return set(re.findall(r"^\| `([a-z][a-z0-9_]*)` \|", text, flags=re.MULTILINE))


@pytest.mark.skipif(not REFERENCES.exists(), reason="docs are not installed with the package")
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_parameter_cites_a_documented_source(path: Path) -> None:
    """The first word of each parameter's source is a key of docs/references.md (or a word it explains)."""
    keys = documented_keys() | {"not"}  # "not used ..." marks a parameter a treatment type ignores
    scenario = sim.load_scenario(path)
    missing = {}
    for name, param in scenario.parameters().items():
        match = KEY.match(param.source)
        if match is None or match.group(1) not in keys:
            missing[name] = param.source
    assert not missing, f"sources without a key in docs/references.md: {missing}"
