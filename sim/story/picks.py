"""Teaching examples: rules that pick one patient out of a simulated cohort.

Each rule is a function of the cohort's tables (``result.patients``, ``result.events``, ``result.courses``)
that returns the chosen patient id and the reason, in words, or ``None`` when no patient qualifies. Ties go
to the lowest patient id, so a pick is reproducible for a given seed and cohort size.

========================  =================================================================================
criterion                 rule
========================  =================================================================================
``fast-progressor``       the patient who reaches disability (modified Rankin 3) soonest after the first
                          symptom
``rituximab-responder``   the patient whose first response to a rituximab course came soonest after the
                          first symptom (needs a strategy that gives rituximab)
``cidp-first``            among patients first labelled CIDP and later diagnosed with anti-MAG neuropathy,
                          the one whose label stood longest before it was corrected
``transformation``        the patient whose IgM gammopathy transforms to Waldenström macroglobulinaemia or
                          lymphoma soonest after the first symptom
``treatment-harm``        the first patient (lowest id) with a serious side effect of a treatment
========================  =================================================================================
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

Pick = tuple[int, str] | None


def _earliest(patients: pd.DataFrame, column: str) -> tuple[int, float] | None:
    times = patients[column].to_numpy(dtype=float)
    if not np.isfinite(times).any():
        return None
    i = int(np.nanargmin(times))  # first occurrence of the minimum: the lowest id among ties
    return int(patients["patient_id"].iloc[i]), float(times[i])


def fast_progressor(patients: pd.DataFrame, events: pd.DataFrame, courses: pd.DataFrame) -> Pick:
    found = _earliest(patients, "t_disabled")
    if found is None:
        return None
    pid, t = found
    return pid, (
        f"of all patients, this one became disabled (modified Rankin 3) soonest: {t:.1f} years after the "
        "first symptom"
    )


def rituximab_responder(patients: pd.DataFrame, events: pd.DataFrame, courses: pd.DataFrame) -> Pick:
    rtx = set(courses.loc[courses["type"] == "rituximab", "treatment"])
    responses = events[(events["event"] == "response") & events["detail"].isin(rtx)]
    if responses.empty:
        return None
    first = responses.sort_values(["time", "patient_id"], kind="stable").iloc[0]
    return int(first["patient_id"]), (
        f"of all patients, this one responded to {str(first['detail']).replace('_', ' ')} soonest: "
        f"{first['time']:.1f} years after the first symptom"
    )


def cidp_first(patients: pd.DataFrame, events: pd.DataFrame, courses: pd.DataFrame) -> Pick:
    labelled = patients[patients["t_cidp_label"].notna() & patients["t_diagnosis"].notna()]
    if labelled.empty:
        return None
    delay = (labelled["t_diagnosis"] - labelled["t_cidp_label"]).to_numpy()
    i = int(np.argmax(delay))
    return int(labelled["patient_id"].iloc[i]), (
        f"of the patients first labelled CIDP, this one kept the wrong label longest: {delay[i]:.1f} years "
        "before the anti-MAG diagnosis"
    )


def transformation(patients: pd.DataFrame, events: pd.DataFrame, courses: pd.DataFrame) -> Pick:
    found = _earliest(patients, "t_malignancy")
    if found is None:
        return None
    pid, t = found
    return pid, (
        "of all patients, this one's IgM gammopathy transformed to a blood cancer soonest: "
        f"{t:.1f} years after the first symptom"
    )


def treatment_harm(patients: pd.DataFrame, events: pd.DataFrame, courses: pd.DataFrame) -> Pick:
    severe = events[(events["event"] == "adverse_event") & (events["value"] >= 0.5)]
    if severe.empty:
        return None
    first = severe.sort_values(["patient_id", "time"], kind="stable").iloc[0]
    return int(first["patient_id"]), (
        "the first patient with a serious side effect of treatment "
        f"({str(first['detail']).replace('_', ' ')}, {first['time']:.1f} years after the first symptom)"
    )


#: Criterion name (as given to ``--pick``) → rule.
PICKS: dict[str, Callable[[pd.DataFrame, pd.DataFrame, pd.DataFrame], Pick]] = {
    "fast-progressor": fast_progressor,
    "rituximab-responder": rituximab_responder,
    "cidp-first": cidp_first,
    "transformation": transformation,
    "treatment-harm": treatment_harm,
}
