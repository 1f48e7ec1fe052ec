"""The list of invariants (``docs/invariants.md``) names every catalogue item and only tests that exist.

Each item is a heading ``### <letter><number>. <title>``; under it, the tests that check it as pytest nodes
in backticks (``tests/...py::function`` or ``::Class::method``), or the words "No test yet". A test renamed
or removed without updating the page fails here, and so does an item dropped from the list.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "invariants.md"

#: The verification catalogue: section letter and item numbers.
CATALOGUE = {"A": range(1, 10), "B": range(10, 18), "C": range(18, 24), "D": range(24, 27)}
CATALOGUE |= {"E": range(27, 30), "F": range(30, 34)}
EXPECTED = [f"{letter}{n}" for letter, numbers in CATALOGUE.items() for n in numbers]

HEADING = re.compile(r"^### ([A-F])(\d+)\. \S", re.MULTILINE)
NODE = re.compile(r"`(tests/[\w/]+\.py)::([\w:]+)`")


def _items() -> dict[str, str]:
    text = PAGE.read_text(encoding="utf-8")
    marks = list(HEADING.finditer(text))
    items = {}
    for mark, nxt in zip(marks, [*marks[1:], None], strict=True):
        end = nxt.start() if nxt else len(text)
        body = text[mark.end() : end].split("\n## ", 1)[0]
        items[mark.group(1) + mark.group(2)] = body
    return items


@cache
def _definitions(path: str) -> set[str]:
    """Names a test file defines: top-level functions and classes (and assignments), ``Class::method``."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            names |= {
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            }
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def test_every_catalogue_item_is_listed_once_in_order():
    found = [m.group(1) + m.group(2) for m in HEADING.finditer(PAGE.read_text(encoding="utf-8"))]
    assert found == EXPECTED


def test_every_item_names_a_test_or_says_it_has_none():
    for item, body in _items().items():
        assert NODE.search(body) or "No test yet" in body, f"{item}: no test named and no 'No test yet'"


def test_every_named_test_exists():
    missing = []
    for item, body in _items().items():
        for path, name in NODE.findall(body):
            if not (ROOT / path).is_file() or name not in _definitions(path):
                missing.append(f"{item}: {path}::{name}")
    assert not missing, "tests named in docs/invariants.md that do not exist:\n" + "\n".join(missing)


def test_the_check_of_names_can_fail():
    """The control: a misspelt test name, or a file that does not exist, is not found."""
    assert "test_a1_event_logs_run_forward_and_stop_at_death_or_horizon" in _definitions(
        "tests/property/test_model_properties.py"
    )
    assert "test_a1_event_logs_run_backwards" not in _definitions("tests/property/test_model_properties.py")
    assert "PatientMachine::history_in_time_order_and_nothing_after_death" in _definitions(
        "tests/property/test_treatment_stateful.py"
    )
