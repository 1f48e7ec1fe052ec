"""Scenario schema of the economics layer: discounting, unit costs and utilities (with sources)."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import AfterValidator, Field, model_validator

from sim.scenario.parameters import Kind, NonNegative, Section, Utility

#: A quantity that describes the decision, not the patients: never sampled in the PSA (``dist`` must be
#: ``fixed``), so that population figures cannot add noise to a simulation they do not enter.
DECISION_KIND = Kind(
    "fixed non-negative quantity of the decision", 0.0, math.inf, False, True, frozenset({"fixed"})
)
DecisionQuantity = Annotated[NonNegative, AfterValidator(DECISION_KIND)]


class Utilities(Section):
    """Utility (EQ-5D scale, <= 1) by modified Rankin level, and decrements and one-off losses."""

    mrs0: Utility
    mrs1: Utility
    mrs2: Utility
    mrs3: Utility
    mrs4: Utility
    mrs5: Utility
    pain_untreated_decrement: NonNegative
    pain_relieved_decrement: NonNegative
    malignancy_decrement: NonNegative
    bladder_cancer_decrement: NonNegative
    physiotherapy_gain: NonNegative = Field(description="while the benefit of a course lasts")
    adverse_event_minor_qaly_loss: NonNegative
    adverse_event_severe_qaly_loss: NonNegative


class UnitCosts(Section):
    """Unit costs in the scenario's currency and price year."""

    gp_visit: NonNegative
    neurology_exam: NonNegative
    ncs_emg: NonNegative
    serology: NonNegative = Field(description="immunofixation and anti-MAG ELISA")
    csf: NonNegative
    nerve_biopsy: NonNegative
    care_per_year_mrs1: NonNegative
    care_per_year_mrs2: NonNegative
    care_per_year_mrs3: NonNegative
    care_per_year_mrs4: NonNegative
    care_per_year_mrs5: NonNegative
    malignancy_care_per_year: NonNegative
    adverse_event_minor: NonNegative
    adverse_event_severe: NonNegative
    bladder_cancer: NonNegative


class Population(Section):
    """Who a decision concerns, for population EVPI and EVPPI (never sampled: ``dist`` is ``fixed``)."""

    people: DecisionQuantity = Field(description="people in the jurisdiction")
    prevalence_per_100k: DecisionQuantity
    incidence_per_100k_per_year: DecisionQuantity
    horizon_years: DecisionQuantity = Field(description="how long the decision stands")


class Economics(Section):
    currency: str = Field(min_length=1)
    price_year: int = Field(ge=1990, le=2100)
    discount_rate_costs: NonNegative = Field(description="annual rate, e.g. 0.035")
    discount_rate_effects: NonNegative
    utilities: Utilities
    costs: UnitCosts
    population: Population | None = None

    @model_validator(mode="after")
    def _rates(self) -> Economics:
        for name in ("discount_rate_costs", "discount_rate_effects"):
            if getattr(self, name).value >= 1:
                raise ValueError(f"{name} is an annual rate (e.g. 0.035), got {getattr(self, name).value}")
        return self
