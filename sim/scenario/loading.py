"""Scenario files: loading, ``extends`` layering, validation and the values the model reads.

A scenario is a TOML file validated against :mod:`sim.scenario.schema`. ``extends = "other.toml"``
(relative to the file) loads the parent first; the child overrides only what it names. A parameter table
(one with a ``value`` key) is replaced as a whole, never merged key by key, so that a child cannot
silently inherit a distribution written for another value. The origin (file) of every value is kept,
so that errors and the run's metadata can say where each value came from.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.errors import ScenarioError
from sim.scenario.parameters import Kind, Param
from sim.scenario.schema import ScenarioModel

MAX_EXTENDS_DEPTH = 16


def default_scenario_path() -> Path:
    """The bundled default scenario (natural history, supportive care only)."""
    return Path(str(resources.files("scenarios").joinpath("natural_history.toml")))


def bundled_scenario_path(name: str) -> Path:
    """A bundled scenario by file name, e.g. ``"tests/tiny.toml"``."""
    return Path(str(resources.files("scenarios").joinpath(name)))


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: the typed model, the merged raw data, and where each value came from."""

    model: ScenarioModel
    data: dict[str, Any]
    origins: dict[str, str]
    path: str
    sha256: str
    _values_cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def strategy(self) -> str:
        return self.model.settings.strategy

    def parameters(self) -> dict[str, Param]:
        """Every parameter by dotted path, in file order."""
        return dict(_walk_params(self.model, ""))

    def uncertain_parameters(self) -> dict[str, Param]:
        return {k: p for k, p in self.parameters().items() if p.uncertain}

    def values(self, overrides: Mapping[str, float] | None = None) -> SimpleNamespace:
        """The model's inputs: the same tree as the scenario with each parameter replaced by a float.

        ``overrides`` maps dotted parameter paths to values (a PSA draw, a one-way sensitivity step).
        """
        if not overrides:  # the base case is asked for often: build it once
            if "base" not in self._values_cache:
                self._values_cache["base"] = _to_values(self.model, "", {})
            return self._values_cache["base"]
        kinds = self.parameter_kinds()
        for path, value in overrides.items():
            if path not in kinds:
                raise ScenarioError(f"unknown parameter '{path}'", self.path, path)
            kind = kinds[path]
            if kind is not None and not kind.contains(float(value)):
                raise ScenarioError(
                    f"value {value!r} is outside the allowed range {kind.describe()} (a {kind.name})",
                    self.path,
                    path,
                )
        return _to_values(self.model, "", dict(overrides))

    def parameter_kinds(self) -> dict[str, Kind | None]:
        """The domain (kind) of every parameter by dotted path, for checking values set from outside."""
        if "kinds" not in self._values_cache:
            self._values_cache["kinds"] = dict(_walk_kinds(self.model, ""))
        return self._values_cache["kinds"]

    def with_updates(self, updates: Mapping[str, Any]) -> Scenario:
        """A new validated scenario with some entries replaced (dotted paths; a number sets ``value``)."""
        data = copy.deepcopy(self.data)
        origins = dict(self.origins)
        for dotted, new in updates.items():
            parts = dotted.split(".")
            node = data
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            old = node.get(parts[-1])
            if isinstance(new, int | float) and isinstance(old, dict) and "value" in old:
                node[parts[-1]] = {**old, "value": new}
            else:
                node[parts[-1]] = new
            origins[dotted] = "<updated>"
        return _validate(data, origins, self.path)

    def resolve_path(self, dotted: str, relative: str) -> Path:
        """A path written in the scenario, resolved against the file that wrote it."""
        origin = self.origins.get(dotted)
        if origin and not origin.startswith("<") and not Path(relative).is_absolute():
            return Path(origin).parent / relative
        return Path(relative)


def load_scenario(path: str | Path) -> Scenario:
    """Load, layer and validate a scenario file; raises :class:`sim.ScenarioError` on any problem."""
    path = Path(path)
    data, origins = _load_layered(path, seen=())
    return _validate(data, origins, str(path))


def scenario_from_dict(data: Mapping[str, Any], name: str = "<dict>") -> Scenario:
    """Validate a scenario given as a dictionary (as a TOML file would parse), e.g. in tests."""
    data = copy.deepcopy(dict(data))
    if "extends" in data:
        raise ScenarioError("'extends' is only allowed in files", name, "extends")
    origins = {p: name for p in _leaf_paths(data, "")}
    return _validate(data, origins, name)


