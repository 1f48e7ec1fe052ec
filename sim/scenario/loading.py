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
import os
import stat
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
from sim.files import UnreadableFile, read_regular_file
from sim.scenario.parameters import Kind, Param
from sim.scenario.schema import ScenarioModel

MAX_EXTENDS_DEPTH = 16
#: Deepest nesting of tables and arrays in a scenario: the schema needs five levels; deeper data is
#: malformed and would exhaust the stack of the parser or of the validation.
MAX_NESTING = 32


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
        cache = self._values_cache
        if "base" not in cache:  # the base case is asked for often: build it once
            steps: dict[str, tuple[str, ...]] = {}
            cache["base"] = _to_values(self.model, "", {}, (), steps)
            cache["steps"] = steps
        if not overrides:
            return cache["base"]
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
        return _overridden(cache["base"], cache["steps"], overrides)

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


def check_scenario_data(data: Mapping[str, Any], name: str) -> None:
    """Raise :class:`sim.ScenarioError` (naming ``name``) if ``data`` breaks a rule of the scenario schema.

    A check only: ``data`` is neither copied nor changed, and no :class:`Scenario` is built (no digest), so
    checking many variants of one scenario (every draw of a PSA) costs the schema's validation alone.
    """
    try:
        ScenarioModel.model_validate(data)
    except ValidationError as exc:
        raise _scenario_error(exc, dict(data), {}, name) from None


# --------------------------------------------------------------------------- loading and layering


def read_toml(path: Path, what: str = "scenario file") -> dict[str, Any]:
    """Parse a TOML file; any problem becomes a :class:`ScenarioError` naming the file.

    The file must be a regular file of at most :data:`sim.files.MAX_FILE_BYTES` bytes, nested at most
    :data:`MAX_NESTING` deep.
    """
    try:
        raw = read_regular_file(path, what)
    except UnreadableFile as exc:
        raise ScenarioError(exc.reason, str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"not UTF-8 text ({exc.reason})", str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"not valid TOML: {exc}", str(path)) from None
    except RecursionError:
        raise ScenarioError(
            f"tables or arrays nested too deeply (a {what} needs at most {MAX_NESTING} levels)", str(path)
        ) from None
    _check_nesting(data, str(path), what)
    return data


def _check_nesting(data: Any, file: str, what: str) -> None:
    """Refuse data nested deeper than :data:`MAX_NESTING` (iteratively: no recursion to exhaust)."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        node, where, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ScenarioError(
                f"nested more than {MAX_NESTING} levels deep (a {what} needs only a few)",
                file,
                _shorten(where) or None,
            )
        if isinstance(node, dict):
            stack.extend((v, f"{where}.{k}" if where else str(k), depth + 1) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(node))


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _load_layered(path: Path, seen: tuple[Path, ...]) -> tuple[dict[str, Any], dict[str, str]]:
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        raise ScenarioError(f"not a usable file name ({exc})", str(path)) from None
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
    parent_path = _parent_path(path, parent_name)
    parent, parent_origins = _load_layered(parent_path, (*seen, resolved))
    merged = _merge(parent, data)
    # What the child writes replaces the parent's entry whole, so an error there is the child's.
    kept = {k: v for k, v in parent_origins.items() if not any(_overlaps(k, c) for c in origins)}
    return merged, {**kept, **origins}


def _parent_path(path: Path, parent_name: Any) -> Path:
    """The file named by ``extends`` in ``path``: a TOML file that exists (errors name the child)."""
    if not isinstance(parent_name, str):
        raise ScenarioError(f"must be a file name (a string), got {parent_name!r}", str(path), "extends")
    shown = _shorten(parent_name)
    if not parent_name or "\0" in parent_name:
        raise ScenarioError(f"must be a file name, got {shown!r}", str(path), "extends")
    try:
        parent_path = path.parent / parent_name
        info = os.stat(parent_path)
    except FileNotFoundError:
        raise ScenarioError(f"extends '{shown}', which does not exist", str(path), "extends") from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ScenarioError(
            f"extends '{shown}', which cannot be opened ({reason})", str(path), "extends"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise ScenarioError(
            f"extends '{shown}', which is not a regular file (a directory, device or pipe)",
            str(path),
            "extends",
        )
    return parent_path


def _overlaps(a: str, b: str) -> bool:
    """Whether dotted paths ``a`` and ``b`` are the same entry or one contains the other."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


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
    if "input" in err and kind != "value_error":
        found = err["input"]
        message += " (got a table)" if isinstance(found, dict) else f" (got {_shorten(repr(found))})"
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
    # A table (a cross-field rule): the most derived file that wrote into it. Origins are in layering
    # order, the parent's first, so the last entry under the table is the one a user last touched.
    prefix = dotted + "."
    found = None
    for key, file in origins.items():
        if key.startswith(prefix):
            found = file
    return found


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
    for path, param, _ in walk_parameter_fields(model, prefix):
        yield path, param


