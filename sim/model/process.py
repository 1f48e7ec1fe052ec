"""The SimPy processes of one patient: disease, diagnostic journey, and life (transformation and death).

Each patient has an environment of its own (a small event heap is several times faster than one shared heap
of thousands of processes). The processes wait exactly until the next thing that can happen:

* **disease** (:meth:`Patient.start_disease`): the burden rises linearly at the current rate between events,
  so the time to the next threshold is ``(threshold - burden) / rate``; entering the faster phase, or a
  treatment changing the rate or reversing damage, replaces the pending step and the crossing time is
  recomputed;
* **diagnosis**: walks the pre-drawn diagnostic journey;
* **life**: waits for malignant transformation, background death or death from the malignancy, whichever is
  first; death (from any cause, including treatment harms) or the horizon ends the patient's simulation.

Treatments act on the disease only through :meth:`Patient.apply_effect` (a rate multiplier while the
effect lasts) and :meth:`Patient.reverse` (partial reversal of the *reversible* damage, see
:meth:`Patient.reversible_burden`); strategies only start and stop treatments. A neutral treatment
(multiplier 1, no reversal) changes nothing, not even the floating point rounding of crossing times.

Follow-up covers ``[0, horizon)``: an event at exactly the horizon is not recorded, and a patient alive at
the horizon has no death time (documented rule, invariant B17 of docs/invariants.md).

The model reads the clock as ``env._now``, what SimPy's ``env.now`` property returns: the property is an
interpreted call on every read, dozens per treated patient. Like :meth:`Patient.wait_at` and
:func:`fresh_environment`, this relies on SimPy 4's internals (the dependency is pinned below 5).
"""

from __future__ import annotations

import functools
import heapq
import math
from collections.abc import Callable, Generator, Iterator
from operator import itemgetter
from typing import Any, Final

import simpy
from simpy.core import EmptySchedule
from simpy.events import NORMAL, URGENT

from sim.errors import EventBudgetExceeded, SimulationError
from sim.model import milestones
from sim.model.environment import PatientEnvironment
from sim.model.milestones import THRESHOLD_ORDER
from sim.model.timeline import DEATH, JOURNEY, PHASE, THRESHOLD

MRS_OF_THRESHOLD: Final = {"mrs2": 2, "disabled": 3, "mrs4": 4, "mrs5": 5}
# The milestone columns live in sim.model.milestones (the timeline reads them too). Bound here as Final
# names: the compiled model reads them as its own constants, not as attributes of another module.
MILESTONES: Final = milestones.MILESTONES
COLUMN: Final = milestones.COLUMN
EVENT_COLUMN: Final = milestones.EVENT_COLUMN
TREMOR_COLUMN: Final = milestones.COLUMN["t_tremor"]
PAIN_COLUMN: Final = milestones.COLUMN["t_pain"]
DEATH_CAUSES: Final = ("", "background", "malignancy", "treatment")
INF: Final = math.inf
NAN: Final = math.nan
_time_of: Final = itemgetter(0)
#: How a patient's natural history is produced: event by event (the disease and life processes), by
#: following a precomputed timeline, or by a timeline whose disease part a treatment has ended.
OFF_TIMELINE: Final = 0
ON_TIMELINE: Final = 1
LEFT_TIMELINE: Final = 2
#: A timeline entry as a row (:meth:`Timeline.from_rows`): time, event, detail, value (an mRS or a cause of
#: death as an int, NaN otherwise), kind, burden from then on (NaN but for the disease kinds) and the
#: event's milestone column (-1 for none).
Entry = tuple[Any, str, str, Any, int, Any, int]
#: What an entry's code stands for: event, detail, kind and milestone column (one tuple per code, shared by
#: every entry of that code). The compiled walk reads the kind and the column as C integers.
EntryInfo = tuple[str, str, int, int]
#: Most scheduled waits one patient may make (a second line of defence behind the domain limits of the
#: scenario schema). A lifetime with every treatment of the bundled scenarios needs well under a thousand;
#: a patient who needs more is caught in a cycle that some parameter makes ever faster.
EVENT_BUDGET = 100_000

# Functions of other modules called on every event, held where the compiled model reads them directly (a
# final name is a C static there; ``heapq.heappush`` or a builtin would be looked up in a module's
# dictionary at every call).
_heappush: Final = heapq.heappush
_heappop: Final = heapq.heappop
_next: Final = next
_partial: Final = functools.partial
_prod: Final = math.prod


