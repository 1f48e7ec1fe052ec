"""Hypothesis strategies for modellers and testers: valid scenarios, and malformed ones with their defect.

Import this module explicitly (``import sim.testing``); it needs the ``test`` extra (Hypothesis) and is never
imported by :mod:`sim` itself.

* :func:`valid_scenarios` perturbs a few natural-history parameter values of a base scenario (the bundled
  default unless given) inside the domain of each field and keeps every cross-field rule of the schema
  (increasing thresholds, ``age_onset_min < age_onset_mean < age_onset_max``, ``p_titre_low + p_titre_high
  <= 1``, ``faster_phase_multiplier >= 1``, a lifetime horizon only with background mortality, ...). A
  perturbed parameter is replaced as a whole table, ``{ value = x, source = "hypothesis" }`` (a fixed
  value), so that its PSA distribution stays consistent by construction. The horizon varies too.
* :func:`malformed_scenario_dicts` builds a scenario dictionary with exactly one defect (a wrong type, a
  missing key, an unknown key, an out-of-range value, an invalid distribution) together with the dotted field
  path that the :class:`sim.ScenarioError` must name and fragments its message must quote.
* :func:`scenario_to_toml` writes a scenario dictionary as TOML text, to test files and the command line.

Examples
--------
>>> from hypothesis import given
>>> import sim
>>> from sim.testing import valid_scenarios
>>> @given(valid_scenarios(max_changes=2))
... def test_disability_never_precedes_weakness(scenario):
...     patients = sim.simulate(scenario, n_patients=20, seed=1).patients
...     both = patients[["t_weakness", "t_disabled"]].dropna()
...     assert (both["t_weakness"] <= both["t_disabled"]).all()
>>> test_disability_never_precedes_weakness()  # 100 generated scenarios, Hypothesis's default settings
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from hypothesis import strategies as st
from pydantic import BaseModel

from sim.errors import ScenarioError
from sim.scenario.loading import Scenario, bundled_scenario_path, default_scenario_path, load_scenario
from sim.scenario.parameters import Kind, Param

__all__ = [
    "DEFECTS",
    "NATURAL_HISTORY_SECTIONS",
    "MalformedScenario",
    "horizon_years",
    "malformed_scenario_dicts",
    "parameter_kind",
    "perturbable_parameters",
    "scenario_to_toml",
    "treated_scenarios",
    "valid_scenarios",
]

SOURCE = "hypothesis"
#: Sections of the natural history: what :func:`valid_scenarios` perturbs unless told otherwise.
NATURAL_HISTORY_SECTIONS = (
    "population",
    "progression",
    "thresholds",
    "symptoms",
    "diagnosis",
    "malignancy",
    "mortality",
)
THRESHOLD_SECTION = "thresholds"
DEFECTS = ("wrong_type", "missing_key", "unknown_key", "out_of_range", "bad_distribution")


@functools.lru_cache(maxsize=1)
def _default_scenario() -> Scenario:
    return load_scenario(default_scenario_path())


def _threshold_order() -> tuple[str, ...]:
    try:
        from sim.model.milestones import THRESHOLD_ORDER
    except ImportError:  # pragma: no cover - the schema always defines it today
        return ()
    return tuple(THRESHOLD_ORDER)


# --------------------------------------------------------------------------- introspection


def _container_and_name(scenario: Scenario, path: str) -> tuple[Any, str] | None:
    """The model instance holding the field ``path`` and the field's name (``None`` if not found)."""
    node: Any = scenario.model
    parts = path.split(".")
    for part in parts[:-1]:
        if isinstance(node, BaseModel):
            node = getattr(node, part, None)
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    if not isinstance(node, BaseModel):
        return None
    return node, parts[-1]


def parameter_kind(scenario: Scenario, path: str) -> Kind | None:
    """The domain (:class:`~sim.scenario.parameters.Kind`) of the parameter at ``path``, if it declares one.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario containing the parameter.
    path : str
        Dotted path, e.g. ``"population.p_male"``.

    Returns
    -------
    Kind or None
        The field's kind (probability, positive quantity, ...), read from the schema annotation.
    """
    found = _container_and_name(scenario, path)
    if found is None:
        return None
    container, name = found
    info = type(container).model_fields.get(name)
    if info is None:
        return None
    for meta in info.metadata:
        func = getattr(meta, "func", None)
        if isinstance(func, Kind):
            return func
    return None


