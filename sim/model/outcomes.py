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
from typing import TYPE_CHECKING, Any, Final

# The column names live in sim.model.columns (one place for every table); re-exported here.
from sim.model.columns import COST_CATEGORIES as COST_CATEGORIES
from sim.model.columns import OUTCOME_COLUMNS as OUTCOME_COLUMNS

if TYPE_CHECKING:  # the accounting reads courses, it does not run them
    from sim.model.treatments import Course

DIAGNOSTIC_COSTS: Final = {
    "presentation": "gp_visit",
    "neurology_exam": "neurology_exam",
    "ncs_emg": "ncs_emg",
    "serology": "serology",
    "csf": "csf",
    "nerve_biopsy": "nerve_biopsy",
}
MRS_EVENTS: Final = {"mrs2": 2, "disabled": 3, "mrs4": 4, "mrs5": 5}
#: Events that can change the utility or the yearly care cost; every other event leaves spells whole, so a
#: treatment that changes nothing adds no rounding either (invariant B10 of docs/invariants.md).
STATE_EVENTS: Final = frozenset(
    {*MRS_EVENTS, "mrs", "neuropathic_pain", "pain_relief", "malignancy", "bladder_cancer"}
)

N_CATEGORIES: Final = len(COST_CATEGORIES)
# Indices in COST_CATEGORIES (Final: the compiled model reads them as constants).
DRUGS: Final = 0
ADMINISTRATION: Final = 1
MONITORING: Final = 2
ADVERSE_EVENTS: Final = 3
DIAGNOSTICS: Final = 4
DEVICES: Final = 5
DISEASE_CARE: Final = 6
assert N_CATEGORIES == DISEASE_CARE + 1 and COST_CATEGORIES[DISEASE_CARE] == "disease_care"
#: The builtin ``sum`` as a final name (a C static when compiled; the builtin itself is looked up in the
#: builtins module at every call). The builtin it is: its rounding (compensated from Python 3.12) is kept.
_sum: Final = sum
# What an event does to the accounts; events absent from EVENT_KIND do nothing. Kinds below _FIRST_COSTED
# are the STATE_EVENTS (they close the current spell).
_MRS_LEVEL: Final = 0
_MRS_VALUE: Final = 1
_PAIN: Final = 2
_PAIN_RELIEF: Final = 3
_MALIGNANCY: Final = 4
_BLADDER: Final = 5
_ADVERSE: Final = 6
_PHYSIO: Final = 7
_DIAGNOSTIC: Final = 8
_FIRST_COSTED: Final = _ADVERSE
EVENT_KIND: Final[dict[str, int]] = {
    **dict.fromkeys(MRS_EVENTS, _MRS_LEVEL),
    "mrs": _MRS_VALUE,
    "neuropathic_pain": _PAIN,
    "pain_relief": _PAIN_RELIEF,
    "malignancy": _MALIGNANCY,
    "bladder_cancer": _BLADDER,
    "adverse_event": _ADVERSE,
    "function_improved": _PHYSIO,
    **dict.fromkeys(DIAGNOSTIC_COSTS, _DIAGNOSTIC),
}


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
    """The union of ``[a, b]`` intervals (``b >= a``) as disjoint intervals in order.

    Intervals that come with their starts in order (those of a patient's record do) are merged as they come:
    among equal starts the order does not matter (each merged end is the largest of its ends), so this is
    the merge of the sorted intervals, without the sort.
    """
    items = list(intervals)
    out: list[tuple[float, float]] = []
    last = -math.inf
    for a, b in items:
        if a < last:  # out of order: merge them sorted
            return _merge_intervals(sorted(items))
        last = a
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


