"""``antimag compare``/``psa`` (sim/cli/compare.py, sim/cli/psa.py), end to end, and the
``python -m analysis.compare`` alias; and the
figures of analysis/figures.py (tidy frames in, a matplotlib figure out).

Strategy files are written into a temporary directory: each extends a shipped strategy and shortens the
horizon to 20 years, so that a run of a few dozen patients takes a fraction of a second.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import sim
from analysis.cea import ce_plane, ceac, ceaf, evpi
from analysis.figures import (
    ce_plane_figure,
    ceac_figure,
    disability_figure,
    evpi_figure,
    outcome_curves_figure,
    survival_figure,
    tornado_figure,
    two_way_figure,
)
from sim.cli import main as antimag_main
from sim.cli.economics_options import parse_wtp
from sim.scenario.loading import bundled_scenario_path

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--patients", "40", "--seed", "3"]


def write_strategy(folder: Path, name: str, horizon: float = 20.0, extra: str = "") -> Path:
    path = folder / f"{name}.toml"
    parent = bundled_scenario_path(f"{name}.toml")
    path.write_text(f'extends = "{parent.as_posix()}"\n{extra}\n[settings]\nhorizon_years = {horizon}\n')
    return path


@pytest.fixture()
def files(tmp_path: Path) -> list[str]:
    return [str(write_strategy(tmp_path, n)) for n in ("supportive_care", "rituximab_at_diagnosis")]


def run_module(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "analysis.compare", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


# --------------------------------------------------------------------------------------------- module


def test_module_writes_every_table_and_figure_and_prints_the_icer_table(files, tmp_path: Path) -> None:
    """End to end: the module compares the strategies, runs a small PSA and writes everything at once."""
    out = tmp_path / "out"
    proc = run_module(
        *files, *FAST, "--psa", "3", "--psa-patients", "20", "--wtp", "20000,30000", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Costs in GBP (2019 prices)" in proc.stdout and "ICER" in proc.stdout
    assert "supportive_care" in proc.stdout and "rituximab_at_diagnosis" in proc.stdout
    expected = {
        "summary.csv",
        "incremental.csv",
        "icers.csv",
        "nmb.csv",
        "outcomes.png",
        "psa.csv",
        "psa_variance.csv",
        "ceac.csv",
        "ceaf.csv",
        "pairwise_ceac.csv",
        "expected_loss.csv",
        "evpi.csv",
        "icers_psa.csv",
        "ce_plane.csv",
        "ce_plane.png",
        "ceac.png",
        "pairwise_ceac.png",
        "expected_loss.png",
        "evpi.png",
        "results.xlsx",
        "metadata.json",
    }
    assert {p.name for p in out.iterdir()} == expected
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["strategy"]) == ["supportive_care", "rituximab_at_diagnosis"]
    for m in ("cost_disc", "qalys_disc", "lys_disc", "cost_undisc", "cost_drugs_disc", "cost_drugs_undisc"):
        assert summary[m + "_se"].gt(0).all(), m
    assert set(summary["currency"]) == {"GBP"} and set(summary["price_year"]) == {2019}
    icers = pd.read_csv(out / "icers.csv")
    assert {"icer", "icer_low", "icer_high", "status", "note", "comparator"} <= set(icers.columns)
    psa = pd.read_csv(out / "psa.csv")
    assert len(psa) == 6 and {"cost_disc", "qalys_disc", "lys_disc", "cost_disc_se"} <= set(psa.columns)
    c = pd.read_csv(out / "ceac.csv")
    np.testing.assert_allclose(c.groupby("wtp")["probability"].sum(), 1.0)
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["currency"] == "GBP" and meta["price_year"] == 2019 and meta["seed"] == 3
    assert meta["psa"]["n_draws"] == 3 and set(meta["strategies"]) == set(summary["strategy"])
    assert meta["discounting"].startswith("continuous")


def test_outputs_are_identical_across_runs_and_workers(files, tmp_path: Path, capsys) -> None:
    """D24: same scenarios and seed → byte-identical files (metadata too), with one worker or two."""
    a, b = tmp_path / "a", tmp_path / "b"
    assert compare_main([*files, *FAST, "--psa", "2", "--psa-patients", "10", "--out", str(a)]) == 0
    args = [*files, *FAST, "--psa", "2", "--psa-patients", "10", "--workers", "2", "--out", str(b)]
    assert compare_main(args) == 0
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_identical_strategies_report_no_difference(tmp_path: Path, capsys) -> None:
    """B10 through the command line: two files describing the same care give "no difference"."""
    a = write_strategy(tmp_path, "supportive_care")
    b = tmp_path / "copy.toml"
    b.write_text(f'extends = "{a.as_posix()}"\n[settings]\nstrategy = "same_care"\n')
    assert compare_main([str(a), str(b), *FAST, "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "no difference" in printed and "inf" not in printed.lower().replace("information", "")
    inc = pd.read_csv(tmp_path / "out" / "incremental.csv")
    assert inc["inc_cost_disc"].eq(0).all() and inc["inc_qalys_disc"].eq(0).all()
    assert inc["note"].eq("no difference").all()


# --------------------------------------------------------------------------------------------- bad input


def test_missing_file_is_exit_2_without_traceback(files, tmp_path: Path) -> None:
    proc = run_module(files[0], str(tmp_path / "nope.toml"), *FAST, "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    assert "file not found" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def test_non_empty_output_directory_needs_force(files, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert compare_main([*files, *FAST, "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (out / "keep.txt").exists()
    assert compare_main([*files, *FAST, "--out", str(out), "--force"]) == 2  # not this tool's directory
    assert "keep.txt" in capsys.readouterr().err
    assert (out / "keep.txt").exists()
    (out / "keep.txt").unlink()
    assert compare_main([*files, *FAST, "--out", str(out)]) == 0
    assert compare_main([*files, *FAST, "--out", str(out), "--force"]) == 0  # its own output: replaced
    assert (out / "icers.csv").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ONE"], "at least two"),
        (["ONE", "ONE"], "more than once"),
        (["ONE", "TWO", "--reference", "nobody"], "--reference"),
        (["ONE", "BAD"], "discout_rate"),
        (["ONE", "NOECON"], "economics"),
    ],
)
def test_bad_input_is_exit_2_with_a_message(files, tmp_path: Path, capsys, args, message) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(f'extends = "{Path(files[0]).as_posix()}"\n[economics]\ndiscout_rate = 0.03\n')
    data = sim.load_scenario(files[0]).data
    data = {k: v for k, v in data.items() if k != "economics"}
    from sim.testing import scenario_to_toml

    noecon = tmp_path / "noecon.toml"
    noecon.write_text(scenario_to_toml({**data, "settings": {**data["settings"], "strategy": "x"}}))
    lookup = {"ONE": files[0], "TWO": files[1], "BAD": str(bad), "NOECON": str(noecon)}
    argv = [lookup.get(a, a) for a in args] + [*FAST, "--out", str(tmp_path / "o")]
    assert compare_main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("wtp", ["abc", "-5", "", "1e999"])
def test_bad_wtp_is_a_usage_error(files, tmp_path: Path, capsys, wtp: str) -> None:
    with pytest.raises(SystemExit) as info:
        compare_main([*files, "--wtp", wtp, "--out", str(tmp_path / "o")])
    assert info.value.code == 2
    assert "--wtp" in capsys.readouterr().err


def test_parse_wtp() -> None:
    assert parse_wtp("20000, 30_000") == [20000.0, 30000.0]


# --------------------------------------------------------------------------------------------- antimag


def compare_main(argv: list[str]) -> int:
    """``antimag compare ...`` in this process."""
    return antimag_main(["compare", *argv])


def _antimag_parser() -> argparse.ArgumentParser:
    from sim.cli import compare, psa

    parser = argparse.ArgumentParser(prog="antimag")
    sub = parser.add_subparsers(dest="command", required=True)
    compare.add_parser(sub)
    psa.add_parser(sub)
    return parser


def _handlers():
    from sim.cli import compare, psa

    return {"compare": compare.run, "psa": psa.run}


def test_econ_commands_register_and_run(files, tmp_path: Path, capsys) -> None:
    """``compare`` and ``psa`` parse as antimag sub-commands and their handlers write the outputs."""
    COMMANDS = _handlers()

    parser = _antimag_parser()
    args = parser.parse_args(["compare", *files, *FAST, "--out", str(tmp_path / "c")])
    assert COMMANDS[args.command](args) == 0
    assert (tmp_path / "c" / "icers.csv").exists()
    args = parser.parse_args(
        ["psa", *files, "--draws", "2", "--patients", "10", "--out", str(tmp_path / "p")]
    )
    assert COMMANDS[args.command](args) == 0
    names = {p.name for p in (tmp_path / "p").iterdir()}
    assert {"psa.csv", "ceac.csv", "evpi.csv", "ce_plane.png", "metadata.json"} <= names
    assert "PSA: 2 draws" in capsys.readouterr().out


def test_econ_command_errors_become_usage_errors(files, tmp_path: Path) -> None:
    """Input problems reach sim.cli.main as UsageError (exit 2, no traceback) or ScenarioError."""
    from sim.cli import UsageError

    COMMANDS = _handlers()

    parser = _antimag_parser()
    args = parser.parse_args(["compare", files[0], "--out", str(tmp_path / "c")])
    with pytest.raises(UsageError, match="at least two"):
        COMMANDS["compare"](args)
    args = parser.parse_args(
        ["psa", files[0], "--draws", "1", "--reference", "x", "--out", str(tmp_path / "p")]
    )
    with pytest.raises(UsageError, match="--reference"):
        COMMANDS["psa"](args)
    with pytest.raises(SystemExit):
        parser.parse_args(["psa", files[0]])  # --draws is required


# --------------------------------------------------------------------------------------------- figures


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(1)
    psa = pd.DataFrame(
        {
            "draw": np.repeat(np.arange(1, 31), 3),
            "strategy": np.tile(["A", "B", "C"], 30),
            "cost_disc": rng.normal(50000, 8000, 90),
            "qalys_disc": rng.normal(8, 0.5, 90),
        }
    )
    grid = np.linspace(0, 60000, 13)
    tornado = pd.DataFrame(
        {
            "parameter": ["a.b", "c.d", "e.f"],
            "low_value": [0.1, 10.0, 1.0],
            "high_value": [0.3, 30.0, 2.0],
            "outcome": "inmb",
            "base": 1000.0,
            "outcome_low": [500.0, 1200.0, 800.0],
            "outcome_high": [2000.0, 900.0, 1100.0],
        }
    )
    two = pd.DataFrame(
        {
            "x_parameter": "a",
            "x_value": np.tile([0.0, 1.0, 2.0], 3),
            "y_parameter": "b",
            "y_value": np.repeat([0.0, 1.0, 2.0], 3),
            "outcome": "inmb",
            "value": np.arange(9.0) - 4,
        }
    )
    return {
        "plane": ce_plane(psa, "A", cost="cost_disc", effect="qalys_disc"),
        "ceac": ceac(psa, grid, cost="cost_disc", effect="qalys_disc"),
        "ceaf": ceaf(psa, grid, cost="cost_disc", effect="qalys_disc"),
        "evpi": evpi(psa, grid, cost="cost_disc", effect="qalys_disc"),
        "tornado": tornado,
        "two": two,
    }


def _check_png(fig: Figure, path: Path) -> None:
    assert isinstance(fig, Figure) and fig.axes
    fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_psa_and_dsa_figures_from_tidy_frames(frames, tmp_path: Path) -> None:
    _check_png(ce_plane_figure(frames["plane"], [20000, 30000], "A", "GBP"), tmp_path / "plane.png")
    _check_png(ceac_figure(frames["ceac"], frames["ceaf"], "GBP"), tmp_path / "ceac.png")
    _check_png(evpi_figure(frames["evpi"], "GBP"), tmp_path / "evpi.png")
    fig = tornado_figure(frames["tornado"], top=2)
    _check_png(fig, tmp_path / "tornado.png")
    assert len(fig.axes[0].get_yticklabels()) == 2
    _check_png(two_way_figure(frames["two"]), tmp_path / "two.png")


def test_outcome_curves_from_patients(tmp_path: Path) -> None:
    scenario = sim.load_scenario(bundled_scenario_path("tests/tiny.toml"))
    patients = sim.simulate(scenario, n_patients=40, seed=2).patients
    both = pd.concat([patients, patients.assign(strategy="copy")], ignore_index=True)
    for function in (disability_figure, survival_figure, outcome_curves_figure):
        fig = function(both, horizon=20.0)
        _check_png(fig, tmp_path / f"{function.__name__}.png")
        curves = [line for line in fig.axes[0].get_lines() if not line.get_label().startswith("_")]
        assert [line.get_label() for line in curves] == ["supportive_care", "copy"]
        notes = " ".join(t.get_text() for t in fig.axes[0].texts)
        assert "copy = supportive_care" in notes  # the identical curve is named, not hidden


def test_figures_reject_frames_without_their_columns() -> None:
    with pytest.raises(ValueError, match="inc_cost"):
        ce_plane_figure(pd.DataFrame({"strategy": ["A"], "x": [1]}))
    with pytest.raises(ValueError, match="outcome_low"):
        tornado_figure(pd.DataFrame({"parameter": ["a"]}))


def test_wired_into_antimag_main(files, tmp_path: Path, capsys) -> None:
    """``antimag compare`` and ``antimag psa`` run through the main command, and bad input exits 2 with a
    message and no traceback."""
    import sim.cli as cli

    assert cli.main(["compare", *files, *FAST, "--out", str(tmp_path / "c")]) == 0
    assert cli.main(["compare", files[0], "--out", str(tmp_path / "d")]) == 2
    assert "antimag compare: error: compare needs at least two" in capsys.readouterr().err
    assert cli.main(["psa", files[0], "--draws", "1", "--patients", "5", "--out", str(tmp_path / "c")]) == 2
    assert "not empty" in capsys.readouterr().err
    assert cli.main(["psa", files[0], "--draws", "1", "--patients", "5", "--out", str(tmp_path / "p")]) == 0


def test_compare_with_a_tornado(files, tmp_path: Path) -> None:
    """``--dsa K`` adds the one-way sensitivity analysis of the best strategy vs the reference: tornado.csv
    with K parameters, widest swing first, and its figure."""
    out = tmp_path / "dsa"
    assert compare_main([*files, *FAST, "--dsa", "3", "--out", str(out)]) == 0
    tornado = pd.read_csv(out / "tornado.csv")
    assert len(tornado) == 3
    swing = (tornado["outcome_high"] - tornado["outcome_low"]).abs().to_numpy()
    assert (swing[:-1] >= swing[1:] - 1e-9).all()
    assert (out / "tornado.png").stat().st_size > 0
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["dsa"]["reference"] == "supportive_care"
