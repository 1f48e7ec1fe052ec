"""Symptom shares and disability over time against published cohorts that are not calibration targets.

The natural history is calibrated to ``nobile2000`` (disability at 5/10/15 years) and ``kyle2003``
(transformation) only. Other cohorts describe the same disease at other moments: how many patients have
tremor when first examined (``ahlskog2012``), how many were ever disabled by their last follow-up
(``svahn2018``), how many have some disability at the end of a long follow-up (``jneurol2020_cohort``), and
statements without a sample (``medlink2024``: sensory ataxia in about half of the cases, neuropathic pain
in a minority as the disease advances). Each is read off the simulated cohort at the moment the cohort
describes, on the patients it would have seen (alive at that moment), and set beside the published share
with its exact binomial 95% interval. The phenotype shares are parameters set from the lifetime figures
(``p_tremor`` from ``ahlskog2012``, ``p_sensory_ataxia`` from ``medlink2024``); what these checks test is
their timing: a share seen in a cross-section is not the lifetime share.

A check is *within* when the simulated share lies inside the published exact 95% interval widened on each
side by 1.96 Monte Carlo standard errors (as for the treatment studies, ``analysis.treatment_validation``),
or, for a statement, inside the range the statement implies (given with each check, ⚠ a reading).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

import sim

#: svahn2018: mean time from symptom onset to last follow-up 8.4 y (range 0.3-33.3).
SVAHN_FOLLOW_UP_YEARS = 8.4
#: jneurol2020_cohort: patients followed in two hospitals over a period of 12 years.
FRENCH_FOLLOW_UP_YEARS = 12.0


@dataclass(frozen=True)
class CohortCheck:
    """One published share, the moment it describes and how the simulated cohort is read there."""

    name: str
    source: str
    what: str  # tremor | sensory_ataxia | neuropathic_pain | disabled_ever | mrs_at_least_2
    at: str  # diagnosis | years (``years`` from onset)
    years: float | None
    n: int  # published sample size (0: a statement without a sample)
    published: float | None
    low: float | None = None  # for statements: the range the statement implies
    high: float | None = None
    note: str = ""


CHECKS = (
    CohortCheck(
        "ahlskog2012 tremor at evaluation",
        "ahlskog2012",
        "tremor",
        "diagnosis",
        None,
        207,
        60 / 207,
        note="tremor at the structured neurological evaluation, IgM-MGUS neuropathy (60/207); model: "
        "at diagnosis ⚠ not anti-MAG-specific, 42% had another possible cause",
    ),
    CohortCheck(
        "medlink2024 sensory ataxia at diagnosis",
        "medlink2024",
        "sensory_ataxia",
        "diagnosis",
        None,
        0,
        None,
        low=0.3,
        high=0.7,
        note="'about half of the cases' (review, no cohort) read as 30-70% of patients seen ⚠",
    ),
    CohortCheck(
        "medlink2024 sensory ataxia at 8.4 y",
        "medlink2024",
        "sensory_ataxia",
        "years",
        SVAHN_FOLLOW_UP_YEARS,
        0,
        None,
        low=0.3,
        high=0.7,
        note="the same statement at the mean follow-up of svahn2018 ⚠",
    ),
    CohortCheck(
        "medlink2024 pain at diagnosis",
        "medlink2024",
        "neuropathic_pain",
        "diagnosis",
        None,
        0,
        None,
        low=0.0,
        high=0.15,
        note="'rarely a presenting feature' read as at most 15% at diagnosis ⚠",
    ),
    CohortCheck(
        "medlink2024 pain at 12 y",
        "medlink2024",
        "neuropathic_pain",
        "years",
        FRENCH_FOLLOW_UP_YEARS,
        0,
        None,
        low=0.05,
        high=0.5,
        note="'develops in a minority as the condition advances' read as 5-50% after 12 years ⚠",
    ),
    CohortCheck(
        "svahn2018 ever disabled at 8.4 y",
        "svahn2018",
        "disabled_ever",
        "years",
        SVAHN_FOLLOW_UP_YEARS,
        202,
        45 / 202,
        note="'significantly disabled at the most severe disease stage' in 22.4% (45/202), mean follow-up "
        "8.4 y from onset; model: disabled (mRS >= 3) by 8.4 y, alive then ⚠ one follow-up time for all; "
        "78% had immunotherapy",
    ),
    CohortCheck(
        "jneurol2020_cohort disability at 12 y",
        "jneurol2020_cohort",
        "mrs_at_least_2",
        "years",
        FRENCH_FOLLOW_UP_YEARS,
        47,
        22 / 47,
        note="'mild or high disability in nearly half the patients at last examination' (n=47, 12-year "
        "period) read as 22/47 with mRS >= 2 at 12 y ⚠ share and time derived",
    ),
)


def _present(patients: pd.DataFrame, what: str, t: np.ndarray) -> np.ndarray:
    """Whether each patient has ``what`` at time ``t`` (years from onset)."""
    column = {
        "tremor": "t_tremor",
        "sensory_ataxia": "t_ataxia",
        "neuropathic_pain": "t_pain",
        "disabled_ever": "t_disabled",
        "mrs_at_least_2": "t_mrs2",
    }[what]
    return patients[column].to_numpy() <= t


def cohort_checks(
    scenario: sim.Scenario | None = None,
    n_patients: int = 4000,
    seed: int = 1,
    checks: tuple[CohortCheck, ...] = CHECKS,
    result: sim.SimulationResult | None = None,
) -> pd.DataFrame:
    """Every check's simulated share beside the published one (one row per check).

    Columns: ``check, source, published, published_low, published_high, n_published, simulated, mc_low,
    mc_high, n_simulated, within, note``. ``result`` may pass in a run of the scenario already at hand.
    """
    if result is None:
        scenario = scenario or sim.load_scenario(sim.default_scenario_path())
        result = sim.simulate(scenario, n_patients=n_patients, seed=seed)
    patients = result.patients
    death = patients["t_death"].to_numpy()
    rows = []
    for check in checks:
        if check.at == "diagnosis":
            t = patients["t_diagnosis"].to_numpy()
            seen = np.isfinite(t) & ~(death <= t)
        else:
            t = np.full(len(patients), float(check.years))
            seen = ~(death <= t)
        hit = _present(patients, check.what, t)[seen]
        share, n = float(hit.mean()), int(hit.size)
        se = math.sqrt(max(share * (1 - share), 0.25 / n) / n)
        if check.published is not None:
            k = round(check.published * check.n)
            ci = stats.binomtest(k, check.n).proportion_ci(0.95, method="exact")
            low, high = ci.low, ci.high
        else:
            low, high = check.low, check.high
        rows.append(
            {
                "check": check.name,
                "source": check.source,
                "published": check.published if check.published is not None else math.nan,
                "published_low": low,
                "published_high": high,
                "n_published": check.n,
                "simulated": share,
                "mc_low": share - 1.96 * se,
                "mc_high": share + 1.96 * se,
                "n_simulated": n,
                "within": bool(low - 1.96 * se <= share <= high + 1.96 * se),
                "note": check.note,
            }
        )
    return pd.DataFrame(rows)
