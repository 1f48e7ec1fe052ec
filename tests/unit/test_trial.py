"""The trial machinery on cases with a known answer: identical arms, a huge effect, measurement error,
reproducibility, common random numbers until entry, the statistics, and errors in trial files."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sim
from sim.scenario.loading import bundled_scenario_path, default_scenario_path
from sim.trial import load_trial, simulate_trial, trial_from_dict
from sim.trial.design import eligible_entry
from sim.trial.measurement import scales_at
from sim.trial.replicates import REPLICATE_COLUMNS
from sim.trial.statistics import proportion_difference, welch_difference

PLACEBO = bundled_scenario_path("trials/arms/placebo.toml")
RITUXIMAB = bundled_scenario_path("trials/arms/rituximab_at_entry.toml")


def trial_data(per_arm: int = 12, treated: str | Path = PLACEBO, iss_error: float = 0.72) -> dict:
    """A small trial: ``treated`` vs placebo, ISS change and ISS responder at 12 months."""
    return {
        "name": "test_trial",
        "source": "assumption: unit test",
        "control": "placebo",
        "primary": "iss_change",
        "follow_up_months": {"value": 12, "source": "test"},
        "arms": {
            "treated": {"scenario": str(treated), "patients": per_arm, "source": "test"},
            "placebo": {"scenario": str(PLACEBO), "patients": per_arm, "source": "test"},
        },
        "entry": {
            "duration_years": {"min": 1.0, "max": 8.0, "source": "test"},
            "diagnosed": {"value": True, "source": "test"},
        },
        "endpoints": {
            "iss_change": {"kind": "change", "scale": "incat_sensory", "source": "test"},
            "iss_improved": {
                "kind": "responder",
                "scale": "incat_sensory",
                "improvement": 2,
                "source": "test",
            },
        },
        "measurement_error": {"incat_sensory": {"sd": iss_error, "source": "test"}},
        "screening": {"factor": 1.5, "source": "test: about 85% are eligible; a short screening is extended"},
    }


@pytest.fixture(scope="module")
def miracle_arm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Rituximab at entry that works in everyone, at once, and reverses most of the damage since onset."""
    path = tmp_path_factory.mktemp("arms") / "miracle.toml"
    path.write_text(
        f"""
extends = "{default_scenario_path().as_posix()}"
name = "miracle"
[settings]
strategy = "miracle"
[treatments.rituximab]
p_response_low_titre = {{ value = 1.0, source = "test" }}
p_flare = {{ value = 0.0, source = "test" }}
p_severe_infection = {{ value = 0.0, source = "test" }}
[treatments.rituximab.efficacy]
p_response = {{ value = 1.0, source = "test" }}
months_to_response = {{ value = 0.5, source = "test" }}
rate_multiplier = {{ value = 0.0, source = "test" }}
rate_multiplier_spread = {{ value = 0.0, source = "test" }}
reversal_fraction = {{ value = 1.0, source = "test" }}
response_time_sigma = {{ value = 0.0, source = "test" }}
response_duration_years = {{ value = 50.0, source = "test" }}
[strategy.rules.miracle]
on = "entry"
give = "rituximab"
requires_diagnosis = false
"""
    )
    return path


# ------------------------------------------------------------------------------------------ known answers


def test_identical_arms_give_no_effect_and_nominal_type_one_error(tmp_path: Path) -> None:
    """Two placebo arms: estimates centre on 0 and p < 0.05 in about 5% of trials (Welch), at most about
    5% (Fisher's exact test is conservative), within Monte Carlo error."""
    replicates = 300
    trial = trial_from_dict(trial_data(per_arm=12), tmp_path)
    result = simulate_trial(trial, replicates=replicates, seed=11)
    s = result.summary.set_index("endpoint")
    mcse = math.sqrt(0.05 * 0.95 / replicates)
    change = s.loc["iss_change"]
    assert abs(change["share_significant"] - 0.05) < 3.5 * mcse
    assert abs(change["mean_estimate"]) < 3.5 * change["sd_estimate"] / math.sqrt(replicates)
    responder = s.loc["iss_improved"]
    assert responder["share_significant"] <= 0.05 + 3.5 * mcse
    assert abs(responder["mean_estimate"]) < 3.5 * responder["sd_estimate"] / math.sqrt(replicates)
    # power counts one direction only: about half the type-I error
    assert change["power"] <= change["share_significant"]