class Timeline:
    """Precomputed timeline entries (:func:`sim.model.timeline.block_entries`) of one or more patients, in
    columns: entry ``j`` happens at ``times[j]``, ``infos[j]`` is what it is (:data:`EntryInfo`),
    ``values[j]`` its value and ``burdens[j]`` the burden from then on; a patient follows a range of them
    (:meth:`Patient.follow`), in time order.

    Columns rather than a tuple per entry: the natural history of a block makes none of those tuples
    (making, cutting and freeing them was 8.8% of the instructions of a default lifetime, measured). The
    times and burdens stay Python floats (Any), passed on as they are to the record and the milestone
    columns (as C doubles they would be boxed anew for each). Never changed once made.
    """

    def __init__(self, times: list, infos: list[EntryInfo], values: list, burdens: list) -> None:
        self.times = times
        self.infos = infos
        self.values = values
        self.burdens = burdens

    @staticmethod
    def from_rows(rows: list[Entry]) -> Timeline:
        """A timeline of entries given as rows (:data:`Entry`)."""
        return Timeline(
            [r[0] for r in rows],
            [(r[1], r[2], r[4], r[6]) for r in rows],
            [r[3] for r in rows],
            [r[5] for r in rows],
        )

    def rows(self, start: int, stop: int) -> list[Entry]:
        """Entries ``[start, stop)`` as rows (:data:`Entry`), as :meth:`from_rows` takes them."""
        out: list[Entry] = []
        for j in range(start, stop):
            event, detail, kind, column = self.infos[j]
            out.append((self.times[j], event, detail, self.values[j], kind, self.burdens[j], column))
        return out

    def without_disease(self, start: int, stop: int) -> Timeline:
        """Entries ``[start, stop)`` but for the disease kinds (:data:`THRESHOLD`, :data:`PHASE`)."""
        kept = [j for j in range(start, stop) if self.infos[j][2] != THRESHOLD and self.infos[j][2] != PHASE]
        return Timeline(
            [self.times[j] for j in kept],
            [self.infos[j] for j in kept],
            [self.values[j] for j in kept],
            [self.burdens[j] for j in kept],
        )


_NO_TIMELINE: Final = Timeline([], [], [], [])


class Wait:
    """A patient's wait: an event already on its environment's heap, at time ``t``, succeeded with the value
    ``None``, ordered as SimPy orders its own events (by time, then ``priority``, ``simpy.events.NORMAL``
    for a timeout, then creation). What ``env.timeout(delay)`` makes, less what nothing here reads.

    Not a :class:`simpy.Event`, but what SimPy reads of one: a process that yields it and
    ``Environment.step`` read and set only ``callbacks``, ``_ok`` and ``_value`` (and ``env``). A class of
    the compiled model (the build makes it a native class): a ``simpy.Event`` is a Python class, and making
    one from compiled code is an interpreted ``__init__`` and generic attribute stores, about 1,300
    instructions a wait (measured: 1.7% of a default lifetime's per-patient loop).
    """

    def __init__(
        self, env: simpy.Environment, queue: list, order: Iterator[int], t: Any, priority: int
    ) -> None:
        # ``queue`` and ``order`` are the environment's heap and event counter (``env._queue``,
        # ``env._eid``), as the patient holds them. ``t`` as it comes (the clock may be the integer 0, as in
        # a new environment): a float parameter of the compiled class would turn it into 0.0
        self.env = env
        self.callbacks: Any = []  # None once processed (SimPy sets it)
        self._value: Any = None
        self._ok = True
        _heappush(queue, (t, priority, _next(order), self))

    @property
    def triggered(self) -> bool:
        """Always: a wait is scheduled when it is made (as ``simpy.Event.triggered``)."""
        return True


def _budget_exceeded(patient: Patient) -> EventBudgetExceeded:
    """The error of a patient over :data:`EVENT_BUDGET`, naming their most frequent events."""
    counts: dict[tuple[str, str], int] = {}
    for _, event, detail, _ in patient.history:
        counts[(event, detail)] = counts.get((event, detail), 0) + 1
    events = dict(sorted(counts.items(), key=lambda kv: -kv[1]))
    most = list(events.items())[:4]
    top = ", ".join(f"{e} ({d}) x{n}" if d else f"{e} x{n}" for (e, d), n in most)
    message = (
        f"patient {patient.pid} exceeded the budget of {EVENT_BUDGET:,} scheduled events by "
        f"t = {patient.env._now:.6g} years; most frequent: {top or 'none logged'}"
    )
    return EventBudgetExceeded(message, patient.pid, events)


def _no_listener(patient: Patient, event: str, detail: str) -> None:
    """The listener of a patient whom no strategy rule listens to (never called: ``listened`` is empty)."""


