"""The patient: natural-history process, cohort traits, mortality, treatments, strategies, outcome scales
and per-patient outcomes. Imports nothing above itself (no scenario files, no runners)."""