def test_huge_deterministic_effect_has_power_one(tmp_path: Path, miracle_arm: Path) -> None:
    data = trial_data(per_arm=12, treated=miracle_arm)
    data["entry"]["incat_sensory"] = {"min": 8, "source": "test: enough damage to reverse"}
    data["screening"]["factor"] = 4.0
    result = simulate_trial(trial_from_dict(data, tmp_path), replicates=12, seed=3)
    s = result.summary.set_index("endpoint")
    assert s.loc["iss_change", "power"] == 1.0
    assert s.loc["iss_change", "mean_estimate"] < -3.0  # ISS points, treated minus placebo
    assert s.loc["iss_improved", "power"] >= 0.9
    assert (result.replicates["ci_high"] < 0).sum() >= 12  # the change CIs exclude 0


def test_measurement_error_widens_the_spread_of_estimates(tmp_path: Path) -> None:
    """Same seed, same patients (no scale criterion at entry): only the measurement error differs."""
    exact = simulate_trial(trial_from_dict(trial_data(iss_error=0.0), tmp_path), replicates=30, seed=5)
    noisy = simulate_trial(trial_from_dict(trial_data(iss_error=2.5), tmp_path), replicates=30, seed=5)
    sd_exact = exact.summary.set_index("endpoint").loc["iss_change", "sd_estimate"]
    sd_noisy = noisy.summary.set_index("endpoint").loc["iss_change", "sd_estimate"]
    assert sd_noisy > 1.2 * sd_exact
    pd.testing.assert_frame_equal(
        exact.baseline[["arm", "n", "duration_years"]], noisy.baseline[["arm", "n", "duration_years"]]
    )


def test_no_measurement_error_gives_integer_scores(tmp_path: Path) -> None:
    result = simulate_trial(trial_from_dict(trial_data(iss_error=0.0), tmp_path), replicates=3, seed=2)
    assert list(result.replicates.columns) == list(REPLICATE_COLUMNS)
    entry = result.baseline["incat_sensory_entry"] * result.baseline["n"]
    assert np.allclose(entry, np.rint(entry))


# ------------------------------------------------------------------------------------------ reproducibility


def test_same_seed_same_tables_other_seed_other_tables(tmp_path: Path) -> None:
    trial = trial_from_dict(trial_data(per_arm=8), tmp_path)
    a = simulate_trial(trial, replicates=3, seed=21)
    b = simulate_trial(trial, replicates=3, seed=21)
    c = simulate_trial(trial, replicates=3, seed=22)
    pd.testing.assert_frame_equal(a.replicates, b.replicates)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    assert not a.replicates["estimate"].equals(c.replicates["estimate"])


def test_workers_do_not_change_results(tmp_path: Path, miracle_arm: Path) -> None:
    trial = trial_from_dict(trial_data(per_arm=6, treated=miracle_arm), tmp_path)
    one = simulate_trial(trial, replicates=4, seed=8, workers=1)
    two = simulate_trial(trial, replicates=4, seed=8, workers=2)
    pd.testing.assert_frame_equal(one.replicates, two.replicates)
    pd.testing.assert_frame_equal(one.summary, two.summary)
    pd.testing.assert_frame_equal(one.baseline, two.baseline)


def test_screening_size_does_not_change_results(tmp_path: Path) -> None:
    """Candidates are the same people with the same entry draws however many are screened."""
    small, large = trial_data(per_arm=8), trial_data(per_arm=8)
    small["screening"] = {"factor": 1.0, "source": "test"}  # forces the screening to be extended
    large["screening"] = {"factor": 9.0, "source": "test"}
    a = simulate_trial(trial_from_dict(small, tmp_path), replicates=3, seed=4)
    b = simulate_trial(trial_from_dict(large, tmp_path), replicates=3, seed=4)
    pd.testing.assert_frame_equal(a.replicates, b.replicates)


def test_replicates_are_independent_draws(tmp_path: Path) -> None:
    result = simulate_trial(trial_from_dict(trial_data(per_arm=8), tmp_path), replicates=4, seed=9)
    durations = result.baseline.groupby("replicate")["duration_years"].mean()
    assert durations.nunique() == 4


# ------------------------------------------------------------------------------------------ until entry


