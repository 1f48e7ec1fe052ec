"""The natural history of a block of patients, computed in numpy before any SimPy event.

Between treatment changes a patient's burden rises linearly, so the time of every milestone, of the faster
phase, of malignant transformation and of death is known from the patient's traits alone. This module
computes them for a whole block at once, together with the diagnostic journey, and hands each patient a
time-ordered range of *timeline entries*; the patient's walk along them
(:meth:`sim.model.process.Patient.follow`) then waits only for the entries a strategy rule listens to, and a
patient whose treatment changes the disease recomputes their own future from that moment
(:meth:`~sim.model.process.Patient.start_disease`).

Exactness: every time is computed with the same floating-point operations, in the same order, as the
event-by-event processes of :mod:`sim.model.process` (each crossing waits ``(level - b) / rate`` from the
previous one; the clock adds each wait to the time of the previous event), elementwise over the block, so
the times are bit for bit those of the event-by-event formulation (``runner.TIMELINE = False``; compared on
every shipped scenario by the test suite).

An entry has a time, an ``(event, detail, kind, column)`` of its code, a value and a burden, each in a
column of its own (:class:`sim.model.process.Timeline`): ``kind`` says what it does to the patient's state
(:data:`THRESHOLD`, :data:`PHASE`, :data:`LIFE`, :data:`JOURNEY`, :data:`DEATH`), ``column`` is the
milestone column its event sets (:data:`sim.model.milestones.EVENT_COLUMN`, -1 for none), the value is an
mRS or a cause of death as an int (NaN otherwise) and the burden is the burden from then on for the two
disease kinds (NaN otherwise).
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Final

import numpy as np

from sim.errors import SimulationError
from sim.model.cohort import JOURNEY_SLOTS, TITRE_BANDS, JourneyArrays
from sim.model.milestones import EVENT_COLUMN, THRESHOLD_ORDER

# What an entry does to the patient (Final: the compiled model reads them as constants).
THRESHOLD: Final = 0
PHASE: Final = 1
LIFE: Final = 2
JOURNEY: Final = 3
DEATH: Final = 4
#: The burden thresholds of a patient, in the column order of the level matrix (ties keep this order).
LEVEL_NAMES = (*THRESHOLD_ORDER, "tremor", "neuropathic_pain")
_MRS_OF_LEVEL = np.array([{"mrs2": 2, "disabled": 3, "mrs4": 4, "mrs5": 5}.get(n, 0) for n in LEVEL_NAMES])


# Codes of the (event, detail) pairs an entry can carry; one table so that entries are built per block.
_CODES: list[tuple[str, str, int]] = []


def _code(event: str, detail: str, kind: int) -> int:
    _CODES.append((event, detail, kind))
    return len(_CODES) - 1


_LEVEL_CODE = np.array([_code(name, "", THRESHOLD) for name in LEVEL_NAMES])
_PHASE_CODE = _code("faster_phase", "progression accelerates", PHASE)
_MALIGNANCY_CODE = _code("malignancy", "Waldenström macroglobulinaemia or lymphoma", LIFE)
_DEATH_CODE = {cause: _code("death", name, DEATH) for cause, name in ((1, "background"), (2, "malignancy"))}
_J_PRESENT = _code("presentation", "first visit for the symptoms", JOURNEY)
_J_EXAM = _code("neurology_exam", "clinical examination", JOURNEY)
_J_NCS = (_code("ncs_emg", "unclear pattern", JOURNEY), _code("ncs_emg", "demyelinating", JOURNEY))
_J_CIDP = _code("cidp_label", "treated as CIDP first", JOURNEY)
_J_CSF = (_code("csf", "normal CSF protein", JOURNEY), _code("csf", "raised CSF protein", JOURNEY))
_J_BIOPSY = _code("nerve_biopsy", "demyelination with IgM deposits", JOURNEY)
_J_DIAGNOSIS = _code("diagnosis", "anti-MAG neuropathy", JOURNEY)
_J_SEROLOGY = tuple(
    _code("serology", f"IgM paraprotein; anti-MAG {band} BTU", JOURNEY) for band in TITRE_BANDS
)
_KINDS = np.array([c[2] for c in _CODES])
#: Per code, the ``(event, detail, kind, column)`` every entry of that code shares (one tuple each).
_INFOS = np.empty(len(_CODES), dtype=object)
_INFOS[:] = [(event, detail, kind, EVENT_COLUMN.get(event, -1)) for event, detail, kind in _CODES]


def level_matrix(
    th: SimpleNamespace,
    b0: float,
    tremor_b: np.ndarray,
    pain_b: np.ndarray,
    ataxia_b: np.ndarray,
    disabled_b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Each patient's threshold levels sorted by burden (absent: inf, last) and their index in LEVEL_NAMES.

    The same order as :func:`sim.model.process.threshold_list` (a stable sort: ties keep clinical order).
    """
    n = len(tremor_b)
    own = {"ataxia": ataxia_b, "disabled": disabled_b}
    cols = [
        np.broadcast_to(np.asarray(own.get(name, getattr(th, name)), dtype=float), (n,))
        for name in THRESHOLD_ORDER
    ]
    cols.append(np.where(np.isnan(tremor_b), np.nan, np.maximum(tremor_b, b0)))
    cols.append(np.where(np.isnan(pain_b), np.nan, np.maximum(pain_b, b0)))
    raw = np.stack(cols, axis=1)
    raw = np.where(np.isnan(raw), np.inf, raw)
    order = np.argsort(raw, axis=1, kind="stable")
    return np.take_along_axis(raw, order, axis=1), order


