"""Loading a trial file: validation, its arms' scenarios, and checks that the arms share one population."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.errors import ScenarioError
from sim.scenario.loading import Scenario, error_message, load_scenario, read_toml
from sim.trial.schema import ARM_SPECIFIC_KEYS, SCALES, Arm, Endpoint, TrialModel


@dataclass(frozen=True)
class Trial:
    """A validated trial: the typed model, its arms' scenarios (follow-up horizon set), and provenance."""

    model: TrialModel
    arms: dict[str, Scenario]
    path: str
    sha256: str

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def control(self) -> str:
        return self.model.control

    @property
    def screening(self) -> Scenario:
        """The natural history candidates are drawn from: the control arm's scenario."""
        return self.arms[self.model.control]

    @property
    def treatment_arms(self) -> list[str]:
        """Arms compared with the control, in file order."""
        return [a for a in self.model.arms if a != self.model.control]

    @property
    def n_patients(self) -> int:
        return sum(a.patients for a in self.model.arms.values())

    def endpoint_months(self, name: str) -> float:
        e = self.model.endpoints[name]
        return float(e.months if e.months is not None else self.model.follow_up_months.value)

    @property
    def visit_months(self) -> list[float]:
        """Visits after entry (months), sorted; entry itself is visit 0."""
        return sorted({self.endpoint_months(n) for n in self.model.endpoints})

    @property
    def horizon_years(self) -> float:
        """Follow-up of every simulation: the last possible visit plus a month."""
        return _horizon_years(self.model)


def _horizon_years(model: TrialModel) -> float:
    last_visit = max(e.months or model.follow_up_months.value for e in model.endpoints.values())
    return float(model.entry.duration_years.max + last_visit / 12.0 + 1.0 / 12.0)


def load_trial(path: str | Path) -> Trial:
    """Load and validate a trial file and its arms' scenarios.

    Parameters
    ----------
    path : str or Path
        A trial file (TOML); arm scenario paths inside it are relative to it.

    Returns
    -------
    Trial

    Raises
    ------
    sim.ScenarioError
        Naming the file (the trial file, or the arm's scenario file) and the field path.
    """
    path = Path(path)
    data = read_toml(path, "trial file")
    return _build_trial(data, str(path), path.parent)


def trial_from_dict(data: Mapping[str, Any], base_dir: str | Path, name: str = "<dict>") -> Trial:
    """Validate a trial given as a dictionary (as its TOML would parse); arms relative to ``base_dir``."""
    return _build_trial(copy.deepcopy(dict(data)), name, Path(base_dir))