def test_courses_agree_until_entry_and_scales_match_outcome_scales(tmp_path: Path) -> None:
    """Common random numbers: in the treatment arm, enrolled patients are at entry exactly as in the
    screening run, and the pairwise scales agree with sim.outcome_scales."""
    trial = trial_from_dict(trial_data(treated=RITUXIMAB), tmp_path)
    nh = sim.simulate(trial.screening, n_patients=120, seed=6, draw=1)
    entry, eligible = eligible_entry(trial, nh, 6, 1)
    ids = np.flatnonzero(eligible)[:30]
    times = np.full(ids.max() + 1, np.nan)
    times[ids] = entry[ids]
    arm = sim.simulate(
        trial.arms["treated"],
        n_patients=int(ids.max()) + 1,
        seed=6,
        draw=1,
        entry_times=times,
        keep_events=True,
    )
    cols = ["alive", "incat_arm", "incat_leg", "incat_total", "incat_sensory", "mrc_sum", "mrs"]
    pd.testing.assert_frame_equal(scales_at(arm, ids, entry[ids])[cols], scales_at(nh, ids, entry[ids])[cols])
    started = arm.courses.query("treatment == 'rituximab'").groupby("patient_id")["start"].min()
    assert set(started.index) <= set(ids)
    assert np.allclose(started.to_numpy(), entry[started.index.to_numpy()])
    # every enrolled patient alive at entry got rituximab at entry
    assert len(started) == len(ids)
    at3 = sim.outcome_scales(nh, [3.0])
    pair = scales_at(nh, nh.patients["patient_id"], np.full(len(nh.patients), 3.0))
    pd.testing.assert_frame_equal(at3[cols].reset_index(drop=True), pair[cols].reset_index(drop=True))


def test_entry_is_after_diagnosis_within_the_window(tmp_path: Path) -> None:
    trial = trial_from_dict(trial_data(), tmp_path)
    nh = sim.simulate(trial.screening, n_patients=300, seed=1, draw=2)
    entry, eligible = eligible_entry(trial, nh, 1, 2)
    t_diag = nh.patients["t_diagnosis"].to_numpy()
    assert np.all(entry[eligible] >= t_diag[eligible])
    assert np.all((entry[eligible] >= 1.0) & (entry[eligible] <= 8.0))
    assert not np.any(eligible & np.isnan(t_diag))
    assert not np.any(eligible & (nh.patients["t_death"].to_numpy() <= entry))


# ------------------------------------------------------------------------------------------ statistics


def test_fisher_and_newcombe_on_published_and_textbook_figures() -> None:
    # dalakas2009: 4/13 vs 0/13 improved, published p = 0.096 (intention to treat)
    est, low, high, p = proportion_difference(4, 13, 0, 13)
    assert est == pytest.approx(4 / 13)
    assert p == pytest.approx(0.0957, abs=5e-4)
    # the score interval excludes 0 where the exact test does not reject: a known discordance
    assert (low, high) == pytest.approx((0.0166, 0.5760), abs=5e-4)
    # Newcombe (1998), Stat Med 17:873, method 10: 56/70 - 48/80 = 0.2, 95% CI 0.0524 to 0.3339
    est, low, high, _ = proportion_difference(56, 70, 48, 80)
    assert (est, low, high) == pytest.approx((0.2, 0.0524, 0.3339), abs=5e-4)
    assert all(math.isnan(x) for x in proportion_difference(0, 0, 1, 3))


def test_welch_matches_the_formula() -> None:
    a = np.array([1.0, 2.0, 4.0, 7.0, 3.0])
    b = np.array([0.0, 1.0, 1.0, 2.0, 0.0, 3.0, -1.0])
    est, low, high, p = welch_difference(a, b)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    q = stats.t.ppf(0.975, df)
    diff = a.mean() - b.mean()
    assert (est, low, high) == pytest.approx((diff, diff - q * se, diff + q * se))
    assert p == pytest.approx(2 * stats.t.sf(abs(diff / se), df))
    assert welch_difference(np.ones(4), np.ones(5)) == (0.0, 0.0, 0.0, 1.0)
    assert welch_difference(np.ones(4), np.zeros(5))[3] == 0.0
    assert math.isnan(welch_difference(np.ones(1), np.zeros(5))[0])


# ------------------------------------------------------------------------------------------ bad input


