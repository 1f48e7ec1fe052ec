"""Running at scale: executors, streamed output, Dask, and progress that stays out of logs.

Results must not depend on where the work runs: one process, a process pool, any
``concurrent.futures.Executor`` or a Dask cluster give identical tables, and a run streamed block by
block to files writes exactly the bytes of the in-memory run.
"""

from __future__ import annotations

import io
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.run.executors import ordered_results
from sim.run.progress import progress_bar, show_progress
from sim.run.streaming import stream_run


@pytest.fixture(scope="module")
def scenario() -> sim.Scenario:
    return sim.load_scenario(sim.default_scenario_path())


def _square(shared: int, task: int) -> int:
    return shared + task * task


def test_ordered_results_keep_task_order_on_every_executor() -> None:
    tasks = list(range(40))
    expected = [100 + t * t for t in tasks]
    assert list(ordered_results(_square, tasks, 100)) == expected
    assert list(ordered_results(_square, tasks, 100, workers=2, window=3)) == expected
    with ThreadPoolExecutor(3) as pool:
        assert list(ordered_results(_square, tasks, 100, executor=pool, window=2)) == expected


def test_ordered_results_reject_an_object_that_is_no_executor() -> None:
    with pytest.raises(TypeError, match="concurrent.futures.Executor or a dask.distributed.Client"):
        list(ordered_results(_square, [1, 2], 0, executor=object()))


def test_a_thread_pool_gives_the_cohort_of_one_process(scenario) -> None:
    one = sim.simulate(scenario, n_patients=600, seed=2, keep_events=True)
    with ThreadPoolExecutor(2) as pool:
        other = sim.simulate(scenario, n_patients=600, seed=2, keep_events=True, executor=pool)
    pd.testing.assert_frame_equal(one.patients, other.patients, check_exact=True)
    pd.testing.assert_frame_equal(one.events, other.events, check_exact=True)
    pd.testing.assert_frame_equal(one.courses, other.courses, check_exact=True)


def test_streamed_csv_files_are_the_bytes_of_the_in_memory_run(scenario, tmp_path: Path) -> None:
    n = 700  # three blocks, the last one partial
    streamed = stream_run(scenario, tmp_path, n_patients=n, seed=5, keep_events=True, workers=2)
    memory = sim.simulate(scenario, n_patients=n, seed=5, keep_events=True)
    for name, frame in (
        ("patients", memory.patients),
        ("events", memory.events),
        ("courses", memory.courses),
    ):
        assert (tmp_path / f"{name}.csv").read_text() == frame.to_csv(index=False), name
    assert streamed.files == ["patients.csv", "events.csv", "courses.csv"]
    kept = memory.patients[list(streamed.summary_patients.columns)]
    pd.testing.assert_frame_equal(streamed.summary_patients, kept, check_exact=True, check_dtype=False)
    assert streamed.metadata == memory.metadata