def _build_trial(data: dict[str, Any], path: str, base: Path) -> Trial:
    try:
        model = TrialModel.model_validate(data)
    except ValidationError as exc:
        raise _trial_error(exc, path) from None
    _check_names(model, path)
    horizon = _horizon_years(model)
    arms: dict[str, Scenario] = {}
    for label, arm in model.arms.items():
        arm_path = Path(arm.scenario) if Path(arm.scenario).is_absolute() else base / arm.scenario
        if not arm_path.is_file():
            raise ScenarioError(
                f"arm scenario '{arm.scenario}' does not exist (looked for {arm_path})",
                path,
                f"arms.{label}.scenario",
            )
        try:
            scenario = load_scenario(arm_path)
            arms[label] = scenario.with_updates({"settings.horizon_years": float(horizon)})
        except ScenarioError as exc:
            raise ScenarioError(f"arm '{label}' of trial {path}: {exc.reason}", exc.file, exc.field) from None
    _check_arms(model, arms, path)
    canonical = json.dumps(
        {"trial": data, "arms": {k: s.sha256 for k, s in arms.items()}},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return Trial(model=model, arms=arms, path=path, sha256=digest)


def _check_names(model: TrialModel, path: str) -> None:
    """Cross-field rules, each reported at its own field."""
    if model.control not in model.arms:
        raise ScenarioError(
            f"'{model.control}' is not an arm; arms: {', '.join(model.arms)}", path, "control"
        )
    if model.primary not in model.endpoints:
        raise ScenarioError(
            f"'{model.primary}' is not an endpoint; endpoints: {', '.join(model.endpoints)}", path, "primary"
        )
    for name, ep in model.endpoints.items():
        if ep.months is not None and ep.months > model.follow_up_months.value:
            raise ScenarioError(
                f"{ep.months:g} months is after follow_up_months = {model.follow_up_months.value:g}",
                path,
                f"endpoints.{name}.months",
            )
    for scale, (lo, hi, _) in SCALES.items():
        rng = getattr(model.entry, scale)
        for key in ("min", "max"):
            bound = getattr(rng, key) if rng is not None else None
            if bound is not None and not lo <= bound <= hi:
                raise ScenarioError(
                    f"{bound:g} lies outside the scale's range {lo}-{hi}", path, f"entry.{scale}.{key}"
                )


def _trial_error(exc: ValidationError, path: str) -> ScenarioError:
    lines = []
    first_field = None
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"]]
        dotted = ".".join(loc)
        allowed = _allowed_keys(loc[:-1]) if err["type"] == "extra_forbidden" else []
        message = error_message(err, allowed)
        lines.append((dotted or "<top level>", message))
        first_field = first_field or dotted or None
    if len(lines) == 1:
        return ScenarioError(lines[0][1], path, first_field)
    body = "\n  ".join(f"{path}: '{f}': {m}" for f, m in lines)
    return ScenarioError(f"{len(lines)} problems:\n  {body}", path, first_field)


def _allowed_keys(loc: list[str]) -> list[str]:
    """The keys allowed in the table at ``loc`` (for the message on an unknown key)."""
    model: type[BaseModel] | None = TrialModel
    label_table: type[BaseModel] | None = None
    for part in loc:
        if label_table is not None:  # ``part`` is an arm or endpoint label
            model, label_table = label_table, None
            continue
        info = model.model_fields.get(part) if model is not None else None
        if info is None:
            return []
        if model is TrialModel and part in ("arms", "endpoints"):
            label_table, model = (Arm if part == "arms" else Endpoint), None
            continue
        model = _model_of(info.annotation)
    if label_table is not None or model is None:
        return []
    return list(model.model_fields)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def arm_rules(scenario: Scenario) -> dict[str, Any]:
    return scenario.model.strategy.rules


def _check_arms(model: TrialModel, arms: dict[str, Scenario], path: str) -> None:
    """Arms share the natural history and the control's rules, so that courses agree until entry."""
    control = arms[model.control]
    base = {k: v for k, v in control.data.items() if k not in ARM_SPECIFIC_KEYS}
    base_settings = {k: v for k, v in control.data.get("settings", {}).items() if k != "strategy"}
    control_rules = arm_rules(control)
    control_gives = {r.give for r in control_rules.values()}
    for label, scenario in arms.items():
        if label == model.control:
            continue
        mine = {k: v for k, v in scenario.data.items() if k not in ARM_SPECIFIC_KEYS}
        mine_settings = {k: v for k, v in scenario.data.get("settings", {}).items() if k != "strategy"}
        mine["settings"], base["settings"] = mine_settings, base_settings
        if mine != base:
            differing = sorted(k for k in set(mine) | set(base) if mine.get(k) != base.get(k))
            raise ScenarioError(
                f"arm '{label}' differs from the control arm '{model.control}' in its natural history "
                f"({', '.join(differing)}); arms may differ only in {', '.join(sorted(ARM_SPECIFIC_KEYS))}",
                scenario.path,
                differing[0],
            )
        rules = arm_rules(scenario)
        for key, rule in control_rules.items():
            if rules.get(key) != rule:
                raise ScenarioError(
                    f"arm '{label}' must keep the control arm's rule '{key}' unchanged, so that patients are "
                    "treated alike until entry",
                    scenario.path,
                    f"strategy.rules.{key}",
                )
        for key, rule in rules.items():
            if key in control_rules:
                continue
            after_entry_only = rule.on in ("non_response", "relapse", "adverse_event") and (
                rule.after not in control_gives
            )
            if rule.on != "entry" and not after_entry_only:
                raise ScenarioError(
                    f"arm '{label}': rule '{key}' (on = '{rule.on}') could act before entry; the rules an "
                    "arm adds must be triggered by 'entry' (or by the outcome of a treatment given from "
                    "entry)",
                    scenario.path,
                    f"strategy.rules.{key}.on",
                )
