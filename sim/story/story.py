"""``sim.patient_story``: one simulated patient's course, as a tidy timeline, scales over time and text."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import ScenarioError
from sim.model.columns import COST_DISC, COST_UNDISC, LYS_DISC, LYS_UNDISC, QALYS_DISC, QALYS_UNDISC
from sim.run.runner import SimulationResult, horizon_of, simulate
from sim.run.trajectory import outcome_scales
from sim.scenario.loading import Scenario
from sim.story.parting import Parting, check_comparable, parting_point
from sim.story.picks import PICKS
from sim.story.render import render_json, render_markdown, render_text
from sim.story.timeline import narrate

#: Patients simulated to choose a ``pick`` from (and the range of ``patient_id``), unless told otherwise.
DEFAULT_COHORT = 1000
#: Points per year of follow-up at which the scales are evaluated (they are then reduced to their steps).
GRID_PER_YEAR = 50


class StoryError(ScenarioError):
    """A story cannot be told as asked (unknown pick, an id outside the cohort, no matching patient)."""

    def __init__(self, message: str, option: str) -> None:
        super().__init__(message)
        self.option = option
        self.args = (message,)

    def __str__(self) -> str:
        return self.reason

    def __reduce__(self):
        return (type(self), (self.reason, self.option))


@dataclass(frozen=True)
class PatientStory:
    """One patient's course under one or more strategies (the first is the reference).

    Attributes
    ----------
    patient_id : int
        The patient (the same person under every strategy: same seed, common random numbers).
    seed : int
        Root seed of the run.
    strategies : tuple of str
        Strategy names, the reference first.
    timeline : DataFrame
        One row per event: ``strategy, patient_id, time`` (years since the first symptom), ``age`` (years),
        ``kind`` (symptom, disability, diagnosis, treatment, response, adverse_event, cancer, death,
        follow_up), ``event`` (the model's event name), ``detail`` (as logged), ``text`` (plain words),
        ``shared`` (True while the course is identical to the reference strategy's).
    scales : DataFrame
        The outcome scales at each time one of them changes (``sim.outcome_scales`` columns), per strategy:
        a step function, constant until the next row.
    courses : DataFrame
        The patient's treatment courses (``result.courses`` rows), per strategy.
    summary : DataFrame
        One row per strategy: ``years_with_disease`` (first symptom to death or end of follow-up),
        ``years_disabled`` (alive at modified Rankin >= 3), ``died``, ``death_cause``, ``age_at_end``; and
        with economics ``lys_undisc``, ``qalys_undisc``, ``cost_undisc`` (undiscounted) and their ``_disc``
        versions.
    partings : tuple of Parting
        For each other strategy, where its course first differs from the reference (``None`` if never).
    pick, reason : str or None
        The ``pick`` criterion and why this patient was chosen.
    traits : dict
        Sex, age at onset, anti-MAG titre band, IgM M-protein, fast-progressor, tremor, neuropathic pain.
    currency : str or None
        Currency of the costs (``None`` without economics).
    metadata : dict
        Seed, scenario names and hashes, cohort size, horizon.
    """

    patient_id: int
    seed: int
    strategies: tuple[str, ...]
    timeline: pd.DataFrame
    scales: pd.DataFrame
    courses: pd.DataFrame
    summary: pd.DataFrame
    partings: tuple[Parting | None, ...] = ()
    pick: str | None = None
    reason: str | None = None
    traits: dict[str, Any] = field(default_factory=dict)
    currency: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        """The story in plain text (a line per event, then the summary)."""
        return render_text(self)

    def markdown(self) -> str:
        """The story as Markdown (headings, a table of events per strategy, the summary)."""
        return render_markdown(self)

    def json(self) -> str:
        """The story as JSON: traits, timeline, summary, partings and metadata."""
        return render_json(self)

    def render(self, fmt: str) -> str:
        """``text``, ``markdown`` or ``json``."""
        return {"text": self.text, "markdown": self.markdown, "json": self.json}[fmt]()


def patient_story(
    scenario: Scenario,
    patient_id: int | None = None,
    pick: str | None = None,
    seed: int = 1,
    compare: Sequence[Scenario] = (),
    n_patients: int = DEFAULT_COHORT,
) -> PatientStory:
    """Tell one simulated patient's story, optionally also under other strategies.

    Parameters
    ----------
    scenario : Scenario
        The reference strategy (from :func:`sim.load_scenario`).
    patient_id : int, optional
        The patient, ``0 .. n_patients - 1`` (default 0, or the picked patient).
    pick : str, optional
        Choose a teaching example among ``n_patients`` simulated patients instead: one of
        :data:`sim.story.picks.PICKS` (rules documented in :mod:`sim.story.picks`).
    seed : int
        Root seed; the same seed gives the same patient under every strategy.
    compare : sequence of Scenario
        Other strategies on the same natural history (checked: otherwise the patients differ).
    n_patients : int
        Cohort size: where ``pick`` looks, and the allowed range of ``patient_id``.

    Raises
    ------
    sim.ScenarioError
        An unknown ``pick``, a ``patient_id`` outside the cohort, no patient matching ``pick``, or a
        ``compare`` scenario with another natural history (the message names the option or the file).
    """
    if pick is not None and pick not in PICKS:
        raise StoryError(
            f"--pick '{pick}' is not a known criterion; choose one of: {', '.join(PICKS)}", "pick"
        )
    if pick is not None and patient_id is not None:
        raise StoryError("give --id or --pick, not both", "id")
    if not isinstance(n_patients, int | np.integer) or n_patients < 1:
        raise StoryError(f"--patients must be a positive integer, got {n_patients!r}", "patients")
    if patient_id is not None and not (0 <= patient_id < n_patients):
        raise StoryError(
            f"--id {patient_id} is outside the cohort: allowed 0 to {n_patients - 1} "
            f"(--patients {n_patients})",
            "id",
        )
    scenarios = check_comparable([scenario, *compare]) if compare else [scenario]
    reason = None
    if pick is not None:
        cohort = simulate(scenario, n_patients=int(n_patients), seed=seed, keep_events=True)
        chosen = PICKS[pick](cohort.patients, cohort.events, cohort.courses)
        if chosen is None:
            raise StoryError(
                f"no patient among the {n_patients} simulated under '{scenario.strategy}' (seed {seed}) "
                f"matches --pick {pick}; try more --patients, another seed, or a strategy that allows it",
                "pick",
            )
        patient_id, reason = chosen
        results = [cohort] + [_simulate_upto(s, patient_id, seed) for s in scenarios[1:]]
    else:
        patient_id = 0 if patient_id is None else int(patient_id)
        results = [_simulate_upto(s, patient_id, seed) for s in scenarios]
    return _assemble(scenarios, results, int(patient_id), seed, pick, reason, int(n_patients))


def _simulate_upto(scenario: Scenario, patient_id: int, seed: int) -> SimulationResult:
    """Patients ``0 .. patient_id`` (patient ``i`` does not depend on the cohort size)."""
    return simulate(scenario, n_patients=patient_id + 1, seed=seed, keep_events=True)


def _one(result: SimulationResult, patient_id: int) -> SimulationResult:
    return dataclasses.replace(
        result,
        patients=result.patients[result.patients["patient_id"] == patient_id].reset_index(drop=True),
        paths=result.paths[result.paths["patient_id"] == patient_id].reset_index(drop=True),
        events=result.events[result.events["patient_id"] == patient_id].reset_index(drop=True),
        courses=result.courses[result.courses["patient_id"] == patient_id].reset_index(drop=True),
    )


def _assemble(scenarios, results, patient_id, seed, pick, reason, n_patients) -> PatientStory:
    ones = [_one(r, patient_id) for r in results]
    timelines, scales, summaries, partings = [], [], [], []
    for k, one in enumerate(ones):
        row = one.patients.iloc[0]
        t_end = _end_of_follow_up(one)
        timeline = narrate(one.scenario.strategy, patient_id, one.events, one.courses,
                           horizon_of(one.values), float(row["age_at_onset"]))  # fmt: skip
        parting = None if k == 0 else parting_point(ones[0].events, one.events, one.scenario.strategy)
        if k > 0:
            partings.append(parting)
        timeline["shared"] = _shared_flags(len(timeline), parting, k == 0)
        timelines.append(timeline)
        scales.append(_scale_steps(one, t_end))
        summaries.append(_summary(one, row, t_end))
    if len(ones) > 1:  # the reference shares its course with the others up to the earliest parting
        first = min((p.index for p in partings if p is not None), default=None)
        timelines[0]["shared"] = _shared_flags(len(timelines[0]), first, False)
    row = ones[0].patients.iloc[0]
    econ = scenarios[0].model.economics
    return PatientStory(
        patient_id=patient_id,
        seed=seed,
        strategies=tuple(s.strategy for s in scenarios),
        timeline=pd.concat(timelines, ignore_index=True),
        scales=pd.concat(scales, ignore_index=True),
        courses=pd.concat([o.courses for o in ones], ignore_index=True),
        summary=pd.DataFrame(summaries),
        partings=tuple(partings),
        pick=pick,
        reason=reason,
        traits={
            "sex": str(row["sex"]),
            "age_at_onset": float(row["age_at_onset"]),
            "titre_band": str(row["titre_band"]),
            "mprotein_g_dl": float(row["mprotein_g_dl"]),
            "fast_progressor": bool(row["fast_progressor"]),
            "tremor": bool(row["tremor"]),
            "neuropathic_pain": bool(row["neuropathic_pain"]),
        },
        currency=None if econ is None else econ.currency,
        metadata={
            "seed": seed,
            "n_patients": n_patients,
            "patient_id": patient_id,
            "pick": pick,
            "scenarios": [
                {
                    "name": s.name,
                    "strategy": s.strategy,
                    "file": s.path.rsplit("/", 1)[-1],
                    "sha256": s.sha256,
                }
                for s in scenarios
            ],
            "horizon_years": scenarios[0].model.settings.horizon_years,
        },
    )


def _shared_flags(n: int, parting, reference: bool) -> np.ndarray:
    """True for the rows before the parting point (all rows when nothing is compared or nothing parts)."""
    index = parting.index if isinstance(parting, Parting) else parting
    flags = np.ones(n, dtype=bool)
    if reference and index is None:
        return flags
    if index is not None:
        flags[index:] = False
    return flags


def _end_of_follow_up(one: SimulationResult) -> float:
    t_death = float(one.patients["t_death"].iloc[0])
    return t_death if t_death == t_death else horizon_of(one.values)


def _scale_steps(one: SimulationResult, t_end: float) -> pd.DataFrame:
    """The scales at every time one changes, from onset to the end of follow-up (and death, mRS 6)."""
    event_times = one.events["time"].to_numpy(dtype=float)
    top = t_end if math.isfinite(t_end) else float(event_times.max(initial=0.0)) + 1.0
    grid = np.linspace(0.0, top, max(2, int(math.ceil(top * GRID_PER_YEAR)) + 1))
    times = np.unique(np.concatenate([grid, event_times[event_times <= top], [top]]))
    frame = outcome_scales(one, times)
    values = frame.drop(columns=["strategy", "patient_id", "time", "burden", "alive", "followed"])
    changed = values.ne(values.shift()).any(axis=1).to_numpy().copy()
    changed[0] = changed[-1] = True  # keep the start and the end of the step function
    return frame[changed].reset_index(drop=True)


def _summary(one: SimulationResult, row: pd.Series, t_end: float) -> dict[str, Any]:
    mrs_events = one.events[one.events["event"].isin(["mrs2", "disabled", "mrs4", "mrs5", "mrs"])]
    disabled = 0.0
    level, since = 1, 0.0
    for t, value in zip(mrs_events["time"], mrs_events["value"], strict=True):
        if level >= 3:
            disabled += float(t) - since
        level, since = int(value), float(t)
    if level >= 3 and math.isfinite(t_end):
        disabled += t_end - since
    died = bool(row["t_death"] == row["t_death"])
    out: dict[str, Any] = {
        "strategy": one.scenario.strategy,
        "years_with_disease": t_end,
        "years_disabled": disabled,
        "died": died,
        "death_cause": str(row["death_cause"]) if died else None,
        "age_at_end": float(row["age_at_onset"]) + t_end,
        "n_courses": int(row["n_courses"]),
        "n_adverse_events": int(row["n_adverse_events"]),
    }
    for col in (LYS_UNDISC, QALYS_UNDISC, COST_UNDISC, LYS_DISC, QALYS_DISC, COST_DISC):
        if col in row.index:
            out[col] = float(row[col])
    return out