def disease_times(
    levels: np.ndarray,
    order: np.ndarray,
    b0: float,
    rate: np.ndarray,
    t_faster: np.ndarray,
    faster: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Natural-history crossing times, step by step as :meth:`Patient.start_disease` takes them.

    Returns, per patient and step (at most one per threshold plus the faster phase), the time (inf: never),
    the entry code, the burden from then on, and the modified Rankin score after it.
    """
    n, m = levels.shape
    rows = np.arange(n)
    now = np.zeros(n)
    b_ref = np.full(n, b0)
    t_ref = np.zeros(n)
    rate = np.array(rate, dtype=float)
    base = rate.copy()
    tf = np.array(t_faster, dtype=float)
    k = np.zeros(n, dtype=np.int64)
    mrs = np.ones(n, dtype=np.int64)
    steps = m + 1
    out_t = np.full((n, steps), np.inf)
    out_code = np.zeros((n, steps), dtype=np.int64)
    out_b = np.full((n, steps), np.nan)
    out_mrs = np.zeros((n, steps), dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for s in range(steps):
            ks = np.minimum(k, m - 1)
            level = np.where(k < m, levels[rows, ks], np.inf)
            b = b_ref + rate * (now - t_ref)
            to_th = np.where(rate > 0.0, (level - b) / rate, np.inf)
            to_ph = np.maximum(tf - now, 0.0)
            live = ~((to_th == np.inf) & (to_ph == np.inf))
            if not live.any():
                break
            phase = live & (to_ph < to_th)
            cross = live & ~phase
            new_now = now + np.where(phase, to_ph, np.maximum(to_th, 0.0))
            # faster phase: rebase (burden capped at 1), then the faster rate
            b_phase = np.minimum(1.0, b_ref + rate * (new_now - t_ref))
            name = order[rows, ks]
            mrs = np.where(cross & (_MRS_OF_LEVEL[name] > 0), _MRS_OF_LEVEL[name], mrs)
            out_t[:, s] = np.where(live, new_now, np.inf)
            out_code[:, s] = np.where(phase, _PHASE_CODE, _LEVEL_CODE[name])
            out_b[:, s] = np.where(phase, b_phase, level)
            out_mrs[:, s] = mrs
            b_ref = np.where(phase, b_phase, np.where(cross, level, b_ref))
            t_ref = np.where(live, new_now, t_ref)
            rate = np.where(phase, base * faster * 1.0, rate)
            tf = np.where(phase, np.inf, tf)
            k = np.where(cross, k + 1, k)
            now = np.where(live, new_now, now)
    return out_t, out_code, out_b, out_mrs


def life_times(
    t_background: np.ndarray,
    t_malignancy: np.ndarray,
    excess_exp: np.ndarray,
    excess_rate: float,
    horizon: float,
    pids: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Recorded time of malignancy (inf: none), of death (inf: alive at the horizon), and its cause.

    As :meth:`Patient.life`: the clock reaches each absolute time by a wait from the previous event.
    """
    for name, value in (("background death", t_background), ("transformation", t_malignancy)):
        bad = ~(value >= 0.0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise SimulationError(
                f"patient {int(pids[i])}: {name} time {float(value[i])!r} is not a time >= 0"
            )
    malignant = t_malignancy < np.minimum(t_background, horizon)
    t_mal = np.where(malignant, t_malignancy, np.inf)  # 0 + (t - 0) == t
    t_death = t_background.astype(float)
    cause = np.ones(len(t_death), dtype=np.int64)
    if excess_rate > 0:
        with np.errstate(over="ignore"):
            t_excess = t_malignancy + excess_exp / excess_rate
        excess = malignant & (t_excess < t_death)
        t_death = np.where(excess, t_excess, t_death)
        cause = np.where(excess, 2, cause)
    now = np.where(malignant, t_mal, 0.0)
    dies = t_death < horizon
    with np.errstate(invalid="ignore"):
        recorded = np.where(t_death > now, now + (t_death - now), now)
    return t_mal, np.where(dies & (recorded < horizon), recorded, np.inf), cause


def journey_times(journey: JourneyArrays, pids: np.ndarray) -> np.ndarray:
    """The time each journey step is recorded at (NaN: no such step), as :meth:`Patient.write_journey`."""
    steps = journey.times
    out = np.full(steps.shape, np.nan)
    now = np.zeros(len(steps))
    for j in range(steps.shape[1]):
        t = steps[:, j]
        has = ~np.isnan(t)
        later = has & (t > now)
        now = np.where(later, now + (t - now), now)
        back = has & ~later & ~(t >= now - 1e-9 * np.maximum(1.0, now))
        if back.any():
            i = int(np.flatnonzero(back)[0])
            step = JOURNEY_SLOTS[j]
            raise SimulationError(
                f"patient {int(pids[i])}: diagnostic step '{step}' at t={float(t[i])!r} before now"
            )
        out[:, j] = np.where(has, now, np.nan)
    # a NaN step time (a sampling error) is caught as a step back in time
    bad = np.isnan(steps[:, [0, 1, 2, 6, 7]]).any(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise SimulationError(f"patient {int(pids[i])}: diagnostic step at t=nan before now")
    return out


def journey_codes(journey: JourneyArrays) -> np.ndarray:
    """The entry code of every journey step of every patient."""
    n = len(journey.times)
    serology = np.asarray(_J_SEROLOGY)[journey.titre]
    return np.stack(
        [
            np.full(n, _J_PRESENT),
            np.full(n, _J_EXAM),
            np.where(journey.demyelinating, _J_NCS[1], _J_NCS[0]),
            np.full(n, _J_CIDP),
            np.where(journey.csf_raised, _J_CSF[1], _J_CSF[0]),
            np.full(n, _J_BIOPSY),
            serology,
            np.full(n, _J_DIAGNOSIS),
        ],
        axis=1,
    )


def block_entries(
    n: int,
    disease: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    life: tuple[np.ndarray, np.ndarray, np.ndarray],
    journey_t: np.ndarray,
    journey_c: np.ndarray,
    horizon: float,
) -> tuple[tuple[list, list, list, list], list[int], list[float]]:
    """Every patient's time-ordered timeline entries and the time their follow-up ends naturally.

    The entries of all the patients, one after another, as four columns (times, ``(event, detail, kind,
    column)`` tuples, values, burdens: :class:`sim.model.process.Timeline`); patient ``i`` has those from
    ``bounds[i]`` to ``bounds[i + 1]``.

    Only entries before the natural end (death or the horizon) are kept: nothing a treatment does can delay
    death, only bring it forward. At equal times the disease comes first, then malignancy, then the journey
    (the order in which the event-by-event formulation records them).
    """
    d_t, d_code, d_b, d_mrs = (a[:n] for a in disease)
    t_mal, t_death, cause = (a[:n] for a in life)
    t_end = np.minimum(t_death, horizon)
    times = np.concatenate([d_t, t_mal[:, None], journey_t[:n], t_death[:, None]], axis=1)
    codes = np.concatenate(
        [
            d_code,
            np.full((n, 1), _MALIGNANCY_CODE),
            journey_c[:n],
            np.where(cause == 2, _DEATH_CODE[2], _DEATH_CODE[1])[:, None],
        ],
        axis=1,
    )
    burden = np.concatenate([d_b, np.full((n, 1 + journey_t.shape[1] + 1), np.nan)], axis=1)
    mrs = np.concatenate(
        [d_mrs, np.zeros((n, journey_t.shape[1] + 1), dtype=np.int64), cause[:, None]], axis=1
    )
    width = times.shape[1]
    column = np.arange(width)
    with np.errstate(invalid="ignore"):
        keep = (times < t_end[:, None]) | ((column == width - 1) & (times < np.inf))
    # Each patient's kept entries by time, ties in column order: a stable sort of each row, the entries
    # not kept (set to inf) last. Every kept time is finite, so the first ``count`` of a row are its own.
    order = np.argsort(np.where(keep, times, np.inf), axis=1, kind="stable")
    rank = column < keep.sum(axis=1)[:, None]
    p = np.broadcast_to(np.arange(n)[:, None], (n, width))[rank]
    at = p * width + order[rank]  # each kept entry's place in the (row-major) arrays above
    t = times.reshape(-1).take(at)
    code = codes.reshape(-1).take(at)
    kind = _KINDS[code]
    # The value an entry carries: its mRS (a threshold) or cause of death (a death) as an int, NaN for the
    # others; read from a small column of those Python objects (one fancy index, no masked assignment).
    carries = (kind == THRESHOLD) | (kind == DEATH)
    carried = np.where(carries, mrs.reshape(-1).take(at) + 1, 0)
    value = np.array([math.nan, *range(int(carried.max(initial=0)))], dtype=object)[carried]
    # The burden from then on: a float of its own for the disease kinds, one NaN object for the others.
    disease_kind = (kind == THRESHOLD) | (kind == PHASE)
    burden_of = np.full(len(at), math.nan, dtype=object)
    burden_of[disease_kind] = burden.reshape(-1).take(at[disease_kind])
    columns = (t.tolist(), _INFOS[code].tolist(), value.tolist(), burden_of.tolist())
    return columns, np.searchsorted(p, np.arange(n + 1)).tolist(), t_end.tolist()
