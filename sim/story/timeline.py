"""One patient's event log, turned into a tidy timeline of plain-words lines.

Input: the rows of ``result.events`` and ``result.courses`` of one (strategy, patient), in the order the
model logged them. Output: one row per event with ``strategy, patient_id, time, age, kind, event, detail,
text`` (``time`` in years since the first symptom; ``detail`` as logged, e.g. the treatment), and a closing
``follow_up`` row when the patient is alive at the end of follow-up. Nothing is re-simulated: every
sentence reads a recorded event.
"""

from __future__ import annotations

import math
import re

import pandas as pd

from sim.story.words import (
    COURSE_END_WORDS,
    CSF_WORDS,
    DEATH_WORDS,
    DEVICE_WORDS,
    DIAGNOSTIC_WORDS,
    FIRST_MENTION,
    MILESTONE_WORDS,
    MRS_MILESTONES,
    NCS_WORDS,
    TREATMENT_WORDS,
    capitalised,
    mrs_sentence,
    treatment_name,
)

TIMELINE_COLUMNS = ("strategy", "patient_id", "time", "age", "kind", "event", "detail", "text")

#: Kinds of timeline rows, for filtering and for the figure.
KINDS = ("symptom", "disability", "diagnosis", "treatment", "response", "adverse_event", "cancer", "death",
         "follow_up")  # fmt: skip


def _pretty(name: str) -> str:
    return treatment_name(name)


def _amount(x: float, unit: str) -> str:
    if unit == "mg":
        return f"{x:,.0f} mg"
    if unit == "g":
        return f"{x:,.1f} g".replace(".0 g", " g")
    return f"{x:g}"


def _duration(years: float) -> str:
    weeks = years * 52.0
    if weeks < 26:
        return f"{round(weeks):.0f} weeks" if round(weeks) != 1 else "1 week"
    return f"{years:.1f} years"


class _Narrator:
    """Walks one patient's events in order and keeps what later sentences refer back to."""

    def __init__(self, courses: pd.DataFrame) -> None:
        self.courses = {(r.treatment, int(r.course)): r for r in courses.itertuples(index=False)}
        self.ae_seen: dict[tuple[str, int], int] = {}
        self.active: dict[str, int] = {}  # treatment -> course number of its latest course
        self.seen: set[str] = set()
        self.t_cidp = math.nan
        self.onset: set[str] = set()  # treatments whose response has begun but is not yet complete

    def course_of(self, treatment: str):
        number = self.active.get(treatment)
        return None if number is None else self.courses.get((treatment, number))

    def say(self, t: float, event: str, detail: str, value: float) -> tuple[str, str]:
        """The kind and the sentence of one event."""
        again = event in self.seen
        self.seen.add(event)
        if event in MILESTONE_WORDS:
            kind, text = MILESTONE_WORDS[event]
            if again and event != "faster_phase":
                text = text.rstrip(".") + " — again, after an improvement."
            return kind, text
        if event in MRS_MILESTONES:
            return "disability", mrs_sentence(MRS_MILESTONES[event])
        if event == "mrs":
            return "disability", "Disability improves after treatment. " + mrs_sentence(int(value))
        if event == "reversal":
            return "response", "Part of the nerve damage recovers (damage that had not yet become permanent)."
        if event in DIAGNOSTIC_WORDS:
            if event == "cidp_label":
                self.t_cidp = t
            return "diagnosis", DIAGNOSTIC_WORDS[event]
        if event == "ncs_emg":
            return "diagnosis", NCS_WORDS.get(detail, f"Nerve conduction tests (NCS/EMG): {detail}.")
        if event == "csf":
            return "diagnosis", CSF_WORDS.get(detail, f"Lumbar puncture: {detail}.")
        if event == "serology":
            return "diagnosis", _serology(detail)
        if event == "diagnosis":
            text = f"Diagnosis: anti-MAG neuropathy, {t:.1f} years after the first symptom."
            if not math.isnan(self.t_cidp):
                text += f" The CIDP label is corrected, {t - self.t_cidp:.1f} years after it was given."
            return "diagnosis", text
        if event == "course_start":
            return "treatment", self._course_start(detail, int(value))
        if event == "course_end":
            return "treatment", self._course_end(detail)
        if event == "response_onset":
            self.onset.add(detail)
            return "response", f"{capitalised(_pretty(detail))} begins to work: the disease slows down."
        if event == "response":
            if detail in self.onset:
                self.onset.discard(detail)
                return "response", f"{capitalised(_pretty(detail))} now works fully (a response)."
            return "response", _response(detail, self.course_of(detail))
        if event == "non_response":
            if self._type(detail) == "pain_drug":
                return "response", f"{capitalised(_pretty(detail))} does not relieve the pain."
            return "response", f"No response to {_pretty(detail)}: the disease goes on as before."
        if event == "relapse":
            return "response", (
                f"The benefit of {_pretty(detail)} wears off (relapse): the disease progresses again at its "
                "untreated pace."
            )
        if event == "igm_flare":
            return "response", (
                f"IgM flare: the IgM antibody level rises after {_pretty(detail)}, and for up to a few "
                "months the neuropathy worsens faster."
            )
        if event == "adverse_event":
            return "adverse_event", self._adverse_event(detail, value >= 0.5)
        if event == "function_improved":
            months = f" for about {value:g} months" if value == value else ""
            return "treatment", f"After the therapy, balance and daily function are better{months}."
        if event == "pain_relief":
            return "response", f"{capitalised(_pretty(detail))} relieves the pain by at least half."
        if event == "device":
            return "treatment", f"Starts using {DEVICE_WORDS.get(detail, _pretty(detail))}."
        if event == "bladder_cancer":
            return "cancer", f"Bladder cancer, a late harm of {_pretty(detail)}."
        if event == "malignancy":
            return "cancer", (
                "The IgM gammopathy transforms into a blood cancer (Waldenström macroglobulinaemia or "
                "lymphoma)."
            )
        if event == "death":
            return "death", f"Dies {_death(detail)}."
        return "other", f"{capitalised(event.replace('_', ' '))}{': ' + detail if detail else ''}."

    def _type(self, treatment: str) -> str:
        course = self.course_of(treatment)
        return course.type if course is not None else ""

    def _course_start(self, treatment: str, number: int) -> str:
        self.active[treatment] = number
        course = self.courses.get((treatment, number))
        kind = course.type if course is not None else ""
        name = _pretty(treatment)
        if kind == "assistive_device":
            return f"Prescribed: {DEVICE_WORDS.get(treatment, name)}."
        if kind == "pain_drug":
            prefix = "Starts" if number == 1 else f"Starts again (course {number})"
            return f"{prefix} {name} for the nerve pain."
        what, dose, unit = TREATMENT_WORDS.get(kind, (name, "", ""))
        if kind == "physiotherapy":
            lead = f"Starts {what}" if number == 1 else f"Another course of {what} (course {number})"
        else:
            first = FIRST_MENTION.get(treatment, name)
            lead = f"Starts {first}" if number == 1 else f"Retreated with {name} (course {number})"
        if course is None or not course.n_doses or not dose:
            return lead + "."
        n = int(course.n_doses)
        plural = "es" if dose.endswith("h") else "s"
        doses = f"{n} {dose}{plural if n != 1 else ''}"
        if unit and kind in ("rituximab", "cyclophosphamide") and n > 1:  # equal doses
            doses += f" of {_amount(course.total_dose / n, unit)}"
        if unit:
            doses += f", {_amount(course.total_dose, unit)} in all"
        # A rituximab course ends after its IgM flare, not at its last infusion: no duration from it.
        if kind != "rituximab" and course.end == course.end and course.end > course.start:
            doses += f", over {_duration(course.end - course.start)}"
        if kind == "physiotherapy":
            return f"{lead}: a course of {doses}."
        return f"{lead}: {doses}."

    def _course_end(self, detail: str) -> str:
        treatment, _, outcome = detail.partition(": ")
        number = self.active.get(treatment)
        course = f" (course {number})" if number and number > 1 else ""
        words = COURSE_END_WORDS.get(outcome, outcome)
        return f"The {_pretty(treatment)} course{course} is {words}."

    def _adverse_event(self, treatment: str, severe: bool) -> str:
        number = self.active.get(treatment, 0)
        key = (treatment, number)
        k = self.ae_seen.get(key, 0)
        self.ae_seen[key] = k + 1
        course = self.courses.get(key)
        names = str(getattr(course, "adverse_events", "") or "").split("; ") if course is not None else []
        what = names[k] if k < len(names) and names[k] else "a side effect"
        grade = "Serious side effect" if severe else "Side effect"
        return f"{grade} of {_pretty(treatment)}: {what}."


