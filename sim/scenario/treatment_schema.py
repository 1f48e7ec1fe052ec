"""Scenario schema of the treatment catalogue: one table per intervention, by type.

A scenario names its treatments, e.g. ``[treatments.rituximab] type = "rituximab"``, and a strategy refers to
them by name. Every value is a parameter with a source; costs are the hook of the economics layer (unit costs
in the scenario's currency, see ``[economics]``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from sim.model.cohort import TITRE_BANDS
from sim.model.milestones import THRESHOLD_ORDER
from sim.scenario.parameters import (
    DeviceRenewalYears,
    InfusionIntervalWeeks,
    NonNegative,
    Positive,
    Probability,
    Section,
    TreatmentYears,
)


class Efficacy(Section):
    """Disease-modifying effect, varying between patients (docs/treatments.md §2).

    A patient is a responder with probability ``p_response`` (a persistent trait: the same patient responds
    to every course of the same treatment). A responder's response time ``T`` is log-normal (median
    ``months_to_response``, log-scale SD ``response_time_sigma``): the improvement begins at ``T / 2``, when
    the progression rate is multiplied by a factor drawn uniformly in ``rate_multiplier ±
    rate_multiplier_spread`` (clipped to [0, 1]) and half of the reversal happens, and is complete at ``T``.
    The reversal undoes a share drawn uniformly in ``[0, 2 · reversal_fraction]`` (clipped to 1) of the
    patient's *reversible* damage (``progression.axonal_conversion_years``). The benefit lasts a log-normal
    time from ``T``, then the patient relapses.
    """

    p_response: Probability
    months_to_response: Positive = Field(description="median time to the full response (months)")
    response_time_sigma: NonNegative = Field(description="log-scale SD of the time to response")
    rate_multiplier: Probability = Field(description="progression rate multiplier of responders (0 = halted)")
    rate_multiplier_spread: Probability
    reversal_fraction: Probability = Field(description="mean share of the reversible damage undone")
    response_duration_years: Positive = Field(
        description="median duration of benefit (log-normal, sigma 0.7)"
    )


class CostHook(Section):
    """Unit costs (the scenario's currency and price year, ``[economics]``)."""

    drug_cost_per_unit: NonNegative = Field(description="per mg (rituximab), g (IVIg, cyclophosphamide), ...")
    administration_cost_per_dose: NonNegative
    monitoring_cost_per_course: NonNegative


class Rituximab(Section):
    type: Literal["rituximab"]
    regimen: Literal["375mg_m2_x4", "1g_x2"]
    body_surface_m2: Positive
    efficacy: Efficacy
    p_response_low_titre: Probability = Field(description="p_response when anti-MAG < 10,000 BTU")
    p_flare: Probability = Field(description="early transient worsening (IgM flare)")
    flare_rate_multiplier: Positive
    flare_months: Positive
    p_infusion_reaction: Probability
    p_hypogammaglobulinaemia: Probability
    p_severe_infection: Probability
    p_death_given_severe_infection: Probability
    costs: CostHook


class IVIg(Section):
    type: Literal["ivig"]
    weight_kg: Positive
    induction_g_per_kg: Positive
    maintenance_g_per_kg: Positive
    maintenance_interval_weeks: InfusionIntervalWeeks
    assessment_months: Positive = Field(description="non-responders stop at this assessment")
    max_years: TreatmentYears
    benefit_weeks_after_stop: NonNegative
    efficacy: Efficacy
    p_thromboembolism_per_infusion: Probability
    p_death_given_thromboembolism: Probability
    p_other_adverse_event_per_infusion: Probability
    costs: CostHook


class PlasmaExchange(Section):
    type: Literal["plasma_exchange"]
    exchanges_per_course: int = Field(ge=1, le=20)
    course_weeks: Positive
    efficacy: Efficacy
    p_adverse_event_per_exchange: Probability
    p_severe_adverse_event_per_course: Probability
    p_death_given_severe: Probability
    costs: CostHook


class Cyclophosphamide(Section):
    type: Literal["cyclophosphamide"]
    route: Literal["oral_pulses", "iv_pulses"]
    combined_with: Literal["none", "prednisone", "rituximab"]
    dose_per_pulse_g: Positive
    pulses: int = Field(ge=1, le=24)
    interval_weeks: Positive
    efficacy: Efficacy
    p_haemorrhagic_cystitis_per_course: Probability
    p_severe_leukopenia_per_course: Probability
    bladder_cancer_base_rate_per_year: NonNegative
    bladder_cancer_rr_below_20g: Positive
    bladder_cancer_rr_20_to_49g: Positive
    bladder_cancer_rr_50g_or_more: Positive
    bladder_cancer_lag_years: NonNegative
    bladder_cancer_excess_mortality_per_year: NonNegative
    costs: CostHook


class PainDrug(Section):
    type: Literal["pain_drug"]
    drug: Literal["gabapentin", "duloxetine"]
    nnt: Positive = Field(description="number needed to treat for 50% pain relief")
    p_placebo_response: Probability
    p_discontinue_adverse_event: Probability
    cost_per_year: NonNegative


class Physiotherapy(Section):
    type: Literal["physiotherapy"]
    sessions_per_course: int = Field(ge=1, le=200)
    course_weeks: Positive
    benefit_months: Positive = Field(description="better balance and function after a course")
    cost_per_session: NonNegative


class AssistiveDevice(Section):
    type: Literal["assistive_device"]
    device: Literal["cane", "walker", "wheelchair", "orthosis"]
    cost: NonNegative
    replacement_years: DeviceRenewalYears


Treatment = Annotated[
    Rituximab | IVIg | PlasmaExchange | Cyclophosphamide | PainDrug | Physiotherapy | AssistiveDevice,
    Field(discriminator="type"),
]

TRIGGERS = (
    "diagnosis",
    "cidp_label",
    "entry",
    "progression",
    "neuropathic_pain",
    "non_response",
    "relapse",
    "adverse_event",
    *THRESHOLD_ORDER,
)
TITRE_ORDER = TITRE_BANDS  # the model defines the bands; the schema validates against them


class Rule(Section):
    """When to give a treatment. ``on`` names the trigger; ``after`` the treatment whose non-response,
    relapse or adverse event triggers it; the rest are conditions and caps."""

    on: Literal[TRIGGERS]  # type: ignore[valid-type]
    give: str = Field(min_length=1)
    after: str | None = None
    delay_months: float = Field(default=0.0, ge=0.0)
    min_mrs: int = Field(default=0, ge=0, le=5)
    min_titre: Literal["1000-10000", "10000-70000", ">=70000"] = "1000-10000"
    max_courses: int = Field(
        default=1000,
        ge=1,
        le=1000,
        description="courses this rule may give one patient; at most 1000 (more than ten a year for a "
        "century), so that a relapse-and-retreat cycle always ends",
    )
    max_cumulative_dose: float | None = Field(default=None, gt=0)
    requires_diagnosis: bool = True

    @model_validator(mode="after")
    def _after_only_for_outcomes(self) -> Rule:
        outcome = self.on in ("non_response", "relapse", "adverse_event")
        if outcome and self.after is None:
            raise ValueError(f"on = '{self.on}' needs after = '<treatment name>'")
        if not outcome and self.after is not None:
            raise ValueError(
                f"'after' is only allowed with on = non_response, relapse or adverse_event, not '{self.on}'"
            )
        return self


class Strategy(Section):
    description: str = ""
    rules: dict[str, Rule] = Field(
        default_factory=dict,
        description="named rules; a scenario that extends another adds or replaces rules by name",
    )
    stop_on_adverse_event: bool = Field(
        default=True,
        description="after a severe adverse event a running maintenance course stops and the treatment is "
        "not given again",
    )
