"""The structure of a scenario file: every section, field, kind and cross-field rule.

Unknown keys are errors (``extra="forbid"``) so that a typo never silently falls back to a default. Field
descriptions are the units; sources live with the values in the scenario files.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

from pydantic import Field, field_validator, model_validator

from sim.model.milestones import THRESHOLD_ORDER
from sim.scenario.economics_schema import Economics
from sim.scenario.parameters import (
    Age,
    LogSD,
    NonNegative,
    Param,
    Positive,
    Probability,
    RateRatioPerDecade,
    Section,
    support,
)
from sim.scenario.treatment_schema import Strategy, Treatment

#: Longest finite horizon (years from onset): far beyond any human life, long enough for checks on cohorts
#: that never die, and short enough that recurring events cannot run on without end.
MAX_HORIZON_YEARS = 200.0
#: Lowest background-mortality multiplier with a lifetime horizon: at 1% of the life table's rates a life
#: already lasts centuries (recurring events with it); below, a lifetime need never end.
MIN_LIFETIME_MORTALITY_MULTIPLIER = 0.01


def lowest_value(p: Param) -> float:
    """The smallest value a parameter can take, in the base case or any PSA draw."""
    return min(p.value, support(p)[0])


class Settings(Section):
    strategy: str = Field(min_length=1, description="name of the strategy this scenario describes")
    horizon_years: Any = Field(description="years of follow-up from onset (> 0), or 'lifetime' (until death)")
    life_table: str = Field(
        default="usa_2015", description="'usa_2015' (bundled) or a CSV path relative to the scenario file"
    )

    @field_validator("horizon_years", mode="before")
    @classmethod
    def _horizon(cls, v: Any) -> float | str:
        """One field, two forms: a positive number of years or the word 'lifetime' (one clear error).

        At most :data:`MAX_HORIZON_YEARS`: no one lives that long after the first symptom, and a longer
        horizon would only let recurring events (device renewals, maintenance) run on without end.
        """
        if isinstance(v, str) and v == "lifetime":
            return v
        if isinstance(v, int | float) and not isinstance(v, bool):
            years = float(v) if isinstance(v, float) or abs(v) < 10**300 else math.inf
            if 0 < years <= MAX_HORIZON_YEARS:
                return years
        shown = repr(v) if len(repr(v)) <= 40 else repr(v)[:39] + "…"
        raise ValueError(
            f"must be a number of years > 0 and <= {MAX_HORIZON_YEARS:g}, or 'lifetime', got {shown}"
        )


class Population(Section):
    """Who enters the model, at the first symptom."""

    age_onset_mean: Age
    age_onset_sd: Positive
    age_onset_min: Age
    age_onset_max: Age
    p_male: Probability
    p_titre_low: Probability = Field(description="share with anti-MAG 1,000-10,000 BTU")
    p_titre_high: Probability = Field(
        description="share with anti-MAG >= 70,000 BTU (the rest: 10,000-70,000)"
    )
    mprotein_median_g_dl: Positive
    mprotein_sigma: LogSD = Field(description="log-scale SD of the IgM M-protein level")

    @model_validator(mode="after")
    def _consistent(self) -> Population:
        if not self.age_onset_min.value < self.age_onset_mean.value < self.age_onset_max.value:
            raise ValueError(
                "need age_onset_min < age_onset_mean < age_onset_max, got "
                f"{self.age_onset_min.value} / {self.age_onset_mean.value} / {self.age_onset_max.value}"
            )
        if self.p_titre_low.value + self.p_titre_high.value > 1:
            raise ValueError(
                f"p_titre_low + p_titre_high must be <= 1, got {self.p_titre_low.value} + "
                f"{self.p_titre_high.value}"
            )
        return self


class Progression(Section):
    """Latent demyelination burden (0 = none, 1 = maximal) and its rate of rise."""

    burden_at_onset: Probability = Field(description="burden at the first symptom (t = 0)")
    p_fast_progressor: Probability
    rate_slow_median_per_year: Positive
    rate_slow_sigma: LogSD = Field(description="log-scale SD of the slow progressors' rate")
    rate_fast_median_per_year: Positive
    rate_fast_sigma: LogSD
    faster_phase_rate_per_year: NonNegative = Field(description="hazard of entering the faster phase")
    faster_phase_multiplier: Positive = Field(description="rate multiplier in the faster phase (>= 1)")
    rate_ratio_per_decade_of_onset_age: RateRatioPerDecade = Field(
        description="older onset, faster progression"
    )
    axonal_conversion_years: Positive = Field(
        description="mean years before demyelinating damage turns into irreversible axonal loss"
    )

    @model_validator(mode="after")
    def _faster(self) -> Progression:
        if self.faster_phase_multiplier.value < 1:
            raise ValueError(
                f"faster_phase_multiplier must be >= 1, got {self.faster_phase_multiplier.value}"
            )
        return self


class Thresholds(Section):
    """Burden at which each milestone happens; strictly increasing in the order of the fields."""

    sensory_hands: Probability
    ataxia: Probability
    mrs2: Probability
    weakness: Probability
    disabled: Probability = Field(description="modified Rankin >= 3")
    walking_aid: Probability
    mrs4: Probability
    mrs5: Probability

    @model_validator(mode="after")
    def _increasing(self) -> Thresholds:
        values = [getattr(self, name).value for name in THRESHOLD_ORDER]
        for (a, va), (b, vb) in pairwise(zip(THRESHOLD_ORDER, values, strict=True)):
            if not va < vb:
                raise ValueError(f"thresholds must increase: {a} = {va} is not below {b} = {vb}")
        return self


class Symptoms(Section):
    """Symptom phenotypes, each in its own subset of patients, and the patient-level spread of the scales."""

    p_tremor: Probability
    p_neuropathic_pain: Probability
    p_sensory_ataxia: Probability = Field(description="share who develop sensory ataxia")
    ataxia_disabling_burden_rise: Positive = Field(
        description="burden rise from ataxia onset to disabling gait ataxia (mRS 3)"
    )
    tremor_disabling_burden_rise: Positive = Field(
        description="burden rise from tremor onset to disabling hand tremor (mRS 3)"
    )
    scale_variation: Probability = Field(description="half-width of the patient-level factor on the scales")


class Diagnosis(Section):
    """The journey from first symptom to the diagnosis of anti-MAG neuropathy (times in years)."""

    presentation_delay_median_years: Positive
    presentation_delay_sigma: LogSD
    referral_wait_mean_years: Positive
    p_ncs_demyelinating: Probability
    p_cidp_first: Probability = Field(description="labelled CIDP first, among demyelinating NCS")
    cidp_relabel_median_years: Positive
    cidp_relabel_sigma: LogSD = Field(description="log-scale SD of the delay while labelled CIDP")
    unclear_workup_median_years: Positive
    unclear_workup_sigma: LogSD
    p_csf: Probability
    p_csf_protein_raised: Probability
    p_biopsy_if_unclear: Probability
    lab_turnaround_years: Positive


class Malignancy(Section):
    """Transformation of IgM MGUS to Waldenström macroglobulinaemia or lymphoma."""

    rate_per_year_at_1g_dl: NonNegative
    log_hazard_ratio_per_g_dl: NonNegative
    excess_mortality_rate_per_year: NonNegative


class Mortality(Section):
    background_rate_multiplier: NonNegative = Field(description="scales every life-table rate (1 = table)")


class ScenarioModel(Section):
    name: str = Field(min_length=1)
    description: str = ""
    settings: Settings
    population: Population
    progression: Progression
    thresholds: Thresholds
    symptoms: Symptoms
    diagnosis: Diagnosis
    malignancy: Malignancy
    mortality: Mortality
    treatments: dict[str, Treatment] = Field(default_factory=dict)
    strategy: Strategy = Field(default_factory=Strategy)
    economics: Economics | None = None

    @model_validator(mode="after")
    def _onset_below_thresholds(self) -> ScenarioModel:
        onset = self.progression.burden_at_onset.value
        if not onset < self.thresholds.sensory_hands.value:
            raise ValueError(
                f"progression.burden_at_onset = {onset} must be below thresholds.sensory_hands = "
                f"{self.thresholds.sensory_hands.value}"
            )
        if self.settings.horizon_years == "lifetime":
            low = lowest_value(self.mortality.background_rate_multiplier)
            if low < MIN_LIFETIME_MORTALITY_MULTIPLIER:
                raise ValueError(
                    "settings.horizon_years = 'lifetime' needs mortality.background_rate_multiplier >= "
                    f"{MIN_LIFETIME_MORTALITY_MULTIPLIER:g} in every PSA draw, got {low:g} (with little or "
                    "no mortality a lifetime lasts centuries or never ends); give a number of years instead"
                )
        for key, rule in self.strategy.rules.items():
            for field in ("give", "after"):
                name = getattr(rule, field)
                if name is not None and name not in self.treatments:
                    raise ValueError(
                        f"strategy.rules.{key}.{field} = '{name}' is not a treatment of this scenario; "
                        f"defined: {', '.join(sorted(self.treatments)) or 'none'}"
                    )
        return self
