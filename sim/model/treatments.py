"""The treatment catalogue: what each intervention does to a patient, as SimPy processes.

A :class:`Course` is a first-class object: its schedule of doses, the time on treatment, the response, the
adverse events, and why it ended. Treatments change the disease only through the patient's
:meth:`~sim.model.process.Patient.apply_effect` and
:meth:`~sim.model.process.Patient.reverse`; whether and when they are given is decided by
:mod:`sim.model.strategy`.

Randomness (common random numbers): a patient's persistent traits for a treatment (responder, effect size,
flare susceptibility) are the patient's column of a block matrix of uniforms keyed by (treatment name,
block of patients), and each course's events come from a stream keyed by (treatment name, patient, course
number), both on the ``treatment`` purpose. The same patient therefore responds, or not, to rituximab in
every arm that gives it, and no treatment draw ever shifts a natural-history draw.

The clock is read as ``env._now``, as in :mod:`sim.model.process` (``env.now`` is an interpreted call).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, ClassVar, Final

import numpy as np

from sim.errors import SimulationError
from sim.model.process import Patient
from sim.random import BLOCK_SIZE, PURPOSES, generator, stable_key
from sim.seeding import SeedWords, seed_words, seed_words_many

WEEK: Final = 1.0 / 52.0
MONTH: Final = 1.0 / 12.0
DURATION_SIGMA: Final = 0.7
TREATMENT_DEATH: Final = 3
# Builtins and math functions the compiled model does not translate, as final names (C statics there,
# where a plain call looks the name up in its module on every call).
_sum: Final = sum
_log1p: Final = math.log1p
_floor: Final = math.floor


#: A course's public fields, in the order of its ``__init__``.
_COURSE_FIELDS: Final = (
    "treatment",
    "kind",
    "number",
    "start",
    "doses",
    "end",
    "cost_per_year",
    "repeat_years",
    "responder",
    "outcome",
    "adverse_events",
)


@dataclass(slots=True, init=False, repr=False, eq=False)
class Course:
    """One course of one treatment for one patient.

    ``doses`` lists ``(time, amount)``. A course of evenly spaced equal doses may hold them as a schedule
    (:meth:`schedule`) that becomes the list when ``doses`` is first read: physiotherapy's sessions are
    costed from the schedule (:meth:`scheduled`): a list of ten doses made and freed for every course cost
    about 4% of a default lifetime's instructions (measured on 2,000 lifetimes).
    """

    treatment: str
    kind: str
    number: int
    start: float
    _doses: list[tuple[float, float]] | None  # None while the doses are a schedule:
    first_dose: float  # doses at first_dose + i * dose_interval for i < _n_scheduled, each _unit
    dose_interval: float
    _n_scheduled: int
    _unit: Any
    _total: Any  # the total dose once computed (None before, and again whenever the doses are replaced)
    end: float | None
    cost_per_year: float  # continuous cost while on treatment (e.g. daily tablets)
    repeat_years: float | None  # the last dose recurs at this interval while alive (device renewal)
    responder: bool | None
    outcome: str
    adverse_events: list[tuple[float, str, bool]]  # (time, name, severe)

    # Written out rather than generated: the compiled model then builds a course natively (a generated
    # ``__init__`` stays interpreted, and every course start calls it).
    def __init__(
        self,
        treatment: str,
        kind: str,
        number: int,
        start: float,
        doses: list[tuple[float, float]] | None = None,
        end: float | None = None,
        cost_per_year: float = 0.0,
        repeat_years: float | None = None,
        responder: bool | None = None,
        outcome: str = "ongoing",
        adverse_events: list[tuple[float, str, bool]] | None = None,
    ) -> None:
        self.treatment = treatment
        self.kind = kind
        self.number = number
        self.start = start
        self._doses = [] if doses is None else doses
        self.first_dose = self.dose_interval = 0.0
        self._n_scheduled = 0
        self._unit = None
        self._total = None
        self.end = end
        self.cost_per_year = cost_per_year
        self.repeat_years = repeat_years
        self.responder = responder
        self.outcome = outcome
        self.adverse_events = [] if adverse_events is None else adverse_events

    def __reduce__(self) -> tuple:
        """Pickled by its fields and rebuilt through ``__init__`` (the compiled class builds every instance
        through it; the default protocol would call it without arguments)."""
        return (Course, self._fields())

    @property
    def doses(self) -> list[tuple[float, float]]:
        doses = self._doses
        if doses is None:
            first, step, unit = self.first_dose, self.dose_interval, self._unit
            doses = self._doses = [(first + i * step, unit) for i in range(self._n_scheduled)]
        return doses

    @doses.setter
    def doses(self, doses: list[tuple[float, float]]) -> None:
        self._doses = doses
        self._total = None

    def schedule(self, first: float, step: float, n: int, unit: Any) -> None:
        """Doses ``unit`` at ``first + i * step`` for ``i`` in ``range(n)``, listed when first read."""
        self._doses = None
        self._total = None
        self.first_dose = first
        self.dose_interval = step
        self._n_scheduled = n
        self._unit = unit

    def scheduled(self) -> int:
        """The number of doses held as a schedule, or 0 where they are a list."""
        return self._n_scheduled if self._doses is None else 0

    @property
    def total_dose(self) -> float:
        """The sum of the doses, computed once: the cumulative dose reads every course at each new one
        (a course's doses are set when it starts and replaced, never changed in place)."""
        total = self._total
        if total is None:
            total = self._total = float(_sum([a for _, a in self.doses]))
        return total

    def _fields(self) -> tuple:
        return (
            self.treatment,
            self.kind,
            self.number,
            self.start,
            self.doses,
            self.end,
            self.cost_per_year,
            self.repeat_years,
            self.responder,
            self.outcome,
            self.adverse_events,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Course):
            return NotImplemented
        return self._fields() == other._fields()

    def __repr__(self) -> str:
        pairs = zip(_COURSE_FIELDS, self._fields(), strict=True)
        return "Course(" + ", ".join(f"{name}={value!r}" for name, value in pairs) + ")"


#: Uniforms per patient and treatment for its persistent traits (:class:`EfficacyTraits`; pain drugs use
#: the first two). Rows may be appended, never reordered.
TRAIT_ROWS: Final = ("responder", "multiplier", "reversal", "extra")
#: Key part that marks a block stream of treatment traits: a six-part key, unlike any other stream's.
_TRAITS_STREAM: Final = 0xFFFE
#: Key part that marks a block stream of course draws (:meth:`TreatmentContext.course_draws`).
_COURSES_STREAM: Final = 0xFFFD
#: A course's row of its block's course draws: uniforms, then standard normals. The courses of the
#: catalogue need at most six uniforms (rituximab) and two normals.
COURSE_UNIFORMS: Final = 8
COURSE_NORMALS: Final = 2


class TreatmentContext:
    """What a course needs besides the patient: its parameters and the random streams."""

    #: A treatment's course streams in a block are seeded one at a time until this many have been asked
    #: for; then those of course numbers 1 to :attr:`BATCH_NUMBERS` of every patient of the block at once
    #: (one NumPy pass, ~0.1 µs a stream against ~7 µs one at a time). Either way the same streams.
    BATCH_AFTER: ClassVar[int] = 32
    BATCH_NUMBERS: ClassVar[int] = 8

    def __init__(self, seed: int, draw: int) -> None:
        self.seed = seed
        self.draw = draw
        self._traits: dict[tuple[str, int], list[list[float]]] = {}
        self._course_seeds: dict[tuple[str, int], int | np.ndarray] = {}  # a count, then the batch
        self._course_rows: dict[tuple[str, int, int], np.ndarray] = {}
        self._name_keys: dict[str, int] = {}

    def _name_key(self, name: str) -> int:
        key = self._name_keys.get(name)
        if key is None:
            key = self._name_keys[name] = stable_key(name)
        return key

    def trait_uniforms(self, name: str, pid: int) -> list[float]:
        """The patient's uniforms for their traits of treatment ``name`` (:data:`TRAIT_ROWS` order).

        One stream per (draw, treatment, block of patients), key ``(draw, treatment purpose, crc32(name),
        0xFFFE, block, 0)``, fills a ``(len(TRAIT_ROWS), BLOCK_SIZE)`` matrix of which the patient reads
        their column: one generator per block and treatment instead of one per patient (creating one
        costs ~10 µs, more than the rest of a simple course).
        """
        block, column = divmod(int(pid), BLOCK_SIZE)
        matrix = self._traits.get((name, block))
        if matrix is None:
            rng = generator(
                self.seed, self.draw, PURPOSES["treatment"], self._name_key(name), _TRAITS_STREAM, block, 0
            )
            matrix = rng.random((len(TRAIT_ROWS), BLOCK_SIZE)).tolist()  # rows appended never shift
            self._traits[(name, block)] = matrix
        return [row[column] for row in matrix]

    def course_draws(self, name: str, pid: int, number: int) -> CourseDraws:
        """The random numbers of course ``number`` of treatment ``name`` for patient ``pid``.

        First the patient's row of the block's draws: ``(BLOCK_SIZE, COURSE_UNIFORMS)`` uniforms, then
        ``(BLOCK_SIZE, COURSE_NORMALS)`` standard normals drawn after them (side by side in one array), from
        one stream per (draw, treatment, block, course number), key ``(draw, treatment purpose,
        crc32(name), 0xFFFD, block, number)``, made the first time a patient of the block starts that
        course; then, for a draw that does not fit in what is left of the row, the course's own stream
        (:meth:`course_rng`). A generator per course cost more than the rest of a simple course.
        """
        block, column = divmod(int(pid), BLOCK_SIZE)
        rows = self._course_rows.get((name, number, block))
        if rows is None:
            rng = generator(
                self.seed,
                self.draw,
                PURPOSES["treatment"],
                self._name_key(name),
                _COURSES_STREAM,
                block,
                number,
            )
            # One row per patient: their uniforms, then their normals (one NumPy read per course).
            rows = np.hstack(
                (rng.random((BLOCK_SIZE, COURSE_UNIFORMS)), rng.standard_normal((BLOCK_SIZE, COURSE_NORMALS)))
            )
            self._course_rows[(name, number, block)] = rows
        return CourseDraws(rows[column].tolist(), self, name, int(pid), number)

    def course_rng(self, name: str, pid: int, number: int) -> np.random.Generator:
        """The own stream of course ``number`` of treatment ``name`` for patient ``pid``: key ``(draw,
        treatment purpose, crc32(name), pid, number)``, i.e. ``generator(seed, draw, PURPOSES["treatment"],
        stable_key(name), pid, number)``, seeded in batches where many are needed (:attr:`BATCH_AFTER`)."""
        prefix = (int(self.draw), PURPOSES["treatment"], self._name_key(name))
        block, column = divmod(int(pid), BLOCK_SIZE)
        seeds = self._course_seeds.get((name, block), 0)
        if isinstance(seeds, int):
            if seeds < self.BATCH_AFTER:
                self._course_seeds[(name, block)] = seeds + 1
                return _seeded(seed_words(int(self.seed), (*prefix, int(pid), int(number))))
            numbers = np.repeat(np.arange(1, self.BATCH_NUMBERS + 1), BLOCK_SIZE)
            pids = np.tile(block * BLOCK_SIZE + np.arange(BLOCK_SIZE), self.BATCH_NUMBERS)
            tails = np.stack([pids, numbers], axis=1)
            seeds = seed_words_many(int(self.seed), prefix, tails).reshape(self.BATCH_NUMBERS, BLOCK_SIZE, 4)
            self._course_seeds[(name, block)] = seeds
        if 1 <= number <= self.BATCH_NUMBERS:
            return _seeded(seeds[number - 1, column])
        return _seeded(seed_words(int(self.seed), (*prefix, int(pid), int(number))))


def _seeded(words: np.ndarray) -> np.random.Generator:
    seed: Any = SeedWords(np.ascontiguousarray(words))  # an ISeedSequence, which NumPy's stubs omit
    return np.random.Generator(np.random.PCG64(seed))


class CourseDraws:
    """A course's random numbers: its row of the block's course draws, then its own stream.

    ``row`` holds :data:`COURSE_UNIFORMS` uniforms then :data:`COURSE_NORMALS` standard normals. A request
    is served from the row while what is left of it suffices (uniforms and normals are counted apart);
    otherwise from the course's own stream (:meth:`TreatmentContext.course_rng`), created then. The numbers
    a course gets depend only on the patient, the treatment, the course number and the requests the course
    makes, in order: never on other patients, courses or arms.
    """

    __slots__ = ("_row", "_next_uniform", "_next_normal", "_own", "_args")

    def __init__(self, row: list[float], ctx: TreatmentContext, name: str, pid: int, number: int) -> None:
        self._row = row
        self._next_uniform = 0
        self._next_normal = COURSE_UNIFORMS
        self._own: np.random.Generator | None = None
        self._args = (ctx, name, pid, number)

    def own_stream(self) -> np.random.Generator:
        """The course's own stream, for what its row cannot give."""
        rng = self._own
        if rng is None:
            ctx, name, pid, number = self._args
            rng = self._own = ctx.course_rng(name, pid, number)
        return rng

    def uniforms(self, k: int) -> list[float]:
        """``k`` uniforms on [0, 1)."""
        i = self._next_uniform
        if i + k <= COURSE_UNIFORMS:
            self._next_uniform = i + k
            return self._row[i : i + k]
        values: list[float] = self.own_stream().random(k).tolist()  # Python floats: each is read alone
        return values

    def standard_normal(self) -> float:
        i = self._next_normal
        if i < COURSE_UNIFORMS + COURSE_NORMALS:
            self._next_normal = i + 1
            return self._row[i]
        return float(self.own_stream().standard_normal())


def _lognormal(rng: CourseDraws, median: float, sigma: float = DURATION_SIGMA) -> float:
    return float(median * math.exp(sigma * rng.standard_normal()))


def binomial_quantile(u: float, n: int, p: float) -> int:
    """The ``u``-quantile of Binomial(``n``, ``p``): the smallest ``k`` with ``P(K <= k) > u``.

    One uniform gives the number of events among ``n`` independent chances of probability ``p`` (minor
    effects of the infusions or exchanges of a course). At a fixed ``u`` the count rises with ``n`` and with
    ``p``, as a count of the first ``n`` of a row of uniforms below ``p`` does; the terms are summed in
    logarithms so that ``(1 - p) ** n`` cannot underflow to a count of ``n``.
    """
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    log_odds = math.log(p) - _log1p(-p)
    log_pmf = n * _log1p(-p)
    cdf = math.exp(log_pmf)
    k = 0
    while cdf <= u and k < n:
        log_pmf += math.log((n - k) / (k + 1)) + log_odds
        k += 1
        cdf += math.exp(log_pmf)
    return k


class EfficacyTraits:
    """A patient's persistent response traits for one treatment, from their uniforms (:data:`TRAIT_ROWS`):
    what does not depend on the patient is computed once per treatment and block."""

    def __init__(self, eff: SimpleNamespace) -> None:
        self.lo: float = max(0.0, eff.rate_multiplier - eff.rate_multiplier_spread)
        self.hi: float = min(1.0, eff.rate_multiplier + eff.rate_multiplier_spread)
        self.span = self.hi - self.lo
        self.reversal_scale: float = 2.0 * eff.reversal_fraction

    def of(self, u: list[float], p_response: float) -> dict:
        """The traits of the patient whose uniforms are ``u``, a responder with probability ``p_response``."""
        return {
            "responder": bool(u[0] < p_response),
            "multiplier": self.lo + self.span * float(u[1]),
            "reversal": min(1.0, self.reversal_scale * float(u[2])),
            "u_extra": float(u[3]),
        }


class TreatmentBase:
    """Common machinery: courses, traits, adverse events, and the response/relapse cycle."""

    def __init__(
        self, name: str, params: SimpleNamespace, context: TreatmentContext, stop_on_ae: bool
    ) -> None:
        self.name = name
        self.p = params
        self.ctx = context
        self.stop_on_ae = stop_on_ae
        self.kind: str = params.type
        self.effect_key = "effect:" + name
        # Keys of this treatment in ``patient.state``, built once (they are read on every rule check).
        self.active_key = "active:" + name
        self.latest_key = "latest:" + name
        self.count_key = "n_courses:" + name
        self.traits_key = "traits:" + name
        # The amount of a session or exchange, one float object for all of them (compiled code would box
        # a literal 1.0 anew for every dose of every course).
        self.unit_dose: Any = 1.0
        # Read on every course of a disease-modifying treatment: typed copies of its efficacy parameters
        # (the same values and products; each read of the namespace is a generic attribute lookup).
        eff = getattr(params, "efficacy", None)
        self.response_delay_median: float = eff.months_to_response * MONTH if eff is not None else 0.0
        self.response_delay_sigma: float = eff.response_time_sigma if eff is not None else 0.0
        self.response_duration_years: float = eff.response_duration_years if eff is not None else 0.0
        self.efficacy_p_response: float = eff.p_response if eff is not None else 0.0
        self.response_traits = EfficacyTraits(eff) if eff is not None else None

    # -- bookkeeping --------------------------------------------------------------------------------------
    def courses(self, patient: Patient) -> list[Course]:
        state = patient.state
        courses = state.get("courses")
        if courses is None:  # not setdefault: it would make a list on every call
            courses = state["courses"] = []
        return courses

    def active(self, patient: Patient) -> Course | None:
        patient.settle()  # a course may have ended quietly since (Patient.later)
        return patient.state.get(self.active_key)

    def cumulative_dose(self, patient: Patient) -> float:
        name = self.name
        return _sum([c.total_dose for c in self.courses(patient) if c.treatment == name])

    def n_courses(self, patient: Patient) -> int:
        """Courses of this treatment so far (a counter: strategies ask on every rule check)."""
        return patient.state.get(self.count_key, 0)

    def traits(self, patient: Patient) -> dict:
        key = self.traits_key
        if key not in patient.state:
            u = self.ctx.trait_uniforms(self.name, patient.pid)
            efficacy = self.response_traits
            if efficacy is None:
                raise SimulationError(f"treatment '{self.name}' has no efficacy: it has no response traits")
            patient.state[key] = efficacy.of(u, self.p_response(patient))
        return patient.state[key]

    def p_response(self, patient: Patient) -> float:
        return self.efficacy_p_response

    def start(self, patient: Patient) -> Course:
        state = patient.state
        number = state.get(self.count_key, 0) + 1
        course = Course(self.name, self.kind, number, patient.env._now)
        self.courses(patient).append(course)
        state[self.count_key] = number
        state[self.active_key] = course
        state[self.latest_key] = course
        patient.log("course_start", self.name, number)
        self.launch(patient, course)
        return course

    def launch(self, patient: Patient, course: Course) -> None:
        """Set the course going: its generator driven as a process (simple courses override this with a
        callback)."""
        rng = self.ctx.course_draws(self.name, patient.pid, course.number)
        patient.drive(self.run(patient, course, rng))

    def after(self, patient: Patient, delay: float, action) -> None:
        """Call ``action()`` after ``delay`` years: one event, where a process would cost three."""
        patient.wait(delay).callbacks.append(lambda _event: action())

    def finish(self, patient: Patient, course: Course, outcome: str, at: float | None = None) -> None:
        """End ``course`` now, or at time ``at`` from a :meth:`Patient.later` action."""
        if course.end is None:
            course.end = patient.env._now if at is None else at
            course.outcome = outcome
            if patient.state.get(self.active_key) is course:
                del patient.state[self.active_key]
            if at is None:
                patient.log("course_end", f"{self.name}: {outcome}", course.number)
            else:
                patient.log_quiet(at, "course_end", f"{self.name}: {outcome}", course.number)

    def adverse_event(
        self, patient: Patient, course: Course, what: str, severe: bool, p_death: float, u: float
    ) -> bool:
        """Record an adverse event; a severe one may kill (``u`` < ``p_death``). Returns True if fatal.

        Nothing happens to the dead: a course still running when the patient died records no more events.
        """
        if not patient.alive:
            return True
        course.adverse_events.append((patient.env._now, what, severe))
        patient.log("adverse_event", self.name, 1.0 if severe else 0.0)
        patient.state.setdefault("ae_details", []).append((patient.env._now, self.name, what, severe))
        if severe and u < p_death:
            patient.die(TREATMENT_DEATH, f"{what} ({self.name})")
            return True
        return False

    def respond(self, patient: Patient, course: Course, rng: CourseDraws, delay_years: float):
        """Responders improve in two steps and stay better for a while; non-responders are told.

        ``delay_years`` is the time to the full response (``T``). At ``T / 2`` the improvement begins: the
        rate effect starts and half of the patient's reversal happens; at ``T`` the rest of it. The benefit
        lasts a log-normal time from ``T``, then the patient relapses. A non-responder hears at ``T``.
        """
        traits = self.traits(patient)
        course.responder = traits["responder"]
        duration = _lognormal(rng, self.response_duration_years)
        if not traits["responder"]:
            yield patient.wait(delay_years)
            if patient.alive:
                patient.log("non_response", self.name)
            return
        onset = 0.5 * delay_years
        yield patient.wait(onset)
        if not patient.alive:
            return
        patient.apply_effect(self.effect_key, traits["multiplier"])
        first = patient.reverse(0.5 * traits["reversal"])
        patient.log("response_onset", self.name)
        yield patient.wait(delay_years - onset)
        if not patient.alive:
            return
        if first > 0.0:
            reversible = patient.reversible_burden()
            if reversible > 0.0:
                patient.reverse(min(1.0, first / reversible))
        patient.log("response", self.name)
        yield patient.wait(duration)
        latest = patient.state.get(self.latest_key) is course  # a newer course owns the effect now
        if patient.alive and latest:
            patient.remove_effect(self.effect_key)
            patient.log("relapse", self.name)

    def run(self, patient: Patient, course: Course, rng: CourseDraws):  # pragma: no cover - abstract
        raise NotImplementedError


class RituximabTreatment(TreatmentBase):
    """Anti-CD20: 375 mg/m² weekly × 4 or 1 g × 2; response after months in about a third (more likely at
    anti-MAG ≥ 10,000 BTU), early IgM flare in some, infusion reactions, hypogammaglobulinaemia and
    severe infections."""

    def __init__(
        self, name: str, params: SimpleNamespace, context: TreatmentContext, stop_on_ae: bool
    ) -> None:
        super().__init__(name, params, context, stop_on_ae)
        # Read for every course: typed copies of the parameters (the same values, computed the same way).
        self.weekly: bool = params.regimen == "375mg_m2_x4"
        self.weekly_dose: Any = 375.0 * params.body_surface_m2  # an object: stored as it is in each dose
        self.p_infusion_reaction: float = params.p_infusion_reaction
        self.p_hypogammaglobulinaemia: float = params.p_hypogammaglobulinaemia
        self.p_severe_infection: float = params.p_severe_infection
        self.p_death_given_severe_infection: float = params.p_death_given_severe_infection
        self.p_flare: float = params.p_flare
        self.flare_rate_multiplier: float = params.flare_rate_multiplier
        self.flare_years: float = params.flare_months * MONTH
        self.flare_key = "flare:" + name
        self.p_response_low_titre: float = params.p_response_low_titre

    def p_response(self, patient: Patient) -> float:
        low = patient.state.get("titre_band", 1) == 0
        return self.p_response_low_titre if low else self.efficacy_p_response

    def run(self, patient: Patient, course: Course, rng: CourseDraws):
        t0 = patient.env._now
        if self.weekly:
            dose = self.weekly_dose
            course.doses = [(t0 + i * WEEK, dose) for i in range(4)]
        else:
            course.doses = [(t0, 1000.0), (t0 + 2 * WEEK, 1000.0)]
        u = rng.uniforms(6)
        traits = self.traits(patient)
        if u[0] < self.p_infusion_reaction:
            self.adverse_event(patient, course, "infusion reaction", False, 0.0, 1.0)
        if u[1] < self.p_hypogammaglobulinaemia:
            self.adverse_event(patient, course, "hypogammaglobulinaemia", False, 0.0, 1.0)
        p_death = self.p_death_given_severe_infection
        if u[2] < self.p_severe_infection and self.adverse_event(
            patient, course, "severe infection", True, p_death, u[3]
        ):
            return
        delay = _lognormal(rng, self.response_delay_median, self.response_delay_sigma)
        if traits["u_extra"] < self.p_flare:
            patient.apply_effect(self.flare_key, self.flare_rate_multiplier)
            patient.log("igm_flare", self.name)
            yield patient.wait(min(self.flare_years, delay))
            patient.remove_effect(self.flare_key)
        yield patient.wait_until(max(patient.env._now, course.doses[-1][0]))
        self.finish(patient, course, "completed")
        yield from self.respond(patient, course, rng, max(0.0, t0 + delay - patient.env._now))


class IVIgTreatment(TreatmentBase):
    """Immunoglobulin: induction 2 g/kg then maintenance every few weeks; benefit lasts only while infused
    (plus a few weeks); non-responders stop at the assessment; thromboembolism risk per infusion."""

    def run(self, patient: Patient, course: Course, rng: CourseDraws):
        p = self.p
        t0 = patient.env._now
        interval = p.maintenance_interval_weeks * WEEK
        traits = self.traits(patient)
        course.responder = traits["responder"]
        planned_end = t0 + (p.assessment_months * MONTH if not traits["responder"] else p.max_years)
        n_planned = 1 + int(_floor((planned_end - t0) / interval + 1e-9))
        # First thromboembolism: geometric number of infusions (inversion, one uniform).
        u = rng.uniforms(3)
        pte = p.p_thromboembolism_per_infusion
        k_te: float  # infusions before it (inf: none), a whole number kept as a float: the same arithmetic
        if pte <= 0:
            k_te = math.inf
        elif pte >= 1:
            k_te = 0.0
        else:
            k_te = float(_floor(_log1p(-u[0]) / _log1p(-pte)))
        te = k_te < n_planned
        t_te = t0 + k_te * interval if te else math.inf
        stop_at = t_te if te and self.stop_on_ae else planned_end
        n_given = 1 + int(_floor((stop_at - t0) / interval + 1e-9))
        course.doses = [(t0, p.induction_g_per_kg * p.weight_kg)] + [
            (t0 + i * interval, p.maintenance_g_per_kg * p.weight_kg) for i in range(1, n_given)
        ]
        timeline = []
        t_effect = t0 + self.response_delay_median
        if traits["responder"] and t_effect < stop_at:
            timeline.append((t_effect, 0))
        if te:
            timeline.append((t_te, 1))
        for t, what in sorted(timeline):
            yield patient.wait_until(t)
            if not patient.alive:
                return
            if what == 0:
                patient.apply_effect(self.effect_key, traits["multiplier"])
                patient.reverse(traits["reversal"])
                patient.log("response", self.name)
            elif self.adverse_event(
                patient, course, "thromboembolism", True, p.p_death_given_thromboembolism, u[1]
            ):
                return
        yield patient.wait_until(stop_at)
        if not patient.alive:
            return
        # Minor effects are recorded (and costed) at the end of the course: a few days' error at most. Their
        # number among the infusions given is binomial, from the course's third uniform.
        for _ in range(binomial_quantile(u[2], n_given, p.p_other_adverse_event_per_infusion)):
            self.adverse_event(patient, course, "headache, rash or other infusion effect", False, 0.0, 1.0)
        if te and self.stop_on_ae:
            self.finish(patient, course, "stopped: adverse event")
        elif not traits["responder"]:
            patient.log("non_response", self.name)
            self.finish(patient, course, "stopped: no response")
        else:
            self.finish(patient, course, "completed")
        if traits["responder"] and self.effect_key in patient.effects:
            yield patient.wait(p.benefit_weeks_after_stop * WEEK)
            patient.remove_effect(self.effect_key)
            patient.log("relapse", self.name)


class PlasmaExchangeTreatment(TreatmentBase):
    """A course of exchanges with a short-lived benefit; line and other complications per exchange."""

    def run(self, patient: Patient, course: Course, rng: CourseDraws):
        p = self.p
        t0 = patient.env._now
        n = p.exchanges_per_course
        step = p.course_weeks * WEEK / max(1, n - 1) if n > 1 else 0.0
        unit = self.unit_dose
        course.doses = [(t0 + i * step, unit) for i in range(n)]
        u = rng.uniforms(3)
        for _ in range(binomial_quantile(u[2], n, p.p_adverse_event_per_exchange)):  # minor: binomial
            self.adverse_event(patient, course, "hypotension, citrate or line complication", False, 0.0, 1.0)
        if u[0] < p.p_severe_adverse_event_per_course and self.adverse_event(
            patient, course, "severe line complication", True, p.p_death_given_severe, u[1]
        ):
            return
        delay = _lognormal(rng, self.response_delay_median, self.response_delay_sigma)
        yield patient.wait_until(course.doses[-1][0])
        self.finish(patient, course, "completed")
        yield from self.respond(patient, course, rng, max(0.0, t0 + delay - patient.env._now))


class CyclophosphamideTreatment(TreatmentBase):
    """Oral or intravenous pulses, alone or with prednisone or rituximab; haemorrhagic cystitis and a bladder
    cancer risk that rises with the cumulative dose (Travis 1995)."""

    def __init__(
        self, name: str, params: SimpleNamespace, context: TreatmentContext, stop_on_ae: bool
    ) -> None:
        super().__init__(name, params, context, stop_on_ae)
        # Read for every course: typed copies of the parameters (the same values, computed the same way).
        self.pulse_step: float = params.interval_weeks * WEEK
        self.pulses: int = params.pulses
        self.dose_per_pulse: Any = params.dose_per_pulse_g  # an object: stored as it is in each dose
        self.p_cystitis: float = params.p_haemorrhagic_cystitis_per_course
        self.p_leukopenia: float = params.p_severe_leukopenia_per_course
        self.cancer_base_rate: float = params.bladder_cancer_base_rate_per_year

    def run(self, patient: Patient, course: Course, rng: CourseDraws):
        t0 = patient.env._now
        step = self.pulse_step
        dose = self.dose_per_pulse
        course.doses = [(t0 + i * step, dose) for i in range(self.pulses)]
        u = rng.uniforms(3)
        if u[0] < self.p_cystitis:
            self.adverse_event(patient, course, "haemorrhagic cystitis", False, 0.0, 1.0)
        if u[1] < self.p_leukopenia:
            self.adverse_event(patient, course, "severe leukopenia", True, 0.0, 1.0)
        delay = _lognormal(rng, self.response_delay_median, self.response_delay_sigma)
        yield patient.wait_until(course.doses[-1][0])
        self.finish(patient, course, "completed")
        self._update_cancer_risk(patient)
        yield from self.respond(patient, course, rng, max(0.0, t0 + delay - patient.env._now))

    def relative_risk(self, cumulative_g: float) -> float:
        p = self.p
        if cumulative_g < 20:
            return p.bladder_cancer_rr_below_20g
        if cumulative_g < 50:
            return p.bladder_cancer_rr_20_to_49g
        return p.bladder_cancer_rr_50g_or_more

    def _update_cancer_risk(self, patient: Patient) -> None:
        """(Re)start the bladder-cancer clock with the excess hazard of the new cumulative dose.

        One Exp(1) draw per patient is spent along the piecewise-constant excess hazard (after a lag from
        the first course), so more drug can only bring the cancer earlier (monotone coupling). The clock is
        one pending wait at a time; a new course spends the budget used so far at the old hazard and
        replaces the wait (a token marks the older one stale), as interrupting a waiting process would,
        without the interruption's events.
        """
        env = patient.env
        state = patient.state.get("bladder")
        if state is None:
            budget = -_log1p(-0.999999 * self.traits(patient)["u_extra"])
            state = {
                "budget": budget,
                "token": 0,
                "hazard": 0.0,
                "lag_end": env._now + self.p.bladder_cancer_lag_years,
            }
            patient.state["bladder"] = state
        if state.get("cancer"):
            return
        if "t_from" in state:  # the clock was running: what the old hazard spent is gone
            state["budget"] = max(0.0, state["budget"] - state["hazard"] * (env._now - state.pop("t_from")))
        rr = self.relative_risk(self.cumulative_dose(patient))
        state["hazard"] = self.cancer_base_rate * max(0.0, rr - 1.0)
        state["token"] += 1
        token = state["token"]
        if env._now < state["lag_end"]:
            patient.wait_until(state["lag_end"]).callbacks.append(
                lambda _event: self._start_cancer_clock(patient, state, token)
            )
        else:
            self._start_cancer_clock(patient, state, token)

    def _start_cancer_clock(self, patient: Patient, state: dict, token: int) -> None:
        if token != state["token"] or state["hazard"] <= 0:
            return
        state["t_from"] = patient.env._now
        patient.wait(state["budget"] / state["hazard"]).callbacks.append(
            lambda _event: self._bladder_cancer(patient, state, token)
        )

    def _bladder_cancer(self, patient: Patient, state: dict, token: int) -> None:
        if token != state["token"]:
            return
        state["cancer"] = True
        patient.log("bladder_cancer", self.name)
        rate = self.p.bladder_cancer_excess_mortality_per_year
        if rate > 0:
            rng = self.ctx.course_rng(self.name + ":cancer", patient.pid, 1)
            patient.wait(float(rng.exponential(1.0 / rate))).callbacks.append(
                lambda _event: patient.die(TREATMENT_DEATH, "bladder cancer after cyclophosphamide")
            )


class PainDrugTreatment(TreatmentBase):
    """Gabapentin or duloxetine for neuropathic pain: 50% relief in ``p_placebo + 1/NNT``; some stop for side
    effects. The drug changes pain, not the neuropathy."""

    def __init__(
        self, name: str, params: SimpleNamespace, context: TreatmentContext, stop_on_ae: bool
    ) -> None:
        super().__init__(name, params, context, stop_on_ae)
        # Read for every course: typed copies of the parameters (the same values, computed the same way).
        self.p_relief: float = min(1.0, params.p_placebo_response + 1.0 / params.nnt)
        self.p_stops: float = params.p_discontinue_adverse_event
        self.cost_per_year: float = params.cost_per_year

    def traits(self, patient: Patient) -> dict:
        key = self.traits_key
        if key not in patient.state:
            u = self.ctx.trait_uniforms(self.name, patient.pid)
            patient.state[key] = {"responder": bool(u[0] < self.p_relief), "stops": bool(u[1] < self.p_stops)}
        return patient.state[key]

    def launch(self, patient: Patient, course: Course) -> None:
        traits = self.traits(patient)
        course.cost_per_year = self.cost_per_year
        course.responder = traits["responder"]
        self.after(patient, 2 * WEEK, lambda: self._titrated(patient, course, traits))  # titration

    def _titrated(self, patient: Patient, course: Course, traits: dict) -> None:
        if traits["stops"]:
            self.adverse_event(patient, course, "dizziness, somnolence or nausea", False, 0.0, 1.0)
            self.finish(patient, course, "stopped: adverse event")
        elif traits["responder"]:
            patient.log("pain_relief", self.name)
            patient.state["pain_relieved"] = True  # continues for life; the course ends with the patient
        else:
            patient.log("non_response", self.name)
            self.finish(patient, course, "stopped: no response")


class PhysiotherapyTreatment(TreatmentBase):
    """A course of physiotherapy and occupational therapy sessions: better balance and function for some
    months (a utility gain in the economics layer); it does not change demyelination."""

    def __init__(
        self, name: str, params: SimpleNamespace, context: TreatmentContext, stop_on_ae: bool
    ) -> None:
        super().__init__(name, params, context, stop_on_ae)
        # Read for every course: typed copies of the parameters (the same values, computed the same way).
        self.sessions: int = params.sessions_per_course
        self.course_years: float = params.course_weeks * WEEK
        self.session_step: float = params.course_weeks * WEEK / self.sessions
        self.benefit_months: Any = params.benefit_months  # recorded as given (a float, or NumPy's in a PSA)

    def launch(self, patient: Patient, course: Course) -> None:
        t0: float = patient.env._now
        step = self.session_step
        course.schedule(t0, step, self.sessions, self.unit_dose)
        # The end of the course decides nothing (no rule can listen to its events, see TRIGGERS of the
        # schema; only a physiotherapy rule reads whether it is still running): no SimPy event.
        patient.later(self.course_years, lambda t: self._completed(patient, course, t))

    def _completed(self, patient: Patient, course: Course, t: float) -> None:
        patient.log_quiet(t, "function_improved", self.name, self.benefit_months)
        self.finish(patient, course, "completed", at=t)


class AssistiveDeviceTreatment(TreatmentBase):
    """A walking aid, walker, wheelchair or orthosis: provided once, replaced every few years (the renewals
    are costed from ``repeat_years``; they need no event)."""

    def __init__(
        self, name: str, params: SimpleNamespace, context: TreatmentContext, stop_on_ae: bool
    ) -> None:
        super().__init__(name, params, context, stop_on_ae)
        # Read for every course: copies of the parameters, as given.
        self.replacement_years: Any = params.replacement_years
        self.device: str = params.device

    def launch(self, patient: Patient, course: Course) -> None:
        course.doses = [(patient.env._now, self.unit_dose)]
        course.repeat_years = self.replacement_years
        patient.log("device", self.device)


IMPLEMENTATIONS: Final = {
    "rituximab": RituximabTreatment,
    "ivig": IVIgTreatment,
    "plasma_exchange": PlasmaExchangeTreatment,
    "cyclophosphamide": CyclophosphamideTreatment,
    "pain_drug": PainDrugTreatment,
    "physiotherapy": PhysiotherapyTreatment,
    "assistive_device": AssistiveDeviceTreatment,
}


def build_catalogue(
    treatments: dict[str, SimpleNamespace], context: TreatmentContext, stop_on_ae: bool
) -> dict:
    """The scenario's treatments by name, ready to start courses."""
    return {name: IMPLEMENTATIONS[t.type](name, t, context, stop_on_ae) for name, t in treatments.items()}