def perturbable_parameters(
    scenario: Scenario | None = None, sections: Sequence[str] | None = NATURAL_HISTORY_SECTIONS
) -> list[str]:
    """Dotted paths of the parameters that :func:`valid_scenarios` may change (those with a known kind).

    Parameters
    ----------
    scenario : Scenario, optional
        Default: the bundled default scenario.
    sections : sequence of str or None
        Only parameters under these top-level sections; default the natural history
        (:data:`NATURAL_HISTORY_SECTIONS`); ``None`` for every section (treatments, economics, ...).
    """
    scenario = scenario or _default_scenario()
    return [
        path
        for path in scenario.parameters()
        if (sections is None or path.split(".", 1)[0] in sections)
        and parameter_kind(scenario, path) is not None
    ]


# --------------------------------------------------------------------------- valid scenarios


def horizon_years(
    min_years: float = 0.5, max_years: float = 40.0, lifetime: bool = True
) -> st.SearchStrategy:
    """Values of ``settings.horizon_years``: a finite number of years, or ``"lifetime"``.

    Parameters
    ----------
    min_years, max_years : float
        Range of the finite horizons (years from onset; both > 0).
    lifetime : bool
        Whether ``"lifetime"`` may be drawn.
    """
    finite = st.floats(min_value=min_years, max_value=max_years, allow_nan=False, allow_infinity=False)
    return st.one_of(finite, st.just("lifetime")) if lifetime else finite


