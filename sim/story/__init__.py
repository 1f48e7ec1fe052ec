"""One patient's story: the timeline in plain words, the scales over time, and other strategies compared.

A floor above :mod:`sim.run` (it simulates through :func:`sim.simulate` with the event log) and below
:mod:`analysis` (which draws its picture). Entry point: :func:`sim.patient_story`.
"""

from sim.story.parting import Parting, check_comparable, parting_point, population_differences
from sim.story.picks import PICKS
from sim.story.story import PatientStory, StoryError, patient_story

__all__ = [
    "PICKS",
    "Parting",
    "PatientStory",
    "StoryError",
    "check_comparable",
    "parting_point",
    "patient_story",
    "population_differences",
]
