"""The code is ``ruff check`` and ``ruff format`` clean (ruff comes with the test extra): CI checks it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "command", [["check", "--quiet"], ["format", "--check", "--quiet"]], ids=["check", "format"]
)
def test_ruff_is_clean(command: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "."], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, f"ruff {' '.join(command)} found:\n{proc.stdout}{proc.stderr}"
