"""Checkpoint and resume (F30): a long run killed with SIGKILL at some point and resumed with ``--resume``
writes byte-identical outputs to an uninterrupted run, whatever the point of the kill and the number of
workers; a resume of a changed run is refused with exit status 2 naming what changed.

The killed runs are subprocesses in their own process group (so their workers die with them), killed once
the checkpoint holds a given number of finished units. Cohorts are tiny so the default tests stay fast; a
randomized kill test over longer runs is marked slow.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main as antimag_main
from sim.run.checkpoint import Stage, checkpoint_dir
from sim.scenario.loading import bundled_scenario_path

ROOT = Path(__file__).resolve().parents[2]
LEGER = str(ROOT / "scenarios" / "trials" / "leger2013.toml")


def write_strategy(folder: Path, name: str, horizon: float = 20.0) -> str:
    path = folder / f"{name}.toml"
    parent = bundled_scenario_path(f"{name}.toml")
    path.write_text(f'extends = "{parent.as_posix()}"\n[settings]\nhorizon_years = {horizon}\n')
    return str(path)


@pytest.fixture()
def strategies(tmp_path: Path) -> list[str]:
    return [write_strategy(tmp_path, n) for n in ("supportive_care", "rituximab_at_diagnosis")]


def kill_when_recorded(argv: list[str], out: Path, stage: str, at_least: int, timeout: float = 240) -> int:
    """Run ``antimag argv`` and SIGKILL its process group once ``at_least`` units of ``stage`` are recorded.

    Returns how many were recorded at the kill; fails the test if the run ended first.
    """
    folder = checkpoint_dir(out)
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", *argv],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        start = time.monotonic()
        while proc.poll() is None and time.monotonic() - start < timeout:
            if len(list(folder.glob(f"{stage}-*.json"))) >= at_least:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            time.sleep(0.005)
        else:
            pytest.fail(f"the run ended (status {proc.returncode}) before it could be killed")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists(), "a killed run must leave no output directory"
    return len(list(folder.glob(f"{stage}-*.json")))


def same_files(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), f"{name} differs after the resume"


# --------------------------------------------------------------------------------------------- psa


def test_psa_killed_with_two_workers_resumes_to_identical_outputs(strategies, tmp_path: Path, capsys) -> None:
    """SIGKILL of a ``--workers 2`` PSA after a few draws; ``--resume`` with one worker completes it and
    every file equals the uninterrupted run's byte for byte; the checkpoint is gone afterwards."""
    argv = ["psa", *strategies, "--draws", "16", "--patients", "8", "--seed", "5"]
    full, resumed = tmp_path / "full", tmp_path / "resumed"
    assert antimag_main([*argv, "--out", str(full)]) == 0
    recorded = kill_when_recorded([*argv, "--workers", "2", "--out", str(resumed)], resumed, "psa", 3)
    assert 3 <= recorded < 16
    capsys.readouterr()
    assert antimag_main([*argv, "--out", str(resumed), "--resume"]) == 0
    same_files(full, resumed)
    assert not checkpoint_dir(resumed).exists()


def interrupt_after(monkeypatch, n: int) -> None:
    """Make the run stop (as Ctrl-C would) once ``n`` units are recorded: what a kill leaves behind, in
    process and so fast."""
    saved = []
    original = Stage.save

    def save(self, index, job, result):
        original(self, index, job, result)
        saved.append(index)
        if len(saved) >= n:
            raise KeyboardInterrupt

    monkeypatch.setattr(Stage, "save", save)