class OutcomeAccounting:
    """The economic parameters of one run, unpacked once, that turn a patient's history into outcomes.

    Built once per block of patients: looking up a utility, a unit cost or a treatment's costing rule is
    done here, not for every event of every patient. :meth:`patient` performs exactly the arithmetic of the
    definitions in this module's docstring, in the same order, so results do not depend on how the work is
    batched.
    """

    def __init__(self, econ: SimpleNamespace, treatments: dict[str, SimpleNamespace]) -> None:
        u = econ.utilities
        c = econ.costs
        self.dc = force_of_interest(econ.discount_rate_costs)
        self.de = force_of_interest(econ.discount_rate_effects)
        # Typed (float), so that the compiled accounting does its arithmetic on doubles, not objects.
        self.mrs_utility: tuple[float, ...] = (u.mrs0, u.mrs1, u.mrs2, u.mrs3, u.mrs4, u.mrs5)
        self.care: tuple[float, ...] = (
            0.0,
            c.care_per_year_mrs1,
            c.care_per_year_mrs2,
            c.care_per_year_mrs3,
            c.care_per_year_mrs4,
            c.care_per_year_mrs5,
        )
        self.u = u
        self.c = c
        # Read for every patient: typed copies of the values.
        self.malignancy_care: float = c.malignancy_care_per_year
        self.pain_untreated: float = u.pain_untreated_decrement
        self.pain_relieved: float = u.pain_relieved_decrement
        self.malignancy_decrement: float = u.malignancy_decrement
        self.bladder_decrement: float = u.bladder_cancer_decrement
        self.physiotherapy_gain: float = u.physiotherapy_gain
        self.diagnostic_cost = {event: getattr(c, name) for event, name in DIAGNOSTIC_COSTS.items()}
        self._costing = {name: _CourseCosting(spec) for name, spec in treatments.items()}
        # What each event does, with what it carries: the mRS of a level, the cost of a diagnostic step.
        self._kinds: dict[str, tuple[int, Any]] = {
            event: (kind, MRS_EVENTS.get(event, self.diagnostic_cost.get(event)))
            for event, kind in EVENT_KIND.items()
        }

    def patient(
        self, history: list[tuple[float, str, str, float]], courses: Sequence[Course], t_end: float
    ) -> tuple[float, ...]:
        """Outcomes of one patient in ``OUTCOME_COLUMNS`` order (see :func:`patient_outcomes`).

        The hot loop of every run (one call per patient), written for speed with the arithmetic of the
        definitions unchanged: the same operations in the same order, so the same bits. The discount factor
        at a spell's end is kept for the next spell's start (the same ``exp`` of the same argument).
        """
        u = self.u
        c = self.c
        dc = self.dc
        de = self.de
        mrs_utility = self.mrs_utility
        care = self.care
        kinds = self._kinds
        ledger = _Ledger(t_end, dc)
        care_undisc = care_disc = 0.0  # the DISEASE_CARE flows of the spells, in spell order
        malignancy_care = self.malignancy_care

        qalys = qalys_disc = 0.0
        mrs, pain, malignant, bladder = 1, 0, False, False
        physio: list[tuple[float, float]] = []
        t_prev = 0.0
        e_prev = c_prev = 1.0  # math.exp(-de * t_prev), math.exp(-dc * t_prev)
        w: float = mrs_utility[1]  # the utility of the current spell, recomputed when a state changes
        pain_untreated = self.pain_untreated
        pain_relieved = self.pain_relieved
        malignancy_decrement = self.malignancy_decrement
        bladder_decrement = self.bladder_decrement

        records: list[tuple[float, str, str, Any]] = history  # a value is unboxed only where it is read
        for t, event, _detail, value in records:
            if t >= t_end:
                break
            spec = kinds.get(event)
            if spec is None:
                continue  # an event that neither changes a state nor costs anything
            kind, extra = spec
            if kind < _FIRST_COSTED:
                if t > t_prev:  # spells close only where utility or care may change
                    span = t - t_prev
                    e_t = math.exp(-de * t) if de else 1.0
                    c_t = math.exp(-dc * t) if dc else 1.0
                    qalys += w * span
                    qalys_disc += w * (((e_prev - e_t) / de) if de else span)
                    yearly = care[mrs]
                    if yearly:
                        care_undisc, care_disc = _add_flow(
                            care_undisc, care_disc, yearly, span, c_prev, c_t, dc
                        )
                    if malignant and malignancy_care:
                        care_undisc, care_disc = _add_flow(
                            care_undisc, care_disc, malignancy_care, span, c_prev, c_t, dc
                        )
                    t_prev = t
                    e_prev = e_t
                    c_prev = c_t
                if kind == _MRS_LEVEL:
                    mrs = extra
                elif kind == _MRS_VALUE:
                    mrs_value: float = value
                    mrs = int(mrs_value)
                elif kind == _PAIN:
                    pain = max(pain, 1)
                elif kind == _PAIN_RELIEF:
                    pain = 2
                elif kind == _MALIGNANCY:
                    malignant = True
                else:  # _BLADDER
                    bladder = True
                    ledger.one_off(ADVERSE_EVENTS, c.bladder_cancer, t)
                w = mrs_utility[mrs]
                if pain == 1:
                    w -= pain_untreated
                elif pain == 2:
                    w -= pain_relieved
                if malignant:
                    w -= malignancy_decrement
                if bladder:
                    w -= bladder_decrement
            elif kind == _ADVERSE:
                severity: float = value
                severe = severity >= 1.0
                ledger.one_off(ADVERSE_EVENTS, c.adverse_event_severe if severe else c.adverse_event_minor, t)
                loss: float = u.adverse_event_severe_qaly_loss if severe else u.adverse_event_minor_qaly_loss
                qalys -= loss
                qalys_disc -= loss * math.exp(-de * t)
            elif kind == _PHYSIO:
                months: float = value
                physio.append((t, t + months / 12.0))
            else:  # _DIAGNOSTIC
                ledger.one_off(DIAGNOSTICS, extra, t)
        if t_end > t_prev:
            span = t_end - t_prev
            e_end = math.exp(-de * t_end) if de else 1.0
            c_end = math.exp(-dc * t_end) if dc else 1.0
            qalys += w * span
            qalys_disc += w * (((e_prev - e_end) / de) if de else span)
            yearly = care[mrs]
            if yearly:
                care_undisc, care_disc = _add_flow(care_undisc, care_disc, yearly, span, c_prev, c_end, dc)
            if malignant and malignancy_care:
                care_undisc, care_disc = _add_flow(
                    care_undisc, care_disc, malignancy_care, span, c_prev, c_end, dc
                )
        if physio:
            gain = self.physiotherapy_gain
            for a, b in physio if len(physio) == 1 else _merge_intervals(physio):  # one: nothing to merge
                b = min(b, t_end)
                if b > a:
                    qalys += gain * (b - a)
                    qalys_disc += gain * flow(a, b, de)

        # Only the flows above have touched DISEASE_CARE so far; the courses' one-off amounts come after them,
        # the sessions of physiotherapy added to the same running sums in C doubles (no other course costs
        # DISEASE_CARE: the same additions in the same order as in the ledger's list).
        costing = self._costing
        for course in courses:
            rule = costing[course.treatment]
            if rule.kind == _PHYSIOTHERAPY_COURSE:  # many sessions: the one-off rule, inlined
                amount = rule.cost_per_session
                n_scheduled = course.scheduled()
                if amount and n_scheduled:  # the sessions' times as the course lists them
                    first, step = course.first_dose, course.dose_interval
                    for i in range(n_scheduled):
                        t = first + i * step
                        if t < t_end:
                            care_undisc += amount
                            care_disc += amount * math.exp(-dc * t)
                elif amount:
                    for t, _ in course.doses:
                        if t < t_end:
                            care_undisc += amount
                            care_disc += amount * math.exp(-dc * t)
            else:
                _course_costs(course, rule, t_end, ledger)
        undisc, disc = ledger.totals()
        undisc[DISEASE_CARE] = care_undisc
        disc[DISEASE_CARE] = care_disc

        return (
            t_end,
            flow(0.0, t_end, de),
            qalys,
            qalys_disc,
            _sum(undisc),
            _sum(disc),
            *undisc,
            *disc,
        )


