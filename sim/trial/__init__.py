"""Simulated randomised trials: trial files, design, measurement, statistics and replicates."""

from sim.trial.core import TrialResult, load_trial, simulate_trial

__all__ = ["TrialResult", "load_trial", "simulate_trial"]