# --------------------------------------------------------------------------- loading and layering


def read_toml(path: Path, what: str = "scenario file") -> dict[str, Any]:
    """Parse a TOML file; any problem becomes a :class:`ScenarioError` naming the file."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ScenarioError("file not found", str(path)) from None
    except IsADirectoryError:
        raise ScenarioError(f"is a directory, not a {what}", str(path)) from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"not UTF-8 text ({exc.reason})", str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"not valid TOML: {exc}", str(path)) from None
    except OSError as exc:
        raise ScenarioError(f"cannot be read: {exc.strerror}", str(path)) from None


def _load_layered(path: Path, seen: tuple[Path, ...]) -> tuple[dict[str, Any], dict[str, str]]:
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(str(p) for p in (*seen, resolved))
        raise ScenarioError(f"'extends' forms a cycle: {chain}", str(path), "extends")
    if len(seen) > MAX_EXTENDS_DEPTH:
        raise ScenarioError(f"'extends' chain deeper than {MAX_EXTENDS_DEPTH}", str(path), "extends")
    data = read_toml(path)
    parent_name = data.pop("extends", None)
    origins = {p: str(path) for p in _leaf_paths(data, "")}
    if parent_name is None:
        return data, origins
    if not isinstance(parent_name, str):
        raise ScenarioError(f"must be a file name (a string), got {parent_name!r}", str(path), "extends")
    parent_path = (path.parent / parent_name) if not Path(parent_name).is_absolute() else Path(parent_name)
    if not parent_path.exists():
        raise ScenarioError(f"extends '{parent_name}', which does not exist", str(path), "extends")
    parent, parent_origins = _load_layered(parent_path, (*seen, resolved))
    merged = _merge(parent, data)
    return merged, {**parent_origins, **origins}


def _is_param_table(x: Any) -> bool:
    return isinstance(x, dict) and "value" in x


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, val in over.items():
        if isinstance(val, dict) and not _is_param_table(val) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], val)
        else:
            out[key] = copy.deepcopy(val)
    return out


def _leaf_paths(data: Mapping[str, Any], prefix: str) -> Iterator[str]:
    for key, val in data.items():
        path = f"{prefix}{key}"
        if isinstance(val, dict) and not _is_param_table(val):
            yield from _leaf_paths(val, path + ".")
        else:
            yield path


# --------------------------------------------------------------------------- validation


def _validate(data: dict[str, Any], origins: dict[str, str], path: str) -> Scenario:
    try:
        model = ScenarioModel.model_validate(data)
    except ValidationError as exc:
        raise _scenario_error(exc, data, origins, path) from None
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return Scenario(model=model, data=data, origins=origins, path=path, sha256=digest)


def _scenario_error(
    exc: ValidationError, data: dict[str, Any], origins: dict[str, str], path: str
) -> ScenarioError:
    lines = []
    first_field = None
    first_file = None
    for err in exc.errors(include_url=False):
        loc = _without_union_tags([str(p) for p in err["loc"]], data)
        dotted = ".".join(loc)
        file = _origin_of(dotted, origins) or path
        allowed = _allowed_keys(loc[:-1], data) if err["type"] == "extra_forbidden" else []
        message = error_message(err, allowed)
        lines.append(f"{file}: '{dotted or '<top level>'}': {message}")
        first_field = first_field or dotted
        first_file = first_file or file
    if len(lines) == 1:
        return ScenarioError(lines[0].split(": ", 2)[2], first_file, first_field)
    return ScenarioError(f"{len(lines)} problems:\n  " + "\n  ".join(lines), path, first_field)


def error_message(err: Mapping[str, Any], allowed: list[str]) -> str:
    """One pydantic error in plain words: unknown key (with the keys allowed there), missing, or the reason
    with the value found."""
    kind = err["type"]
    loc = err["loc"]
    if kind == "extra_forbidden":
        return f"unknown key '{loc[-1]}'" + (f"; allowed keys here: {', '.join(allowed)}" if allowed else "")
    if kind == "missing":
        return "required but missing"
    message = err["msg"].removeprefix("Value error, ")
    if "input" in err and not isinstance(err["input"], dict) and kind != "value_error":
        message += f" (got {err['input']!r})"
    return message


def _without_union_tags(loc: list[str], data: dict[str, Any]) -> list[str]:
    """Drop the discriminator tag pydantic inserts in paths of tagged unions (``treatments.X.<type>.…``)."""
    if len(loc) > 2 and loc[0] == "treatments":
        entry = data.get("treatments", {}).get(loc[1])
        if isinstance(entry, dict) and entry.get("type") == loc[2]:
            return loc[:2] + loc[3:]
    return loc


def _origin_of(dotted: str, origins: dict[str, str]) -> str | None:
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        hit = origins.get(".".join(parts[:n]))
        if hit:
            return hit
    prefix = dotted + "."
    for key, file in origins.items():
        if key.startswith(prefix):
            return file
    return None


def _allowed_keys(loc: list[str], data: dict[str, Any] | None = None) -> list[str]:
    """The keys allowed in the table at ``loc`` (for the message on an unknown key)."""
    model: Any = ScenarioModel
    parts = list(loc)
    node: Any = data or {}
    while parts and model is not None:
        part = parts.pop(0)
        node = node.get(part, {}) if isinstance(node, dict) else {}
        info = model.model_fields.get(part)
        if info is None:
            return []
        annotation = info.annotation
        if typing.get_origin(annotation) is dict:  # a named table: skip the name
            if not parts:
                return []
            name = parts.pop(0)
            node = node.get(name, {}) if isinstance(node, dict) else {}
            annotation = typing.get_args(annotation)[1]
        model = _model_in(annotation, node)
    return list(model.model_fields) if model is not None else []


def _model_in(annotation: Any, node: Any) -> type[BaseModel] | None:
    """The model class an annotation stands for (unwrapping Optional, Annotated and tagged unions)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    candidates = [a for a in typing.get_args(annotation) if a is not type(None)]
    found = [m for a in candidates if (m := _model_in(a, node)) is not None]
    if len(found) > 1 and isinstance(node, dict) and "type" in node:  # a treatment: pick by its type
        tagged = [
            m for m in found if node["type"] in typing.get_args(m.model_fields.get("type").annotation or ())
        ]
        found = tagged or found
    return found[0] if found else None


