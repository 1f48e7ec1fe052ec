"""Everything about a block of patients that can be drawn before the simulation, in bulk.

Each quantity is the inverse CDF of its own uniform (a fixed row of its purpose's stream, see
:mod:`sim.random`), so the same patient keeps the same traits in every arm and for every parameter value
(monotone coupling), and changing one parameter moves each patient's draw smoothly. Nothing here knows
about SimPy; the SimPy process (:mod:`sim.model.process`) reads a patient's row and lets time run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from types import SimpleNamespace

import numpy as np
from scipy import special, stats

from sim.model.mortality import LifeTable
from sim.random import BLOCK_SIZE, many_block_uniforms

TITRE_BANDS = ("1000-10000", "10000-70000", ">=70000")
REFERENCE_ONSET_AGE = 60.0

# Row layout of each purpose's uniforms. Append only: reordering changes every result for a given seed.
POPULATION_ROWS = ("age", "sex", "titre", "mprotein")
PROGRESSION_ROWS = ("fast_class", "rate", "faster_phase")
SYMPTOM_ROWS = (
    "tremor",
    "tremor_onset",
    "pain",
    "pain_onset",
    "arm_factor",
    "sensory_factor",
    "motor_factor",
    "ataxia",
    "ataxia_onset",
)
DIAGNOSIS_ROWS = (
    "presentation",
    "referral",
    "ncs",
    "cidp",
    "cidp_relabel",
    "unclear_workup",
    "csf",
    "biopsy",
    "csf_raised",
)
#: The steps of a diagnostic journey in the order they happen (a patient may skip some).
JOURNEY_SLOTS = (
    "presentation",
    "neurology_exam",
    "ncs_emg",
    "cidp_label",
    "csf",
    "nerve_biopsy",
    "serology",
    "diagnosis",
)
#: Every event a diagnostic journey may contain (see :func:`diagnostic_journeys`).
JOURNEY_EVENTS = frozenset(JOURNEY_SLOTS)
MALIGNANCY_ROWS = ("transformation", "excess_death")
MORTALITY_ROWS = ("background",)


def _exp(u: np.ndarray) -> np.ndarray:
    """Standard exponential by inversion (``-log(1-u)``; ``u`` in [0, 1) so it is finite)."""
    return -np.log1p(-u)


def _lognormal(u: np.ndarray, median: float, sigma: float) -> np.ndarray:
    return median * np.exp(sigma * special.ndtri(u))  # ndtri: the standard normal quantile


@dataclass
class BlockTraits:
    """Per-patient arrays of one block (length ``BLOCK_SIZE``)."""

    patient_id: np.ndarray
    male: np.ndarray
    age_at_onset: np.ndarray
    titre_band: np.ndarray  # index into TITRE_BANDS
    mprotein_g_dl: np.ndarray
    fast_progressor: np.ndarray
    rate_per_year: np.ndarray  # burden per year at onset (slow phase)
    t_faster_phase: np.ndarray  # years from onset; inf if never
    tremor_burden: np.ndarray  # burden at tremor onset; nan if never
    pain_burden: np.ndarray  # burden at neuropathic pain onset; nan if never
    ataxia_burden: np.ndarray  # burden at sensory ataxia onset; nan if never (not every patient is ataxic)
    disabled_burden: np.ndarray  # burden at which the patient is disabled (mRS 3): soonest of three routes
    arm_factor: np.ndarray
    sensory_factor: np.ndarray
    motor_factor: np.ndarray
    diagnosis_steps: list[list[tuple[float, str, str]]]  # per patient: (time, event, detail); [] if not asked
    t_malignancy: np.ndarray  # years from onset; inf if never
    excess_death_exp: np.ndarray  # Exp(1) for death after malignancy
    background_death_exp: np.ndarray  # Exp(1) for background death
    journey: JourneyArrays | None = None  # the diagnostic journeys as arrays


def draw_block(
    v: SimpleNamespace, table: LifeTable, seed: int, draw: int, block: int, journey_lists: bool = True
) -> BlockTraits:
    """Draw every pre-simulation quantity of one block of patients from the scenario values ``v``.

    The diagnostic journeys come as arrays (``journey``) and, unless ``journey_lists`` is false, also as
    per-patient lists (``diagnosis_steps``, built in Python: the timeline of :mod:`sim.model.timeline`
    needs only the arrays).
    """
    return draw_blocks(v, table, seed, draw, [block], journey_lists)[0]


#: Each purpose's uniforms and their row layout, in the order the streams are drawn.
_PURPOSE_ROWS = (
    ("population", POPULATION_ROWS),
    ("progression", PROGRESSION_ROWS),
    ("symptoms", SYMPTOM_ROWS),
    ("diagnosis", DIAGNOSIS_ROWS),
    ("malignancy", MALIGNANCY_ROWS),
    ("mortality", MORTALITY_ROWS),
)


def draw_blocks(
    v: SimpleNamespace,
    table: LifeTable,
    seed: int,
    draw: int,
    blocks: Sequence[int],
    journey_lists: bool = True,
) -> list[BlockTraits]:
    """:func:`draw_block` of each of ``blocks``, their arithmetic done in one NumPy pass.

    Each block reads its own streams, as alone; the blocks' uniforms are then laid side by side and
    turned into traits together. Every step is elementwise, so each patient's traits are bit for bit those
    of :func:`draw_block`; a pass over several blocks only pays NumPy's cost per call once for all of
    them (on blocks of 256 patients that cost is most of the work).
    """
    uniforms = many_block_uniforms(
        seed, draw, [(purpose, len(rows)) for purpose, rows in _PURPOSE_ROWS], list(blocks)
    )
    ids = np.concatenate([b * BLOCK_SIZE + np.arange(BLOCK_SIZE) for b in blocks])
    traits = _traits(v, ids, *uniforms, journey_lists)
    if len(blocks) == 1:
        return [traits]
    return [_block_of(traits, k) for k in range(len(blocks))]


def _block_of(traits: BlockTraits, k: int) -> BlockTraits:
    """The ``k``-th block of patients of ``traits`` drawn for several blocks (views of its arrays)."""
    rows = slice(k * BLOCK_SIZE, (k + 1) * BLOCK_SIZE)
    parts = {
        f.name: getattr(traits, f.name)[rows]
        for f in fields(BlockTraits)
        if f.name not in ("journey", "diagnosis_steps")
    }
    journey = traits.journey
    assert journey is not None  # always drawn
    return BlockTraits(
        **parts,
        diagnosis_steps=traits.diagnosis_steps[rows],
        journey=JourneyArrays(*(getattr(journey, f.name)[rows] for f in fields(JourneyArrays))),
    )


def _traits(
    v: SimpleNamespace,
    ids: np.ndarray,
    u_pop: np.ndarray,
    u_prog: np.ndarray,
    u_sym: np.ndarray,
    u_diag: np.ndarray,
    u_mal: np.ndarray,
    u_mort: np.ndarray,
    journey_lists: bool,
) -> BlockTraits:
    """The traits of the patients ``ids`` from their uniforms (one column per patient)."""
    pop, prog, sym = v.population, v.progression, v.symptoms

    # Population at onset: truncated normal age, sex, titre band, log-normal IgM M-protein.
    lo = (pop.age_onset_min - pop.age_onset_mean) / pop.age_onset_sd
    hi = (pop.age_onset_max - pop.age_onset_mean) / pop.age_onset_sd
    age = stats.truncnorm.ppf(u_pop[0], lo, hi, loc=pop.age_onset_mean, scale=pop.age_onset_sd)
    male = u_pop[1] < pop.p_male
    titre = np.where(u_pop[2] < pop.p_titre_low, 0, np.where(u_pop[2] < 1 - pop.p_titre_high, 1, 2))
    mprotein = _lognormal(u_pop[3], pop.mprotein_median_g_dl, pop.mprotein_sigma)

    # Progression: a two-class log-normal rate, older onset faster, and a possible later faster phase.
    fast = u_prog[0] < prog.p_fast_progressor
    median = np.where(fast, prog.rate_fast_median_per_year, prog.rate_slow_median_per_year)
    sigma = np.where(fast, prog.rate_fast_sigma, prog.rate_slow_sigma)
    age_factor = prog.rate_ratio_per_decade_of_onset_age ** ((age - REFERENCE_ONSET_AGE) / 10.0)
    rate = median * np.exp(sigma * special.ndtri(u_prog[1])) * age_factor
    with np.errstate(divide="ignore"):
        t_faster = np.where(
            prog.faster_phase_rate_per_year > 0, _exp(u_prog[2]) / prog.faster_phase_rate_per_year, np.inf
        )

    # Symptom phenotypes, each in its own subset with its own onset (docs/model.md §1). The cited shares are
    # cross-sectional (patients seen at a centre), so tremor and sensory ataxia start early in their carriers:
    # tremor between the first symptom and the spread to the hands (present at the evaluation, ahlskog2012;
    # never before sensory onset), sensory ataxia soon after the sensory loss spreads, between the hands and
    # the `ataxia` threshold (about half of the cases, medlink2024). Neuropathic pain is late, between the
    # hands and the walking aid (a minority, as the condition advances).
    th = v.thresholds
    onset_b = prog.burden_at_onset
    tremor_b = np.where(u_sym[0] < sym.p_tremor, onset_b + u_sym[1] * (th.sensory_hands - onset_b), np.nan)
    pain_b = np.where(
        u_sym[2] < sym.p_neuropathic_pain,
        th.sensory_hands + u_sym[3] * (th.walking_aid - th.sensory_hands),
        np.nan,
    )
    ataxia_b = np.where(
        u_sym[7] < sym.p_sensory_ataxia,
        th.sensory_hands + u_sym[8] * (th.ataxia - th.sensory_hands),
        np.nan,
    )
    disabled_b = disabled_burden(th, ataxia_b, tremor_b, sym)
    width = sym.scale_variation
    factors = [1.0 + width * (2.0 * u_sym[r] - 1.0) for r in (4, 5, 6)]

    # Malignant transformation: exponential with a log-linear effect of the M-protein level (Kyle 2003).
    mal = v.malignancy
    # The exponent is capped (e^50 is already "at once"), so an extreme M-protein cannot overflow to inf.
    log_hr = np.minimum(mal.log_hazard_ratio_per_g_dl * (mprotein - 1.0), 50.0)
    hazard = mal.rate_per_year_at_1g_dl * np.exp(log_hr)
    with np.errstate(divide="ignore"):
        t_mal = np.where(hazard > 0, _exp(u_mal[0]) / hazard, np.inf)

    return BlockTraits(
        patient_id=ids,
        male=male,
        age_at_onset=age,
        titre_band=titre,
        mprotein_g_dl=mprotein,
        fast_progressor=fast,
        rate_per_year=rate,
        t_faster_phase=t_faster,
        tremor_burden=tremor_b,
        pain_burden=pain_b,
        ataxia_burden=ataxia_b,
        disabled_burden=disabled_b,
        arm_factor=factors[0],
        sensory_factor=factors[1],
        motor_factor=factors[2],
        diagnosis_steps=diagnostic_journeys(v.diagnosis, u_diag, titre) if journey_lists else [],
        t_malignancy=t_mal,
        excess_death_exp=_exp(u_mal[1]),
        background_death_exp=_exp(u_mort[0]),
        journey=journey_arrays(v.diagnosis, u_diag, titre),
    )


def disabled_burden(
    th: SimpleNamespace, ataxia_b: np.ndarray, tremor_b: np.ndarray, sym: SimpleNamespace
) -> np.ndarray:
    """Burden at which each patient is disabled: ``nobile2000`` counts severe hand tremor, gait ataxia or
    both, so the soonest of the general threshold, severe ataxia (onset + ``ataxia_disabling_burden_rise``)
    and severe tremor (onset + ``tremor_disabling_burden_rise``); never before ``mrs2`` (mRS 2 comes first),
    and never before the gait is affected (sensory ataxia or distal weakness, whichever comes first): a
    disabling tremor in a patient who still walks normally is graded mRS 2, so that disability, as in the
    clinical sequence, always follows a gait problem.
    """
    severe = np.fmin(ataxia_b + sym.ataxia_disabling_burden_rise, tremor_b + sym.tremor_disabling_burden_rise)
    gait = np.fmin(ataxia_b, th.weakness)  # NaN ataxia (never ataxic): the weakness threshold
    return np.maximum(np.maximum(th.mrs2, gait), np.fmin(th.disabled, severe))


def background_death_times(traits: BlockTraits, table: LifeTable, multiplier: float) -> np.ndarray:
    """Years from onset to background death for each patient of the block (``inf`` if never)."""
    death_age = table.death_age(traits.male, traits.age_at_onset, traits.background_death_exp, multiplier)
    return death_age - traits.age_at_onset


@dataclass
class JourneyArrays:
    """A block's diagnostic journeys as arrays, one column per step of
    :data:`JOURNEY_SLOTS` (NaN where a patient has no such step)."""

    times: np.ndarray  # (patients, 8): presentation, exam, NCS, CIDP label, CSF, biopsy, serology, diagnosis
    demyelinating: np.ndarray
    csf_raised: np.ndarray
    titre: np.ndarray


def journey_arrays(d: SimpleNamespace, u: np.ndarray, titre: np.ndarray) -> JourneyArrays:
    """Each patient's path from first symptom to the diagnosis of anti-MAG neuropathy.

    Presentation after a log-normal delay; a neurology exam after an exponential referral wait, with nerve
    conduction studies the same day. A demyelinating pattern (prolonged distal motor latencies) leads to
    serum immunofixation and anti-MAG ELISA, unless the patient is first labelled CIDP, in which case the
    antibody is found only after a log-normal delay. An unclear pattern leads to further work-up (CSF in
    some, nerve biopsy in some) before serology. CSF protein is measured in a share of all patients.
    """
    t_present = _lognormal(u[0], d.presentation_delay_median_years, d.presentation_delay_sigma)
    t_exam = t_present + d.referral_wait_mean_years * _exp(u[1])
    demyelinating = u[2] < d.p_ncs_demyelinating
    cidp = demyelinating & (u[3] < d.p_cidp_first)
    cidp_delay = _lognormal(u[4], d.cidp_relabel_median_years, d.cidp_relabel_sigma)
    unclear_delay = _lognormal(u[5], d.unclear_workup_median_years, d.unclear_workup_sigma)
    csf = u[6] < d.p_csf
    csf_raised = u[8] < d.p_csf_protein_raised
    biopsy = ~demyelinating & (u[7] < d.p_biopsy_if_unclear)
    lab = d.lab_turnaround_years
    t = np.where(cidp, t_exam + cidp_delay, np.where(~demyelinating, t_exam + unclear_delay, t_exam))
    times = np.stack(
        [
            t_present,
            t_exam,
            t_exam,
            np.where(cidp, t_exam, np.nan),
            np.where(csf, t, np.nan),
            np.where(biopsy, t, np.nan),
            t + lab,
            t + lab,
        ],
        axis=1,
    )
    return JourneyArrays(times, demyelinating, csf_raised, titre)


def join_journeys(journeys: Sequence[JourneyArrays]) -> JourneyArrays:
    """The journeys of several blocks as one, their patients one block after another."""
    if len(journeys) == 1:
        return journeys[0]
    return JourneyArrays(
        *(np.concatenate([getattr(j, f.name) for j in journeys]) for f in fields(JourneyArrays))
    )


def journey_details(journey: JourneyArrays, i: int) -> tuple[str, ...]:
    """The detail of each step of patient ``i``'s journey, in :data:`JOURNEY_SLOTS` order."""
    return (
        "first visit for the symptoms",
        "clinical examination",
        "demyelinating" if journey.demyelinating[i] else "unclear pattern",
        "treated as CIDP first",
        "raised CSF protein" if journey.csf_raised[i] else "normal CSF protein",
        "demyelination with IgM deposits",
        f"IgM paraprotein; anti-MAG {TITRE_BANDS[journey.titre[i]]} BTU",
        "anti-MAG neuropathy",
    )


def diagnostic_journeys(
    d: SimpleNamespace, u: np.ndarray, titre: np.ndarray
) -> list[list[tuple[float, str, str]]]:
    """Each patient's diagnostic journey as ``(time, event, detail)`` steps (see :func:`journey_arrays`)."""
    journey = journey_arrays(d, u, titre)
    rows = journey.times.tolist()
    return [
        [
            (t, name, detail)
            for t, name, detail in zip(row, JOURNEY_SLOTS, journey_details(journey, i), strict=True)
            if t == t  # not NaN: the patient has this step
        ]
        for i, row in enumerate(rows)
    ]
