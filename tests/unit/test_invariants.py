"""sim/run/invariants.py: A1–A5 hold on real cohorts of every kind of strategy, each check fails on a cohort
broken in its way (naming the invariant, the run, the strategy and the patient), and ``--check-invariants``
stops a PSA at the draw whose cohort breaks one."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

import sim
import sim.run.runner as runner
from sim.cli import main as antimag_main
from sim.run.invariants import InvariantError, check_invariants
from sim.run.psa import run_psa
from sim.scenario.loading import bundled_scenario_path


def strategy(name: str, horizon: float | str = 15.0) -> sim.Scenario:
    return sim.load_scenario(bundled_scenario_path(f"{name}.toml")).with_updates(
        {"settings.horizon_years": horizon}
    )


@pytest.fixture(scope="module")
def cohort() -> sim.SimulationResult:
    """Cyclophosphamide with rituximab: courses, responses, reversals, adverse events and their costs."""
    return sim.simulate(strategy("cyclophosphamide_rituximab"), n_patients=120, seed=4)


@pytest.mark.parametrize(
    "name", ["supportive_care", "ivig_maintenance", "plasma_exchange", "current_practice"]
)
def test_real_cohorts_keep_every_invariant(name: str) -> None:
    check_invariants(sim.simulate(strategy(name, "lifetime"), n_patients=80, seed=11), "test")


def broken(result: sim.SimulationResult, **changes) -> sim.SimulationResult:
    out = copy.copy(result)
    out.patients = result.patients.copy()
    out.paths = result.paths.copy()
    for column, (row, value) in changes.items():
        out.patients.loc[row, column] = value
    return out


def first_with(result: sim.SimulationResult, column: str) -> int:
    return int(np.flatnonzero(result.patients[column].notna().to_numpy())[0])


def test_the_cohort_itself_is_fine(cohort) -> None:
    check_invariants(cohort, "test")


def test_a1_a_milestone_after_death_or_wrong_life_years(cohort) -> None:
    i = first_with(cohort, "t_death")
    t_death = cohort.patients.loc[i, "t_death"]
    pid = cohort.patients.loc[i, "patient_id"]
    with pytest.raises(InvariantError, match=rf"A1 .*in PSA draw 3, strategy '\S+', patient {pid} "):
        check_invariants(broken(cohort, t_diagnosis=(i, t_death + 0.5)), "PSA draw 3")
    with pytest.raises(InvariantError, match="A1 .*time alive sums"):
        check_invariants(broken(cohort, lys_undisc=(0, cohort.patients.loc[0, "lys_undisc"] + 1e-3)))


def test_a2_a_patient_in_no_state(cohort, monkeypatch) -> None:
    import sim.run.trajectory as trajectory

    original = trajectory.outcome_scales
    monkeypatch.setattr(trajectory, "outcome_scales", lambda r, t: original(r, t).iloc[1:])
    with pytest.raises(InvariantError, match="A2 .*every patient in one state"):
        check_invariants(cohort)


def test_a3_symptoms_out_of_order_and_a_falling_untreated_burden(cohort) -> None:
    i = first_with(cohort, "t_weakness")
    mrs2 = cohort.patients.loc[i, "t_mrs2"]
    with pytest.raises(InvariantError, match="A3 .*symptoms in clinical order"):
        check_invariants(broken(cohort, t_weakness=(i, mrs2 - 0.1)))
    untreated = cohort.patients.loc[cohort.patients["n_courses"] == 0, "patient_id"]
    assert len(untreated) > 0
    out = broken(cohort)
    on_paths = out.paths["patient_id"]
    several = on_paths[on_paths.isin(untreated) & on_paths.duplicated()]  # a second segment: faster phase
    row = several.index[0]
    out.paths.loc[row, "burden"] -= 0.05  # the burden drops where the faster phase begins
    with pytest.raises(InvariantError, match="A3 .*never falling without treatment"):
        check_invariants(out)


def test_a4_qalys_above_life_years_and_a5_costs_that_do_not_add_up(cohort) -> None:
    with pytest.raises(InvariantError, match="A4 .*QALYs <= life-years"):
        check_invariants(broken(cohort, qalys_undisc=(2, cohort.patients.loc[2, "lys_undisc"] + 0.5)))
    with pytest.raises(InvariantError, match="A4 .*discounted cost"):
        check_invariants(broken(cohort, cost_disc=(2, cohort.patients.loc[2, "cost_undisc"] + 10.0)))
    with pytest.raises(InvariantError, match="A5 .*sum to the total"):
        drugs = cohort.patients.loc[2, "cost_drugs_undisc"]
        check_invariants(broken(cohort, cost_drugs_undisc=(2, drugs + 10.0)))
    with pytest.raises(InvariantError, match="A5 .*>= 0"):
        check_invariants(broken(cohort, cost_devices_disc=(2, -1.0)))


def corrupt_frame_of(strategy_name: str, monkeypatch) -> None:
    """A model bug in one strategy: its patients' QALYs exceed their life-years."""
    original = runner._patients_frame

    def frame(strategy: str, outputs):
        out = original(strategy, outputs)
        if strategy == strategy_name:
            out.loc[out.index[-1], "qalys_undisc"] = out["lys_undisc"].iloc[-1] + 1.0
        return out

    monkeypatch.setattr(runner, "_patients_frame", frame)


def test_psa_with_check_invariants_stops_at_the_draw_naming_strategy_and_patient(monkeypatch) -> None:
    items = [strategy("supportive_care"), strategy("rituximab_at_diagnosis")]
    run_psa(items, 1, 10, seed=1, check_invariants=True)
    corrupt_frame_of("rituximab_at_diagnosis", monkeypatch)
    run_psa(items, 1, 10, seed=1)  # unchecked: the bug goes unnoticed
    with pytest.raises(InvariantError, match="draw 1, strategy 'rituximab_at_diagnosis', patient 9 "):
        run_psa(items, 1, 10, seed=1, check_invariants=True)


def test_cli_check_invariants_exits_1_with_the_draw(monkeypatch, tmp_path: Path, capsys) -> None:
    files = []
    for name in ("supportive_care", "rituximab_at_diagnosis"):
        path = tmp_path / f"{name}.toml"
        parent = bundled_scenario_path(f"{name}.toml").as_posix()
        path.write_text(f'extends = "{parent}"\n[settings]\nhorizon_years = 10\n')
        files.append(str(path))
    argv = ["psa", *files, "--draws", "1", "--patients", "10", "--check-invariants"]
    corrupt_frame_of("rituximab_at_diagnosis", monkeypatch)
    assert antimag_main([*argv, "--out", str(tmp_path / "bad")]) == 1
    err = capsys.readouterr().err
    assert "invariant A4" in err and "draw 1, strategy 'rituximab_at_diagnosis', patient 9" in err
    assert "Traceback" not in err and not (tmp_path / "bad").exists()