def _log_uniform(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(math.log(low), math.log(high)).map(lambda x: min(max(math.exp(x), low), high))


def _between(low: float, high: float, exclude_low: bool, exclude_high: bool) -> st.SearchStrategy[float]:
    return st.floats(
        min_value=low,
        max_value=high,
        exclude_min=exclude_low,
        exclude_max=exclude_high,
        allow_nan=False,
        allow_infinity=False,
    )


def _value_strategy(
    path: str, kind: Kind, base_value: float, current: Mapping[str, float], lifetime: bool, spread: float
) -> st.SearchStrategy[float] | None:
    """Values of one parameter that keep its own domain and every cross-field rule, given the others."""
    section, _, name = path.rpartition(".")
    order = _threshold_order()

    if section == THRESHOLD_SECTION and name in order:
        k = order.index(name)
        below = (
            current.get("progression.burden_at_onset", 0.0)
            if k == 0
            else current[f"{section}.{order[k - 1]}"]
        )
        above = current[f"{section}.{order[k + 1]}"] if k + 1 < len(order) else 1.0
        if not below < above:
            return None
        return _between(below, above, True, k + 1 < len(order))
    if path == "progression.burden_at_onset" and order:
        first = current.get(f"{THRESHOLD_SECTION}.{order[0]}")
        return _between(0.0, first, False, True) if first is not None and first > 0 else None
    if path == "population.age_onset_min":
        return _between(kind.low, current["population.age_onset_mean"], False, True)
    if path == "population.age_onset_max":
        return _between(current["population.age_onset_mean"], kind.high, True, False)
    if path == "population.age_onset_mean":
        return _between(current["population.age_onset_min"], current["population.age_onset_max"], True, True)
    if path in ("population.p_titre_low", "population.p_titre_high"):
        other = "population.p_titre_high" if path.endswith("low") else "population.p_titre_low"
        room = 1.0 - current[other]

        def fit(x: float, other_value: float = current[other]) -> float:
            while x + other_value > 1.0 and x > 0.0:
                x = math.nextafter(x, 0.0)
            return x

        return _between(0.0, max(room, 0.0), False, False).map(fit)
    if path == "progression.faster_phase_multiplier":
        return _log_uniform(1.0, max(base_value, 1.0) * spread)
    if path == "mortality.background_rate_multiplier":
        positive = _log_uniform(1.0 / spread, spread)
        return positive if lifetime else st.one_of(positive, st.just(0.0))

    if kind.name == "probability" or (kind.low == 0.0 and kind.high == 1.0):
        return _between(0.0, 1.0, kind.low_open, kind.high_open)
    if math.isinf(kind.high) and kind.low == 0.0:  # positive or non-negative quantity
        scale = abs(base_value) if base_value > 0 else 1.0
        around = _log_uniform(scale / spread, scale * spread)
        return around if kind.low_open else st.one_of(around, st.just(0.0))
    if math.isfinite(kind.low) and math.isfinite(kind.high):
        return _between(kind.low, kind.high, kind.low_open, kind.high_open)
    width = spread * max(abs(base_value), 1.0)
    return _between(base_value - width, base_value + width, False, False)


def valid_scenarios(
    base: Scenario | None = None,
    max_changes: int = 3,
    paths: Sequence[str] | None = None,
    horizons: st.SearchStrategy | None = None,
    spread: float = 4.0,
) -> st.SearchStrategy[Scenario]:
    """Valid scenarios: a base scenario with up to ``max_changes`` parameters and the horizon perturbed.

    Parameters
    ----------
    base : Scenario, optional
        The scenario to perturb; default the bundled default (natural history).
    max_changes : int
        At most this many parameters are changed (possibly none).
    paths : sequence of str, optional
        Dotted paths that may be changed; default :func:`perturbable_parameters` of ``base`` (the natural
        history sections).
    horizons : SearchStrategy, optional
        Values of ``settings.horizon_years``; default :func:`horizon_years`. ``st.none()`` keeps the base's.
    spread : float
        Positive quantities are drawn log-uniformly within a factor ``spread`` of their base value (their
        domain is unbounded; this keeps simulations meaningful); probabilities over all of [0, 1].

    Returns
    -------
    SearchStrategy of Scenario
        Validated scenarios. A perturbed parameter is a fixed value with ``source = "hypothesis"``. The base
        is loaded when the strategy is built, so that drawing stays fast (Hypothesis's health checks time
        the draws).
    """
    # The base is loaded and inspected once, when the strategy is built, not inside the first draw: loading
    # and validating a scenario is far slower than drawing from it, and Hypothesis times its draws.
    base = base or _default_scenario()
    params = base.parameters()
    allowed = list(paths) if paths is not None else perturbable_parameters(base)
    unknown = sorted(set(allowed) - set(params))
    if unknown:
        raise ValueError(f"not parameters of {base.path}: {unknown}")
    kinds = {path: parameter_kind(base, path) for path in allowed}
    return _perturbed_scenarios(base, params, kinds, max_changes, horizons, spread)


@st.composite
def _perturbed_scenarios(
    draw: st.DrawFn,
    base: Scenario,
    params: Mapping[str, Param],
    kinds: Mapping[str, Kind | None],
    max_changes: int,
    horizons: st.SearchStrategy | None,
    spread: float,
) -> Scenario:
    allowed = list(kinds)
    horizon = draw(horizons if horizons is not None else horizon_years())
    updates: dict[str, Any] = {}
    if horizon is not None:
        updates["settings.horizon_years"] = horizon
    lifetime = (horizon if horizon is not None else base.model.settings.horizon_years) == "lifetime"
    current = {path: p.value for path, p in params.items()}
    chosen = (
        draw(st.lists(st.sampled_from(sorted(allowed)), max_size=max_changes, unique=True)) if allowed else []
    )
    for path in chosen:
        kind = kinds[path]
        if kind is None:
            continue
        values = _value_strategy(path, kind, params[path].value, current, lifetime, spread)
        if values is None:
            continue
        x = float(draw(values))
        current[path] = x
        updates[path] = {"value": x, "source": SOURCE}
    try:
        return base.with_updates(updates)
    except ScenarioError:
        # A rule this module does not know about: keep the changes that validate one at a time.
        scenario = base
        for path, new in updates.items():
            try:
                scenario = scenario.with_updates({path: new})
            except ScenarioError:
                continue
        return scenario


#: Shipped strategies that give disease-modifying treatments (with adverse events that can kill).
TREATED_STRATEGIES = (
    "rituximab_at_diagnosis",
    "rituximab_at_threshold",
    "ivig_maintenance",
    "plasma_exchange",
    "cyclophosphamide_rituximab",
    "current_practice",
)


@functools.cache
def _shipped(name: str) -> Scenario:
    return load_scenario(bundled_scenario_path(f"{name}.toml"))


def _given_treatments(scenario: Scenario) -> list[str]:
    return sorted({rule.give for rule in scenario.model.strategy.rules.values()})


@st.composite
def treated_scenarios(
    draw: st.DrawFn,
    names: Sequence[str] = TREATED_STRATEGIES,
    max_changes: int = 3,
    horizons: st.SearchStrategy | None = None,
    lethal: bool | None = None,
) -> Scenario:
    """Valid scenarios of the shipped treatment strategies, their treatments' parameters perturbed too.

    :func:`valid_scenarios` perturbs the natural history of the default scenario, where no treatment is
    given, so properties over it never meet a course, a relapse or a death from a treatment. These do:
    a shipped strategy is drawn, then up to ``max_changes`` parameters among the natural history and the
    treatments the strategy gives; with ``lethal`` (drawn when None) one given treatment's severe adverse
    events and the deaths they cause become likely (probabilities in [0.5, 1]).

    Parameters
    ----------
    names : sequence of str
        Shipped strategies to draw from (file names in ``scenarios/`` without ``.toml``).
    max_changes : int
        At most this many parameters are perturbed besides the lethal ones.
    horizons : SearchStrategy, optional
        As for :func:`valid_scenarios`.
    lethal : bool, optional
        Make a treatment's severe adverse events and their deaths likely; drawn when None.
    """
    base = _shipped(draw(st.sampled_from(list(names))))
    given = _given_treatments(base)
    treatment_paths = [
        path
        for path in perturbable_parameters(base, sections=None)
        if path.startswith("treatments.") and path.split(".")[1] in given
    ]
    lethal = draw(st.booleans()) if lethal is None else lethal
    if lethal and given:
        target = draw(st.sampled_from(given))
        updates = {}
        for path in treatment_paths:
            name = path.split(".")[-1]
            if path.split(".")[1] == target and name.startswith(("p_death", "p_severe")):
                updates[path] = {"value": draw(st.floats(0.5, 1.0)), "source": SOURCE}
        if updates:
            base = base.with_updates(updates)
    paths = perturbable_parameters(base) + treatment_paths
    return draw(valid_scenarios(base=base, max_changes=max_changes, paths=paths, horizons=horizons))


# --------------------------------------------------------------------------- malformed scenarios


class MalformedScenario(NamedTuple):
    """A scenario dictionary with one defect.

    Attributes
    ----------
    data : dict
        The scenario as a TOML file would parse.
    field : str
        The dotted field path the :class:`sim.ScenarioError` must name (``""`` for the top level).
    defect : str
        One of :data:`DEFECTS`.
    expect : tuple of str
        Fragments the error message must contain (e.g. the offending key, the value and the allowed range).
    """

    data: dict[str, Any]
    field: str
    defect: str
    expect: tuple[str, ...]


def _model_nodes(data: dict, inst: BaseModel, prefix: tuple[str, ...] = ()) -> Iterator[tuple]:
    """``(path parts, data node, model instance)`` of every model reached through model attributes only."""
    yield prefix, data, inst
    for name in type(inst).model_fields:
        sub, val = data.get(name), getattr(inst, name)
        if isinstance(val, BaseModel) and isinstance(sub, dict):
            yield from _model_nodes(sub, val, (*prefix, name))


def _node(data: dict, parts: Sequence[str]) -> dict:
    for part in parts:
        data = data[part]
    return data


def _dotted(parts: Sequence[str]) -> str:
    return ".".join(parts)


def _typos(key: str) -> list[str]:
    out = {key[:i] + key[i + 1 :] for i in range(len(key))}  # a letter dropped
    out |= {key[:i] + key[i + 1] + key[i] + key[i + 2 :] for i in range(len(key) - 1)}  # two swapped
    out |= {key[:i] + key[i] + key[i:] for i in range(len(key))}  # a letter doubled
    return sorted(k for k in out if k and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k))