# --------------------------------------------------------------------------- values


def _walk_params(model: BaseModel, prefix: str) -> Iterator[tuple[str, Param]]:
    for name in type(model).model_fields:
        val = getattr(model, name)
        path = f"{prefix}{name}"
        if isinstance(val, Param):
            yield path, val
        elif isinstance(val, BaseModel):
            yield from _walk_params(val, path + ".")
        elif isinstance(val, dict):
            for key, item in val.items():
                if isinstance(item, BaseModel):
                    yield from _walk_params(item, f"{path}.{key}.")


def _walk_kinds(model: BaseModel, prefix: str) -> Iterator[tuple[str, Kind | None]]:
    fields = type(model).model_fields
    for name in fields:
        val = getattr(model, name)
        path = f"{prefix}{name}"
        if isinstance(val, Param):
            kinds = [m.func for m in fields[name].metadata if isinstance(getattr(m, "func", None), Kind)]
            yield path, kinds[0] if kinds else None
        elif isinstance(val, BaseModel):
            yield from _walk_kinds(val, path + ".")
        elif isinstance(val, dict):
            for key, item in val.items():
                if isinstance(item, BaseModel):
                    yield from _walk_kinds(item, f"{path}.{key}.")


def _to_values(model: BaseModel, prefix: str, overrides: dict[str, float]) -> SimpleNamespace:
    out = {}
    for name in type(model).model_fields:
        val = getattr(model, name)
        path = f"{prefix}{name}"
        if isinstance(val, Param):
            out[name] = float(overrides.get(path, val.value))
        elif isinstance(val, BaseModel):
            out[name] = _to_values(val, path + ".", overrides)
        elif isinstance(val, dict):
            out[name] = {
                k: _to_values(v, f"{path}.{k}.", overrides) if isinstance(v, BaseModel) else v
                for k, v in val.items()
            }
        else:
            out[name] = val
    return SimpleNamespace(**out)
