"""The ``antimag`` command line, end to end through the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.scenario.loading import bundled_scenario_path

TINY = str(bundled_scenario_path("tests/tiny.toml"))
RUN_FILES = ("metadata.json", "milestones.png", "mrs.png", "patients.csv", "summary.csv")


def antimag(exe: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [exe, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120, check=False
    )


def in_process(capsys: pytest.CaptureFixture, *args: str) -> subprocess.CompletedProcess:
    """``sim.cli.main`` called in this process (faster than a subprocess), as a CompletedProcess."""
    try:
        status = main(list(args))
    except SystemExit as exc:  # argparse's own exit on bad options
        status = exc.code
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(["antimag", *args], status, captured.out, captured.err)


def assert_bad_input(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit status 2, a message on stderr, and never a traceback."""
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    for fragment in fragments:
        assert fragment in proc.stderr, (fragment, proc.stderr)


@pytest.fixture(scope="module")
def tiny_run(antimag_exe: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``antimag run`` of the tiny scenario (300 patients, seed 11), shared by the tests that read it."""
    out = tmp_path_factory.mktemp("run") / "out"
    proc = antimag(antimag_exe, "run", TINY, "--patients", "300", "--seed", "11", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


# --------------------------------------------------------------------------- run


def test_run_writes_patients_summary_and_metadata(tiny_run: Path) -> None:
    """``antimag run`` writes one row per patient, a milestone summary and the run's metadata."""
    assert sorted(p.name for p in tiny_run.iterdir()) == list(RUN_FILES)
    patients = pd.read_csv(tiny_run / "patients.csv")
    assert len(patients) == 300
    assert patients["patient_id"].tolist() == list(range(300))
    for column in ("sex", "age_at_onset", "titre_band", "t_disabled", "t_death", "death_cause"):
        assert column in patients
    summary = pd.read_csv(tiny_run / "summary.csv")
    assert "t_disabled" in set(summary["milestone"])
    meta = json.loads((tiny_run / "metadata.json").read_text())
    assert meta["seed"] == 11 and meta["n_patients"] == 300
    assert meta["scenario_sha256"] == sim.load_scenario(TINY).sha256
    assert {"python", "numpy", "simpy"} <= set(meta["versions"])


def test_run_of_too_few_patients_draws_no_figure_and_says_why(capsys, tmp_path: Path) -> None:
    """With fewer patients than a curve needs at risk, the cohort figures are not drawn (never an error):
    the tables are written and the output says which figures were left out and why."""
    out = tmp_path / "few"
    proc = in_process(capsys, "run", TINY, "--patients", "5", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["metadata.json", "patients.csv", "summary.csv"]
    assert "Not drawn: milestones.png, mrs.png: fewer than 20 patients at risk" in proc.stdout


def test_run_matches_the_python_interface(tiny_run: Path) -> None:
    """The CSV holds the same patients as ``sim.simulate`` with the same scenario and seed."""
    from_cli = pd.read_csv(tiny_run / "patients.csv")
    direct = sim.simulate(sim.load_scenario(TINY), n_patients=300, seed=11).patients
    assert from_cli["age_at_onset"].to_numpy() == pytest.approx(direct["age_at_onset"].to_numpy(), rel=1e-12)
    assert from_cli["t_disabled"].isna().tolist() == direct["t_disabled"].isna().tolist()


def test_run_twice_gives_byte_identical_files(antimag_exe: str, tiny_run: Path, tmp_path: Path) -> None:
    """Same scenario and seed: every output file is byte-identical (D24)."""
    again = tmp_path / "again"
    proc = antimag(antimag_exe, "run", TINY, "--patients", "300", "--seed", "11", "--out", str(again))
    assert proc.returncode == 0, proc.stderr
    for name in RUN_FILES:
        assert (again / name).read_bytes() == (tiny_run / name).read_bytes(), name


def test_run_with_two_workers_is_byte_identical(antimag_exe: str, tiny_run: Path, tmp_path: Path) -> None:
    """The number of workers never changes the output (D24)."""
    out = tmp_path / "w2"
    proc = antimag(
        antimag_exe, "run", TINY, "--patients", "300", "--seed", "11", "--workers", "2", "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    for name in RUN_FILES:
        assert (out / name).read_bytes() == (tiny_run / name).read_bytes(), name


def test_another_seed_gives_other_patients(
    capsys: pytest.CaptureFixture, tiny_run: Path, tmp_path: Path
) -> None:
    """The control for the byte-identity tests: a different seed changes patients.csv."""
    out = tmp_path / "seed12"
    proc = in_process(capsys, "run", TINY, "--patients", "300", "--seed", "12", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (out / "patients.csv").read_bytes() != (tiny_run / "patients.csv").read_bytes()


def test_run_refuses_a_non_empty_output_without_force(
    antimag_exe: str, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    """A non-empty --out is left alone (exit 2, message naming --force); --force replaces it only if this
    tool wrote it, and otherwise names the files it would delete."""
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    proc = antimag(antimag_exe, "run", TINY, "--patients", "20", "--out", str(out))
    assert_bad_input(proc, "not empty", "--force")
    assert (out / "keep.txt").read_text() == "precious"
    assert not (out / "patients.csv").exists()

    refused = in_process(capsys, "run", TINY, "--patients", "20", "--out", str(out), "--force")
    assert_bad_input(refused, "written by antimag", "keep.txt")
    assert (out / "keep.txt").read_text() == "precious"

    (out / "keep.txt").unlink()
    first = in_process(capsys, "run", TINY, "--patients", "20", "--seed", "2", "--out", str(out))
    assert first.returncode == 0, first.stderr
    forced = in_process(capsys, "run", TINY, "--patients", "20", "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert sorted(p.name for p in out.iterdir()) == list(RUN_FILES)
    assert len(pd.read_csv(out / "patients.csv")) == 20


def test_run_into_a_missing_parent_fails_before_simulating(antimag_exe: str, tmp_path: Path) -> None:
    """An output whose parent directory does not exist is reported up front (exit 2), nothing is created."""
    out = tmp_path / "no" / "such" / "dir"
    proc = antimag(antimag_exe, "run", TINY, "--patients", "20000", "--out", str(out))
    assert_bad_input(proc, "does not exist")
    assert not (tmp_path / "no").exists()
    assert "patients, seed" not in proc.stdout  # the run never started


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_run_into_an_unwritable_directory_fails_before_simulating(antimag_exe: str, tmp_path: Path) -> None:
    """An output directory that cannot be written is reported before the run (exit 2)."""
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    proc = antimag(antimag_exe, "run", TINY, "--patients", "20000", "--out", str(locked / "out"))
    assert_bad_input(proc, "permission denied")


def test_run_onto_a_file_is_refused(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    """An --out that is an existing file is bad input, and the file is untouched."""
    target = tmp_path / "file.txt"
    target.write_text("x")
    proc = in_process(capsys, "run", TINY, "--patients", "20", "--out", str(target))
    assert_bad_input(proc, "not a directory")
    assert target.read_text() == "x"


def test_run_without_a_scenario_uses_the_bundled_default(
    capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    """With no scenario argument ``antimag run`` simulates the bundled natural history."""
    proc = in_process(capsys, "run", "--patients", "30", "--out", str(tmp_path / "o"))
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((tmp_path / "o" / "metadata.json").read_text())
    assert meta["scenario_path"] == "natural_history.toml"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--patients", "0"), "--patients"),
        (("--patients", "ten"), "--patients"),
        (("--seed", "-1"), "--seed"),
        (("--workers", "0"), "--workers"),
        (("--workers", "1.5"), "--workers"),
        (("--colour",), "unrecognized arguments"),
    ],
)
def test_bad_option_values_exit_2(capsys: pytest.CaptureFixture, tmp_path: Path, args, fragment) -> None:
    """Bad option values give a usage message naming the option and exit 2."""
    proc = in_process(capsys, "run", TINY, *args, "--out", str(tmp_path / "x"))
    assert_bad_input(proc, fragment)
    assert not (tmp_path / "x").exists()


def test_bad_option_value_through_the_console_script_has_no_traceback(
    antimag_exe: str, tmp_path: Path
) -> None:
    """End to end: ``antimag run --patients ten`` prints usage, exits 2, no traceback, writes nothing."""
    proc = antimag(antimag_exe, "run", TINY, "--patients", "ten", "--out", str(tmp_path / "x"))
    assert_bad_input(proc, "usage: antimag run", "--patients", "'ten'")
    assert not (tmp_path / "x").exists()


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture) -> None:
    """An unknown subcommand is a usage error."""
    assert_bad_input(in_process(capsys, "simulate"), "invalid choice")


# --------------------------------------------------------------------------- check


def test_check_accepts_a_valid_scenario(antimag_exe: str) -> None:
    """``antimag check`` on a valid file exits 0 and names the scenario and its parameter count."""
    proc = antimag(antimag_exe, "check", TINY)
    assert proc.returncode == 0, proc.stderr
    assert "valid scenario 'tiny'" in proc.stdout
    n = len(sim.load_scenario(TINY).parameters())
    assert f"{n} parameters" in proc.stdout


def test_check_rejects_a_misspelt_key(antimag_exe: str, tmp_path: Path) -> None:
    """A typo exits 2 with a message naming the file, the key and the allowed keys — no traceback."""
    path = tmp_path / "typo.toml"
    path.write_text(f'extends = "{TINY}"\n[settings]\ndiscout_rate = 0.035\n')
    proc = antimag(antimag_exe, "check", str(path))
    assert_bad_input(proc, str(path), "settings.discout_rate", "unknown key 'discout_rate'", "horizon_years")
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ('[population]\np_male = { value = 1.5, source = "x" }\n', ("population.p_male", "1.5", "[0, 1]")),
        ("[population]\np_male = [1, 2]\n", ("population.p_male",)),
        ("[settings]\nhorizon_years = -3.0\n", ("settings.horizon_years", "-3.0")),
        ("[settings\n", ("not valid TOML",)),
    ],
    ids=["out-of-range", "wrong-type", "negative-horizon", "bad-toml"],
)
def test_check_reports_bad_values_with_exit_2(
    capsys: pytest.CaptureFixture, tmp_path: Path, body: str, fragments
) -> None:
    """Each kind of bad input is one message with the field and value, exit status 2, no traceback."""
    path = tmp_path / "bad.toml"
    path.write_text(f'extends = "{TINY}"\n{body}')
    assert_bad_input(in_process(capsys, "check", str(path)), str(path), *fragments)


def test_check_of_a_missing_file_exits_2(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    """A scenario file that does not exist is bad input."""
    assert_bad_input(in_process(capsys, "check", str(tmp_path / "nope.toml")), "not found")


# --------------------------------------------------------------------------- calibration


def test_calibration_writes_the_figure(antimag_exe: str, tmp_path: Path) -> None:
    """``antimag calibration`` prints every target and writes a PNG figure."""
    figure = tmp_path / "cal.png"
    proc = antimag(antimag_exe, "calibration", "--seed", "3", "--figure", str(figure))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for target in ("disabled@5y", "disabled@15y", "malignancy@10y", "mean onset age", "male share"):
        assert target in proc.stdout
    assert not list(tmp_path.glob(".*.tmp"))


def test_calibration_figure_in_a_missing_directory_exits_2(
    capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    """A figure path whose directory does not exist is reported before simulating."""
    proc = in_process(capsys, "calibration", "--figure", str(tmp_path / "none" / "cal.png"))
    assert_bad_input(proc, "does not exist")


def test_calibration_cohorts_prints_every_check(capsys: pytest.CaptureFixture) -> None:
    """``--cohorts`` prints the symptom and disability checks against cohorts that are not targets; exit 1
    while a check is missed (the phenotype onsets, docs/validation.md), 0 otherwise."""
    from analysis.cohort_validation import CHECKS

    proc = in_process(capsys, "calibration", "--cohorts", "--patients", "600", "--seed", "2")
    assert proc.returncode in (0, 1), proc.stderr
    for check in CHECKS:
        assert check.name in proc.stdout
    assert proc.returncode == (1 if " NO" in proc.stdout else 0)


def test_calibration_with_two_tables_exits_2(capsys: pytest.CaptureFixture) -> None:
    """``--treatments`` and ``--cohorts`` are two different tables: asking for both is bad input."""
    assert_bad_input(in_process(capsys, "calibration", "--treatments", "--cohorts"), "choose one")


def test_run_with_events_writes_the_event_log(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    """``--events`` adds events.csv: every patient's log starts with the onset at time 0."""
    out = tmp_path / "ev"
    proc = in_process(capsys, "run", TINY, "--patients", "40", "--seed", "2", "--events", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    events = pd.read_csv(out / "events.csv")
    onsets = events[events["event"] == "onset"]
    assert sorted(onsets["patient_id"]) == list(range(40))
    assert (onsets["time"] == 0).all()
    assert (events.groupby("patient_id")["time"].diff().dropna() >= 0).all()