def _targets(base: Scenario) -> dict[str, list]:
    data = base.data
    nodes = [(parts, inst) for parts, _, inst in _model_nodes(data, base.model)]
    sections = [parts for parts, inst in nodes if parts and not isinstance(inst, Param)]
    params = [parts for parts, inst in nodes if isinstance(inst, Param)]
    strings = [
        (*parts, name)
        for parts, inst in nodes
        if not isinstance(inst, Param)
        for name in type(inst).model_fields
        if isinstance(getattr(inst, name), str) and name in _node(data, parts) and name != "horizon_years"
    ]
    required = [
        (*parts, name)
        for parts, inst in nodes
        for name, info in type(inst).model_fields.items()
        if info.is_required() and name in _node(data, parts) and name != "type"
    ]
    kinds = {parts: parameter_kind(base, _dotted(parts)) for parts in params}
    return {
        "nodes": [parts for parts, _ in nodes],
        "sections": sections,
        "params": params,
        "strings": strings,
        "required": required,
        "kinds": kinds,
        "allowed": {parts: list(type(inst).model_fields) for parts, inst in nodes},
    }


_NOT_A_NUMBER = st.sampled_from(["abc", "", "0.5", "1e-3", True, False, [1, 2], {"x": 1}])
_NOT_A_STRING = st.sampled_from([5, 2.5, [1, 2], {"x": 1}, True])
_NOT_A_TABLE = st.sampled_from([5, 0.5, "abc", [1, 2], True])


