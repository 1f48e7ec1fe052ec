"""The patient: natural-history process, cohort traits, mortality, treatments, strategies, outcome scales
and per-patient outcomes. Imports nothing above itself (no scenario files, no runners)."""

from sim.model.compiled import install_source_finder, interpreted_requested

if interpreted_requested():  # before any compiled module is imported (sim.model.compiled)
    install_source_finder()
