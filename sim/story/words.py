"""Plain words for what the model records: a sentence a patient (or a class) understands for every event.

The phrases say only what the model represents. A milestone is the moment the latent demyelination burden
reaches the scenario's threshold for it (docs/model.md, Milestones); the modified Rankin levels are worded
after the scale's published definitions (``vanswieten1988`` in docs/references.md), in daily-life terms.
"""

from __future__ import annotations

#: Modified Rankin level → what it means in daily life.
MRS_WORDS = {
    0: "no symptoms at all",
    1: "symptoms, but no real disability: all usual duties and activities can still be carried out",
    2: "slight disability: some former activities are no longer possible, but no help is needed with "
    "one's own affairs",
    3: "moderate disability: some help is needed in daily life, but walking is possible without another "
    "person's help",
    4: "moderately severe disability: cannot walk or see to bodily needs without another person's help",
    5: "severe disability: confined to bed, needs constant nursing care and attention",
    6: "dead",
}

#: Milestones of the disease (the burden reaching a threshold) → kind of event and the sentence.
MILESTONE_WORDS = {
    "onset": ("symptom", "First symptom: numbness and tingling in the feet."),
    "sensory_hands": ("symptom", "The numbness spreads to the fingers and hands."),
    "ataxia": (
        "symptom",
        "Balance becomes unsteady, worse in the dark or with the eyes closed (sensory ataxia); walking is "
        "affected but needs no help.",
    ),
    "weakness": (
        "symptom",
        "Weakness starts in the feet and lower legs (distal weakness), and the gait becomes unsteady.",
    ),
    "walking_aid": ("symptom", "Walking now needs a stick or similar support on one side."),
    "tremor": ("symptom", "The hands begin to shake when holding or reaching for things (tremor)."),
    "neuropathic_pain": ("symptom", "Burning, stabbing or shooting nerve pain begins (neuropathic pain)."),
    "faster_phase": (
        "symptom",
        "The disease enters a faster phase: from now on the symptoms worsen more quickly.",
    ),
}

#: Milestones that are a level of the modified Rankin scale.
MRS_MILESTONES = {"mrs2": 2, "disabled": 3, "mrs4": 4, "mrs5": 5}

#: Steps of the diagnostic journey with a fixed sentence (``ncs_emg``, ``csf``, ``serology`` and
#: ``diagnosis`` depend on what the test showed and are worded in :mod:`sim.story.timeline`).
DIAGNOSTIC_WORDS = {
    "presentation": "First visit to a doctor for these symptoms.",
    "neurology_exam": "Examined by a neurologist.",
    "cidp_label": (
        "First diagnosed as CIDP (chronic inflammatory demyelinating polyneuropathy), a related nerve "
        "disease: the anti-MAG antibody has not been looked for yet."
    ),
    "nerve_biopsy": "Nerve biopsy: loss of the nerves' insulating coat (myelin) with IgM antibody deposits.",
    "entry": "Enters the clinical trial.",
}

#: Result of a nerve conduction study (detail of ``ncs_emg``) → sentence.
NCS_WORDS = {
    "demyelinating": (
        "Nerve conduction tests (NCS/EMG) show demyelination: the insulating coat of the nerves is damaged."
    ),
    "unclear pattern": "Nerve conduction tests (NCS/EMG) give an unclear picture: more tests are needed.",
}

#: Result of a lumbar puncture (detail of ``csf``) → sentence.
CSF_WORDS = {
    "raised CSF protein": "Lumbar puncture: the protein in the spinal fluid (CSF) is raised.",
    "normal CSF protein": "Lumbar puncture: the protein in the spinal fluid (CSF) is normal.",
}

#: Treatment type → how its course is described: (verb phrase, what one dose is, unit of the dose).
TREATMENT_WORDS = {
    "rituximab": ("rituximab infusions", "infusion", "mg"),
    "ivig": ("immunoglobulin (IVIg) infusions", "infusion", "g"),
    "plasma_exchange": ("plasma exchange", "exchange", ""),
    "cyclophosphamide": ("cyclophosphamide", "pulse", "g"),
    "pain_drug": ("a pain medicine", "", ""),
    "physiotherapy": ("physiotherapy and occupational therapy", "session", ""),
    "assistive_device": ("a walking aid", "", ""),
}

#: Names of the bundled scenarios' treatments as a patient hears them (others: the name, "_" as spaces).
TREATMENT_NAMES = {
    "ivig": "IVIg",
    "rituximab_combination": "rituximab (with cyclophosphamide)",
    "cyclophosphamide_with_rituximab": "cyclophosphamide (with rituximab)",
    "physiotherapy": "physiotherapy",
}


#: How a treatment is introduced at its first course, where its short name needs explaining.
FIRST_MENTION = {
    "ivig": "IVIg (intravenous immunoglobulin)",
    "plasma_exchange": "plasma exchange (plasmapheresis)",
}


def treatment_name(name: str) -> str:
    """The treatment's name in plain words."""
    return TREATMENT_NAMES.get(name, name.replace("_", " "))


def capitalised(text: str) -> str:
    """First letter upper case (``IVIg`` stays as it is)."""
    return text[:1].upper() + text[1:]


#: Assistive devices (``device`` detail) → what the patient receives.
DEVICE_WORDS = {
    "cane": "a walking stick",
    "walker": "a walking frame",
    "wheelchair": "a wheelchair",
    "orthosis": "ankle-foot splints (orthoses)",
}

#: How a course ended (``course_end`` detail after the treatment name) → words.
COURSE_END_WORDS = {
    "completed": "finished as planned",
    "stopped: no response": "stopped: it did not help",
    "stopped: adverse event": "stopped because of side effects",
}

#: Cause of death (``death`` detail) → words; a treatment death names its harm and treatment.
DEATH_WORDS = {
    "background": "of an unrelated cause (the ordinary mortality of people of the same age and sex)",
    "malignancy": "of the blood cancer (Waldenström macroglobulinaemia or lymphoma)",
    "bladder cancer after cyclophosphamide": "of bladder cancer, a late harm of cyclophosphamide",
}

#: Every event kind of the model's event log, for the tests: each has words here or in timeline.
EVENT_KINDS = (
    *MILESTONE_WORDS,
    *MRS_MILESTONES,
    "mrs",
    "reversal",
    *DIAGNOSTIC_WORDS,
    "ncs_emg",
    "csf",
    "serology",
    "diagnosis",
    "course_start",
    "course_end",
    "response_onset",
    "response",
    "non_response",
    "relapse",
    "igm_flare",
    "adverse_event",
    "function_improved",
    "pain_relief",
    "device",
    "bladder_cancer",
    "malignancy",
    "death",
)


def mrs_sentence(level: int) -> str:
    """``Disability: modified Rankin 3, moderate disability: ...``."""
    return f"Disability level {level} on the modified Rankin scale — {MRS_WORDS[level]}."
