"""Strategies: rules from the scenario file that decide when to start which treatment.

A strategy listens to a patient's events (diagnosis, milestones, a treatment's non-response, relapse or
adverse event, trial entry) and starts courses from the catalogue. It never writes disease state: only
treatments do, through the patient's effect interface.

Triggers (``on``): ``diagnosis``; ``cidp_label`` (first labelled CIDP, before the anti-MAG diagnosis);
``entry`` (trial entry); ``progression`` (modified Rankin rises after
diagnosis); ``neuropathic_pain``; a milestone (``sensory_hands``, ``ataxia``, ``mrs2``, ``weakness``,
``disabled``, ``walking_aid``, ``mrs4``, ``mrs5``) — a scale passing a threshold, since each scale is a step
function of the same burden (mRS ≥ 3 is ``disabled``, INCAT leg ≥ 2 is ``walking_aid``); and
``non_response``/``relapse``/``adverse_event`` of the treatment named by ``after``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Final

from sim.model.cohort import TITRE_BANDS as TITRE_ORDER
from sim.model.process import MRS_OF_THRESHOLD, Patient
from sim.model.treatments import TreatmentBase

OUTCOME_TRIGGERS: Final = ("non_response", "relapse", "adverse_event")
MONTH: Final = 1.0 / 12.0


class StrategyEngine:
    """Applies the rules of one strategy to one patient at a time (stateless between patients)."""

    def __init__(self, strategy: SimpleNamespace, catalogue: dict) -> None:
        self.rules = list(strategy.rules.values())
        self.catalogue = catalogue
        self.stop_on_ae = strategy.stop_on_adverse_event
        # Per trigger, what each of its rules checks, looked up once (rules are checked on every event
        # they listen to), in the order of the rules.
        self.by_trigger: dict[str, list[_RuleChecks]] = {}
        for rule in self.rules:
            self.by_trigger.setdefault(rule.on, []).append(_RuleChecks.of(rule, catalogue[rule.give]))
        #: The events :meth:`on_event` acts on; a patient tells the strategy of no other event.
        self.listened: frozenset[str] = frozenset()
        if self.rules:
            listened = set(self.by_trigger) - {"progression"}
            if "progression" in self.by_trigger:
                listened |= set(MRS_OF_THRESHOLD)
            if "progression" in self.by_trigger or any(r.requires_diagnosis for r in self.rules):
                listened.add("diagnosis")  # the rules need to know whether the patient is diagnosed
            if self.stop_on_ae:
                listened.add("adverse_event")
            self.listened = frozenset(listened)

    def attach(self, patient: Patient, titre_band: int) -> None:
        patient.state["titre_band"] = titre_band
        if self.rules:
            patient.listened = self.listened
            patient.listener = self.on_event

    def on_event(self, patient: Patient, event: str, detail: str) -> None:
        """Apply the rules of ``event``. The patient calls this once their record has reached the event,
        so what :meth:`Patient.later` actions changed before it is already done (rules read it directly)."""
        if event == "diagnosis":
            patient.state["diagnosed"] = True
        checks = self.by_trigger.get(event, ())
        for check in checks:
            if event in OUTCOME_TRIGGERS and check.after != detail:
                continue
            self._consider(patient, check)
        if event in MRS_OF_THRESHOLD and patient.state.get("diagnosed"):
            for check in self.by_trigger.get("progression", ()):
                self._consider(patient, check)
        if event == "adverse_event" and self.stop_on_ae and detail in self.catalogue:
            self._stop_after_severe(patient, detail)

    def _consider(self, patient: Patient, check: _RuleChecks) -> None:
        if not patient.alive:
            return
        state = patient.state
        if check.requires_diagnosis and not state.get("diagnosed"):
            return
        if patient.mrs < check.min_mrs:
            return
        titre_band: int = state.get("titre_band", 1)  # typed: compared as C integers, not objects
        if titre_band < check.min_titre:
            return
        if check.give in state.get("banned", ()):
            return
        if state.get(check.active_key) is not None:  # treatment.active(patient), settled: see on_event
            return
        n_courses: int = state.get(check.count_key, 0)  # treatment.n_courses(patient)
        if n_courses >= check.max_courses:
            return
        treatment = check.treatment
        if (
            check.max_cumulative_dose is not None
            and treatment.cumulative_dose(patient) >= check.max_cumulative_dose
        ):
            return
        if check.delay_months > 0:
            patient.drive(self._delayed_start(patient, treatment, check.delay_years))
        else:
            treatment.start(patient)

    def _delayed_start(self, patient: Patient, treatment, delay: float):
        yield patient.wait(delay)
        if patient.alive and treatment.active(patient) is None:
            treatment.start(patient)

    def _stop_after_severe(self, patient: Patient, name: str) -> None:
        """After a severe adverse event the treatment is not given again (its later rules are ignored)."""
        details = patient.state.get("ae_details", [])
        if details and details[-1][1] == name and details[-1][3]:
            patient.state.setdefault("banned", set()).add(name)


@dataclass(frozen=True, slots=True)
class _RuleChecks:
    """A rule's conditions and its treatment's state keys, unpacked once per run."""

    treatment: TreatmentBase
    give: str
    after: str | None  # for an outcome trigger: the treatment whose outcome it is
    requires_diagnosis: bool
    min_mrs: int
    min_titre: int
    active_key: str
    count_key: str
    max_courses: float
    max_cumulative_dose: float | None
    delay_months: float
    delay_years: float

    @classmethod
    def of(cls, rule: SimpleNamespace, treatment: TreatmentBase) -> _RuleChecks:
        return cls(
            treatment,
            rule.give,
            getattr(rule, "after", None),
            rule.requires_diagnosis,
            rule.min_mrs,
            TITRE_ORDER.index(rule.min_titre),
            treatment.active_key,
            treatment.count_key,
            rule.max_courses,
            rule.max_cumulative_dose,
            rule.delay_months,
            rule.delay_months * MONTH,
        )