class Patient:
    """The state of one simulated patient while their processes run.

    ``times`` is the patient's row of milestone times (:data:`MILESTONES` order, NaN for none), filled in
    place: a list, not a row of the block's NumPy array, because an item stored into a list costs a tenth
    of one stored into an array. ``history`` is the patient's own record: ``(time, event, detail,
    value)`` tuples in time order, from which outcomes (costs, QALYs) are computed by pure functions;
    ``segments`` the burden path as ``(time, burden, rate)`` at every change.
    """

    __slots__ = (
        "env",
        "pid",
        "age0",
        "horizon",
        "times",
        "history",
        "segments",
        "b_ref",
        "t_ref",
        "b0",
        "base_rate",
        "phase_multiplier",
        "effects",
        "rate_multiplier",
        "t_faster",
        "faster_multiplier",
        "thresholds",
        "next_threshold",
        "mrs",
        "disease_on",
        "disease_token",
        "in_disease_step",
        "death_cause",
        "alive",
        "_end",
        "listened",
        "listener",
        "state",
        "axonal_years",
        "reversals",
        "reversible_at",
        "n_waits",
        "budget",
        "pending",
        "cursor",
        "stop",
        "timeline",
        "make_thresholds",
        "quiet",
        "queue",
        "order",
    )

    def __init__(
        self,
        env: simpy.Environment,
        pid: int,
        age0: float,
        horizon: float,
        times: list[float],
        b0: float,
        base_rate: float,
        t_faster: float,
        faster_multiplier: float,
        thresholds: list[tuple[float, str, int]],
        axonal_years: float = INF,
    ) -> None:
        if not 0.0 <= base_rate < INF:  # also catches NaN
            raise SimulationError(
                f"patient {pid}: progression rate must be finite and >= 0, got {base_rate!r}"
            )
        self.env = env
        self.pid = pid
        self.age0 = age0
        self.horizon = horizon
        self.times = times
        self.history: list[tuple[float, str, str, float]] = [
            (0.0, "onset", "distal sensory symptoms in the feet", 1)
        ]
        self.b0 = b0
        self.b_ref = b0
        self.t_ref = 0.0
        self.base_rate = base_rate
        self.phase_multiplier = 1.0
        self.effects: dict[str, float] = {}
        self.rate_multiplier = 1.0
        self.t_faster = t_faster
        self.faster_multiplier = faster_multiplier
        self.thresholds = thresholds
        self.next_threshold = 0
        self.mrs = 1
        self.segments: list[tuple[float, float, float]] = [(0.0, b0, base_rate)]
        # The disease runs event by event (start_disease) once on: one pending step, invalidated by a change.
        self.disease_on = False
        self.disease_token = 0
        self.in_disease_step = False
        self.death_cause = 0
        self.alive = True
        self._end: Any = None  # a simpy.Event or a Wait: see the end property
        # The strategy hears only the events its rules listen to (most events concern no rule).
        self.listened: frozenset[str] = frozenset()
        self.listener: Callable[[Patient, str, str], None] = _no_listener  # called only for `listened`
        self.state: dict = {}  # per-patient scratch space of treatments and strategies
        self.n_waits = 0  # scheduled waits so far, against EVENT_BUDGET
        self.budget: int = EVENT_BUDGET  # read once (a module global is a dictionary lookup when compiled)
        self.axonal_years = axonal_years  # time constant of the turn of demyelination into axonal loss
        self.reversals: list[tuple[float, float]] = []  # (time, burden reversed) by treatments
        # The last sum of reversible_burden: (time, segments, reversals, sum), None before the first.
        self.reversible_at: tuple[float, int, int, float] | None = None
        # A precomputed natural history (sim.model.timeline): entries [cursor, stop) of ``pending`` are
        # still to be recorded (see follow()).
        self.pending: Timeline = _NO_TIMELINE
        self.cursor = 0
        self.stop = 0
        self.timeline = OFF_TIMELINE
        self.make_thresholds: Callable[[], list[tuple[float, str, int]]] | None = None
        # Actions that decide nothing, due at a time and done when the record reaches it (see later()).
        self.quiet: list[tuple[float, int, Callable[[float], None]]] = []
        # The environment's event heap and counter, read for every event scheduled: an environment keeps
        # both for good (fresh_environment empties its heap in place).
        self.queue: list = env._queue
        self.order: Iterator[int] = env._eid

    # ------------------------------------------------------------------ state
    @property
    def end(self) -> Any:
        """The event of the end of the patient's simulation (death or the horizon): processed, it ends
        :meth:`run`; ``env.run(until=patient.end)`` runs the patient as :meth:`run` does.

        A :class:`simpy.Event` made when asked for before the end; otherwise a :class:`Wait` made at the
        end (an event made with every patient and succeeded at the end costs three interpreted calls):
        either way it is scheduled when and where ``end.succeed()`` schedules it.
        """
        if self._end is None:
            self._end = self.env.event()
        return self._end

    def _signal_end(self) -> None:
        """``end.succeed()``, unless the end is already signalled."""
        end = self._end
        if end is None:
            self._end = self._scheduled(self.env._now, NORMAL)  # where Event.succeed schedules it
        elif not end.triggered:
            end.succeed()

    @property
    def rate(self) -> float:
        return self.base_rate * self.phase_multiplier * self.rate_multiplier

    def burden(self, t: float | None = None) -> float:
        """Latent burden at time ``t`` (default now; not before the last change), capped at 1."""
        if self.timeline == ON_TIMELINE:
            self._catch_up(self.env._now)
        t = self.env._now if t is None else t
        return min(1.0, self.b_ref + self.rate * (t - self.t_ref))

    def burden_in_past(self, t: float) -> float:
        """Burden at an earlier time ``t``, read from the recorded path."""
        for t_seg, b_seg, rate in reversed(self.segments):
            if t_seg <= t:
                return min(1.0, b_seg + rate * (t - t_seg))
        return self.b0

    def _rebase(self) -> None:
        now = self.env._now
        self.b_ref = self.burden(now)
        self.t_ref = now

    def _changed(self) -> None:
        self.segments.append((self.env._now, self.b_ref, self.rate))
        if self.disease_on:
            if not self.in_disease_step:  # a disease step schedules the next one itself when it ends
                self._next_disease_step()
        elif self.timeline == LEFT_TIMELINE:  # from now on the disease runs event by event
            self.start_disease()

    def set_phase(self, multiplier: float) -> None:
        self._rebase()
        self.phase_multiplier = multiplier
        self._changed()

    def apply_effect(self, key: str, multiplier: float) -> None:
        """A treatment effect: multiply the progression rate by ``multiplier`` until removed."""
        new = dict(self.effects)
        new[key] = multiplier
        self._set_effects(new)

    def remove_effect(self, key: str) -> None:
        if key in self.effects:
            new = dict(self.effects)
            del new[key]
            self._set_effects(new)

    def _set_effects(self, effects: dict[str, float]) -> None:
        product = _prod(effects.values()) if effects else 1.0
        self.effects = effects
        if product == self.rate_multiplier:
            return  # nothing changes: keep the path (and its rounding) exactly as it was
        self._leave_timeline()
        self._rebase()
        self.rate_multiplier = product
        self._changed()

    def reversible_burden(self, t: float | None = None) -> float:
        """The part of the damage that a treatment can still undo (demyelination not yet axonal loss).

        Damage laid down at time ``s`` stays reversible with probability ``exp(-(t - s) / τ)`` (τ =
        ``axonal_years``): demyelination turns into axonal loss over years, so the irreversible share grows
        with disease duration. With the rate piecewise constant on the recorded segments this is exact:
        ``R(t) = Σ_k rate_k · τ · (e^{-(t - end_k)/τ} - e^{-(t - start_k)/τ}) - Σ_j a_j · e^{-(t - t_j)/τ}``,
        where ``a_j`` are earlier reversals; it is capped by the damage above onset. τ = inf: all of it.
        """
        t = self.env._now if t is None else t
        damage = self.burden(t) - self.b0
        tau = self.axonal_years
        if tau == INF or damage <= 0.0:
            return max(0.0, damage)
        segments = self.segments
        n = len(segments)
        n_reversals = len(self.reversals)
        # A response asks at the time of its reversal, which asks again: the same time, segments and
        # reversals (both lists only grow) give the same sum, kept from the last call. The damage, which
        # caps it, is computed anew.
        last = self.reversible_at
        if last is not None and last[0] == t and last[1] == n and last[2] == n_reversals:
            return min(max(0.0, last[3]), damage)
        total = 0.0
        # A segment starts where the one before it ends: the factor at that boundary is computed once and
        # reused (the same exp of the same argument, so the same sum as computing it twice).
        boundary = -INF
        e_boundary = 0.0
        for k in range(n):
            t_start, _, rate = segments[k]
            t_end: float = segments[k + 1][0] if k + 1 < n else t
            if rate > 0.0 and t_end > t_start:
                e_start = e_boundary if t_start == boundary else math.exp(-(t - t_start) / tau)
                e_end = math.exp(-(t - t_end) / tau)
                total += rate * tau * (e_end - e_start)
                boundary = t_end
                e_boundary = e_end
        for t_j, amount in self.reversals:
            total -= amount * math.exp(-(t - t_j) / tau)
        self.reversible_at = (t, n, n_reversals, total)
        return min(max(0.0, total), damage)

    def reverse(self, fraction: float) -> float:
        """Undo ``fraction`` of the reversible damage (:meth:`reversible_burden`); returns the amount."""
        if fraction <= 0 or not self.alive:
            return 0.0
        now = self.env._now
        b_now = self.burden(now)
        amount = min(1.0, fraction) * self.reversible_burden(now)
        if amount <= 0:
            return 0.0
        self._leave_timeline()
        self.b_ref = max(self.b0, b_now - amount)
        self.t_ref = now
        self.reversals.append((now, b_now - self.b_ref))
        # Thresholds now above the burden will be crossed again; mRS may fall.
        k = 0
        while k < len(self.thresholds) and self.thresholds[k][0] <= self.b_ref:
            k += 1
        self.next_threshold = k
        mrs = 1  # plus the mRS thresholds below the burden (a loop: no generator or slice per reversal)
        thresholds = self.thresholds
        for j in range(k):
            if thresholds[j][1] in MRS_OF_THRESHOLD:
                mrs += 1
        if mrs != self.mrs:
            self.mrs = mrs
            self.log("mrs", "modified Rankin falls after treatment", mrs)
        self.log("reversal", "partial reversal of reversible damage", amount)
        self._changed()
        return amount

    def log(self, event: str, detail: str = "", value: float = float("nan")) -> None:
        """Add to the history (within follow-up only) and tell the strategy if it listens to ``event``."""
        now = self.env._now  # the clock (the property costs a call on every event)
        if float(now) >= self.horizon:  # compared as C doubles (the clock may be the integer 0)
            return
        if self.cursor < self.stop and self.pending.times[self.cursor] < now:
            self._catch_up(now)  # what the timeline holds before now comes first
        if self.quiet and self.quiet[0][0] <= now:
            self._run_quiet(now)
        self.history.append((now, event, detail, value))
        if event in self.listened:
            self.listener(self, event, detail)

    def later(self, delay: float, action: Callable[[float], None]) -> None:
        """Do ``action(t)`` at ``t = now + delay`` without a SimPy event: for actions that decide nothing.

        Such an action only records events that no rule listens to (:meth:`log_quiet`) and changes state
        that is read only through :meth:`settle` (or by a rule, which hears of an event only after it). It
        is done when the patient's record reaches ``t``: before anything is recorded at ``t`` or later, in
        time order with the timeline's entries, and at the end of the run (if ``t`` is within it), so the
        record is the one a timeout's callback at ``t`` would make. ``t`` is the time that timeout would
        arrive at (``now + delay``, rounded the same way); at a tie the action comes first, as a timeout
        scheduled earlier would. The wait counts against :data:`EVENT_BUDGET`.
        """
        self._count_wait()
        if not delay >= 0.0:  # also catches NaN
            raise SimulationError(f"patient {self.pid}: negative or NaN delay {delay!r} at t={self.env._now}")
        _heappush(self.quiet, (self.env._now + delay, self.n_waits, action))

    def log_quiet(self, t: float, event: str, detail: str = "", value: float = float("nan")) -> None:
        """Record an event of a :meth:`later` action at its time ``t`` (within follow-up only)."""
        if event in self.listened:  # no rule may hear of a quiet action: it would have needed an event
            raise SimulationError(f"patient {self.pid}: a rule listens to '{event}': it needs an event")
        if t < self.horizon:
            self.history.append((t, event, detail, value))

    def settle(self) -> None:
        """Record what the timeline and the :meth:`later` actions hold before now (and do the actions due
        now): what reads state those actions change calls this first."""
        now = self.env._now
        if self.cursor < self.stop and self.pending.times[self.cursor] < now:
            self._catch_up(now)
        if self.quiet and self.quiet[0][0] <= now:
            self._run_quiet(now)

    def _run_quiet(self, upto: float) -> None:
        """Do the :meth:`later` actions due at or before ``upto``, in time order."""
        quiet = self.quiet
        while quiet and quiet[0][0] <= upto:
            t, _, action = _heappop(quiet)
            action(t)

    def record(self, event: str, detail: str = "", value: float = float("nan")) -> None:
        """Log an event and keep its first time in the milestone columns."""
        now = self.env._now
        if now >= self.horizon:
            return
        column = EVENT_COLUMN.get(event, -1)
        if column >= 0 and math.isnan(self.times[column]):
            self.times[column] = now
        self.log(event, detail, value)

    def die(self, cause: int, detail: str) -> None:
        """Death now, from ``DEATH_CAUSES[cause]``; ends the patient's simulation."""
        if not self.alive or self.env._now >= self.horizon:
            return
        self.alive = False
        self.death_cause = cause
        self.record("death", detail or DEATH_CAUSES[cause], cause)
        self._signal_end()

    def _count_wait(self) -> None:
        self.n_waits += 1
        if self.n_waits > self.budget:
            raise _budget_exceeded(self)

    def wait(self, delay: float) -> Wait:
        self._count_wait()
        if not delay >= 0.0:  # also catches NaN
            raise SimulationError(f"patient {self.pid}: negative or NaN delay {delay!r} at t={self.env._now}")
        return self._scheduled(self.env._now + delay, NORMAL)  # as env.timeout(delay) schedules it

    def wait_until(self, t: float) -> Wait:
        """Wait until absolute time ``t``; rounding of ``now`` (sums of delays) is absorbed."""
        self._count_wait()
        now = self.env._now
        if not t >= now - 1e-9 * max(1.0, now):
            raise SimulationError(f"patient {self.pid}: scheduled time {t!r} lies before now (t={now})")
        return self._scheduled(now + (t - now if t > now else 0.0), NORMAL)

    def run(self) -> None:
        """Process events until the patient's ``end`` event has been processed (death or the horizon).

        What ``env.run(until=self.end)`` does, without the exception by which SimPy stops a run (and the
        rescheduling of the stopping event): a run per patient makes that a cost of every patient. Events
        still pending at the end are left to the next :func:`fresh_environment`. Each step is SimPy 4's
        ``Environment.step`` written out (pop the next event, move the clock, call its callbacks, raise the
        failure of an event nobody defused), so that the compiled loop does not call into interpreted code
        for every event.
        """
        env = self.env
        queue = self.queue
        pop = _heappop
        try:
            while True:
                if not queue:
                    raise EmptySchedule()
                now, _, _, event = pop(queue)
                env._now = now
                if isinstance(event, Wait):  # the patient's own: read as the compiled class it is
                    wait_callbacks: list = event.callbacks
                    event.callbacks = None
                    for callback in wait_callbacks:
                        callback(event)
                    if event is self._end:  # a wait is never a failure
                        break
                    continue
                callbacks = event.callbacks
                event.callbacks = None
                for callback in callbacks:
                    callback(event)
                if not event._ok and not hasattr(event, "_defused"):
                    failure = event._value
                    exc = type(failure)(*failure.args)  # a copy with a new traceback, as SimPy raises it
                    exc.__cause__ = failure
                    raise exc
                if event is self._end:
                    break
        except EmptySchedule:
            raise SimulationError(
                f"patient {self.pid}: no event left at t = {self.env._now:.6g} years before the end of "
                "follow-up (death or the horizon)"
            ) from None
        if self.quiet and self.alive:  # the actions due by the end of follow-up (the dead have had theirs)
            self._run_quiet(self.env._now)
        # Those left lie beyond follow-up and are never done; dropped, as the pending events are (an action
        # that refers to the patient would otherwise keep them, and all they refer to, for the collector).
        self.quiet = []

    # ------------------------------------------------------------------ precomputed timeline
    def follow(
        self,
        entries: Timeline,
        start: int,
        stop: int,
        make_thresholds: Callable[[], list[tuple[float, str, int]]],
    ) -> None:
        """Live the precomputed natural history of entries ``[start, stop)`` of ``entries``.

        Instead of the disease and life processes, one chain of callbacks (:meth:`_walk`) waits only for the
        entries a strategy rule listens to and for death; every other entry is recorded when the patient's
        record reaches its time. A treatment that changes the disease ends the timeline's disease part: the
        thresholds (``make_thresholds()``) are built and :meth:`disease` takes over from that moment.

        The walk starts at once, before the patient's run: call this last, after scheduling anything else
        that starts at time 0, and before :meth:`run`. It then runs first, as a process started before the
        others would, and it moves the clock on by itself only while no other event is scheduled (see
        :meth:`_advance_to`).
        """
        self.pending = entries
        self.cursor = start
        self.stop = stop
        self.timeline = ON_TIMELINE
        self.make_thresholds = make_thresholds
        self._walk(False)

    def _walk(self, woke: bool) -> None:
        """Record the timeline up to the next entry a rule listens to (or death) and wait for it there.

        The walk is a chain of callbacks, not a process: each wait is one event whose callback goes on
        (:meth:`_woken`), which saves a process's start and end events and a generator's resumption per
        wait. As in the event-by-event formulation, each disease or life entry is an event of its own (a
        wait of zero for one that happens at the same time as the previous one, so that courses started in
        between act first), while steps of the diagnostic journey on the same day share one event. Where
        no other event is scheduled before an entry, the walk reaches it without an event of its own
        (:meth:`_advance_to`): SimPy would process that event next anyway. After the last entry the walk
        waits for the horizon, records the rest and ends the run.
        """
        listened = self.listened
        while True:
            entries = self.pending  # replaced when the timeline's disease part ends
            infos = entries.infos
            j = self.cursor
            n = self.stop
            while j < n:
                event, _, kind, _ = infos[j]
                if kind == DEATH or event in listened:
                    break
                j += 1
            if j == n:
                break
            t: Any = entries.times[j]
            env = self.env
            if t > env._now or (not woke and kind != JOURNEY):
                queue = self.queue
                if queue and queue[0][0] <= t:  # another event comes first: wait for the entry's own
                    self.wait_at(t).callbacks.append(_partial(self._woken, entries, j))
                    return
                self._advance_to(t)  # nothing else is scheduled until the entry: no SimPy event needed
            woke = False
            self._flush(j + 1)
            if not self.alive:
                return
        if self.horizon < INF:
            self.wait_at(self.horizon).callbacks.append(lambda _event: self._walk_end())
        else:
            self._walk_end()

    def _advance_to(self, t: Any) -> None:  # the entry's time as it is: the clock takes the same object
        """Reach time ``t`` without a SimPy event, where no event is scheduled before ``t``.

        The event of the walk's next wait would then be the very next one SimPy processes, and processing
        it only moves the clock and calls the walk: :meth:`_walk` does both itself. This is exact only in
        the walk's position, at the end of the only callback of the event being processed (nothing else
        runs between the two in SimPy either). The wait still counts against :data:`EVENT_BUDGET`.
        """
        self._count_wait()
        env = self.env
        if t > env._now:
            env._now = t

    def _woken(self, entries: Timeline, j: int, _event: object = None) -> None:
        """The walk reached entry ``j`` of ``entries``; a treatment may have changed the timeline since."""
        if self.pending is not entries:  # look again from the cursor
            self._walk(True)
            return
        self._flush(j + 1)
        if self.alive:
            self._walk(False)

    def _walk_end(self) -> None:
        self._flush(self.stop)
        self._signal_end()

    def _catch_up(self, now: float) -> None:
        """Record the timeline's entries before ``now``."""
        times = self.pending.times
        j = self.cursor
        n = self.stop
        while j < n and times[j] < now:
            j += 1
        self._flush(j)

    def _flush(self, upto: int) -> None:
        """Record the timeline's entries up to index ``upto`` (exclusive), applying them to the state.

        Each entry's event happens once on the timeline and before any other source can record it, so it
        sets its milestone column unconditionally.
        """
        entries = self.pending
        entry_times = entries.times
        infos = entries.infos
        values = entries.values
        times = self.times
        history = self.history
        listened = self.listened
        quiet = self.quiet  # the list itself: later() pushes onto it, _run_quiet pops from it
        j = self.cursor
        while j < upto:
            t: Any = entry_times[j]
            event, detail, kind, column = infos[j]
            value: Any = values[j]
            if quiet and quiet[0][0] <= t:  # a later() action due first
                self.cursor = j
                self._run_quiet(t)
            if kind == THRESHOLD:
                self.b_ref = entries.burdens[j]
                self.t_ref = t
                self.next_threshold += 1
                if event in MRS_OF_THRESHOLD:
                    self.mrs = value
            elif kind == PHASE:
                burden: Any = entries.burdens[j]
                self.t_faster = INF
                self.b_ref = burden
                self.t_ref = t
                self.phase_multiplier = self.faster_multiplier
                self.segments.append((t, burden, self.rate))
            j += 1
            if kind == DEATH:
                self.cursor = j
                self.die(value, detail)
                return
            if column >= 0:
                times[column] = t
            history.append((t, event, detail, value))
            if event in listened:
                self.cursor = j
                self.listener(self, event, detail)  # may record (and catch up) itself
                if self.pending is not entries:
                    return
                j = max(j, self.cursor)
        self.cursor = j

    def _leave_timeline(self) -> None:
        """A treatment changes the disease now: from here on :meth:`disease` computes the crossings."""
        if self.timeline != ON_TIMELINE:
            return
        self._catch_up(self.env._now)
        make_thresholds = self.make_thresholds
        assert make_thresholds is not None  # set by follow() with the timeline
        self.thresholds = make_thresholds()
        self.make_thresholds = None
        self.pending = self.pending.without_disease(self.cursor, self.stop)
        self.cursor = 0
        self.stop = len(self.pending.times)
        self.timeline = LEFT_TIMELINE

    def drive(self, steps: Generator[Wait, None, None]) -> None:
        """Run ``steps``, a generator that yields the patient's waits, as SimPy runs a process, without one.

        It starts at an urgent event now, as a process's first step does (after whatever is running now),
        and each wait it yields resumes it from that wait's callback, with the wait's value (``None``), as
        the process would be. What a process adds besides is left out: its own event at its end, which
        nothing here waits for (a course or a delayed start), and its bookkeeping of the active process,
        which nothing reads. An exception in ``steps`` propagates from the step that resumed it.
        """
        self._scheduled(self.env._now, URGENT).callbacks.append(_Resume(steps))

    def wait_at(self, t: float) -> Wait:
        """An event at exactly the absolute time ``t`` (never before now), as a timeout would be.

        A timeout arrives at ``now + delay``, which rounds differently depending on which event came
        last; a timeline entry was computed as the event-by-event formulation reaches it, so the walk must
        arrive at exactly that time. SimPy has no absolute-time timeout, so this schedules a succeeded
        event on the environment's heap as :class:`simpy.Timeout` does (same priority, same order key).
        """
        self._count_wait()
        return self._scheduled(max(t, self.env._now), NORMAL)

    def _scheduled(self, t: Any, priority: int) -> Wait:
        """A succeeded event on the environment's heap at time ``t``, ordered as SimPy orders its own (by
        time, priority and creation)."""
        return Wait(self.env, self.queue, self.order, t, priority)

    # ------------------------------------------------------------------ processes
    def start_disease(self) -> None:
        """Run the disease event by event from now: threshold crossings in order, the faster phase.

        One step is pending at a time, a timeout whose callback makes it (no process: a change of the
        course reschedules the step instead of interrupting a generator, which costs an event and an
        exception). A change (:meth:`_changed`) invalidates the pending step and schedules the next from
        the new state; within a step, the step schedules the next when it ends. The crossing times are
        those of the generator formulation: the same arithmetic on the same state.
        """
        self.disease_on = True
        self._next_disease_step()

    def _next_disease_step(self) -> None:
        self.disease_token += 1  # any step still pending is stale from now on
        token = self.disease_token
        thresholds = self.thresholds
        k = self.next_threshold
        now = self.env._now
        rate = self.rate
        if k < len(thresholds):
            level, name, _ = thresholds[k]
            b = self.b_ref + rate * (now - self.t_ref)
            to_threshold = (level - b) / rate if rate > 0.0 else INF
        else:
            to_threshold = INF
        to_phase = max(self.t_faster - now, 0.0)
        if to_threshold == INF and to_phase == INF:
            return  # nothing can happen until a treatment changes the course
        if to_phase < to_threshold:
            self.wait(to_phase).callbacks.append(_PhaseStep(self, token))
        else:
            self.wait(max(to_threshold, 0.0)).callbacks.append(_ThresholdStep(self, token, k, level, name))

    def _phase_step(self, token: int) -> None:
        if token != self.disease_token:
            return
        self.in_disease_step = True
        try:
            self.t_faster = INF
            self.set_phase(self.faster_multiplier)
            self.record("faster_phase", "progression accelerates")
        finally:
            self.in_disease_step = False
        self._next_disease_step()

    def _threshold_step(self, token: int, k: int, level: float, name: str) -> None:
        if token != self.disease_token:
            return
        self.in_disease_step = True
        try:
            self.b_ref = level
            self.t_ref = self.env._now
            self.next_threshold = k + 1
            if name in MRS_OF_THRESHOLD:
                self.mrs = MRS_OF_THRESHOLD[name]
            self.record(name, "", self.mrs)
        finally:
            self.in_disease_step = False
        self._next_disease_step()

    def diagnosis(self, steps: list[tuple[float, str, str]]):
        for t, event, detail in steps:
            if t > self.env._now:  # steps on the same day share one SimPy event
                yield self.wait_until(t)
            elif not t >= self.env._now - 1e-9 * max(1.0, self.env._now):  # NaN or a step back in time
                raise SimulationError(f"patient {self.pid}: diagnostic step '{event}' at t={t!r} before now")
            self.record(event, detail)

    def write_journey(self, steps: list[tuple[float, str, str]], t_end: float) -> None:
        """Record a diagnostic journey that no strategy rule listens to, after the patient's run.

        Such steps decide nothing, so they need no SimPy event: each is recorded at the time
        :meth:`diagnosis` would have reached it (the same sums of delays, so the same rounding) if it lies
        before ``t_end`` (death or the horizon), and merged into the history in time order.
        """
        now = 0.0
        recorded = []
        times = self.times
        for t, event, detail in steps:
            if t > now:
                now = now + (t - now)  # what a timeout of ``t - now`` from ``now`` arrives at
            elif not t >= now - 1e-9 * max(1.0, now):  # NaN or a step back in time
                raise SimulationError(f"patient {self.pid}: diagnostic step '{event}' at t={t!r} before now")
            if now >= t_end:
                break
            column = EVENT_COLUMN.get(event, -1)
            if column >= 0 and math.isnan(times[column]):
                times[column] = now
            recorded.append((now, event, detail, NAN))
        if recorded:
            self.history = list(heapq.merge(self.history, recorded, key=_time_of))

    def life(self, t_background: float, t_malignancy: float, excess_exp: float, excess_rate: float):
        horizon = self.horizon
        for name, value in (("background death", t_background), ("transformation", t_malignancy)):
            if not value >= 0.0:  # NaN or negative: a sampling error, never "it does not happen"
                raise SimulationError(f"patient {self.pid}: {name} time {value!r} is not a time >= 0")
        t_death, cause = t_background, 1
        if t_malignancy < min(t_background, horizon):
            yield self.wait_until(t_malignancy)
            self.record("malignancy", "Waldenström macroglobulinaemia or lymphoma")
            if excess_rate > 0:
                t_excess = t_malignancy + excess_exp / excess_rate
                if t_excess < t_death:
                    t_death, cause = t_excess, 2
        if t_death < horizon:
            yield self.wait_until(t_death)
            self.die(cause, DEATH_CAUSES[cause])
        elif horizon < INF:
            yield self.wait_until(horizon)
        self._signal_end()


