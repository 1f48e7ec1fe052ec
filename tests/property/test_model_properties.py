"""Invariants of the model over generated valid scenarios (invariants A1–A3, B12, B13, B17, D24, D25).

Each property simulates a small cohort (100–250 patients) of a scenario drawn by
:func:`sim.testing.valid_scenarios`: the default natural history with a few parameters moved anywhere in
their allowed range and a horizon of 0.5–40 years or a lifetime.
"""

from __future__ import annotations

import functools
import math
from importlib import resources

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.model.mortality import BUNDLED_TABLES
from sim.run.runner import horizon_of
from sim.testing import horizon_years, perturbable_parameters, valid_scenarios

#: Simulation-heavy properties run half the profile's examples (validating one scenario takes ~0.1 s).
HEAVY = settings(max_examples=max(8, settings().max_examples // 2))
SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
SIZES = st.integers(min_value=100, max_value=250)
#: Milestones of the disease, and the pairs (earlier, later) whose order the model imposes: a later one
#: implies the earlier. Sensory ataxia is a phenotype (about half of the patients), so it only follows the
#: hands and precedes weakness where it happens; the patient's own disability level (severe ataxia or tremor,
#: nobile2000) lies between mRS 2 and the walking aid.
ORDERED = (
    "t_sensory_hands",
    "t_ataxia",
    "t_mrs2",
    "t_weakness",
    "t_disabled",
    "t_walking_aid",
    "t_mrs4",
    "t_mrs5",
)
CHAINS = (
    ("t_sensory_hands", "t_mrs2"),
    ("t_mrs2", "t_weakness"),
    ("t_weakness", "t_walking_aid"),
    ("t_mrs2", "t_disabled"),
    ("t_disabled", "t_walking_aid"),
    ("t_walking_aid", "t_mrs4"),
    ("t_mrs4", "t_mrs5"),
)
ATAXIA_BETWEEN = ("t_sensory_hands", "t_ataxia", "t_weakness")
DISEASE_COLUMNS = (*ORDERED, "t_tremor", "t_pain", "t_faster_phase", "t_malignancy")
WORSE_WHEN_HIGHER = ("incat_arm", "incat_leg", "incat_total", "incat_sensory", "mrs")


def horizon(result: sim.SimulationResult) -> float:
    return horizon_of(result.values)


def reporting_times(result: sim.SimulationResult) -> list[float]:
    """Times inside follow-up, the last just before the horizon."""
    h = horizon(result)
    if math.isinf(h):
        return [0.0, 1.0, 5.0, 10.0, 20.0, 40.0, 80.0]
    return sorted({0.0, h / 7, h / 3, h / 2, 0.8 * h, math.nextafter(h, 0.0)})


@functools.cache
def default_with(
    values: tuple[tuple[str, float], ...], horizon_value: float | str | None = None
) -> sim.Scenario:
    """The default scenario with some parameters fixed (and the horizon changed); built once."""
    updates: dict[str, object] = {p: {"value": v, "source": "test"} for p, v in values}
    if horizon_value is not None:
        updates["settings.horizon_years"] = horizon_value
    return sim.load_scenario(sim.default_scenario_path()).with_updates(updates)


# --------------------------------------------------------------------------- A1


@HEAVY
@given(scenario=valid_scenarios(), n=SIZES, seed=SEEDS)
def test_a1_event_logs_run_forward_and_stop_at_death_or_horizon(
    scenario: sim.Scenario, n: int, seed: int
) -> None:
    """Per patient: log sorted in time, death last, nothing at or after the horizon; LYs = min(death, h)."""
    result = sim.simulate(scenario, n_patients=n, seed=seed, keep_events=True)
    events, patients = result.events, result.patients.set_index("patient_id")
    h = horizon(result)
    assert set(events["patient_id"]) == set(patients.index)
    assert (events.groupby("patient_id", sort=False)["time"].diff().fillna(0.0) >= 0).all()
    assert (events["time"] < h).all()
    assert (events["time"] >= 0).all()

    last = events.groupby("patient_id", sort=False).tail(1).set_index("patient_id")
    dead = patients.index[patients["t_death"].notna()]
    assert (last.loc[dead, "event"] == "death").all()
    assert (last.loc[dead, "time"] == patients.loc[dead, "t_death"]).all()
    assert (events["event"] == "death").sum() == len(dead)

    # time alive sums exactly to min(death, horizon): nothing lost, nothing counted twice
    end = np.minimum(patients["t_death"].fillna(h).to_numpy(), h)
    assert np.all(np.isfinite(end))
    assert patients["lys_undisc"].to_numpy() == pytest.approx(end, rel=1e-9, abs=1e-9)

    # milestone columns hold the first time of their event in the log
    first = events.groupby(["patient_id", "event"])["time"].min().unstack()
    for column in ("t_disabled", "t_diagnosis", "t_malignancy", "t_death"):
        name = column.removeprefix("t_")
        logged = first[name].reindex(patients.index) if name in first else np.nan
        expected = pd.Series(logged, index=patients.index, name=column, dtype=float)
        pd.testing.assert_series_equal(patients[column], expected)


# --------------------------------------------------------------------------- A2


@HEAVY
@given(scenario=valid_scenarios(), n=SIZES, seed=SEEDS)
def test_a2_state_counts_add_up_and_deaths_accumulate(scenario: sim.Scenario, n: int, seed: int) -> None:
    """At every reporting time the counts over mRS 0–5 plus the dead equal the cohort; deaths never fall."""
    result = sim.simulate(scenario, n_patients=n, seed=seed)
    times = reporting_times(result)
    frame = sim.outcome_scales(result, times)
    counts = frame.groupby("time")["mrs"].value_counts().unstack(fill_value=0)
    assert set(counts.columns) <= {0, 1, 2, 3, 4, 5, 6}
    assert (counts.sum(axis=1) == n).all()
    assert (counts >= 0).all().all()
    deaths = counts.get(6, pd.Series(0, index=counts.index)).to_numpy()
    assert np.all(np.diff(deaths) >= 0)
    t_death = result.patients["t_death"].to_numpy()
    assert deaths.tolist() == [int(np.sum(t_death <= t)) for t in counts.index]


# --------------------------------------------------------------------------- A3


@HEAVY
@given(scenario=valid_scenarios(), n=SIZES, seed=SEEDS)
def test_a3_symptoms_come_in_clinical_order(scenario: sim.Scenario, n: int, seed: int) -> None:
    """Hands ≤ mRS 2 ≤ weakness ≤ walking aid, mRS 2 ≤ disabled ≤ walking aid, hands ≤ ataxia (where it
    happens) ≤ weakness; a later milestone implies the earlier; the scales agree with the milestones."""
    result = sim.simulate(scenario, n_patients=n, seed=seed)
    patients = result.patients
    for first, then in CHAINS:
        earlier, later = patients[first].to_numpy(), patients[then].to_numpy()
        present = ~np.isnan(later)
        assert np.all(~np.isnan(earlier[present])), f"{then} without {first}"
        assert np.all(earlier[present] <= later[present]), f"{then} before {first}"
    hands, ataxia, weakness = (patients[c].to_numpy() for c in ATAXIA_BETWEEN)
    ataxic = ~np.isnan(ataxia)
    assert np.all(hands[ataxic] <= ataxia[ataxic])
    reached = ataxic & ~np.isnan(weakness)
    assert np.all(ataxia[reached] <= weakness[reached])
    assert patients.loc[ataxic, "sensory_ataxia"].all()
    times = patients[list(ORDERED)].to_numpy()
    assert np.all(times[~np.isnan(times)] >= 0)
    tremor = patients["t_tremor"].dropna()
    assert (tremor >= 0).all()
    assert patients.loc[patients["t_tremor"].notna(), "tremor"].all()

    # the scales read the same burden: a living patient has mRS >= 3 at t exactly when t_disabled <= t
    frame = sim.outcome_scales(result, reporting_times(result))
    frame = frame[frame["alive"] & frame["followed"]]
    t_disabled = patients.set_index("patient_id")["t_disabled"].reindex(frame["patient_id"]).to_numpy()
    disabled_by_milestone = t_disabled <= frame["time"].to_numpy()  # NaN compares False
    assert np.array_equal(frame["mrs"].to_numpy() >= 3, disabled_by_milestone)


@HEAVY
@given(scenario=valid_scenarios(), n=SIZES, seed=SEEDS)
def test_a3_burden_bounded_and_never_improves_in_natural_history(
    scenario: sim.Scenario, n: int, seed: int
) -> None:
    """The burden stays in [0, 1] and never falls; no scale of a living patient ever improves."""
    result = sim.simulate(scenario, n_patients=n, seed=seed)
    frame = sim.outcome_scales(result, reporting_times(result)).sort_values(["patient_id", "time"])
    assert frame["burden"].between(0.0, 1.0).all()
    assert (frame.groupby("patient_id", sort=False)["burden"].diff().fillna(0.0) >= 0).all()
    living = frame[frame["alive"]]
    steps = living.groupby("patient_id", sort=False)[[*WORSE_WHEN_HIGHER, "mrc_sum"]].diff().dropna()
    assert len(steps) > 0
    for name in WORSE_WHEN_HIGHER:
        assert (steps[name] >= 0).all(), name
    assert (steps["mrc_sum"] <= 0).all()


# --------------------------------------------------------------------------- B12

NO_DEATH = {"mortality.background_rate_multiplier": 0.0, "malignancy.excess_mortality_rate_per_year": 0.0}
EXTREME = {"mortality.background_rate_multiplier": 1000.0}


@HEAVY
@given(data=st.data(), n=SIZES, seed=SEEDS)
def test_b12_without_mortality_nobody_dies(data: st.DataObject, n: int, seed: int) -> None:
    """Background multiplier 0 and no excess death: everyone is alive at the horizon and lives all of it."""
    base = default_with(tuple(NO_DEATH.items()), horizon_value=10.0)
    paths = [p for p in perturbable_parameters(base) if p not in NO_DEATH]
    scenario = data.draw(valid_scenarios(base=base, paths=paths, horizons=horizon_years(lifetime=False)))
    patients = sim.simulate(scenario, n_patients=n, seed=seed).patients
    assert patients["t_death"].isna().all()
    assert patients["death_cause"].isna().all()
    h = horizon_of(scenario.values())
    assert patients["lys_undisc"].to_numpy() == pytest.approx(np.full(n, h), rel=1e-12)


@HEAVY
@given(data=st.data(), n=SIZES, seed=SEEDS)
def test_b12_extreme_mortality_everyone_dies_early_without_nan(
    data: st.DataObject, n: int, seed: int
) -> None:
    """With every life-table rate ×1000 everyone dies, most within a year, and no output is NaN."""
    base = default_with(tuple(EXTREME.items()))
    paths = [p for p in perturbable_parameters(base) if p not in EXTREME]
    scenario = data.draw(valid_scenarios(base=base, paths=paths, horizons=st.just("lifetime")))
    result = sim.simulate(scenario, n_patients=n, seed=seed)
    patients = result.patients
    assert patients["t_death"].notna().all()
    assert patients["t_death"].median() < 1.0
    assert patients["t_death"].max() < 40.0
    numeric = patients.select_dtypes("number").drop(columns=[c for c in patients if c.startswith("t_")])
    # NaN by design when a patient has no tremor or no sensory ataxia
    numeric = numeric.drop(columns=["tremor_burden", "ataxia_burden"])
    assert np.isfinite(numeric.to_numpy(dtype=float)).all()
    frame = sim.outcome_scales(result, [0.0, 0.5, 2.0])
    assert frame["mrs"].notna().all() and frame["burden"].notna().all()


# --------------------------------------------------------------------------- B13


def table_cumulative_hazard(spec: str, male: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Cumulative hazard from age 0 of a bundled table, computed here independently of sim.model.mortality."""
    with resources.as_file(resources.files("sim").joinpath("data", BUNDLED_TABLES[spec])) as csv:
        table = pd.read_csv(csv).sort_values("Age")
    out = np.empty(len(age))
    for is_male, column in ((False, "Female"), (True, "Male")):
        rates = table[column].to_numpy(dtype=float)
        knots = np.concatenate([[0.0], np.cumsum(rates)])  # hazard at ages 0, 1, ..., n
        ages = np.arange(len(knots), dtype=float) + float(table["Age"].iloc[0])
        a = age[male == is_male]
        beyond = knots[-1] + rates[-1] * (a - ages[-1])  # the last rate goes on
        out[male == is_male] = np.where(a > ages[-1], beyond, np.interp(a, ages, knots))
    return out


@HEAVY
@given(scenario=valid_scenarios(horizons=st.just("lifetime")), n=SIZES, seed=SEEDS)
def test_b13_lifetime_everyone_dies_and_survival_never_beats_the_life_table(
    scenario: sim.Scenario, n: int, seed: int
) -> None:
    """Over a lifetime all die, and the cohort's survival is at most the general population's (4 MC SE)."""
    result = sim.simulate(scenario, n_patients=n, seed=seed)
    patients = result.patients
    assert patients["t_death"].notna().all()
    assert patients["death_cause"].notna().all()
    spec = result.values.settings.life_table
    multiplier = result.values.mortality.background_rate_multiplier
    male = (patients["sex"] == "male").to_numpy()
    age0 = patients["age_at_onset"].to_numpy()
    h0 = table_cumulative_hazard(spec, male, age0)
    t_death = patients["t_death"].to_numpy()
    for t in (1.0, 5.0, 10.0, 20.0, 30.0):
        gained = table_cumulative_hazard(spec, male, age0 + t) - h0
        expected = float(np.mean(np.exp(-multiplier * gained)))
        observed = float(np.mean(t_death > t))  # no censoring: every death is observed
        se = math.sqrt(max(expected * (1 - expected), 1.0 / n) / n)
        assert observed <= expected + 4 * se, (t, observed, expected)


def test_b13_survival_check_detects_too_little_mortality(default_scenario: sim.Scenario) -> None:
    """The control for B13: a cohort with halved background mortality does beat the full table."""
    half = default_scenario.with_updates(
        {
            "mortality.background_rate_multiplier": {"value": 0.5, "source": "test"},
            "malignancy.excess_mortality_rate_per_year": {"value": 0.0, "source": "test"},
        }
    )
    patients = sim.simulate(half, n_patients=2000, seed=2).patients
    male = (patients["sex"] == "male").to_numpy()
    age0 = patients["age_at_onset"].to_numpy()
    gained = table_cumulative_hazard("usa_2015", male, age0 + 10.0) - table_cumulative_hazard(
        "usa_2015", male, age0
    )
    expected = float(np.mean(np.exp(-gained)))
    se = math.sqrt(expected * (1 - expected) / len(patients))
    assert float(np.mean(patients["t_death"] > 10.0)) > expected + 4 * se


# --------------------------------------------------------------------------- B17


def test_b17_death_exactly_at_the_horizon_is_not_recorded(
    tiny_scenario: sim.Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every patient whose background death falls at exactly the horizon is alive at the end of follow-up."""
    h = horizon_of(tiny_scenario.values())
    # without transformation every death is scheduled from t = 0, so its time is exact in floating point
    no_malignancy = tiny_scenario.with_updates(
        {"malignancy.rate_per_year_at_1g_dl": {"value": 0.0, "source": "B17"}}
    )
    monkeypatch.setattr(
        sim.run.runner, "background_death_times", lambda traits, *a: np.full(len(traits.patient_id), h)
    )
    at_horizon = sim.simulate(no_malignancy, n_patients=100, seed=1, keep_events=True)
    assert at_horizon.patients["t_death"].isna().all()
    assert (at_horizon.events["event"] != "death").all()
    assert at_horizon.patients["lys_undisc"].to_numpy() == pytest.approx(np.full(100, h))

    just_before = np.nextafter(h, 0.0)
    monkeypatch.setattr(
        sim.run.runner,
        "background_death_times",
        lambda traits, *a: np.full(len(traits.patient_id), just_before),
    )
    before = sim.simulate(no_malignancy, n_patients=100, seed=1)
    assert (before.patients["t_death"] == just_before).all()


def _corrupt_death_time(monkeypatch: pytest.MonkeyPatch, patient: int, value: float) -> None:
    original = sim.run.runner.background_death_times

    def corrupt(traits, *args):
        out = original(traits, *args)
        out[patient] = value
        return out

    monkeypatch.setattr(sim.run.runner, "background_death_times", corrupt)


def test_b17_negative_sampled_delay_raises_naming_the_patient(
    tiny_scenario: sim.Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A negative sampled death time for patient 3 stops the run with a SimulationError naming patient 3."""
    _corrupt_death_time(monkeypatch, 3, -0.25)
    with pytest.raises(sim.SimulationError, match=r"patient 3\b"):
        sim.simulate(tiny_scenario, n_patients=10, seed=1)


def test_b17_simulation_error_names_draw_and_seed(
    tiny_scenario: sim.Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The error of a failing patient names the patient, the draw and the seed."""
    _corrupt_death_time(monkeypatch, 3, -0.25)
    with pytest.raises(sim.SimulationError) as info:
        sim.simulate(tiny_scenario, n_patients=10, seed=4321)
    assert "4321" in str(info.value) and "draw 0" in str(info.value)


def test_b17_nan_sampled_delay_raises(tiny_scenario: sim.Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    """A NaN sampled death time stops the run with a SimulationError naming the patient."""
    _corrupt_death_time(monkeypatch, 3, math.nan)
    with pytest.raises(sim.SimulationError, match=r"patient 3\b"):
        sim.simulate(tiny_scenario, n_patients=10, seed=1)


# --------------------------------------------------------------------------- D24, D25


@HEAVY
@given(scenario=valid_scenarios(max_changes=2), n=SIZES, seed=SEEDS)
def test_d24_same_seed_same_results(scenario: sim.Scenario, n: int, seed: int) -> None:
    """The same scenario and seed give identical patients and event logs; another seed does not."""
    a = sim.simulate(scenario, n_patients=n, seed=seed, keep_events=True)
    b = sim.simulate(scenario, n_patients=n, seed=seed, keep_events=True)
    pd.testing.assert_frame_equal(a.patients, b.patients, check_exact=True)
    pd.testing.assert_frame_equal(a.events, b.events, check_exact=True)
    c = sim.simulate(scenario, n_patients=n, seed=(seed + 1) % 2**32)
    assert not np.array_equal(a.patients["age_at_onset"].to_numpy(), c.patients["age_at_onset"].to_numpy())


def test_d24_two_workers_give_the_same_results_as_one(tiny_scenario: sim.Scenario) -> None:
    """Three blocks of patients over a pool of 2 processes give exactly the single-process results."""
    one = sim.simulate(tiny_scenario, n_patients=600, seed=5, workers=1)
    two = sim.simulate(tiny_scenario, n_patients=600, seed=5, workers=2)
    pd.testing.assert_frame_equal(one.patients, two.patients, check_exact=True)
    pd.testing.assert_frame_equal(one.paths, two.paths, check_exact=True)


@HEAVY
@given(scenario=valid_scenarios(max_changes=2), n=st.integers(1, 300), extra=st.integers(1, 400), seed=SEEDS)
def test_d25_adding_patients_leaves_earlier_patients_unchanged(
    scenario: sim.Scenario, n: int, extra: int, seed: int
) -> None:
    """The first n patients are identical whether n or n + extra patients are simulated."""
    small = sim.simulate(scenario, n_patients=n, seed=seed).patients
    large = sim.simulate(scenario, n_patients=n + extra, seed=seed).patients
    assert len(large) == n + extra
    # death_cause is compared by value: its dtype depends on whether anyone died (see the xfail below)
    pd.testing.assert_frame_equal(
        small.drop(columns="death_cause"), large.iloc[:n].drop(columns="death_cause"), check_exact=True
    )
    assert causes(small) == causes(large.iloc[:n])


def causes(patients: pd.DataFrame) -> list[str]:
    return ["alive" if pd.isna(c) else str(c) for c in patients["death_cause"]]


def test_d25_death_cause_has_one_dtype_whoever_died(tiny_scenario: sim.Scenario) -> None:
    """The patients table has the same column types whether or not any patient died."""
    short = tiny_scenario.with_updates(
        {
            "settings.horizon_years": 0.5,
            "mortality.background_rate_multiplier": {"value": 0.0, "source": "test"},
            "malignancy.excess_mortality_rate_per_year": {"value": 0.0, "source": "test"},
        }
    )
    nobody_died = sim.simulate(short, n_patients=2, seed=6).patients
    some_died = sim.simulate(tiny_scenario, n_patients=300, seed=6).patients
    assert nobody_died["death_cause"].isna().all() and some_died["death_cause"].notna().any()
    assert nobody_died.dtypes.to_dict() == some_died.dtypes.to_dict()


DIAGNOSIS_PATHS = [p for p in perturbable_parameters() if p.startswith("diagnosis.")]
UNTOUCHED_BY_DIAGNOSIS = [
    "patient_id",
    "sex",
    "age_at_onset",
    "titre_band",
    "rate_per_year",
    *DISEASE_COLUMNS,
]


@HEAVY
@given(scenario=valid_scenarios(max_changes=2), data=st.data(), n=SIZES, seed=SEEDS)
def test_d25_changing_diagnosis_leaves_the_disease_unchanged(
    scenario: sim.Scenario, data: st.DataObject, n: int, seed: int
) -> None:
    """A diagnosis parameter moves no patient's onset age, sex, death or disease milestone (own streams)."""
    other = data.draw(
        valid_scenarios(base=scenario, max_changes=1, paths=DIAGNOSIS_PATHS, horizons=st.none())
    )
    a = sim.simulate(scenario, n_patients=n, seed=seed).patients
    b = sim.simulate(other, n_patients=n, seed=seed).patients
    same = [*UNTOUCHED_BY_DIAGNOSIS, "t_death"]
    pd.testing.assert_frame_equal(a[same], b[same], check_exact=True)
    pd.testing.assert_series_equal(a["death_cause"], b["death_cause"])


def test_d25_diagnosis_change_does_move_the_diagnosis(tiny_scenario: sim.Scenario) -> None:
    """The control for D25: the same kind of change does move the diagnostic journey (the test can fail)."""
    other = tiny_scenario.with_updates({"diagnosis.presentation_delay_median_years": 7.5})
    a = sim.simulate(tiny_scenario, n_patients=200, seed=3).patients
    b = sim.simulate(other, n_patients=200, seed=3).patients
    assert not a["t_presentation"].equals(b["t_presentation"])
    pd.testing.assert_frame_equal(a[UNTOUCHED_BY_DIAGNOSIS], b[UNTOUCHED_BY_DIAGNOSIS], check_exact=True)