def walk_parameter_fields(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, Param, str]]:
    """``(dotted path, parameter, field description)`` of every parameter of a validated model, in file
    order (sections, then named tables such as treatments)."""
    fields = type(model).model_fields
    for name, info in fields.items():
        val = getattr(model, name)
        path = f"{prefix}{name}"
        if isinstance(val, Param):
            yield path, val, info.description or ""
        elif isinstance(val, BaseModel):
            yield from walk_parameter_fields(val, path + ".")
        elif isinstance(val, dict):
            for key, item in val.items():
                if isinstance(item, BaseModel):
                    yield from walk_parameter_fields(item, f"{path}.{key}.")


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


def _to_values(
    model: BaseModel,
    prefix: str,
    overrides: dict[str, float],
    trail: tuple[str, ...] = (),
    steps: dict[str, tuple[str, ...]] | None = None,
) -> SimpleNamespace:
    """The values tree of ``model`` (see :meth:`Scenario.values`) with ``overrides`` by dotted path, built
    whole (the reference that :func:`_overridden` reproduces); where ``steps`` is given, it gets the
    attribute names and table keys that lead to each parameter, by dotted path."""
    out = {}
    for name in type(model).model_fields:
        val = getattr(model, name)
        path = f"{prefix}{name}"
        if isinstance(val, Param):
            out[name] = float(overrides.get(path, val.value))
            if steps is not None:
                steps[path] = (*trail, name)
        elif isinstance(val, BaseModel):
            out[name] = _to_values(val, path + ".", overrides, (*trail, name), steps)
        elif isinstance(val, dict):
            out[name] = {
                k: _to_values(v, f"{path}.{k}.", overrides, (*trail, name, k), steps)
                if isinstance(v, BaseModel)
                else v
                for k, v in val.items()
            }
        else:
            out[name] = val
    return SimpleNamespace(**out)


def _overridden(
    base: SimpleNamespace, steps: Mapping[str, tuple[str, ...]], overrides: Mapping[str, float]
) -> SimpleNamespace:
    """``base`` with the parameter at each dotted path of ``overrides`` set to its value, as
    :func:`_to_values` with those overrides would build it.

    Only the namespaces and tables on the paths are copied (each once); the rest is shared with ``base``,
    which nothing changes (the base case itself is shared by every run without overrides). Building the
    whole tree again cost about half a millisecond for every strategy of every PSA draw.
    """
    root = SimpleNamespace(**vars(base))
    copies: dict[tuple[str, ...], Any] = {}
    for path, value in overrides.items():
        trail = steps[path]
        node: Any = root
        for depth in range(1, len(trail)):
            copied = copies.get(trail[:depth])
            if copied is None:
                name = trail[depth - 1]
                original = node[name] if isinstance(node, dict) else getattr(node, name)
                copied = dict(original) if isinstance(original, dict) else SimpleNamespace(**vars(original))
                if isinstance(node, dict):
                    node[name] = copied
                else:
                    setattr(node, name, copied)
                copies[trail[:depth]] = copied
            node = copied
        setattr(node, trail[-1], float(value))  # a parameter is a field of a namespace, never a table's item
    return root
