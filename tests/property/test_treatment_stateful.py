"""A stateful Hypothesis test (invariant A9): random sequences of treatment starts and stops, progression,
adverse events and death on one simulated patient, with the invariants checked after every step."""

from __future__ import annotations

import math

import numpy as np
import simpy
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import sim
from sim.model.process import MILESTONES, Patient, threshold_list
from sim.model.treatments import TreatmentContext, build_catalogue

SCENARIO = sim.load_scenario(sim.default_scenario_path())
VALUES = SCENARIO.values()
DISEASE_MODIFYING = ("rituximab", "ivig", "plasma_exchange", "cyclophosphamide", "rituximab_combination")


class PatientMachine(RuleBasedStateMachine):
    """Drives one patient's SimPy environment by hand."""

    @initialize(
        rate=st.floats(0.005, 0.3),
        pid=st.integers(0, 10_000),
        tremor=st.one_of(st.none(), st.floats(0.1, 0.6)),
    )
    def start(self, rate: float, pid: int, tremor: float | None) -> None:
        self.env = simpy.Environment()
        b0 = VALUES.progression.burden_at_onset
        self.times = [math.nan] * len(MILESTONES)
        self.patient = Patient(
            self.env,
            pid,
            60.0,
            math.inf,
            self.times,
            b0,
            rate,
            math.inf,
            1.0,
            threshold_list(VALUES.thresholds, b0, tremor if tremor else float("nan"), float("nan")),
        )
        self.patient.state["diagnosed"] = True
        self.patient.start_disease()
        self.catalogue = build_catalogue(VALUES.treatments, TreatmentContext(7, 0), True)
        self.last_burden = b0
        self.samples: list[tuple[float, float, int]] = []  # (time, burden, reversals so far)

    def _reversals(self) -> int:
        return sum(1 for _, e, _, _ in self.patient.history if e == "reversal")

    def _advance(self, dt: float) -> None:
        """Run the patient's processes for ``dt`` years, or until the patient's simulation ends, as the
        runner does (``env.run(until=patient.end)``); after death time still moves on if the end was not
        signalled, so that anything a dead patient would still do shows up in the history."""
        if self.patient.end.triggered:
            return
        stop = self.env.timeout(dt)
        self.env.run(until=self.env.any_of([stop, self.patient.end]))
        if self.patient.alive:
            self.samples.append((self.env.now, self.patient.burden(), self._reversals()))

    @rule(dt=st.floats(0.01, 5.0))
    def progress(self, dt: float) -> None:
        self._advance(dt)

    @precondition(lambda self: self.patient.alive)
    @rule(name=st.sampled_from(DISEASE_MODIFYING + ("physiotherapy", "gabapentin")))
    def start_treatment(self, name: str) -> None:
        treatment = self.catalogue[name]
        if treatment.active(self.patient) is None:
            treatment.start(self.patient)

    @precondition(lambda self: self.patient.alive)
    @rule(multiplier=st.floats(0.0, 3.0), key=st.sampled_from(["a", "b"]))
    def apply_effect(self, multiplier: float, key: str) -> None:
        self.patient.apply_effect("test:" + key, multiplier)

    @precondition(lambda self: self.patient.alive)
    @rule(key=st.sampled_from(["a", "b"]))
    def stop_effect(self, key: str) -> None:
        self.patient.remove_effect("test:" + key)

    @precondition(lambda self: self.patient.alive)
    @rule(severe=st.booleans(), fatal=st.booleans())
    def adverse_event(self, severe: bool, fatal: bool) -> None:
        treatment = self.catalogue["rituximab"]
        course = treatment.active(self.patient) or treatment.start(self.patient)
        treatment.adverse_event(self.patient, course, "test event", severe, 1.0 if fatal else 0.0, 0.5)

    @precondition(lambda self: self.patient.alive)
    @rule()
    def death(self) -> None:
        self.patient.die(1, "background")

    @invariant()
    def death_ends_the_simulation(self) -> None:
        """Whatever the cause (background, a treatment's adverse event), death signals the end."""
        if not self.patient.alive:
            assert self.patient.end.triggered

    @invariant()
    def history_in_time_order_and_nothing_after_death(self) -> None:
        times = [t for t, *_ in self.patient.history]
        assert times == sorted(times)
        deaths = [t for t, e, *_ in self.patient.history if e == "death"]
        assert len(deaths) <= 1
        if deaths:
            assert not self.patient.alive
            assert times[-1] == deaths[0]
            assert self.times[MILESTONES.index("t_death")] == deaths[0]

    @invariant()
    def burden_within_bounds_and_falls_only_by_reversal(self) -> None:
        b0 = VALUES.progression.burden_at_onset
        for (_, b1, r1), (_, b2, r2) in zip(self.samples, self.samples[1:], strict=False):
            assert b0 - 1e-12 <= b2 <= 1.0
            if r2 == r1:
                assert b2 >= b1 - 1e-12

    @invariant()
    def milestones_in_clinical_order(self) -> None:
        t = dict(zip(MILESTONES, self.times, strict=True))
        order = [
            "t_sensory_hands",
            "t_ataxia",
            "t_mrs2",
            "t_weakness",
            "t_disabled",
            "t_walking_aid",
            "t_mrs4",
        ]
        seen = [t[c] for c in order if not np.isnan(t[c])]
        assert seen == sorted(seen)
        reached = [not np.isnan(t[c]) for c in order]
        assert reached == sorted(reached, reverse=True)  # a later milestone implies every earlier one

    @invariant()
    def mrs_matches_burden(self) -> None:
        if not self.patient.alive:
            return
        th = VALUES.thresholds
        expected = 1 + sum(
            self.patient.burden() >= getattr(th, n) - 1e-12 for n in ("mrs2", "disabled", "mrs4", "mrs5")
        )
        assert self.patient.mrs in (expected, expected - 1)  # equal, or a crossing due at this very instant


TestPatientMachine = PatientMachine.TestCase
TestPatientMachine.settings = settings(
    max_examples=40, stateful_step_count=25, deadline=None, derandomize=True
)
