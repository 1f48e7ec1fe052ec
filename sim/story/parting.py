"""The same patient under several strategies: are they the same people, and where do their courses part?

Patient ``i`` of a seed is the same person in every strategy only when the natural history is the same:
the population, the progression, the milestone thresholds, the symptoms, the diagnostic journey, the
transformation and mortality, the follow-up and the life table. Treatments and strategy rules may differ:
that is what is compared. The parting point is the first logged event (time, event, detail, value) in which
two histories differ; before it they are identical, event for event.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pandas as pd

from sim.errors import ScenarioError
from sim.model.mortality import BUNDLED_TABLES
from sim.run.psa import as_scenario_list
from sim.scenario.loading import Scenario

#: Sections of a scenario that make up the patients themselves (and so must agree in a comparison).
NATURAL_HISTORY = (
    "population",
    "progression",
    "thresholds",
    "symptoms",
    "diagnosis",
    "malignancy",
    "mortality",
)
EVENT_KEY = ("time", "event", "detail", "value")


def _flatten(node: Any, prefix: str) -> dict[str, Any]:
    if isinstance(node, SimpleNamespace):
        node = vars(node)
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: node}


def natural_history(scenario: Scenario) -> dict[str, Any]:
    """The values that define the patients, by dotted path (parameters at their base-case value)."""
    values = scenario.values()
    flat: dict[str, Any] = {}
    for section in NATURAL_HISTORY:
        flat.update(_flatten(getattr(values, section), section))
    settings = scenario.model.settings
    flat["settings.horizon_years"] = settings.horizon_years
    table = settings.life_table
    if table not in BUNDLED_TABLES:  # a file: the same file however the scenarios name it
        table = str(scenario.resolve_path("settings.life_table", table).resolve())
    flat["settings.life_table"] = table
    return flat


def population_differences(reference: Scenario, other: Scenario) -> list[str]:
    """Fields of the natural history in which ``other`` differs from ``reference`` (``field: a vs b``)."""
    a, b = natural_history(reference), natural_history(other)
    return [f"{k} = {b.get(k)!r} (not {a.get(k)!r})" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def check_comparable(scenarios: Sequence[Scenario]) -> list[Scenario]:
    """The scenarios as a list of distinct strategies on one population, or :class:`sim.ScenarioError`.

    Distinct strategy names (and economics) are checked by :func:`sim.run.psa.as_scenario_list`; then each
    scenario's natural history is compared with the first's, field by field.
    """
    items = as_scenario_list(list(scenarios))
    for other in items[1:]:
        diffs = population_differences(items[0], other)
        if diffs:
            shown = "; ".join(diffs[:5]) + (f"; and {len(diffs) - 5} more" if len(diffs) > 5 else "")
            raise ScenarioError(
                "--compare needs strategies on one natural history (patient ids the same people), but this "
                f"file's differs from {items[0].path}: {shown}. Compare strategies that share one natural "
                "history (e.g. files that extend the same natural_history.toml and change only treatments "
                "and strategy rules)",
                other.path,
                diffs[0].split(" = ")[0],
            )
    return items


@dataclass(frozen=True)
class Parting:
    """Where the history under ``strategy`` first differs from the reference strategy's.

    ``index``: position of the first differing event in both logs (the shared events are ``0 .. index-1``);
    ``time``: when it happens (the earlier of the two differing events), years since the first symptom;
    ``reference_event`` / ``event``: what happens there in each (``None`` when one log has ended).
    """

    strategy: str
    index: int
    time: float
    reference_event: str | None
    event: str | None


def _same(a: tuple, b: tuple) -> bool:
    return all(x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
               for x, y in zip(a, b, strict=True))  # fmt: skip


def parting_point(reference: pd.DataFrame, other: pd.DataFrame, strategy: str) -> Parting | None:
    """The first event in which two event logs of one patient differ, or ``None`` if they are identical."""
    a = list(reference[list(EVENT_KEY)].itertuples(index=False, name=None))
    b = list(other[list(EVENT_KEY)].itertuples(index=False, name=None))
    for k in range(min(len(a), len(b))):
        if not _same(a[k], b[k]):
            return Parting(strategy, k, min(a[k][0], b[k][0]), _label(a[k]), _label(b[k]))
    if len(a) == len(b):
        return None
    k = min(len(a), len(b))
    longer = a if len(a) > len(b) else b
    return Parting(
        strategy,
        k,
        longer[k][0],
        _label(a[k]) if k < len(a) else None,
        _label(b[k]) if k < len(b) else None,
    )


def _label(row: tuple) -> str:
    _, event, detail, _ = row
    return f"{event} ({detail})" if detail else str(event)