def test_streamed_parquet_holds_the_in_memory_tables(scenario, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    stream_run(scenario, tmp_path, n_patients=600, seed=5, keep_events=True, fmt="parquet")
    memory = sim.simulate(scenario, n_patients=600, seed=5, keep_events=True)
    for name, frame in (
        ("patients", memory.patients),
        ("events", memory.events),
        ("courses", memory.courses),
    ):
        back = pd.read_parquet(tmp_path / f"{name}.parquet")
        assert list(back.columns) == list(frame.columns)
        # Same values; CSV text is the common ground of the two type systems (None vs NaN vs <NA>).
        assert back.to_csv(index=False) == frame.to_csv(index=False), name


def test_progress_is_silent_when_stderr_is_not_a_terminal(monkeypatch) -> None:
    fake = io.StringIO()
    monkeypatch.setattr(sys, "stderr", fake)
    assert not show_progress(True)
    with progress_bar(10, "patients", True, delay=0.0) as bar:
        bar.update(10)
    assert fake.getvalue() == ""


def test_progress_shows_the_time_left_on_a_terminal(monkeypatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    fake = Terminal()
    monkeypatch.setattr(sys, "stderr", fake)
    assert show_progress(True) and not show_progress(False)
    with progress_bar(10, "patients", True, delay=0.0) as bar:
        bar.update(5)
        bar.refresh()
    assert "5/10 patients" in fake.getvalue() and "left" in fake.getvalue()


def test_cli_run_with_redirected_stderr_writes_no_bar_text(tmp_path: Path, capfd) -> None:
    from sim.cli import main

    assert main(["run", "--patients", "300", "--out", str(tmp_path / "o")]) == 0
    assert capfd.readouterr().err == ""


def test_cli_run_parquet_and_csv_hold_the_same_patients(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    from sim.cli import main

    assert main(["run", "--patients", "300", "--seed", "3", "--out", str(tmp_path / "c")]) == 0
    assert (
        main(["run", "--patients", "300", "--seed", "3", "--format", "parquet", "--out", str(tmp_path / "p")])
        == 0
    )
    csv = pd.read_csv(tmp_path / "c" / "patients.csv")
    pq = pd.read_parquet(tmp_path / "p" / "patients.parquet")
    assert pq.to_csv(index=False) == csv.to_csv(index=False)
    assert (tmp_path / "c" / "summary.csv").read_bytes() == (tmp_path / "p" / "summary.csv").read_bytes()
    meta = json.loads((tmp_path / "p" / "metadata.json").read_text())
    assert meta["n_patients"] == 300


def test_cli_scheduler_and_dask_are_exclusive(capsys) -> None:
    from sim.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["run", "--dask", "--scheduler", "tcp://127.0.0.1:1", "--patients", "10"])
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_cli_unreachable_scheduler_is_bad_input(tmp_path: Path, capsys) -> None:
    pytest.importorskip("distributed")
    from sim.cli import main

    out = tmp_path / "o"
    code = main(["run", "--scheduler", "tcp://127.0.0.1:9", "--patients", "10", "--out", str(out)])
    assert code == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err
    assert not out.exists()


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_dask_gives_the_results_of_one_process(scenario, dask_client) -> None:
    from sim.trial import load_trial, simulate_trial

    one = sim.simulate(scenario, n_patients=600, seed=8, keep_events=True)
    on_dask = sim.simulate(scenario, n_patients=600, seed=8, keep_events=True, executor=dask_client)
    pd.testing.assert_frame_equal(one.patients, on_dask.patients, check_exact=True)
    pd.testing.assert_frame_equal(one.events, on_dask.events, check_exact=True)

    rtx = sim.load_scenario(Path(sim.default_scenario_path()).with_name("rituximab_at_diagnosis.toml"))
    psa_one = sim.run_psa([scenario, rtx], n_draws=3, n_patients=60, seed=2)
    psa_dask = sim.run_psa([scenario, rtx], n_draws=3, n_patients=60, seed=2, executor=dask_client)
    pd.testing.assert_frame_equal(psa_one, psa_dask, check_exact=True)

    trial = load_trial(Path(sim.default_scenario_path()).with_name("trials") / "dalakas2009.toml")
    t_one = simulate_trial(trial, replicates=3, seed=1)
    t_dask = simulate_trial(trial, replicates=3, seed=1, executor=dask_client)
    pd.testing.assert_frame_equal(t_one.replicates, t_dask.replicates, check_exact=True)


def test_dask_dsa_equals_the_local_dsa(scenario, dask_client) -> None:
    from analysis.dsa import one_way

    rtx = sim.load_scenario(Path(sim.default_scenario_path()).with_name("rituximab_at_diagnosis.toml"))
    params = ["treatments.rituximab.efficacy.p_response", "economics.costs.care_per_year_mrs3"]
    local = one_way(scenario, rtx, n_patients=40, seed=1, parameters=params)
    remote = one_way(scenario, rtx, n_patients=40, seed=1, parameters=params, executor=dask_client)
    pd.testing.assert_frame_equal(local, remote, check_exact=True)


def test_cli_commands_on_a_dask_scheduler_write_the_files_of_one_process(dask_client, tmp_path: Path) -> None:
    """Every checkpointed command (``psa``, ``compare --psa``, ``trial``) with ``--scheduler``: the same
    bytes as ``--workers 1``, and a checkpoint that can be resumed on either."""
    from sim.cli import main

    here = Path(sim.default_scenario_path()).parent
    two = [str(here / "supportive_care.toml"), str(here / "ivig_maintenance.toml")]
    commands = {
        "psa": ["psa", *two, "--draws", "3", "--patients", "40"],
        "compare": ["compare", *two, "--patients", "40", "--psa", "3"],
        "trial": ["trial", str(here / "trials" / "dalakas2009.toml"), "--replicates", "2"],
    }
    address = dask_client.scheduler.address
    for name, command in commands.items():
        local, remote = tmp_path / f"{name}-local", tmp_path / f"{name}-dask"
        assert main([*command, "--out", str(local)]) == 0, name
        assert main([*command, "--scheduler", address, "--out", str(remote)]) == 0, name
        written = sorted(p.name for p in local.iterdir() if p.suffix == ".csv")
        assert written, name
        for file in written:
            assert (local / file).read_bytes() == (remote / file).read_bytes(), f"{name}: {file}"
