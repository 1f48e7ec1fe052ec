"""The mutation catalogue (tests/mutations.py) stays applicable: a refactoring that moves the code a mutation
breaks must update the mutation, or the catalogue silently stops checking anything."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("mutations", ROOT / "tests" / "mutations.py")
mutations = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("mutations", mutations)  # dataclasses look their module up there
_spec.loader.exec_module(mutations)


@pytest.mark.parametrize("mutation", mutations.MUTATIONS, ids=lambda m: m.name)
def test_every_mutation_still_finds_its_code_exactly_once(mutation) -> None:
    text = (ROOT / mutation.file).read_text(encoding="utf-8")
    assert text.count(mutation.old) == 1, f"{mutation.name}: update the mutation's code in tests/mutations.py"
    assert mutation.new != mutation.old
    for test in mutation.tests:
        assert (ROOT / test).is_file(), test
