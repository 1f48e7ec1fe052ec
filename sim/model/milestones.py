"""The disease milestones that the burden thresholds define, in their clinical order: one list for the
schema, the process, the strategy triggers and the trial criteria."""

THRESHOLD_ORDER = ("sensory_hands", "ataxia", "mrs2", "weakness", "disabled", "walking_aid", "mrs4", "mrs5")
