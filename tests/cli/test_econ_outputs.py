"""What ``compare``/``psa``/``run`` add for economists: subgroups.csv (checked against patients.csv), the
workbook (checked against the CSV files), the noise split, EVPPI and the decision curves."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.run.psa import sample_parameters, simulate_strategies
from sim.scenario.loading import bundled_scenario_path

FAST = ["--patients", "60", "--seed", "4"]


def write_strategy(folder: Path, name: str) -> Path:
    path = folder / f"{name}.toml"
    parent = bundled_scenario_path(f"{name}.toml").as_posix()
    path.write_text(f'extends = "{parent}"\n[settings]\nhorizon_years = 10.0\n')
    return path


@pytest.fixture()
def files(tmp_path: Path) -> list[str]:
    return [str(write_strategy(tmp_path, n)) for n in ("supportive_care", "rituximab_at_diagnosis")]


def test_subgroups_match_the_same_quantities_computed_from_the_patients(files, tmp_path: Path, capsys):
    out = tmp_path / "c"
    assert main(["compare", *files, *FAST, "--subgroups", "sex,titre_band,age_band", "--out", str(out)]) == 0
    table = pd.read_csv(out / "subgroups.csv", keep_default_na=False, na_values=[""])
    results = simulate_strategies([sim.load_scenario(f) for f in files], 60, 4)
    care, rtx = (r.patients for r in results)
    males = (care["sex"] == "male").to_numpy()
    row = table[(table["subgroup"] == "sex") & (table["level"] == "male")]
    cost = row[(row["strategy"] == "supportive_care") & (row["quantity"] == "cost_disc")].iloc[0]
    assert cost["mean"] == pytest.approx(care["cost_disc"][males].mean(), rel=1e-12)
    assert cost["se"] == pytest.approx(care["cost_disc"][males].std(ddof=1) / np.sqrt(males.sum()), rel=1e-12)
    d = (rtx["qalys_disc"] - care["qalys_disc"])[males]
    inc = row[row["quantity"] == "inc_qalys_disc"].iloc[0]
    assert inc["comparator"] == "supportive_care" and inc["n_patients"] == males.sum()
    assert inc["mean"] == pytest.approx(d.mean(), rel=1e-12)
    assert inc["se"] == pytest.approx(d.std(ddof=1) / np.sqrt(males.sum()), rel=1e-12)
    nmb = row[(row["quantity"] == "inc_nmb") & (row["wtp"] == 20000)].iloc[0]
    dc = (rtx["cost_disc"] - care["cost_disc"])[males]
    assert nmb["mean"] == pytest.approx((20000 * d - dc).mean(), rel=1e-9)
    # Levels of a subgroup partition the cohort.
    ages = table[(table["subgroup"] == "age_band") & (table["quantity"] == "cost_disc")]
    assert ages.groupby("strategy")["n_patients"].sum().eq(60).all()
    assert {"cost_undisc", "qalys_undisc", "icer"} <= set(table["quantity"])


def test_run_writes_subgroup_summaries_and_rejects_unknown_names(tmp_path: Path, capsys):
    scenario = str(bundled_scenario_path("supportive_care.toml"))
    out = tmp_path / "r"
    assert main(["run", scenario, "--patients", "30", "--subgroups", "sex", "--out", str(out)]) == 0
    table = pd.read_csv(out / "subgroups.csv")
    assert set(table["level"]) <= {"male", "female"} and (table["comparator"].isna()).all()
    with pytest.raises(SystemExit):
        main(["run", scenario, "--subgroups", "height", "--out", str(tmp_path / "x")])
    assert "allowed: sex, titre_band, age_band" in capsys.readouterr().err


def test_psa_writes_the_noise_split_the_curves_evppi_and_a_workbook_equal_to_the_csv_files(
    files, tmp_path: Path, capsys
):
    out = tmp_path / "p"
    args = [
        "psa",
        *files,
        "--draws",
        "12",
        "--patients",
        "30",
        "--seed",
        "2",
        "--evppi",
        "--subgroups",
        "sex",
    ]
    args += ["--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "PSA noise (shared cohort" in printed and "advice: patients" in printed
    assert "EVPPI per patient" in printed and "ICER table on the PSA means" in printed
    names = {p.name for p in out.iterdir()}
    assert {"psa_variance.csv", "evppi.csv", "evppi.png", "expected_loss.csv", "pairwise_ceac.csv"} <= names
    assert "psa_subgroups.csv" in names and "subgroups.csv" not in names
    book = pd.read_excel(out / "results.xlsx", sheet_name=None)
    csvs = {p.stem for p in out.glob("*.csv")}
    assert set(book) == csvs
    for name in csvs:
        pd.testing.assert_frame_equal(
            book[name], pd.read_csv(out / f"{name}.csv"), check_dtype=False, check_exact=False, rtol=1e-12
        )
    evppi = pd.read_csv(out / "evppi.csv")
    assert (evppi["evppi"] >= 0).all() and "population_evppi" in evppi.columns
    evpi = pd.read_csv(out / "evpi.csv")
    assert (evpi["population_evpi"] > evpi["evpi"]).any() or (evpi["evpi"] == 0).all()
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["design"] == "shared cohort" and meta["reference"] == "supportive_care"


def test_a_per_draw_cohort_psa_is_denoised(files, tmp_path: Path, capsys):
    out = tmp_path / "q"
    args = ["psa", *files, "--draws", "6", "--patients", "20", "--cohort", "per-draw", "--out", str(out)]
    assert main(args) == 0
    evpi = pd.read_csv(out / "evpi.csv")
    assert "evpi_uncorrected" in evpi.columns
    split = pd.read_csv(out / "psa_variance.csv")
    assert set(split["design"]) == {"cohort per draw"}
    assert "cohort per draw" in capsys.readouterr().out


def test_evppi_without_a_psa_is_a_usage_error(files, tmp_path: Path, capsys):
    assert main(["compare", *files, "--evppi", "--out", str(tmp_path / "e")]) == 2
    assert "--evppi needs a PSA" in capsys.readouterr().err


def _undeclared(names) -> list[str]:
    """Money, QALY or life-year names that do not say whether they are discounted."""
    measure = re.compile(r"^(inc_)?(cost|qalys|lys)(_|$)")
    return [n for n in map(str, names) if measure.match(n) and "_disc" not in n and "_undisc" not in n]


def test_every_table_names_the_discounting_of_its_money_qaly_and_life_year_columns(
    files, tmp_path: Path, capsys
):
    out = tmp_path / "d"
    args = ["compare", *files, "--patients", "30", "--psa", "4", "--dsa", "2", "--subgroups", "sex"]
    assert main([*args, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert main(["run", files[0], "--patients", "10", "--out", str(tmp_path / "r")]) == 0
    tables = {p.name: pd.read_csv(p) for p in [*out.glob("*.csv"), tmp_path / "r" / "patients.csv"]}
    assert {"summary.csv", "incremental.csv", "icers.csv", "psa.csv", "tornado.csv", "patients.csv"} <= set(
        tables
    )
    for name, table in tables.items():
        assert _undeclared(table.columns) == [], name
        if "quantity" in table.columns:
            assert _undeclared(table["quantity"].unique()) == [], name
    assert {"cost_undisc", "cost_drugs_undisc", "qalys_undisc", "lys_undisc"} <= set(tables["patients.csv"])
    for sheet in pd.read_excel(out / "results.xlsx", sheet_name=None).values():
        assert _undeclared(sheet.columns) == []
    header = next(line for line in printed.splitlines() if line.startswith("strategy") and "ICER" in line)
    assert "inc_cost_disc" in header and "inc_qalys_disc" in header


def test_psa_subgroups_come_from_the_draws_and_match_a_hand_computation_from_the_patients(
    files, tmp_path: Path, capsys
):
    """psa --subgroups: the males' mean incremental NMB over draws, its Monte Carlo error (shared cohort:
    spread over draws plus the cohort's own error) and its 2.5-97.5% interval, recomputed from each draw's
    simulated patients."""
    out = tmp_path / "s"
    args = ["psa", *files, "--draws", "5", "--patients", "40", "--seed", "3", "--subgroups", "sex"]
    assert main([*args, "--out", str(out)]) == 0
    table = pd.read_csv(out / "psa_subgroups.csv", keep_default_na=False, na_values=[""])
    row = table[(table["level"] == "male") & (table["quantity"] == "inc_nmb") & (table["wtp"] == 20000)].iloc[
        0
    ]
    scenarios = [sim.load_scenario(f) for f in files]
    draws = sample_parameters(scenarios, 5, 3)
    per_draw, within = [], []
    for d in range(1, 6):
        arms = []
        for s in scenarios:
            values = draws[(draws["draw"] == d) & (draws["strategy"] == s.strategy)].iloc[0]
            overrides = {p: float(values[p]) for p in s.uncertain_parameters()}
            arms.append(sim.simulate(s, n_patients=40, seed=3, draw=0, overrides=overrides).patients)
        care, rtx = arms
        males = (care["sex"] == "male").to_numpy()
        inmb = (20000 * (rtx["qalys_disc"] - care["qalys_disc"]) - (rtx["cost_disc"] - care["cost_disc"]))[
            males
        ]
        per_draw.append(inmb.mean())
        within.append(inmb.var(ddof=1) / males.sum())
    per_draw = np.array(per_draw)
    assert row["comparator"] == "supportive_care" and row["n_draws"] == 5
    assert row["mean"] == pytest.approx(per_draw.mean(), rel=1e-9)
    assert row["se"] == pytest.approx(np.sqrt(per_draw.var(ddof=1) / 5 + np.mean(within)), rel=1e-9)
    assert row["low"] == pytest.approx(np.percentile(per_draw, 2.5), rel=1e-9)
    assert row["high"] == pytest.approx(np.percentile(per_draw, 97.5), rel=1e-9)
    assert np.ptp(per_draw) > 0  # the parameters do vary the subgroup's result between draws
