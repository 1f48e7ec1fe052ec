"""antimag-sim analysis: outcome summaries, calibration, cost-effectiveness, figures.

Functions here take tidy frames produced by :mod:`sim` and never run a simulation themselves, except the
command-line entry points that say so.
"""
