"""Simulated randomised clinical trials: screening, randomisation, follow-up and analysis, replicated.

A trial file (TOML, ``scenarios/trials/*.toml``) names the arms, each a strategy scenario whose treatments
start on the ``entry`` trigger, the number of patients per arm, the entry criteria, the follow-up, the
endpoints and the measurement error of each scale. Every value carries its ``source``.

One replicate (``r``) of a trial:

1. **Screening.** A cohort of candidates is simulated from the natural history (the control arm's
   scenario) with ``draw = r + 1``, so that replicates are independent and each is reproducible. Each
   candidate gets an entry time drawn uniformly within the disease-duration window (years from onset),
   starting no earlier than the diagnosis when the trial requires one.
2. **Eligibility** is judged at entry on the *observed* scores (true score from :mod:`sim.model.scales` plus
   measurement error, rounded and clipped), as in a real trial, together with being alive, diagnosed, the
   titre band, no malignancy and the required milestones. The first eligible candidates in id order are
   enrolled. Because eligibility uses the same measurement as the baseline, the model reproduces
   regression to the mean.
3. **Randomisation**: a random permutation of the arm labels (fixed numbers per arm).
4. **Follow-up**: each arm's scenario is simulated for the same patient ids with ``entry_times`` set for
   its patients only. Patient streams are never keyed by arm (common random numbers), so each patient's
   course is identical in every arm until entry.
5. **Measurement** at entry and at each endpoint's visit, with measurement error; ``incat_total`` is the
   sum of the observed arm and leg scores.
6. **Analysis** of each non-control arm against the control: difference in mean change from entry with a
   Welch t-test and its confidence interval, or difference in responder shares with a Newcombe (hybrid
   Wilson score) interval and Fisher's exact test. Patients dead by the visit are excluded and counted.

Randomness: every draw of the trial design (entry times, randomisation, measurement errors) comes from
streams of the ``measurement`` purpose keyed by ``(seed; draw, purpose, TRIAL_STREAM, what, ...)``, and
the per-patient ones by fixed blocks of ids (:data:`sim.random.BLOCK_SIZE`), so a patient's draws do not
depend on how many candidates were screened nor on the number of workers.

Example
-------
>>> from sim.trial.core import simulate_trial
>>> result = simulate_trial("scenarios/trials/dalakas2009.toml", replicates=200, seed=1, workers=2)
>>> result.summary[["endpoint", "mean_estimate", "power"]]  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from scipy import stats

from sim.errors import ScenarioError
from sim.model.milestones import THRESHOLD_ORDER
from sim.model.scales import all_scales
from sim.random import BLOCK_SIZE, PURPOSES, generator
from sim.run.runner import SimulationResult, simulate, versions
from sim.scenario.loading import Scenario, error_message, load_scenario, read_toml
from sim.scenario.parameters import Section
from sim.scenario.treatment_schema import TITRE_ORDER

#: Third key of every trial stream (within the ``measurement`` purpose); distinct from 0xFFFF, the mark
#: of :func:`sim.random.patient_generator`, so that no trial stream equals a model stream.
TRIAL_STREAM = 0xFFFE
_ENTRY, _RANDOMISE, _MEASURE = 1, 2, 3
#: The screening doubles until enough candidates are eligible, up to this many per patient needed.
MAX_SCREENED_PER_PATIENT = 256

#: Range of each scale for a living patient, and the direction of improvement.
SCALES: dict[str, tuple[int, int, Literal["lower", "higher"]]] = {
    "incat_arm": (0, 5, "lower"),
    "incat_leg": (0, 5, "lower"),
    "incat_total": (0, 10, "lower"),
    "incat_sensory": (0, 20, "lower"),
    "mrc_sum": (0, 60, "higher"),
    "mrs": (0, 5, "lower"),
}
#: Scales measured directly (``incat_total`` is the sum of the observed arm and leg scores); the order is
#: the row order of the measurement-error streams: never reorder.
MEASURED = ("incat_arm", "incat_leg", "incat_sensory", "mrc_sum", "mrs")
#: Milestones that ``entry.any_milestone`` may require (reached at or before entry).
ENTRY_MILESTONES = (*THRESHOLD_ORDER[:-1], "tremor", "neuropathic_pain")
_MILESTONE_COLUMN = {
    name: "t_pain" if name == "neuropathic_pain" else f"t_{name}" for name in ENTRY_MILESTONES
}
#: Top-level scenario keys that may differ between arms: everything else (the natural history) must not.
ARM_SPECIFIC_KEYS = frozenset({"name", "description", "strategy", "treatments", "economics"})
REPLICATE_COLUMNS = (
    "replicate",
    "endpoint",
    "arm_a",
    "arm_b",
    "n_a",
    "n_b",
    "n_excluded_a",
    "n_excluded_b",
    "mean_a",
    "mean_b",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "significant",
    "favours_a",
)


# --------------------------------------------------------------------------------------------- schema


class _Sourced(Section):
    source: str = Field(min_length=1, description="a key of docs/references.md, or 'assumption: why'")


class Months(_Sourced):
    value: float = Field(gt=0, le=240, allow_inf_nan=False, description="months after entry")


class Flag(_Sourced):
    value: bool


class Titre(_Sourced):
    value: Literal["1000-10000", "10000-70000", ">=70000"]


class Milestones(_Sourced):
    any_of: list[Literal[ENTRY_MILESTONES]] = Field(min_length=1)  # type: ignore[valid-type]


class Range(_Sourced):
    """An inclusive range ``[min, max]``; a missing bound is open."""

    min: float | None = Field(default=None, allow_inf_nan=False)
    max: float | None = Field(default=None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min:g}) must not exceed max ({self.max:g})")
        return self


class DurationWindow(_Sourced):
    """Disease duration at entry, years from the first symptom."""

    min: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    max: float = Field(gt=0, le=60, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> DurationWindow:
        if not self.min < self.max:
            raise ValueError(f"need min < max, got min={self.min:g}, max={self.max:g}")
        return self


class Arm(Section):
    scenario: str = Field(min_length=1, description="strategy scenario, relative to the trial file")
    patients: int = Field(ge=1, le=100_000, description="patients randomised to this arm")
    source: str = Field(min_length=1)


class Entry(Section):
    """Entry criteria, judged at the entry time on the observed scores."""

    duration_years: DurationWindow
    diagnosed: Flag | None = None
    incat_arm: Range | None = None
    incat_leg: Range | None = None
    incat_total: Range | None = None
    incat_sensory: Range | None = None
    mrc_sum: Range | None = None
    mrs: Range | None = None
    min_titre: Titre | None = None
    no_malignancy: Flag | None = None
    any_milestone: Milestones | None = None


class Endpoint(Section):
    """``change``: mean change from entry (follow-up minus entry, in the scale's own direction);
    ``responder``: share improved by at least ``improvement`` points."""

    kind: Literal["change", "responder"]
    scale: Literal[tuple(SCALES)]  # type: ignore[valid-type]
    improvement: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    months: float | None = Field(
        default=None, gt=0, le=240, allow_inf_nan=False, description="visit; default follow_up_months"
    )
    description: str = ""
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _improvement_for_responders(self) -> Endpoint:
        if self.kind == "responder" and self.improvement is None:
            raise ValueError("kind = 'responder' needs improvement = <points>")
        if self.kind == "change" and self.improvement is not None:
            raise ValueError("improvement is only allowed with kind = 'responder'")
        return self


class ErrorSD(_Sourced):
    sd: float = Field(ge=0, le=20, allow_inf_nan=False, description="SD of the normal error, scale points")


class MeasurementError(Section):
    """SD of the normal error added to each observed score (then rounded and clipped); missing = 0."""

    incat_arm: ErrorSD | None = None
    incat_leg: ErrorSD | None = None
    incat_sensory: ErrorSD | None = None
    mrc_sum: ErrorSD | None = None
    mrs: ErrorSD | None = None

    def sd(self, scale: str) -> float:
        item = getattr(self, scale)
        return 0.0 if item is None else float(item.sd)


class Screening(_Sourced):
    factor: float = Field(
        default=4.0, ge=1, le=1000, description="candidates screened first, per patient needed"
    )


class TrialModel(Section):
    name: str = Field(min_length=1)
    description: str = ""
    source: str = Field(min_length=1, description="the publication")
    control: str = Field(min_length=1, description="label of the control arm")
    primary: str = Field(min_length=1, description="name of the primary endpoint")
    alpha: float = Field(default=0.05, gt=0, lt=1, description="two-sided significance level")
    follow_up_months: Months
    arms: dict[str, Arm] = Field(min_length=2)
    entry: Entry
    endpoints: dict[str, Endpoint] = Field(min_length=1)
    measurement_error: MeasurementError = Field(default_factory=MeasurementError)
    screening: Screening | None = None

    @field_validator("arms", "endpoints")
    @classmethod
    def _labels(cls, v: dict) -> dict:
        for key in v:
            if not key or not key.replace("_", "").isalnum():
                raise ValueError(f"label {key!r} must be letters, digits and underscores")
        return v


# --------------------------------------------------------------------------------------------- loading


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


def _rules(scenario: Scenario) -> dict[str, Any]:
    return scenario.model.strategy.rules


def _check_arms(model: TrialModel, arms: dict[str, Scenario], path: str) -> None:
    """Arms share the natural history and the control's rules, so that courses agree until entry."""
    control = arms[model.control]
    base = {k: v for k, v in control.data.items() if k not in ARM_SPECIFIC_KEYS}
    base_settings = {k: v for k, v in control.data.get("settings", {}).items() if k != "strategy"}
    control_rules = _rules(control)
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
        rules = _rules(scenario)
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


# --------------------------------------------------------------------------------------------- streams


def _patient_draws(
    seed: int, draw: int, what: tuple[int, ...], ids: np.ndarray, n_rows: int, normal: bool
) -> np.ndarray:
    """Per-patient draws, shape ``(n_rows, len(ids))``, from one stream per fixed block of ids."""
    ids = np.asarray(ids, dtype=np.int64)
    out = np.empty((n_rows, ids.size))
    blocks = ids // BLOCK_SIZE
    for b in np.unique(blocks):
        g = generator(seed, draw, PURPOSES["measurement"], TRIAL_STREAM, *what, int(b))
        m = g.standard_normal((n_rows, BLOCK_SIZE)) if normal else g.random((n_rows, BLOCK_SIZE))
        sel = blocks == b
        out[:, sel] = m[:, ids[sel] % BLOCK_SIZE]
    return out


def _visit_key(months: float) -> int:
    return int(round(months * 100))


# --------------------------------------------------------------------------------------------- scales


class ScaleReader:
    """Reads the true scales of a single-strategy result at given (patient, time) pairs.

    Built once per result (the path and traits as arrays), then :meth:`at` is vectorised: the burden of
    each pair comes from the last path segment of that patient starting at or before the time, exactly as
    in :func:`sim.burden_at` (ties: the last segment recorded wins).
    """

    _TRAITS = ("arm_factor", "sensory_factor", "motor_factor", "tremor_burden", "t_death")

    def __init__(self, result: SimulationResult) -> None:
        paths = result.paths
        pid = paths["patient_id"].to_numpy(dtype=np.int64)
        t = paths["time"].to_numpy(dtype=float)
        order = np.lexsort((t, pid))  # stable: ties keep the order in which segments were recorded
        self.seg_pid = pid[order]
        self.seg_t = t[order]
        self.seg_b = paths["burden"].to_numpy(dtype=float)[order]
        self.seg_rate = paths["rate_per_year"].to_numpy(dtype=float)[order]
        pts = result.patients
        self.pids = pts["patient_id"].to_numpy(dtype=np.int64)
        self.row_order = np.argsort(self.pids, kind="stable")
        self.traits = {name: pts[name].to_numpy(dtype=float) for name in self._TRAITS}
        self.thresholds = result.values.thresholds

    def at(self, patient_ids: Sequence[int], times: Sequence[float]) -> dict[str, np.ndarray]:
        """``patient_id, time, burden, alive`` and every scale (dead: mRS 6, NaN elsewhere), input order."""
        ids = np.asarray(patient_ids, dtype=np.int64)
        t = np.asarray(times, dtype=float)
        if ids.shape != t.shape or ids.ndim != 1:
            raise ValueError(f"patient_ids and times must be 1-d of equal length ({ids.shape} vs {t.shape})")
        if t.size and (np.any(t < 0) or not np.all(np.isfinite(t))):
            raise ValueError("times must be finite and >= 0")
        n_seg = self.seg_pid.size
        all_pid = np.concatenate([self.seg_pid, ids])
        all_t = np.concatenate([self.seg_t, t])
        is_query = np.concatenate([np.zeros(n_seg, dtype=np.int8), np.ones(ids.size, dtype=np.int8)])
        order = np.lexsort((is_query, all_t, all_pid))  # by patient, time; segments before queries at ties
        seg_index = np.where(order < n_seg, order, -1)
        last = np.maximum.accumulate(seg_index)  # segments appear in increasing index along ``order``
        found = np.empty(ids.size, dtype=np.int64)
        q_pos = order >= n_seg
        found[order[q_pos] - n_seg] = last[q_pos]
        bad = (found < 0) | (self.seg_pid[np.maximum(found, 0)] != ids)
        if np.any(bad):
            raise ValueError(f"patient ids not in the result: {sorted(set(ids[bad].tolist()))[:5]}")
        burden = np.minimum(1.0, self.seg_b[found] + self.seg_rate[found] * (t - self.seg_t[found]))
        rows = self.row_order[np.searchsorted(self.pids, ids, sorter=self.row_order)]
        tr = {name: col[rows] for name, col in self.traits.items()}
        alive = ~(tr["t_death"] <= t)
        scales = all_scales(
            burden,
            self.thresholds,
            tr["arm_factor"],
            tr["sensory_factor"],
            tr["motor_factor"],
            tr["tremor_burden"],
            dead=~alive,
        )
        return {"patient_id": ids, "time": t, "burden": burden, "alive": alive, **scales}


def scales_at(result: SimulationResult, patient_ids: Sequence[int], times: Sequence[float]) -> pd.DataFrame:
    """True clinical scales of patient ``patient_ids[i]`` at time ``times[i]`` (years from onset).

    The pairwise counterpart of :func:`sim.outcome_scales` (which evaluates every patient at every time),
    for a single-strategy result. Columns: ``patient_id, time, burden, alive`` and the scales; the dead have
    mRS 6 and NaN on the other scales. Rows follow the input order.
    """
    return pd.DataFrame(ScaleReader(result).at(patient_ids, times))


def _observe(
    true: Mapping[str, np.ndarray], errors: MeasurementError, seed: int, draw: int, months: float
) -> dict[str, np.ndarray]:
    """Observed scores at one visit: true + N(0, sd), rounded and clipped; NaN for the dead."""
    ids = np.asarray(true["patient_id"])
    z = _patient_draws(seed, draw, (_MEASURE, _visit_key(months)), ids, len(MEASURED), normal=True)
    alive = np.asarray(true["alive"], dtype=bool)
    out: dict[str, np.ndarray] = {}
    for row, name in enumerate(MEASURED):
        lo, hi, _ = SCALES[name]
        x = np.asarray(true[name], dtype=float) + errors.sd(name) * z[row]
        out[name] = np.where(alive, np.clip(np.rint(x), lo, hi), np.nan)
    out["incat_total"] = out["incat_arm"] + out["incat_leg"]
    out["alive"] = alive
    return out


# --------------------------------------------------------------------------------------------- statistics


def welch_difference(a: np.ndarray, b: np.ndarray, alpha: float = 0.05) -> tuple[float, float, float, float]:
    """Difference in means ``mean(a) - mean(b)``, its ``1 - alpha`` CI and the Welch t-test p-value.

    NaN everywhere when either group has fewer than two values. When both groups have zero variance the
    test is degenerate: p = 1 if the means agree, else 0, and the CI is the point.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.size < 2 or b.size < 2:
        return (math.nan, math.nan, math.nan, math.nan)
    diff = float(a.mean() - b.mean())
    if a.var(ddof=1) == 0 and b.var(ddof=1) == 0:
        return (diff, diff, diff, 1.0 if diff == 0 else 0.0)
    res = stats.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(1 - alpha)
    return (diff, float(ci.low), float(ci.high), float(res.pvalue))


def _wilson(k: int, n: int, z: float) -> tuple[float, float]:
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def proportion_difference(
    k_a: int, n_a: int, k_b: int, n_b: int, alpha: float = 0.05
) -> tuple[float, float, float, float]:
    """Difference in proportions ``k_a/n_a - k_b/n_b``, Newcombe's hybrid score CI, Fisher's exact p.

    Newcombe (1998), method 10: combines the Wilson score intervals of each proportion; it stays inside
    [-1, 1] and behaves well at 0/n, unlike the Wald interval. NaN when either group is empty.
    """
    if n_a < 1 or n_b < 1:
        return (math.nan, math.nan, math.nan, math.nan)
    z = float(stats.norm.ppf(1 - alpha / 2))
    pa, pb = k_a / n_a, k_b / n_b
    la, ua = _wilson(k_a, n_a, z)
    lb, ub = _wilson(k_b, n_b, z)
    d = pa - pb
    low = d - math.sqrt((pa - la) ** 2 + (ub - pb) ** 2)
    high = d + math.sqrt((ua - pa) ** 2 + (pb - lb) ** 2)
    p = float(stats.fisher_exact([[k_a, n_a - k_a], [k_b, n_b - k_b]]).pvalue)
    return (d, low, high, min(1.0, p))


# --------------------------------------------------------------------------------------------- one replicate


def _eligible_entry(
    trial: Trial, nh: SimulationResult, seed: int, draw: int
) -> tuple[np.ndarray, np.ndarray]:
    """Entry time of every candidate (NaN if none possible) and whether each is eligible at entry."""
    crit = trial.model.entry
    pts = nh.patients
    n = len(pts)
    ids = pts["patient_id"].to_numpy()
    lo = np.full(n, crit.duration_years.min)
    hi = crit.duration_years.max
    if crit.diagnosed is not None and crit.diagnosed.value:
        lo = np.maximum(lo, pts["t_diagnosis"].to_numpy())  # NaN (never diagnosed) stays NaN
    u = _patient_draws(seed, draw, (_ENTRY,), ids, 1, normal=False)[0]
    entry = np.where(lo < hi, lo + u * (hi - lo), np.nan)
    ok = np.isfinite(entry)
    ok &= ~(pts["t_death"].to_numpy() <= entry)
    if crit.min_titre is not None:
        band = pts["titre_band"].map(TITRE_ORDER.index).to_numpy()
        ok &= band >= TITRE_ORDER.index(crit.min_titre.value)
    if crit.no_malignancy is not None and crit.no_malignancy.value:
        ok &= ~(pts["t_malignancy"].to_numpy() <= entry)
    if crit.any_milestone is not None:
        reached = np.zeros(n, dtype=bool)
        for name in crit.any_milestone.any_of:
            reached |= pts[_MILESTONE_COLUMN[name]].to_numpy() <= entry
        ok &= reached
    candidates = np.flatnonzero(ok)
    if candidates.size:
        true = ScaleReader(nh).at(ids[candidates], entry[candidates])
        obs = _observe(true, trial.model.measurement_error, seed, draw, 0.0)
        keep = obs["alive"].copy()
        for name in SCALES:
            rng = getattr(crit, name)
            if rng is None:
                continue
            x = obs[name]
            if rng.min is not None:
                keep &= x >= rng.min
            if rng.max is not None:
                keep &= x <= rng.max
        ok[candidates[~keep]] = False
    return entry, ok


def _has_entry_rules(scenario: Scenario) -> bool:
    return any(r.on == "entry" for r in _rules(scenario).values())


def _run_replicate(trial: Trial, seed: int, replicate: int) -> tuple[list[tuple], list[dict]]:
    draw = replicate + 1
    model = trial.model
    needed = trial.n_patients
    factor = model.screening.factor if model.screening is not None else 4.0
    n_screen = max(needed, math.ceil(factor * needed))
    max_screen = MAX_SCREENED_PER_PATIENT * needed
    while True:
        nh = simulate(trial.screening, n_patients=n_screen, seed=seed, draw=draw)
        entry, eligible = _eligible_entry(trial, nh, seed, draw)
        ids = np.flatnonzero(eligible)
        if ids.size >= needed:
            break
        if n_screen >= max_screen:
            raise ScenarioError(
                f"entry criteria too strict: only {ids.size} of {n_screen} simulated candidates are eligible "
                f"(replicate {replicate}), {needed} needed",
                trial.path,
                "entry",
            )
        n_screen = min(max_screen, n_screen * 2)
    enrolled = ids[:needed]
    labels = list(model.arms)
    sizes = [model.arms[a].patients for a in labels]
    assignment = generator(seed, draw, PURPOSES["measurement"], TRIAL_STREAM, _RANDOMISE).permutation(
        np.repeat(np.arange(len(labels)), sizes)
    )
    visits = trial.visit_months
    observed: dict[str, dict[float, dict[str, np.ndarray]]] = {}
    baseline: list[dict] = []
    for k, label in enumerate(labels):
        pts = enrolled[assignment == k]
        scenario = trial.arms[label]
        if scenario.sha256 == trial.screening.sha256 and not _has_entry_rules(scenario):
            result = nh  # entry has no effect on this arm: its run is the screening run
        else:
            times = np.full(int(pts.max()) + 1, np.nan)
            times[pts] = entry[pts]
            result = simulate(
                scenario, n_patients=int(pts.max()) + 1, seed=seed, draw=draw, entry_times=times
            )
        observed[label] = {}
        reader = ScaleReader(result)
        for months in (0.0, *visits):
            true = reader.at(pts, entry[pts] + months / 12.0)
            observed[label][months] = _observe(true, model.measurement_error, seed, draw, months)
        base = observed[label][0.0]
        baseline.append(
            {
                "replicate": replicate,
                "arm": label,
                "n": int(pts.size),
                "screened": int(enrolled.max()) + 1,
                "duration_years": float(np.mean(entry[pts])),
                **{f"{s}_entry": float(np.mean(base[s])) for s in SCALES},
            }
        )
    rows = []
    for name, ep in model.endpoints.items():
        months = trial.endpoint_months(name)
        better = SCALES[ep.scale][2]
        sign = -1.0 if better == "lower" else 1.0
        per_arm = {}
        for label in labels:
            base = observed[label][0.0][ep.scale]
            follow = observed[label][months]
            alive = follow["alive"]
            change = follow[ep.scale][alive] - base[alive]
            per_arm[label] = (change, int((~alive).sum()))
        for arm_a in trial.treatment_arms:
            arm_b = model.control
            (ca, xa), (cb, xb) = per_arm[arm_a], per_arm[arm_b]
            if ep.kind == "change":
                est, low, high, p = welch_difference(ca, cb, model.alpha)
                mean_a = float(ca.mean()) if ca.size else math.nan
                mean_b = float(cb.mean()) if cb.size else math.nan
                favourable = est * sign > 0
            else:
                ka = int(np.sum(sign * ca >= ep.improvement))
                kb = int(np.sum(sign * cb >= ep.improvement))
                est, low, high, p = proportion_difference(ka, ca.size, kb, cb.size, model.alpha)
                mean_a = ka / ca.size if ca.size else math.nan
                mean_b = kb / cb.size if cb.size else math.nan
                favourable = est > 0
            significant = bool(p < model.alpha)
            rows.append(
                (
                    replicate,
                    name,
                    arm_a,
                    arm_b,
                    int(ca.size),
                    int(cb.size),
                    xa,
                    xb,
                    mean_a,
                    mean_b,
                    est,
                    low,
                    high,
                    p,
                    significant,
                    bool(significant and favourable),
                )
            )
    return rows, baseline


def _run_chunk(args: tuple[Trial, int, list[int]]) -> tuple[list[tuple], list[dict]]:
    trial, seed, replicates = args
    rows: list[tuple] = []
    base: list[dict] = []
    for r in replicates:
        a, b = _run_replicate(trial, seed, r)
        rows.extend(a)
        base.extend(b)
    return rows, base


# --------------------------------------------------------------------------------------------- public API


@dataclass
class TrialResult:
    """Replicated simulated trial.

    ``replicates``: one row per (replicate, endpoint, treatment arm vs control) with the estimate
    (treatment minus control: difference in mean change from entry, or in responder shares), its CI, the
    p-value, ``significant`` (p < alpha, either direction) and ``favours_a`` (significant in the direction
    favouring the treatment arm); ``n_a``/``n_b`` analysed, ``n_excluded_a``/``n_excluded_b`` dead by the
    visit; ``mean_a``/``mean_b`` the arm means (mean change, or responder share).
    ``summary``: per endpoint and comparison, the mean and SD of the estimate over replicates, its 2.5 and
    97.5 percentiles, the power (share of replicates with ``favours_a``) and its Monte Carlo SE.
    ``baseline``: per replicate and arm, the disease duration and mean observed scores at entry.
    """

    replicates: pd.DataFrame
    summary: pd.DataFrame
    baseline: pd.DataFrame
    metadata: dict[str, Any]
    trial: Trial = field(repr=False)


def simulate_trial(
    trial: Trial | str | Path,
    replicates: int = 200,
    seed: int = 1,
    workers: int = 1,
    progress: bool = False,
) -> TrialResult:
    """Simulate a randomised trial ``replicates`` times and summarise its power.

    Parameters
    ----------
    trial : Trial, str or Path
        A trial file or a :class:`Trial` from :func:`load_trial`.
    replicates : int
        Independent replicates; replicate ``r`` uses PSA-free patient streams keyed by ``draw = r + 1``.
    seed : int
        Root seed of every random stream (non-negative).
    workers : int
        Processes over replicates; the results do not depend on it.
    progress : bool
        Show a progress bar.

    Returns
    -------
    TrialResult
    """
    if not isinstance(trial, Trial):
        trial = load_trial(trial)
    if not isinstance(replicates, int | np.integer) or replicates < 1:
        raise ValueError(f"replicates must be a positive integer, got {replicates!r}")
    if not isinstance(workers, int | np.integer) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    from tqdm.auto import tqdm

    reps = list(range(int(replicates)))
    rows: list[tuple] = []
    base: list[dict] = []
    bar = tqdm(total=len(reps), unit="replicate", delay=2.0, disable=not progress, leave=False)
    try:
        if workers == 1 or len(reps) == 1:
            for r in reps:
                a, b = _run_replicate(trial, int(seed), r)
                rows.extend(a)
                base.extend(b)
                bar.update(1)
        else:
            size = max(1, min(10, math.ceil(len(reps) / (workers * 4))))
            chunks = [reps[i : i + size] for i in range(0, len(reps), size)]
            with ProcessPoolExecutor(max_workers=min(workers, len(chunks))) as pool:
                for (a, b), chunk in zip(
                    pool.map(_run_chunk, [(trial, int(seed), c) for c in chunks]), chunks, strict=True
                ):
                    rows.extend(a)
                    base.extend(b)
                    bar.update(len(chunk))
    finally:
        bar.close()
    table = pd.DataFrame(rows, columns=list(REPLICATE_COLUMNS))
    summary = summarise(table, trial)
    metadata = {
        "trial_name": trial.name,
        "trial_path": Path(trial.path).name,
        "trial_sha256": trial.sha256,
        "source": trial.model.source,
        "seed": int(seed),
        "replicates": int(replicates),
        "draws": f"1..{int(replicates)} (draw = replicate + 1)",
        "arms": {k: {"scenario": s.name, "sha256": s.sha256} for k, s in trial.arms.items()},
        "horizon_years": trial.horizon_years,
        "versions": versions(),
    }
    return TrialResult(table, summary, pd.DataFrame(base), metadata, trial)


def summarise(table: pd.DataFrame, trial: Trial) -> pd.DataFrame:
    """Per endpoint and comparison: the distribution of the estimate over replicates and the power.

    ``power`` is the share of replicates with p < alpha in the direction favouring the treatment arm;
    ``power_mcse = sqrt(power (1 - power) / replicates)``.
    """
    out = []
    for (name, arm_a, arm_b), g in table.groupby(["endpoint", "arm_a", "arm_b"], sort=False):
        ep = trial.model.endpoints[name]
        est = g["estimate"].to_numpy(dtype=float)
        finite = est[np.isfinite(est)]
        n = len(g)
        power = float(g["favours_a"].mean())
        out.append(
            {
                "endpoint": name,
                "primary": name == trial.model.primary,
                "kind": ep.kind,
                "scale": ep.scale,
                "improvement": ep.improvement,
                "months": trial.endpoint_months(name),
                "better": SCALES[ep.scale][2],
                "arm_a": arm_a,
                "arm_b": arm_b,
                "replicates": n,
                "mean_n_a": float(g["n_a"].mean()),
                "mean_n_b": float(g["n_b"].mean()),
                "mean_excluded_a": float(g["n_excluded_a"].mean()),
                "mean_excluded_b": float(g["n_excluded_b"].mean()),
                "mean_a": float(g["mean_a"].mean()),
                "mean_b": float(g["mean_b"].mean()),
                "mean_estimate": float(finite.mean()) if finite.size else math.nan,
                "sd_estimate": float(finite.std(ddof=1)) if finite.size > 1 else math.nan,
                "p2_5": float(np.percentile(finite, 2.5)) if finite.size else math.nan,
                "p97_5": float(np.percentile(finite, 97.5)) if finite.size else math.nan,
                "share_significant": float(g["significant"].mean()),
                "power": power,
                "power_mcse": math.sqrt(power * (1 - power) / n),
            }
        )
    return pd.DataFrame(out)
