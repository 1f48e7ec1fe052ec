"""The trial-file schema: arms, entry criteria, endpoints, measurement error, screening."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from sim.model.milestones import THRESHOLD_ORDER
from sim.scenario.parameters import Section

#: Range of each scale for a living patient, and the direction of improvement.
SCALES: dict[str, tuple[int, int, Literal["lower", "higher"]]] = {
    "incat_arm": (0, 5, "lower"),
    "incat_leg": (0, 5, "lower"),
    "incat_total": (0, 10, "lower"),
    "incat_sensory": (0, 20, "lower"),
    "mrc_sum": (0, 60, "higher"),
    "mrs": (0, 5, "lower"),
    "onls_arm": (0, 5, "lower"),
    "onls_leg": (0, 7, "lower"),
    "onls_total": (0, 12, "lower"),
}
#: Scales measured directly (``incat_total`` and ``onls_total`` are the sums of the observed arm and leg
#: scores); the order is the row order of the measurement-error streams: append only, never reorder.
MEASURED = ("incat_arm", "incat_leg", "incat_sensory", "mrc_sum", "mrs", "onls_arm", "onls_leg")
#: Milestones that ``entry.any_milestone`` may require (reached at or before entry).
ENTRY_MILESTONES = (*THRESHOLD_ORDER[:-1], "tremor", "neuropathic_pain")
MILESTONE_COLUMN = {
    name: "t_pain" if name == "neuropathic_pain" else f"t_{name}" for name in ENTRY_MILESTONES
}
#: Top-level scenario keys that may differ between arms: everything else (the natural history) must not.
ARM_SPECIFIC_KEYS = frozenset({"name", "description", "strategy", "treatments", "economics"})


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
    onls_arm: Range | None = None
    onls_leg: Range | None = None
    onls_total: Range | None = None
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
    onls_arm: ErrorSD | None = None
    onls_leg: ErrorSD | None = None

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