def _error(data: dict, tmp_path: Path) -> sim.ScenarioError:
    with pytest.raises(sim.ScenarioError) as info:
        trial_from_dict(data, tmp_path, name="bad_trial.toml")
    return info.value


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        (lambda d: d["endpoints"]["iss_change"].update(scal="x"), "endpoints.iss_change.scal", "unknown key"),
        (
            lambda d: d["endpoints"]["iss_change"].update(scale="ISS"),
            "endpoints.iss_change.scale",
            "incat_sensory",
        ),
        (
            lambda d: d["endpoints"]["iss_improved"].pop("improvement"),
            "endpoints.iss_improved",
            "improvement",
        ),
        (lambda d: d.update(control="none"), "control", "not an arm"),
        (lambda d: d.update(primary="mrc"), "primary", "not an endpoint"),
        (lambda d: d["arms"]["treated"].update(patients=0), "arms.treated.patients", "greater than or equal"),
        (
            lambda d: d["arms"]["treated"].update(scenario="nowhere.toml"),
            "arms.treated.scenario",
            "does not exist",
        ),
        (
            lambda d: d["entry"].update(incat_leg={"min": 7, "source": "t"}),
            "entry.incat_leg.min",
            "range 0-5",
        ),
        (lambda d: d["entry"]["duration_years"].update(min=9.0), "entry.duration_years", "min < max"),
        (lambda d: d["endpoints"]["iss_change"].update(months=30), "endpoints.iss_change.months", "after"),
        (lambda d: d["entry"].pop("duration_years"), "entry.duration_years", "required"),
        (
            lambda d: d["measurement_error"]["incat_sensory"].update(sd=-1),
            "measurement_error.incat_sensory.sd",
            "",
        ),
        (lambda d: d["follow_up_months"].pop("source"), "follow_up_months.source", "required"),
    ],
)
def test_bad_trial_names_file_and_field(change, field: str, fragment: str, tmp_path: Path) -> None:
    data = copy.deepcopy(trial_data())
    change(data)
    err = _error(data, tmp_path)
    assert err.file == "bad_trial.toml"
    assert err.field == field
    assert fragment in str(err)


def test_unknown_key_lists_the_allowed_keys(tmp_path: Path) -> None:
    data = trial_data()
    data["entry"]["incat_sensroy"] = {"min": 4, "source": "t"}
    err = _error(data, tmp_path)
    assert err.field == "entry.incat_sensroy"
    assert "incat_sensory" in str(err) and "duration_years" in str(err)


def test_bad_arm_scenario_names_the_arm_file(tmp_path: Path) -> None:
    arm = tmp_path / "broken_arm.toml"
    arm.write_text(f'extends = "{default_scenario_path().as_posix()}"\n[progression]\np_fast = 0.3\n')
    err = _error(trial_data(treated=arm), tmp_path)
    assert err.file == str(arm)
    assert err.field == "progression.p_fast"
    assert "arm 'treated'" in str(err)


def test_arm_with_another_natural_history_is_refused(tmp_path: Path) -> None:
    arm = tmp_path / "other_history.toml"
    arm.write_text(
        f'extends = "{PLACEBO.as_posix()}"\n'
        '[progression]\np_fast_progressor = { value = 0.5, source = "test" }\n'
    )
    err = _error(trial_data(treated=arm), tmp_path)
    assert err.file == str(arm)
    assert err.field == "progression"


def test_arm_rule_acting_before_entry_is_refused(tmp_path: Path) -> None:
    arm = tmp_path / "early.toml"
    arm.write_text(
        f'extends = "{PLACEBO.as_posix()}"\n[strategy.rules.early]\non = "diagnosis"\ngive = "rituximab"\n'
    )
    err = _error(trial_data(treated=arm), tmp_path)
    assert err.field == "strategy.rules.early.on"


def test_trial_file_errors(tmp_path: Path) -> None:
    with pytest.raises(sim.ScenarioError, match="file not found"):
        load_trial(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(sim.ScenarioError, match="not valid TOML") as info:
        load_trial(bad)
    assert info.value.file == str(bad)


def test_too_strict_entry_criteria_are_reported(tmp_path: Path) -> None:
    data = trial_data(per_arm=4)
    data["entry"]["mrs"] = {"min": 5, "source": "test"}
    data["entry"]["duration_years"] = {"min": 0.0, "max": 0.3, "source": "test"}
    trial = trial_from_dict(data, tmp_path)
    with pytest.raises(sim.ScenarioError, match="too strict") as info:
        simulate_trial(trial, replicates=1, seed=1)
    assert info.value.field == "entry"


def test_arguments_are_checked(tmp_path: Path) -> None:
    trial = trial_from_dict(trial_data(), tmp_path)
    for kwargs in ({"replicates": 0}, {"workers": 0}, {"seed": -1}):
        with pytest.raises(ValueError):
            simulate_trial(trial, **kwargs)