class _PhaseStep:
    """The callback of a pending step into the faster phase (:meth:`Patient._phase_step`).

    An object of the compiled model, not a closure: a closure is two objects (the function and its
    environment, which holds every local of the function that made it), made and freed for every step,
    most of them stale (about 1% of the instructions of a lifetime on cyclophosphamide, measured).
    """

    __slots__ = ("patient", "token")

    def __init__(self, patient: Patient, token: int) -> None:
        self.patient = patient
        self.token = token

    def __call__(self, _event: object) -> None:
        self.patient._phase_step(self.token)


class _ThresholdStep:
    """The callback of a pending threshold crossing (:meth:`Patient._threshold_step`), as
    :class:`_PhaseStep`."""

    __slots__ = ("patient", "token", "k", "level", "name")

    def __init__(self, patient: Patient, token: int, k: int, level: float, name: str) -> None:
        self.patient = patient
        self.token = token
        self.k = k
        self.level = level
        self.name = name

    def __call__(self, _event: object) -> None:
        self.patient._threshold_step(self.token, self.k, self.level, self.name)


class _Resume:
    """The callback that resumes a generator driven by :meth:`Patient.drive` with each of its waits.

    An object, not a closure: a closure that appends itself to a wait's callbacks refers to itself through
    its own cell, a reference cycle that keeps the generator and all it holds (the course, its random
    stream) alive until the cyclic collector finds them; an object is freed as soon as its last wait is.
    """

    __slots__ = ("steps",)

    def __init__(self, steps: Generator[Wait, None, None]) -> None:
        self.steps = steps

    def __call__(self, _event: object) -> None:
        # next() with a default, not ``except StopIteration``: steps never yield None, and raising and
        # catching an exception at the end of every course cost more than the rest of its last step.
        wait = _next(self.steps, None)
        if wait is not None:
            wait.callbacks.append(self)