def _add_flow(
    total_undisc: float, total_disc: float, amount: float, span: float, d1: float, d2: float, delta: float
) -> tuple[float, float]:
    """Add a flow of ``amount`` per year over a spell of length ``span`` whose discount factors at its start
    and end are ``d1`` and ``d2``: ``amount * span`` and ``amount * (d1 - d2) / delta`` (as :func:`flow`)."""
    return total_undisc + amount * span, total_disc + amount * (((d1 - d2) / delta) if delta else span)


def patient_outcomes(
    history: Sequence[tuple[float, str, str, float]],
    courses: Sequence,
    t_end: float,
    econ: SimpleNamespace,
    treatments: dict[str, SimpleNamespace],
) -> tuple[float, ...]:
    """Life-years, QALYs and costs by category, undiscounted and discounted, in ``OUTCOME_COLUMNS`` order.

    ``history`` is the patient's time-ordered ``(time, event, detail, value)`` record; ``courses`` their
    treatment courses (:class:`sim.model.treatments.Course`); ``t_end`` death or the horizon. For many
    patients build one :class:`OutcomeAccounting` and call its :meth:`~OutcomeAccounting.patient`.
    """
    return OutcomeAccounting(econ, treatments).patient(list(history), courses, t_end)


class _Ledger:
    """A patient's costs by category, undiscounted and discounted, as one-off amounts and yearly flows are
    added within follow-up (``[0, t_end)``).

    A class rather than closures over the totals: a closure and its environment refer to each other, so
    every patient would leave cyclic garbage behind for the collector. Each total is a field of its own
    (a C double in the compiled accounting; an item of a list is a boxed float, made anew by every
    addition); :meth:`totals` lists them in ``COST_CATEGORIES`` order.
    """

    __slots__ = (
        "t_end",
        "dc",
        "drugs",
        "drugs_disc",
        "administration",
        "administration_disc",
        "monitoring",
        "monitoring_disc",
        "adverse_events",
        "adverse_events_disc",
        "diagnostics",
        "diagnostics_disc",
        "devices",
        "devices_disc",
        "disease_care",
        "disease_care_disc",
    )

    def __init__(self, t_end: float, dc: float) -> None:
        self.t_end = t_end
        self.dc = dc
        self.drugs = self.drugs_disc = 0.0
        self.administration = self.administration_disc = 0.0
        self.monitoring = self.monitoring_disc = 0.0
        self.adverse_events = self.adverse_events_disc = 0.0
        self.diagnostics = self.diagnostics_disc = 0.0
        self.devices = self.devices_disc = 0.0
        self.disease_care = self.disease_care_disc = 0.0

    def totals(self) -> tuple[list[float], list[float]]:
        """The undiscounted and the discounted totals, in ``COST_CATEGORIES`` order."""
        undisc = [
            self.drugs,
            self.administration,
            self.monitoring,
            self.adverse_events,
            self.diagnostics,
            self.devices,
            self.disease_care,
        ]
        disc = [
            self.drugs_disc,
            self.administration_disc,
            self.monitoring_disc,
            self.adverse_events_disc,
            self.diagnostics_disc,
            self.devices_disc,
            self.disease_care_disc,
        ]
        return undisc, disc

    def one_off(self, category: int, amount: float, t: float) -> None:
        if t < self.t_end and amount:
            self._add_both(category, amount, amount * math.exp(-self.dc * t))

    def dose(self, drug: float, administration: float, t: float) -> None:
        """A dose at ``t``: ``one_off(DRUGS, drug, t)`` and ``one_off(ADMINISTRATION, administration, t)``,
        with the discount factor computed once (the same ``exp`` of the same argument: the same sums)."""
        if t < self.t_end and (drug or administration):
            factor = math.exp(-self.dc * t)
            if drug:
                self._add_both(DRUGS, drug, drug * factor)
            if administration:
                self._add_both(ADMINISTRATION, administration, administration * factor)

    def _add_both(self, category: int, undisc: float, disc: float) -> None:
        """Add ``undisc`` and ``disc`` to the totals of ``category``."""
        if category == DRUGS:
            self.drugs += undisc
            self.drugs_disc += disc
        elif category == ADMINISTRATION:
            self.administration += undisc
            self.administration_disc += disc
        elif category == MONITORING:
            self.monitoring += undisc
            self.monitoring_disc += disc
        elif category == ADVERSE_EVENTS:
            self.adverse_events += undisc
            self.adverse_events_disc += disc
        elif category == DIAGNOSTICS:
            self.diagnostics += undisc
            self.diagnostics_disc += disc
        elif category == DEVICES:
            self.devices += undisc
            self.devices_disc += disc
        elif category == DISEASE_CARE:
            self.disease_care += undisc
            self.disease_care_disc += disc
        else:
            raise ValueError(f"unknown cost category {category}; allowed: 0 to {N_CATEGORIES - 1}")

    def per_year(self, category: int, amount: float, t1: float, t2: float) -> None:
        t2 = min(t2, self.t_end)
        if t2 > t1 and amount:
            self._add_both(category, amount * (t2 - t1), amount * flow(t1, t2, self.dc))


