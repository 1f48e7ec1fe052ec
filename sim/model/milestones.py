"""The disease milestones that the burden thresholds define, in their clinical order: one list for the
schema, the process, the strategy triggers and the trial criteria; and the milestone columns of the
patients table."""

from typing import Final

THRESHOLD_ORDER = ("sensory_hands", "ataxia", "mrs2", "weakness", "disabled", "walking_aid", "mrs4", "mrs5")

#: Pairs (earlier, later) whose order the model imposes: the later milestone implies the earlier and never
#: comes before it. The patient's own disability level (severe sensory ataxia or tremor, nobile2000) lies
#: between mRS 2 and the walking aid, so disability may come before distal weakness.
ORDER_PAIRS = (
    ("sensory_hands", "mrs2"),
    ("mrs2", "weakness"),
    ("weakness", "walking_aid"),
    ("mrs2", "disabled"),
    ("disabled", "walking_aid"),
    ("walking_aid", "mrs4"),
    ("mrs4", "mrs5"),
)
#: Phenotype milestones that not every patient has: (name, after, before) — where it happens it comes after
#: the first and, if that happens too, before the second.
PHENOTYPE_BETWEEN = (("ataxia", "sensory_hands", "weakness"),)
#: The milestone columns of a patient's row of times (the patients table), in order.
MILESTONES: Final = (
    "t_sensory_hands",
    "t_ataxia",
    "t_mrs2",
    "t_weakness",
    "t_disabled",
    "t_walking_aid",
    "t_mrs4",
    "t_mrs5",
    "t_tremor",
    "t_pain",
    "t_faster_phase",
    "t_presentation",
    "t_cidp_label",
    "t_diagnosis",
    "t_malignancy",
    "t_death",
)
COLUMN: Final = {name: i for i, name in enumerate(MILESTONES)}
#: The milestone column an event sets (its first time), by event name.
EVENT_COLUMN: Final = {name[2:]: i for name, i in COLUMN.items()} | {
    "tremor": COLUMN["t_tremor"],
    "neuropathic_pain": COLUMN["t_pain"],
    "malignancy": COLUMN["t_malignancy"],
}