def _wrong_type(draw: st.DrawFn, data: dict, t: dict) -> MalformedScenario:
    kinds = ["section", "param", "param_value", "param_source", "param_dist", "string", "horizon"]
    where = draw(st.sampled_from(kinds))
    if where == "horizon" and isinstance(data.get("settings"), dict) and "horizon_years" in data["settings"]:
        parts = ("settings", "horizon_years")
        bad = draw(st.sampled_from(["forever", "Lifetime", "20", True, [20], {"years": 20}]))
    elif where == "section" and t["sections"]:
        parts = draw(st.sampled_from(t["sections"]))
        bad = draw(_NOT_A_TABLE)
    elif where == "string" and t["strings"]:
        parts = draw(st.sampled_from(t["strings"]))
        bad = draw(_NOT_A_STRING)
    else:
        param = draw(st.sampled_from(t["params"]))
        if where == "param":
            parts, bad = param, draw(_NOT_A_TABLE)
        elif where == "param_source":
            parts, bad = (*param, "source"), draw(_NOT_A_STRING)
        elif where == "param_dist":
            parts, bad = (*param, "dist"), draw(st.sampled_from([5, [1], {"x": 1}, True]))
        else:
            parts, bad = (*param, "value"), draw(_NOT_A_NUMBER)
        if parts[-1] in ("source", "dist") and parts[-1] not in _node(data, param):
            _node(data, param)[parts[-1]] = "fixed" if parts[-1] == "dist" else SOURCE
    _node(data, parts[:-1])[parts[-1]] = bad
    return MalformedScenario(data, _dotted(parts), "wrong_type", ())


def _missing_key(draw: st.DrawFn, data: dict, t: dict) -> MalformedScenario:
    parts = draw(st.sampled_from(t["required"]))
    del _node(data, parts[:-1])[parts[-1]]
    return MalformedScenario(data, _dotted(parts), "missing_key", ("required",))


def _unknown_key(draw: st.DrawFn, data: dict, t: dict) -> MalformedScenario:
    parts = draw(st.sampled_from(t["nodes"]))
    allowed = set(t["allowed"][parts])
    node = _node(data, parts)
    existing = [k for k in node if isinstance(k, str)]
    misspelt = [k for name in existing for k in _typos(name) if k not in allowed and k not in node]
    generic = ["discout_rate", "horizon", "notes", "sigma_age", "p_female"]
    choices = sorted(set(misspelt)) + [k for k in generic if k not in allowed and k not in node]
    key = draw(st.sampled_from(choices))
    node[key] = draw(st.sampled_from([0.03, 1, "x", True]))
    return MalformedScenario(data, _dotted((*parts, key)), "unknown_key", (repr(key), "allowed keys"))


def _out_of_range(draw: st.DrawFn, data: dict, t: dict) -> MalformedScenario:
    bounded = [
        p for p, k in t["kinds"].items() if k is not None and (math.isfinite(k.low) or math.isfinite(k.high))
    ]
    if "settings" in data and isinstance(data["settings"], dict) and "horizon_years" in data["settings"]:
        bounded.append(("settings", "horizon_years"))
    parts = draw(st.sampled_from(bounded))
    if parts == ("settings", "horizon_years"):
        bad = draw(st.one_of(st.floats(max_value=0.0), st.just(math.inf), st.just(math.nan)))
        data["settings"]["horizon_years"] = bad
        return MalformedScenario(data, "settings.horizon_years", "out_of_range", (str(bad), "lifetime"))
    kind: Kind = t["kinds"][parts]
    options = []
    if math.isfinite(kind.low):
        options.append(
            st.floats(
                max_value=kind.low, exclude_max=not kind.low_open, allow_nan=False, allow_infinity=False
            )
        )
    if math.isfinite(kind.high):
        options.append(
            st.floats(
                min_value=kind.high, exclude_min=not kind.high_open, allow_nan=False, allow_infinity=False
            )
        )
    bad = float(draw(st.one_of(options)))
    _node(data, parts[:-1])[parts[-1]] = {"value": bad, "source": SOURCE}
    return MalformedScenario(data, _dotted(parts), "out_of_range", (f"value {bad}", kind.describe()))