def test_resume_refuses_a_changed_seed_scenario_or_option(
    strategies, tmp_path: Path, capsys, monkeypatch
) -> None:
    """Exit 2 naming the change (seed, draws, a scenario's content); without --resume the recorded work is
    not thrown away silently either."""
    out = tmp_path / "out"
    argv = ["psa", *strategies, "--draws", "20", "--patients", "8", "--seed", "5", "--out", str(out)]
    with monkeypatch.context() as m:
        interrupt_after(m, 2)
        assert antimag_main(argv) == 130
    assert "--resume to continue" in capsys.readouterr().err
    assert len(list(checkpoint_dir(out).glob("psa-*.json"))) == 2 and not out.exists()

    assert antimag_main([*argv[:-2], "--seed", "6", "--out", str(out), "--resume"]) == 2
    err = capsys.readouterr().err
    assert "--seed was 5, now 6" in err and "Traceback" not in err

    changed = [*argv]
    changed[changed.index("--draws") + 1] = "21"
    assert antimag_main([*changed, "--resume"]) == 2
    assert "--draws was 20, now 21" in capsys.readouterr().err

    original = Path(strategies[1]).read_text()
    write_strategy(Path(strategies[1]).parent, "rituximab_at_diagnosis", horizon=19.0)
    assert antimag_main([*argv, "--resume"]) == 2
    assert "inputs (sha256).rituximab_at_diagnosis was" in capsys.readouterr().err
    Path(strategies[1]).write_text(original)

    assert antimag_main(argv) == 2
    assert "add --resume to continue" in capsys.readouterr().err
    assert checkpoint_dir(out).is_dir()

    # the original run resumes, with more workers
    assert antimag_main([*argv, "--resume", "--workers", "2"]) == 0
    assert out.is_dir() and not checkpoint_dir(out).exists()


def test_recorded_units_are_used_not_recomputed(strategies, tmp_path: Path, capsys, monkeypatch) -> None:
    """A resume reads the recorded draws: a recorded value altered on disk shows up in psa.csv (so the
    byte-identity of the other tests is not a recomputation of everything)."""
    out = tmp_path / "out"
    argv = ["psa", *strategies, "--draws", "4", "--patients", "8", "--seed", "5", "--out", str(out)]
    with monkeypatch.context() as m:
        interrupt_after(m, 1)
        assert antimag_main(argv) == 130
    (record,) = checkpoint_dir(out).glob("psa-*.json")
    data = json.loads(record.read_text())
    data["result"][0]["cost_disc"] = 123456.5
    record.write_text(json.dumps(data))
    assert antimag_main([*argv, "--resume"]) == 0
    psa = pd.read_csv(out / "psa.csv")
    assert (psa["cost_disc"] == 123456.5).sum() == 1


# --------------------------------------------------------------------------------------------- trial


def test_trial_killed_resumes_to_identical_outputs(tmp_path: Path, capsys) -> None:
    """The same for ``antimag trial``: killed (two workers) after some replicates, resumed with one."""
    argv = ["trial", LEGER, "--replicates", "6", "--seed", "2"]
    full, resumed = tmp_path / "full", tmp_path / "resumed"
    assert antimag_main([*argv, "--out", str(full)]) == 0
    recorded = kill_when_recorded([*argv, "--workers", "2", "--out", str(resumed)], resumed, "replicates", 2)
    assert recorded < 6
    capsys.readouterr()
    assert antimag_main([*argv, "--out", str(resumed), "--resume"]) == 0
    same_files(full, resumed)


def test_trial_resume_needs_an_output_directory(capsys) -> None:
    assert antimag_main(["trial", LEGER, "--replicates", "2", "--resume"]) == 2
    assert "--resume needs --out" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------- slow


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(6))
def test_randomized_kills_of_psa_and_compare_resume_to_identical_outputs(
    strategies, tmp_path: Path, capsys, trial: int
) -> None:
    """Kills at random points (one to three times in a row), with one or two workers, of ``psa`` and of
    ``compare --psa --dsa``; the resumed outputs equal the uninterrupted run's."""
    rng = random.Random(trial)
    if trial % 2 == 0:
        argv = ["psa", *strategies, "--draws", "60", "--patients", "20", "--seed", str(trial)]
        stage, total = "psa", 60
    else:
        argv = ["compare", *strategies, "--patients", "20", "--psa", "6", "--dsa", "2", "--seed", str(trial)]
        stage, total = "dsa-screen", 100
    full, resumed = tmp_path / "full", tmp_path / "resumed"
    assert antimag_main([*argv, "--out", str(full)]) == 0
    done = 0
    for kill in range(rng.randint(1, 3)):
        workers = rng.choice(["1", "2"])
        extra = ["--resume"] if kill else []
        at = min(total - 2, done + rng.randint(1, 12))
        done = kill_when_recorded(
            [*argv, "--workers", workers, "--out", str(resumed), *extra], resumed, stage, at
        )
    capsys.readouterr()
    assert antimag_main([*argv, "--workers", rng.choice(["1", "2"]), "--out", str(resumed), "--resume"]) == 0
    same_files(full, resumed)
