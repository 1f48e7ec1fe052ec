"""``antimag patient``: the story printed and written, and every bad input refused (exit 2, no traceback)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.scenario.loading import bundled_scenario_path

TINY = str(bundled_scenario_path("tests/tiny.toml"))
RTX = str(bundled_scenario_path("rituximab_at_diagnosis.toml"))
SUPPORTIVE = str(bundled_scenario_path("supportive_care.toml"))
OUT_FILES = ["patient.png", "patient.svg", "story.txt", "timeline.csv"]


def call(capsys: pytest.CaptureFixture, *args: str) -> subprocess.CompletedProcess:
    try:
        status = main(["patient", *args])
    except SystemExit as exc:  # argparse's own exit on bad options
        status = exc.code
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(["antimag", "patient", *args], status, captured.out, captured.err)


def assert_bad_input(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    assert proc.stdout == ""
    for fragment in fragments:
        assert fragment in proc.stderr, (fragment, proc.stderr)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One ``antimag patient --out`` run of the tiny scenario, shared by the tests that read it."""
    import contextlib
    import io

    out = tmp_path_factory.mktemp("patient") / "story"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(["patient", TINY, "--id", "2", "--seed", "3", "--out", str(out)]) == 0
    return out, stdout.getvalue()


def test_prints_the_story_and_writes_the_files(written: tuple[Path, str]) -> None:
    out, stdout = written
    assert stdout.startswith("Patient 2 under supportive_care (seed 3)")
    assert "First symptom: numbness and tingling in the feet." in stdout
    assert "Years lived with the disease" in stdout
    assert sorted(p.name for p in out.iterdir()) == OUT_FILES
    assert (out / "story.txt").read_text(encoding="utf-8") in stdout
    timeline = pd.read_csv(out / "timeline.csv")
    assert list(timeline.columns[:8]) == [
        "strategy",
        "patient_id",
        "time",
        "age",
        "kind",
        "event",
        "detail",
        "text",
    ]
    assert (out / "patient.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (out / "patient.svg").read_bytes()[:2000]


def test_outputs_are_byte_identical_on_a_rerun(capsys, written: tuple[Path, str], tmp_path: Path) -> None:
    first, _ = written
    again = tmp_path / "again"
    assert call(capsys, TINY, "--id", "2", "--seed", "3", "--out", str(again)).returncode == 0
    for f in OUT_FILES:
        assert (first / f).read_bytes() == (again / f).read_bytes(), f


def test_json_and_markdown_formats(capsys) -> None:
    proc = call(capsys, TINY, "--id", "0", "--format", "json")
    data = json.loads(proc.stdout)
    assert data["patient_id"] == 0 and data["timeline"][0]["event"] == "onset"
    proc = call(capsys, TINY, "--id", "0", "--format", "markdown")
    assert (
        proc.stdout.startswith("# Patient 0")
        and "| years since first symptom | age | what happens |" in proc.stdout
    )


def test_compare_marks_where_the_courses_part(capsys) -> None:
    proc = call(capsys, RTX, "--id", "5", "--seed", "4", "--compare", SUPPORTIVE)
    assert proc.returncode == 0, proc.stderr
    assert "Shared course (the same under rituximab_at_diagnosis, supportive_care)" in proc.stdout
    assert "--> The courses part at year" in proc.stdout
    assert "Under supportive_care:" in proc.stdout


def test_pick_says_which_patient_and_why(capsys) -> None:
    proc = call(capsys, TINY, "--pick", "fast-progressor", "--patients", "200")
    assert proc.returncode == 0, proc.stderr
    assert "Picked by --pick fast-progressor: of all patients, this one became disabled" in proc.stdout


def test_unknown_pick_names_the_option_and_the_allowed_values(capsys) -> None:
    assert_bad_input(
        call(capsys, TINY, "--pick", "slowest"), "--pick 'slowest'", "fast-progressor", "cidp-first"
    )


def test_id_beyond_the_cohort_names_the_option_and_the_range(capsys) -> None:
    assert_bad_input(call(capsys, TINY, "--id", "40", "--patients", "40"), "--id 40", "0 to 39")


def test_id_and_pick_together_are_refused(capsys) -> None:
    assert_bad_input(call(capsys, TINY, "--id", "1", "--pick", "transformation"), "--id or --pick")


def test_pick_with_no_matching_patient(capsys) -> None:
    """Supportive care gives no rituximab, so no patient can be a rituximab responder."""
    proc = call(capsys, TINY, "--pick", "rituximab-responder", "--patients", "50")
    assert_bad_input(proc, "no patient among the 50", "--pick rituximab-responder")


def test_compare_with_another_population_names_the_file_and_the_field(
    capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other_people.toml"
    other.write_text(
        f'extends = "{Path(RTX).as_posix()}"\nname = "other"\n[settings]\nstrategy = "other"\n'
        '[thresholds]\nwalking_aid = { value = 0.62, source = "structural" }\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(Path(RTX).parents[1])  # the first file named relative to here, the other absolute
    proc = call(capsys, f"{Path(RTX).parent.name}/{Path(RTX).name}", "--compare", str(other))
    assert_bad_input(proc, "--compare", str(other), "thresholds.walking_aid", "0.62", "natural history")
    assert "life_table" not in proc.stderr  # the same bundled table, named from another folder


def test_compare_file_that_does_not_exist(capsys, tmp_path: Path) -> None:
    assert_bad_input(call(capsys, TINY, "--compare", str(tmp_path / "missing.toml")), "missing.toml")


def test_non_empty_output_directory_is_refused_before_any_work(capsys, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine", encoding="utf-8")
    assert_bad_input(call(capsys, TINY, "--out", str(tmp_path)), "not empty", "--force")
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_console_script_reports_bad_input_without_traceback(antimag_exe: str) -> None:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [antimag_exe, "patient", TINY, "--pick", "nope"], capture_output=True, text=True, env=env, timeout=120
    )
    assert_bad_input(proc, "antimag patient: error: --pick 'nope'")