def _bad_distribution(draw: st.DrawFn, data: dict, t: dict) -> MalformedScenario:
    parts = draw(st.sampled_from(t["params"]))
    kind: Kind | None = t["kinds"][parts]
    table = _node(data, parts[:-1])
    value = float(table[parts[-1]].get("value", 0.5)) if isinstance(table[parts[-1]], dict) else 0.5
    path = _dotted(parts)
    options = ["unknown_dist", "sd_not_positive", "uniform_reversed", "wrong_keys"]
    if kind is not None:
        options += ["dist_not_allowed", "mean_disagrees", "support_too_wide"]
    if kind is not None and "beta" in kind.dists and 0.0 < value < 1.0:
        options.append("beta_sd_too_large")
    choice = draw(st.sampled_from(options))
    field, expect = path, ()
    if choice == "unknown_dist":
        name = draw(st.sampled_from(["weibull", "Beta", "gama", "poisson", ""]))
        new = {"value": value, "dist": name, "sd": 0.1, "source": SOURCE}
        field, expect = f"{path}.dist", (repr(name),)
    elif choice == "sd_not_positive":
        dist = "normal" if kind is None else sorted(kind.dists - {"fixed", "uniform"} or {"normal"})[0]
        sd = draw(st.sampled_from([0.0, -0.1, -1.0]))
        new = {"value": value, "dist": dist, "sd": sd, "source": SOURCE}
        field, expect = f"{path}.sd", ("greater than 0",)
    elif choice == "uniform_reversed":
        gap = draw(st.floats(0.0, 1.0))
        new = {"value": value, "dist": "uniform", "low": value + gap, "high": value - gap, "source": SOURCE}
        expect = ("low < high",)  # checked before the field's own domain
    elif choice == "wrong_keys":
        dist, keys = draw(
            st.sampled_from(
                [
                    ("beta", {"shape": 2.0}),
                    ("gamma", {"alpha": 2.0, "beta": 3.0}),
                    ("lognormal", {"low": 1.0, "high": 2.0}),
                    ("uniform", {"sd": 0.1}),
                    ("fixed", {"sd": 0.1}),
                    ("normal", {"mu": 0.0, "sigma": 1.0}),
                ]
            )
        )
        new = {"value": value, "dist": dist, **keys, "source": SOURCE}
        expect = (f"dist = '{dist}' needs",)
    elif choice == "dist_not_allowed":
        forbidden = sorted({"beta", "gamma", "lognormal", "normal", "uniform"} - kind.dists)
        if not forbidden:
            return _bad_distribution(draw, data, t)
        dist = draw(st.sampled_from(forbidden))
        good = {"beta": {"alpha": 2.0, "beta": 2.0}, "gamma": {"sd": 0.1}, "lognormal": {"sd": 0.1}}
        good |= {"normal": {"sd": 0.1}, "uniform": {"low": 0.25, "high": 0.75}}
        centre = {"beta": 0.5, "uniform": 0.5, "normal": 0.5, "gamma": 1.0, "lognormal": 1.0}[dist]
        new = {"value": centre, "dist": dist, **good[dist], "source": SOURCE}
        expect = (f"cannot have dist = '{dist}'", "allowed:")
    elif choice == "mean_disagrees":
        if "beta" in kind.dists:
            new = {"value": 0.9, "dist": "beta", "alpha": 1.0, "beta": 1.0, "source": SOURCE}
        elif "gamma" in kind.dists:
            new = {"value": 5.0, "dist": "gamma", "shape": 2.0, "scale": 1.0, "source": SOURCE}
        else:
            new = {"value": 0.9, "dist": "uniform", "low": 0.0, "high": 1.0, "source": SOURCE}
            if "uniform" not in kind.dists:
                return _bad_distribution(draw, data, t)
        expect = ("disagrees with the mean",)
    elif choice == "support_too_wide":
        if "uniform" not in kind.dists or not (math.isfinite(kind.low) or math.isfinite(kind.high)):
            return _bad_distribution(draw, data, t)
        width = draw(st.floats(0.5, 100.0))
        if math.isfinite(kind.low):
            centre = kind.low + width / 4
            low, high = centre - width / 2, centre + width / 2  # reaches below the lower bound
        else:
            centre = kind.high - width / 4
            low, high = centre - width / 2, centre + width / 2
        new = {"value": centre, "dist": "uniform", "low": low, "high": high, "source": SOURCE}
        if not kind.contains(centre):
            return _bad_distribution(draw, data, t)
        expect = ("outside the allowed range", kind.describe())
    else:  # beta_sd_too_large
        limit = math.sqrt(value * (1 - value))
        sd = draw(st.floats(limit * (1 + 1e-6), 10 * limit + 1.0))
        new = {"value": value, "dist": "beta", "sd": sd, "source": SOURCE}
        expect = ("is impossible",)
    table[parts[-1]] = new
    return MalformedScenario(data, field, "bad_distribution", expect)


