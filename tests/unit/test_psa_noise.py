"""First-order noise in the PSA (analysis.psa_noise): the ANOVA split against known variance components, and
a PSA with all parameter uncertainty removed (EVPI 0 within its error, CEAC 0 or 1, whatever the cohort)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

import sim
from analysis.cea import ceac, evpi
from analysis.psa_noise import denoise, variance_split
from sim.run.psa import run_psa
from sim.scenario.loading import bundled_scenario_path

SEED = 5
KW = {"cost": "cost_disc", "effect": "qalys_disc"}


@cache
def fixed_pair() -> list[sim.Scenario]:
    """Supportive care vs rituximab at diagnosis over 10 years (ICER near GBP 55,000 per QALY, so noise can
    flip the decision) with every distribution removed."""
    out = []
    for name in ("supportive_care", "rituximab_at_diagnosis"):
        s = sim.load_scenario(bundled_scenario_path(f"{name}.toml")).with_updates(
            {"settings.horizon_years": 10.0}
        )
        out.append(
            s.with_updates(
                {p: {"value": q.value, "source": "t"} for p, q in s.uncertain_parameters().items()}
            )
        )
    return out


def _synthetic(n_draws: int, n_patients: int, sd_param: float, sd_patient: float, seed: int) -> pd.DataFrame:
    """Two strategies; B's incremental QALYs per draw = theta_d + noise of SD sd_patient / sqrt(n)."""
    rng = np.random.default_rng(seed)
    theta = 0.1 + sd_param * rng.standard_normal(n_draws)
    se = sd_patient / np.sqrt(n_patients)
    noise = se * rng.standard_normal(n_draws)
    base = {"draw": np.arange(1, n_draws + 1), "n_patients": n_patients, "cost_disc_se": 1.0}
    a = pd.DataFrame(base | {"strategy": "A", "cost_disc": 0.0, "qalys_disc": 5.0, "qalys_disc_se": 0.01})
    b = pd.DataFrame(base | {"strategy": "B", "cost_disc": 1000.0, "qalys_disc": 5.0 + theta + noise})
    b["qalys_disc_se"] = 0.01
    for frame, on in ((a, 0.0), (b, 1.0)):
        frame["inc_cost_disc_se"] = 0.0
        frame["inc_qalys_disc_se"] = on * se
        frame["inc_cost_qalys_disc_cov"] = 0.0
    return pd.concat([a, b], ignore_index=True)


def test_anova_recovers_known_variance_components():
    psa = _synthetic(4000, 100, sd_param=0.05, sd_patient=0.5, seed=1)
    split = variance_split(psa, 20000.0, shared_cohort=False)
    row = split[split["quantity"] == "inc_qalys_disc"].iloc[0]
    assert row["var_first_order"] == pytest.approx(0.5**2 / 100)
    assert row["var_second_order"] == pytest.approx(0.05**2, rel=0.1)
    assert row["noise_share"] == pytest.approx(0.0025 / (0.0025 + 0.0025), abs=0.05)
    inmb = split[split["quantity"] == "inmb"].iloc[0]
    assert inmb["comparator"] == "A" and inmb["wtp"] == 20000.0
    assert inmb["patient_var"] == pytest.approx((20000 * 0.5) ** 2)
    # Noise <= 10% of the spread: n >= 9 * 0.25 / 0.0025 = 900 patients per draw.
    assert inmb["advised_patients"] == pytest.approx(900, rel=0.15)


def test_denoise_removes_the_noise_and_keeps_the_parameter_spread():
    psa = _synthetic(3000, 100, sd_param=0.05, sd_patient=0.5, seed=2)
    clean = denoise(psa)
    b = clean[clean["strategy"] == "B"]["qalys_disc"] - 5.0
    assert b.var() == pytest.approx(0.05**2, rel=0.15)
    assert (clean[clean["strategy"] == "A"]["qalys_disc"] == 5.0).all()
    pure_noise = denoise(_synthetic(500, 100, sd_param=0.0, sd_patient=0.5, seed=3))
    # Noise SD 0.05; what is left is the sampling error of the ANOVA estimate of a zero variance.
    assert pure_noise[pure_noise["strategy"] == "B"]["qalys_disc"].std() < 0.5 * 0.05


@pytest.mark.parametrize("n_patients", [40, 160])
def test_without_parameter_uncertainty_evpi_is_zero_and_the_ceac_zero_or_one(n_patients):
    """The default design (shared cohort): every draw is the same simulation, so EVPI is exactly 0 and the
    CEAC 0 or 1; with a cohort per draw the correction gives the same, whatever the patients per draw."""
    grid = [20000.0, 50000.0, 100000.0]
    shared = run_psa(fixed_pair(), n_draws=8, n_patients=n_patients, seed=SEED)
    assert (evpi(shared, grid, **KW)["evpi"] == 0).all()
    assert set(ceac(shared, grid, **KW)["probability"]) <= {0.0, 1.0}
    split = variance_split(shared, grid, shared_cohort=True)
    assert (split["var_second_order"].fillna(0) <= 1e-18).all()

    per_draw = run_psa(fixed_pair(), n_draws=8, n_patients=n_patients, seed=SEED, shared_cohort=False)
    raw = evpi(per_draw, grid, **KW)
    clean = denoise(per_draw)
    corrected = evpi(clean, grid, **KW)
    assert (raw["evpi"] > 0).any()  # the noise the correction has to remove
    # EVPI 0 within its error. (Not "corrected <= raw": costs and QALYs are shrunk by different factors, so
    # the corrected net benefit is no shrinkage of the raw one and its EVPI can exceed a raw EVPI that noise
    # happened to make small, as it does at 40 patients per draw for this seed.)
    assert (corrected["evpi"] <= 3 * corrected["se"] + 1e-9).all()
    noise = variance_split(per_draw, grid, shared_cohort=False)
    inmb = noise[noise["quantity"] == "inmb"]
    # What there is between draws is noise: its share is 1 in expectation, but with 8 draws the spread
    # between them is a chi-square(7) / 7 multiple of its expectation (above 2.6 one time in 100, i.e. a
    # share below ~0.38); 0.25 fails only if the noise is not what the draws differ by.
    assert (inmb["noise_share"] > 0.25).all()


def test_a_table_without_within_draw_errors_is_refused():
    psa = _synthetic(10, 10, 0.1, 0.1, 0).drop(columns="inc_qalys_disc_se")
    with pytest.raises(ValueError, match="within-draw Monte Carlo errors"):
        variance_split(psa, 1.0, shared_cohort=False)
