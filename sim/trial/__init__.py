"""Simulated randomised clinical trials: screening, randomisation, follow-up and analysis, replicated.

A trial file (TOML, ``scenarios/trials/*.toml``) names the arms, each a strategy scenario whose treatments
start on the ``entry`` trigger, the number of patients per arm, the entry criteria, the follow-up, the
endpoints and the measurement error of each scale. Every value carries its ``source``.

One replicate (``r``) of a trial:

1. **Screening.** A cohort of candidates is simulated from the natural history (the control arm's
   scenario) with ``draw = r + 1``, so that replicates are independent and each is reproducible. Each
   candidate gets an entry time drawn uniformly within the disease-duration window (years from onset),
   starting no earlier than the diagnosis when the trial requires one.
2. **Eligibility** is judged at entry on the *observed* scores (true score from :mod:`sim.model.scales` plus
   measurement error, rounded and clipped), as in a real trial, together with being alive, diagnosed, the
   titre band, no malignancy and the required milestones. The first eligible candidates in id order are
   enrolled. Because eligibility uses the same measurement as the baseline, the model reproduces
   regression to the mean.
3. **Randomisation**: a random permutation of the arm labels (fixed numbers per arm).
4. **Follow-up**: each arm's scenario is simulated for the same patient ids with ``entry_times`` set for
   its patients only. Patient streams are never keyed by arm (common random numbers), so each patient's
   course is identical in every arm until entry.
5. **Measurement** at entry and at each endpoint's visit, with measurement error; ``incat_total`` is the
   sum of the observed arm and leg scores.
6. **Analysis** of each non-control arm against the control: difference in mean change from entry with a
   Welch t-test and its confidence interval, or difference in responder shares with a Newcombe (hybrid
   Wilson score) interval and Fisher's exact test. Patients dead by the visit are excluded and counted.

Randomness: every draw of the trial design (entry times, randomisation, measurement errors) comes from
streams of the ``measurement`` purpose keyed by ``(seed; draw, purpose, TRIAL_STREAM, what, ...)``, and
the per-patient ones by fixed blocks of ids (:data:`sim.random.BLOCK_SIZE`), so a patient's draws do not
depend on how many candidates were screened nor on the number of workers.

Example
-------
>>> from sim.trial import simulate_trial
>>> result = simulate_trial("scenarios/trials/dalakas2009.toml", replicates=200, seed=1, workers=2)
>>> result.summary[["endpoint", "mean_estimate", "power"]]  # doctest: +SKIP
"""

from sim.trial.loading import Trial, load_trial, trial_from_dict
from sim.trial.replicates import TrialResult, simulate_trial

__all__ = ["Trial", "TrialResult", "load_trial", "simulate_trial", "trial_from_dict"]
