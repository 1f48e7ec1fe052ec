"""antimag-sim analysis: outcome summaries, calibration, cost-effectiveness, figures.

Summaries, decision analysis and figures take tidy frames produced by :mod:`sim` and never run a
simulation; the entry points that do (calibration fitting, comparisons, sensitivity analyses in
:mod:`analysis.dsa`) say so.
"""