def fresh_environment(env: simpy.Environment | None = None) -> simpy.Environment:
    """An environment at time 0 with no events: ``env`` emptied for the next patient, or a new one.

    Each patient has an environment of their own, but creating one costs more than a few of its events
    (SimPy binds its event classes to every new environment, and the old one is left for the cyclic garbage
    collector); emptying the previous patient's is the same as a new one for SimPy (the clock, the heap, the
    order counter and the active process are all of its state; the clock is the integer 0 as in a new one).
    The order counter goes on counting: it only breaks ties between the events on the heap, all of them
    made after the emptying, so their order is that of a new counter (a new one would cost a call and a
    store for every patient). Relies on SimPy 4's internals, as :meth:`Patient.wait_at` does (the
    dependency is pinned below 5).
    """
    if env is None:
        return PatientEnvironment()
    env._now = 0
    env._queue.clear()  # in place: a patient holds the heap (Patient.queue)
    env._active_proc = None
    return env


def threshold_list(
    th,
    b0: float,
    tremor_b: float,
    pain_b: float,
    ataxia_b: float | None = None,
    disabled_b: float | None = None,
) -> list[tuple[float, str, int]]:
    """The patient's milestones as (burden, event, column), sorted by burden; ties keep clinical order.

    ``ataxia_b`` is the patient's sensory-ataxia onset (NaN: never ataxic; None: the scenario's threshold)
    and ``disabled_b`` the patient's own disability level (None: the scenario's threshold).
    """
    return patient_thresholds(scenario_thresholds(th), b0, tremor_b, pain_b, ataxia_b, disabled_b)


