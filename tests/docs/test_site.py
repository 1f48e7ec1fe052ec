"""The documentation site: it builds without a warning, and its parameter page is the scenario files'.

``mkdocs build --strict`` turns every warning (a broken link or anchor, a page missing from the navigation)
into a failure. The parameter page is rendered from the scenario files by ``docs/hooks/parameters.py``; the
committed copy (read on a code host, without the site) must equal a fresh rendering.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.parameter_table import describe_distribution

ROOT = Path(__file__).resolve().parents[2]


def _hook():
    spec = importlib.util.spec_from_file_location(
        "docs_parameters_hook", ROOT / "docs" / "hooks" / "parameters.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_parameter_page_equals_the_rendering_of_the_scenario_files():
    fresh = _hook().render(ROOT)
    committed = (ROOT / "docs" / "parameters.md").read_text(encoding="utf-8")
    assert committed == fresh, "docs/parameters.md is stale: run python docs/hooks/parameters.py"


def _block(page: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading."""
    start = page.index(heading + "\n")
    nxt = re.search(r"^#{2,3} ", page[start + len(heading) :], re.MULTILINE)
    return page[start : start + len(heading) + (nxt.start() if nxt else len(page))]


def test_parameter_page_lists_every_parameter_of_the_default_scenario_with_its_distribution(default_scenario):
    page = _hook().render(ROOT)
    for path, param in default_scenario.parameters().items():
        section, rest = path.split(".", 1)
        if section == "treatments":
            treatment, name = rest.split(".", 1)
            block = _block(page, f"### `{treatment}`")
        else:
            name = rest
            block = _block(page, next(h for h in page.splitlines() if h.endswith(f"(`[{section}]`)")))
        row = re.search(rf"^\| `{re.escape(name)}`[^\n]*", block, re.MULTILINE)
        assert row, path
        assert f"| {describe_distribution(param)} |" in row.group(0), (path, row.group(0))
    assert "| `p_male` | 0.782 | beta(104, 29) |" in page  # as written in the file


def test_parameter_page_follows_a_changed_scenario_value(tmp_path):
    """Rendered from the files, not copied: a changed value in a copy of the scenarios changes the page."""
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    default = tmp_path / "scenarios" / "natural_history.toml"
    text = default.read_text(encoding="utf-8")
    line = re.compile(r"^p_male = \{.*\}$", re.MULTILINE)
    assert line.search(text)
    new = 'p_male = { value = 0.75, dist = "beta", alpha = 75, beta = 25, source = "test" }'
    default.write_text(line.sub(new, text), encoding="utf-8")
    page = _hook().render(tmp_path)
    assert "| `p_male` | 0.75 | beta(75, 25) |" in page


def test_site_builds_strictly(tmp_path):
    for module, what in (("mkdocs", "MkDocs"), ("material", "the Material theme for MkDocs")):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{what} is not installed (it is in the test and docs extras)")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for page in ("parameters", "educators", "modellers", "invariants", "economics", "model"):
        assert (tmp_path / "site" / page / "index.html").exists(), page
    built = (tmp_path / "site" / "parameters" / "index.html").read_text(encoding="utf-8")
    assert "beta(104, 29)" in built