#: How a course is costed (:class:`_CourseCosting`).
_PHYSIOTHERAPY_COURSE: Final = 0
_DEVICE_COURSE: Final = 1
_PAIN_DRUG_COURSE: Final = 2
_DOSED_COURSE: Final = 3


class _CourseCosting:
    """A treatment's costing rule, its unit costs read once per run (typed, for the compiled accounting)."""

    __slots__ = (
        "kind",
        "cost_per_session",
        "cost",
        "replacement_years",
        "cost_per_year",
        "monitoring_cost_per_course",
        "drug_cost_per_unit",
        "administration_cost_per_dose",
    )

    kind: int
    cost_per_session: float
    cost: float
    replacement_years: float
    cost_per_year: float
    monitoring_cost_per_course: float
    drug_cost_per_unit: float
    administration_cost_per_dose: float

    def __init__(self, spec: SimpleNamespace) -> None:
        self.cost_per_session = self.cost = self.replacement_years = self.cost_per_year = 0.0
        self.monitoring_cost_per_course = self.drug_cost_per_unit = self.administration_cost_per_dose = 0.0
        kind = spec.type
        if kind == "physiotherapy":
            self.kind = _PHYSIOTHERAPY_COURSE
            self.cost_per_session = spec.cost_per_session
        elif kind == "assistive_device":
            self.kind = _DEVICE_COURSE
            self.cost = spec.cost
            self.replacement_years = spec.replacement_years
        elif kind == "pain_drug":
            self.kind = _PAIN_DRUG_COURSE
            self.cost_per_year = spec.cost_per_year
        else:
            self.kind = _DOSED_COURSE
            costs = spec.costs
            self.monitoring_cost_per_course = costs.monitoring_cost_per_course
            self.drug_cost_per_unit = costs.drug_cost_per_unit
            self.administration_cost_per_dose = costs.administration_cost_per_dose


def _course_costs(course: Course, rule: _CourseCosting, t_end: float, ledger: _Ledger) -> None:
    """The costs of one course other than physiotherapy (whose sessions :meth:`OutcomeAccounting.patient`
    costs inline: one ``one_off`` per session)."""
    kind = rule.kind
    if kind == _DEVICE_COURSE:
        t0 = course.doses[0][0]
        every = rule.replacement_years
        k = 0
        while t0 + k * every < t_end:
            ledger.one_off(DEVICES, rule.cost, t0 + k * every)
            k += 1
        return
    if kind == _PAIN_DRUG_COURSE:
        ledger.per_year(
            DRUGS, rule.cost_per_year, course.start, course.end if course.end is not None else t_end
        )
        return
    ledger.one_off(MONITORING, rule.monitoring_cost_per_course, course.start)
    for t, amount in course.doses:
        ledger.dose(amount * rule.drug_cost_per_unit, rule.administration_cost_per_dose, t)