#: The scenario's milestone thresholds in clinical order, as (event, burden, column): what
#: :func:`patient_thresholds` starts from.
ScenarioThresholds = list[tuple[str, Any, int]]


def scenario_thresholds(th) -> ScenarioThresholds:
    """The thresholds of the scenario's ``thresholds`` table (:data:`ScenarioThresholds`), read once for
    a block of patients: each read of the table is a generic attribute lookup and each column's name a
    string to build and look up. Built for each patient, that was 70% of the cost of their list (17,800
    instructions to 5,200, measured)."""
    return [(name, getattr(th, name), COLUMN["t_" + name]) for name in THRESHOLD_ORDER]


def patient_thresholds(
    base: ScenarioThresholds,
    b0: float,
    tremor_b: float,
    pain_b: float,
    ataxia_b: float | None = None,
    disabled_b: float | None = None,
) -> list[tuple[float, str, int]]:
    """:func:`threshold_list` of a patient from the scenario's thresholds ``base``
    (:func:`scenario_thresholds`)."""
    items: list[tuple[float, str, int]] = []
    for name, level, column in base:
        own: Any = ataxia_b if name == "ataxia" else disabled_b if name == "disabled" else None
        if own is not None:
            level = own
        if level == level:  # not NaN
            items.append((level, name, column))
    if tremor_b == tremor_b:  # not NaN
        items.append((max(tremor_b, b0), "tremor", TREMOR_COLUMN))
    if pain_b == pain_b:
        items.append((max(pain_b, b0), "neuropathic_pain", PAIN_COLUMN))
    items.sort(key=_time_of)  # stable: ties keep clinical order
    return items
