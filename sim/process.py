"""The SimPy processes of one patient: disease, diagnostic journey, and life (transformation and death).

Each patient has an environment of its own (a small event heap is several times faster than one shared heap
of thousands of processes). The processes wait exactly until the next thing that can happen:

* **disease**: the burden rises linearly at the current rate between events, so the time to the next
  threshold is ``(threshold - burden) / rate``; entering the faster phase, or a treatment changing the rate,
  interrupts the wait and the crossing time is recomputed;
* **diagnosis**: walks the pre-drawn diagnostic journey;
* **life**: waits for malignant transformation, background death or death from the malignancy, whichever is
  first; death or the horizon ends the patient's simulation.

Follow-up covers ``[0, horizon)``: an event at exactly the horizon is not recorded, and a patient alive at
the horizon has no death time (documented rule, TESTING.md B17).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import simpy

from .errors import SimulationError

THRESHOLD_NAMES = ("sensory_hands", "ataxia", "mrs2", "weakness", "disabled", "walking_aid", "mrs4", "mrs5")
MILESTONES = (
    "t_sensory_hands",
    "t_ataxia",
    "t_mrs2",
    "t_weakness",
    "t_disabled",
    "t_walking_aid",
    "t_mrs4",
    "t_mrs5",
    "t_tremor",
    "t_pain",
    "t_faster_phase",
    "t_presentation",
    "t_cidp_label",
    "t_diagnosis",
    "t_malignancy",
    "t_death",
)
COLUMN = {name: i for i, name in enumerate(MILESTONES)}
EVENT_COLUMN = {
    "presentation": COLUMN["t_presentation"],
    "cidp_label": COLUMN["t_cidp_label"],
    "diagnosis": COLUMN["t_diagnosis"],
}
DEATH_CAUSES = ("", "background", "malignancy")
INF = math.inf


class Patient:
    """The state of one simulated patient while their processes run."""

    __slots__ = (
        "env",
        "pid",
        "age0",
        "horizon",
        "times",
        "events",
        "path",
        "b_ref",
        "t_ref",
        "base_rate",
        "rate_multiplier",
        "phase_multiplier",
        "t_faster",
        "faster_multiplier",
        "thresholds",
        "disease_proc",
        "death_cause",
        "end",
    )

    def __init__(
        self,
        env: simpy.Environment,
        pid: int,
        age0: float,
        horizon: float,
        times: np.ndarray,
        events: list | None,
        path: list,
        b0: float,
        base_rate: float,
        t_faster: float,
        faster_multiplier: float,
        thresholds: list[tuple[float, str, int]],
    ) -> None:
        self.env = env
        self.pid = pid
        self.age0 = age0
        self.horizon = horizon
        self.times = times
        self.events = events
        self.path = path
        self.b_ref = b0
        self.t_ref = 0.0
        self.base_rate = base_rate
        self.rate_multiplier = 1.0
        self.phase_multiplier = 1.0
        self.t_faster = t_faster
        self.faster_multiplier = faster_multiplier
        self.thresholds = thresholds
        self.death_cause = 0
        self.end = env.event()

    # ------------------------------------------------------------------ state
    @property
    def rate(self) -> float:
        return self.base_rate * self.phase_multiplier * self.rate_multiplier

    def burden(self, t: float) -> float:
        """Latent burden at time ``t`` (not before the last rate change), capped at 1."""
        return min(1.0, self.b_ref + self.rate * (t - self.t_ref))

    def set_rate(self, phase_multiplier: float | None = None, rate_multiplier: float | None = None) -> None:
        """Change the rate now; the disease process recomputes its next crossing (interrupt)."""
        now = self.env.now
        self.b_ref = self.burden(now)
        self.t_ref = now
        if phase_multiplier is not None:
            self.phase_multiplier = phase_multiplier
        if rate_multiplier is not None:
            self.rate_multiplier = rate_multiplier
        self.path.append((self.pid, now, self.b_ref, self.rate))

    def record(self, column: int, event: str, detail: str = "") -> None:
        now = self.env.now
        if now >= self.horizon:
            return
        if column >= 0 and math.isnan(self.times[column]):
            self.times[column] = now
        if self.events is not None:
            self.events.append((self.pid, now, self.age0 + now, event, detail))

    def wait(self, delay: float) -> simpy.Timeout:
        if not delay >= 0.0:  # also catches NaN
            raise SimulationError(f"patient {self.pid}: negative or NaN delay {delay!r} at t={self.env.now}")
        return self.env.timeout(delay)

    def wait_until(self, t: float) -> simpy.Timeout:
        """Wait until absolute time ``t``; rounding of ``now`` (sums of delays) is absorbed."""
        now = self.env.now
        if not t >= now - 1e-9 * max(1.0, now):
            raise SimulationError(f"patient {self.pid}: scheduled time {t!r} lies before now (t={now})")
        return self.env.timeout(t - now if t > now else 0.0)

    # ------------------------------------------------------------------ processes
    def disease(self):
        """Threshold crossings in order; faster phase; interruptible by treatments."""
        thresholds = self.thresholds
        k = 0
        n = len(thresholds)
        while k < n:
            now = self.env.now
            rate = self.rate
            b = self.b_ref + rate * (now - self.t_ref)
            level, name, column = thresholds[k]
            to_threshold = (level - b) / rate if rate > 0.0 else INF
            to_phase = max(self.t_faster - now, 0.0)
            if to_threshold == INF and to_phase == INF:
                return  # nothing more can happen to the burden
            try:
                if to_phase < to_threshold:
                    yield self.wait(to_phase)
                    self.t_faster = INF
                    self.set_rate(phase_multiplier=self.faster_multiplier)
                    self.record(COLUMN["t_faster_phase"], "faster_phase", "progression accelerates")
                else:
                    yield self.wait(max(to_threshold, 0.0))
                    self.b_ref = level
                    self.t_ref = self.env.now
                    self.record(column, name, "")
                    k += 1
            except simpy.Interrupt:
                continue

    def diagnosis(self, steps: list[tuple[float, str, str]]):
        for t, event, detail in steps:
            yield self.wait_until(t)
            self.record(EVENT_COLUMN.get(event, -1), event, detail)

    def life(self, t_background: float, t_malignancy: float, excess_exp: float, excess_rate: float):
        horizon = self.horizon
        t_death, cause = t_background, 1
        if t_malignancy < min(t_background, horizon):
            yield self.wait_until(t_malignancy)
            self.record(COLUMN["t_malignancy"], "malignancy", "Waldenström macroglobulinaemia or lymphoma")
            if excess_rate > 0:
                t_excess = t_malignancy + excess_exp / excess_rate
                if t_excess < t_death:
                    t_death, cause = t_excess, 2
        if t_death < horizon:
            yield self.wait_until(t_death)
            self.death_cause = cause
            self.record(COLUMN["t_death"], "death", DEATH_CAUSES[cause])
        elif horizon < INF:
            yield self.wait_until(horizon)
        self.end.succeed()


def threshold_list(
    th: SimpleNamespace, b0: float, tremor_b: float, pain_b: float
) -> list[tuple[float, str, int]]:
    """The patient's milestones as (burden, event, column), sorted by burden; ties keep clinical order."""
    items = [(getattr(th, name), name, COLUMN["t_" + name]) for name in THRESHOLD_NAMES]
    if tremor_b == tremor_b:  # not NaN
        items.append((max(tremor_b, b0), "tremor", COLUMN["t_tremor"]))
    if pain_b == pain_b:
        items.append((max(pain_b, b0), "neuropathic_pain", COLUMN["t_pain"]))
    return sorted(items, key=lambda x: x[0])