_MAKERS = {
    "wrong_type": _wrong_type,
    "missing_key": _missing_key,
    "unknown_key": _unknown_key,
    "out_of_range": _out_of_range,
    "bad_distribution": _bad_distribution,
}


@st.composite
def malformed_scenario_dicts(
    draw: st.DrawFn, base: Scenario | None = None, defects: Sequence[str] = DEFECTS
) -> MalformedScenario:
    """Scenario dictionaries with exactly one defect, and the field path the error must name.

    Parameters
    ----------
    base : Scenario, optional
        The valid scenario to corrupt; default the bundled default. Its merged data is used.
    defects : sequence of str
        Which kinds of defect to draw from (:data:`DEFECTS`):

        * ``wrong_type``: a table, a number, a string or the horizon replaced by a value of another type
          (booleans and quoted numbers included);
        * ``missing_key``: a required key deleted;
        * ``unknown_key``: a misspelt or unknown key added to a table;
        * ``out_of_range``: a value outside its field's domain, or a horizon that is not > 0 and finite;
        * ``bad_distribution``: an unknown distribution, ``sd <= 0``, ``low >= high``, keys of another
          distribution, a distribution the field does not allow, a mean that disagrees with the value, a
          support beyond the field's range, an impossible beta.

    Returns
    -------
    MalformedScenario
        ``data`` fails validation with a :class:`sim.ScenarioError` whose ``field`` is ``field`` and whose
        message contains every string in ``expect``.
    """
    base = base or _default_scenario()
    unknown = sorted(set(defects) - set(DEFECTS))
    if unknown:
        raise ValueError(f"unknown defect(s) {unknown}; choose from {DEFECTS}")
    data = copy.deepcopy(base.data)
    data.pop("extends", None)
    targets = _targets(base)
    defect = draw(st.sampled_from(list(defects)))
    return _MAKERS[defect](draw, data, targets)


# --------------------------------------------------------------------------- TOML writing


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_scalar(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _is_param_table(value: Any) -> bool:
    return isinstance(value, dict) and "value" in value


def scenario_to_toml(data: Mapping[str, Any]) -> str:
    """TOML text of a scenario dictionary (``tomllib.loads`` of the result gives ``data`` back).

    Parameter tables (those with a ``value`` key) are written inline, other tables as ``[sections]``.

    Parameters
    ----------
    data : mapping
        A scenario as ``tomllib`` would parse it (strings, numbers, booleans, lists, tables).
    """
    lines: list[str] = []

    def table(node: Mapping[str, Any], prefix: tuple[str, ...]) -> None:
        subtables = []
        for key, value in node.items():
            if isinstance(value, dict) and not _is_param_table(value):
                subtables.append((key, value))
            else:
                lines.append(f"{_key(key)} = {_scalar(value)}")
        for key, value in subtables:
            lines.append("")
            lines.append("[" + ".".join(_key(k) for k in (*prefix, key)) + "]")
            table(value, (*prefix, key))

    table(data, ())
    return "\n".join(lines) + "\n"