def _serology(detail: str) -> str:
    match = re.search(r"anti-MAG (\S+) BTU", detail)
    if not match:
        return f"Blood tests: {detail}."
    band = match.group(1)
    if band.startswith(">="):
        titre = f"{int(band[2:]):,} BTU or more"
    else:
        lo, hi = band.split("-")
        titre = f"between {int(lo):,} and {int(hi):,} BTU"
    return (
        "Blood tests find an IgM paraprotein (an antibody made by one clone of B cells) and antibodies "
        f"against myelin-associated glycoprotein (anti-MAG), titre {titre}."
    )


def _response(treatment: str, course) -> str:
    name = _pretty(treatment)
    if course is not None and course.type == "pain_drug":
        return f"{capitalised(name)} relieves the pain."
    return f"{capitalised(name)} works (a response): the disease slows down."


def _death(detail: str) -> str:
    if detail in DEATH_WORDS:
        return DEATH_WORDS[detail]
    match = re.fullmatch(r"(.+) \((.+)\)", detail)
    if match:
        return f"of a complication of treatment: {match.group(1)} after {_pretty(match.group(2))}"
    return f"of {detail}"


def narrate(
    strategy: str,
    patient_id: int,
    events: pd.DataFrame,
    courses: pd.DataFrame,
    t_end: float,
    age_at_onset: float,
) -> pd.DataFrame:
    """The timeline of one patient under one strategy (columns :data:`TIMELINE_COLUMNS`).

    Parameters
    ----------
    strategy, patient_id : str, int
        Whose story it is.
    events, courses : DataFrame
        That patient's rows of ``result.events`` and ``result.courses``, in the logged order.
    t_end : float
        End of follow-up in years since the first symptom (the horizon, or ``inf`` for a lifetime); a
        patient alive then gets a closing ``follow_up`` row.
    age_at_onset : float
        Age at the first symptom, years.
    """
    narrator = _Narrator(courses)
    rows = []
    died = False
    for r in events.itertuples(index=False):
        kind, text = narrator.say(float(r.time), r.event, str(r.detail), float(r.value))
        died = died or r.event == "death"
        rows.append((strategy, patient_id, float(r.time), float(r.age), kind, r.event, str(r.detail), text))
    if not died and math.isfinite(t_end):
        rows.append(
            (
                strategy,
                patient_id,
                float(t_end),
                age_at_onset + t_end,
                "follow_up",
                "end_of_follow_up",
                "",
                f"End of follow-up after {t_end:g} years: alive at age {age_at_onset + t_end:.0f}.",
            )
        )
    return pd.DataFrame(rows, columns=list(TIMELINE_COLUMNS))
