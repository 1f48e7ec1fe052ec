"""sim/run/checkpoint.py: records answer only their own job, fingerprints name what changed, and an
interrupted one-way DSA resumed from its checkpoint gives the same tornado table."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

import sim
from analysis.dsa import one_way
from sim.run.checkpoint import Checkpoint, CheckpointError, Stage, checkpoint_dir, fingerprint_changes
from sim.scenario.loading import bundled_scenario_path


def test_a_record_is_returned_only_for_the_job_it_answers(tmp_path: Path) -> None:
    stage = Checkpoint.open(tmp_path / "out", {"seed": 1}, resume=False).stage("psa")
    result = [{"cost": 0.1 + 0.2, "n": 3, "nan": math.nan, "name": "a"}]
    stage.save(4, {"draw": 5}, result)
    back = stage.load(4, {"draw": 5})
    assert back[0]["cost"] == 0.1 + 0.2 and math.isnan(back[0]["nan"]) and back[0]["n"] == 3
    assert list(back[0]) == list(result[0])  # key order kept: table columns rebuild in the same order
    assert stage.load(4, {"draw": 6}) is None
    assert stage.load(5, {"draw": 5}) is None
    assert not list((tmp_path / ".out.checkpoint").glob("*.part"))


def test_fingerprint_changes_name_every_difference() -> None:
    old = {"options": {"--seed": 1, "--draws": 10}, "inputs": {"a": "x1"}}
    new = {"options": {"--seed": 2, "--draws": 10}, "inputs": {"a": "x1", "b": "y"}}
    assert fingerprint_changes(old, new) == ['inputs.b is new ("y")', "options.--seed was 1, now 2"]
    assert fingerprint_changes(old, old) == []


def test_open_refuses_an_existing_checkpoint_without_resume_and_a_changed_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    Checkpoint.open(out, {"seed": 1}, resume=False)
    assert checkpoint_dir(out) == tmp_path / ".out.checkpoint"
    with pytest.raises(CheckpointError, match="--resume"):
        Checkpoint.open(out, {"seed": 1}, resume=False)
    with pytest.raises(CheckpointError, match="seed was 1, now 2"):
        Checkpoint.open(out, {"seed": 2}, resume=True)
    assert Checkpoint.open(out, {"seed": 1}, resume=True).directory == checkpoint_dir(out)


def test_interrupted_one_way_dsa_resumes_to_the_same_table(tmp_path: Path, monkeypatch) -> None:
    def strategy(name: str) -> sim.Scenario:
        return sim.load_scenario(bundled_scenario_path(f"{name}.toml")).with_updates(
            {"settings.horizon_years": 10.0}
        )

    ref, alt = strategy("supportive_care"), strategy("rituximab_at_diagnosis")
    params = list(alt.uncertain_parameters())[:2]
    kwargs = dict(n_patients=10, seed=3, wtp=20000.0, parameters=params)
    expected = one_way(ref, alt, **kwargs)

    saved: list[int] = []
    original = Stage.save

    def save_then_stop(self, index, job, result):
        original(self, index, job, result)
        saved.append(index)
        if len(saved) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(Stage, "save", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        one_way(ref, alt, **kwargs, checkpoint=Checkpoint.open(tmp_path / "out", {"k": 1}, resume=False))
    monkeypatch.setattr(Stage, "save", original)
    assert len(list(checkpoint_dir(tmp_path / "out").glob("dsa-*.json"))) == 3
    resumed = one_way(ref, alt, **kwargs, checkpoint=Checkpoint.open(tmp_path / "out", {"k": 1}, resume=True))
    pd.testing.assert_frame_equal(resumed, expected, check_exact=True)
