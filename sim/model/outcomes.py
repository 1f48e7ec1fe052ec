"""Costs, QALYs and life-years of one patient, from their history: pure functions, no simulation.

Discounting convention (one for everything): continuous time with the force of interest
``δ = ln(1 + r)`` for an annual rate ``r``. A one-off amount at time ``t`` (years from onset) is worth
``e^(−δt) = (1 + r)^(−t)`` today; a flow of ``x`` per year over ``[t₁, t₂]`` is worth
``x · (e^(−δt₁) − e^(−δt₂)) / δ`` (and ``x · (t₂ − t₁)`` when ``r = 0``). Time zero is the first symptom.

Everything is counted over follow-up ``[0, t_end)`` with ``t_end`` = death or the horizon.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from types import SimpleNamespace

COST_CATEGORIES = (
    "drugs",
    "administration",
    "monitoring",
    "adverse_events",
    "diagnostics",
    "devices",
    "disease_care",
)
OUTCOME_COLUMNS = (
    "lys",
    "lys_disc",
    "qalys",
    "qalys_disc",
    "cost",
    "cost_disc",
    *(f"cost_{c}" for c in COST_CATEGORIES),
    *(f"cost_{c}_disc" for c in COST_CATEGORIES),
)
DIAGNOSTIC_COSTS = {
    "presentation": "gp_visit",
    "neurology_exam": "neurology_exam",
    "ncs_emg": "ncs_emg",
    "serology": "serology",
    "csf": "csf",
    "nerve_biopsy": "nerve_biopsy",
}
MRS_EVENTS = {"mrs2": 2, "disabled": 3, "mrs4": 4, "mrs5": 5}
#: Events that can change the utility or the yearly care cost; every other event leaves spells whole, so a
#: treatment that changes nothing adds no rounding either (invariant B10 of docs/invariants.md).
STATE_EVENTS = frozenset(
    {*MRS_EVENTS, "mrs", "neuropathic_pain", "pain_relief", "malignancy", "bladder_cancer"}
)


def force_of_interest(annual_rate: float) -> float:
    """δ = ln(1 + r): the one documented rate conversion of the package."""
    if not annual_rate >= 0:
        raise ValueError(f"discount rate must be >= 0, got {annual_rate}")
    return math.log1p(annual_rate)


def discount(t: float, delta: float) -> float:
    """Present value of 1 paid at time ``t``."""
    return math.exp(-delta * t)


def flow(t1: float, t2: float, delta: float) -> float:
    """Present value of a flow of 1 per year over ``[t1, t2]`` (0 if ``t2 <= t1``)."""
    if t2 <= t1:
        return 0.0
    if delta == 0.0:
        return t2 - t1
    return (math.exp(-delta * t1) - math.exp(-delta * t2)) / delta


def _merge_intervals(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def patient_outcomes(
    history: Sequence[tuple[float, str, str, float]],
    courses: Sequence,
    t_end: float,
    econ: SimpleNamespace,
    treatments: dict[str, SimpleNamespace],
) -> tuple[float, ...]:
    """Life-years, QALYs and costs by category, undiscounted and discounted, in ``OUTCOME_COLUMNS`` order.

    ``history`` is the patient's time-ordered ``(time, event, detail, value)`` record; ``courses`` their
    treatment courses (:class:`sim.model.treatments.Course`); ``t_end`` death or the horizon.
    """
    u = econ.utilities
    c = econ.costs
    dc = force_of_interest(econ.discount_rate_costs)
    de = force_of_interest(econ.discount_rate_effects)
    mrs_utility = (u.mrs0, u.mrs1, u.mrs2, u.mrs3, u.mrs4, u.mrs5)
    care = (
        0.0,
        c.care_per_year_mrs1,
        c.care_per_year_mrs2,
        c.care_per_year_mrs3,
        c.care_per_year_mrs4,
        c.care_per_year_mrs5,
    )
    undisc = dict.fromkeys(COST_CATEGORIES, 0.0)
    disc = dict.fromkeys(COST_CATEGORIES, 0.0)

    def one_off(category: str, amount: float, t: float) -> None:
        if t < t_end and amount:
            undisc[category] += amount
            disc[category] += amount * discount(t, dc)

    def per_year(category: str, amount: float, t1: float, t2: float) -> None:
        t2 = min(t2, t_end)
        if t2 > t1 and amount:
            undisc[category] += amount * (t2 - t1)
            disc[category] += amount * flow(t1, t2, dc)

    qalys = qalys_disc = 0.0
    mrs, pain, malignant, bladder = 1, 0, False, False
    physio: list[tuple[float, float]] = []
    t_prev = 0.0

    def utility() -> float:
        value = mrs_utility[mrs]
        if pain == 1:
            value -= u.pain_untreated_decrement
        elif pain == 2:
            value -= u.pain_relieved_decrement
        if malignant:
            value -= u.malignancy_decrement
        if bladder:
            value -= u.bladder_cancer_decrement
        return value

    for t, event, _detail, value in history:
        if t >= t_end:
            break
        if t > t_prev and event in STATE_EVENTS:  # spells close only where utility or care may change
            w = utility()
            qalys += w * (t - t_prev)
            qalys_disc += w * flow(t_prev, t, de)
            per_year("disease_care", care[mrs], t_prev, t)
            if malignant:
                per_year("disease_care", c.malignancy_care_per_year, t_prev, t)
            t_prev = t
        if event in MRS_EVENTS:
            mrs = MRS_EVENTS[event]
        elif event == "mrs":
            mrs = int(value)
        elif event == "neuropathic_pain":
            pain = max(pain, 1)
        elif event == "pain_relief":
            pain = 2
        elif event == "malignancy":
            malignant = True
        elif event == "bladder_cancer":
            bladder = True
            one_off("adverse_events", c.bladder_cancer, t)
        elif event == "adverse_event":
            severe = value >= 1.0
            one_off("adverse_events", c.adverse_event_severe if severe else c.adverse_event_minor, t)
            loss = u.adverse_event_severe_qaly_loss if severe else u.adverse_event_minor_qaly_loss
            qalys -= loss
            qalys_disc -= loss * discount(t, de)
        elif event == "function_improved":
            physio.append((t, t + value / 12.0))
        elif event in DIAGNOSTIC_COSTS:
            one_off("diagnostics", getattr(c, DIAGNOSTIC_COSTS[event]), t)
    if t_end > t_prev:
        w = utility()
        qalys += w * (t_end - t_prev)
        qalys_disc += w * flow(t_prev, t_end, de)
        per_year("disease_care", care[mrs], t_prev, t_end)
        if malignant:
            per_year("disease_care", c.malignancy_care_per_year, t_prev, t_end)
    for a, b in _merge_intervals(physio):
        b = min(b, t_end)
        if b > a:
            qalys += u.physiotherapy_gain * (b - a)
            qalys_disc += u.physiotherapy_gain * flow(a, b, de)

    for course in courses:
        _course_costs(course, treatments[course.treatment], t_end, one_off, per_year)

    lys = t_end
    lys_disc = flow(0.0, t_end, de)
    total = sum(undisc.values())
    total_disc = sum(disc.values())
    return (
        lys,
        lys_disc,
        qalys,
        qalys_disc,
        total,
        total_disc,
        *(undisc[k] for k in COST_CATEGORIES),
        *(disc[k] for k in COST_CATEGORIES),
    )


def _course_costs(course, spec: SimpleNamespace, t_end: float, one_off, per_year) -> None:
    kind = spec.type
    if kind == "assistive_device":
        t0 = course.doses[0][0]
        k = 0
        while t0 + k * spec.replacement_years < t_end:
            one_off("devices", spec.cost, t0 + k * spec.replacement_years)
            k += 1
        return
    if kind == "pain_drug":
        per_year("drugs", spec.cost_per_year, course.start, course.end if course.end is not None else t_end)
        return
    if kind == "physiotherapy":
        for t, _ in course.doses:
            one_off("disease_care", spec.cost_per_session, t)
        return
    costs = spec.costs
    one_off("monitoring", costs.monitoring_cost_per_course, course.start)
    for t, amount in course.doses:
        one_off("drugs", amount * costs.drug_cost_per_unit, t)
        one_off("administration", costs.administration_cost_per_dose, t)
