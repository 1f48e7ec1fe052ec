"""Output safety (issue 10, item 4): the output location is checked before any work, ``--force`` replaces
only a directory this tool wrote, stale temporary folders are cleaned, SIGTERM is SIGINT, and worker
processes never outlive the command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.cli import main
from sim.cli.common import sigterm_as_interrupt
from sim.run.output import OutputDirError, atomic_output_dir, check_output_dir
from sim.run.pool import worker_pool
from sim.scenario.loading import bundled_scenario_path

TINY = str(bundled_scenario_path("tests/tiny.toml"))


def run_cli(capsys, *args: str) -> subprocess.CompletedProcess:
    try:
        status = main(list(args))
    except SystemExit as exc:
        status = exc.code
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, status, out.out, out.err)


def assert_bad(proc, *fragments: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, (fragment, proc.stderr)


def tool_output(directory: Path, files=("patients.csv",)) -> Path:
    directory.mkdir(parents=True)
    for name in files:
        (directory / name).write_text("x\n")
    listed = [*files, "metadata.json"]
    (directory / "metadata.json").write_text(json.dumps({"versions": {"antimag-sim": "0"}, "files": listed}))
    return directory


@pytest.mark.parametrize("out", ["/proc/forbidden", "/proc/forbidden/deeper"])
def test_an_unwritable_location_is_refused_before_the_run(capsys, out: str) -> None:
    """Once a traceback after the whole run; now exit 2 before anything is simulated (1e9 patients)."""
    proc = run_cli(capsys, "run", TINY, "--patients", "1000000000", "--out", out)
    assert_bad(proc, "cannot create")
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("out", "fragment"),
    [(".", "current"), ("X/..", "current"), ("X/../.", "current"), ("/", "root")],
)
def test_the_current_directory_is_never_replaced(capsys, tmp_path, monkeypatch, out, fragment) -> None:
    """``--out .`` and ``--out X/..`` with ``--force`` once failed after the run, leaving hidden results."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "X").mkdir()
    (tmp_path / "mine.txt").write_text("keep")
    proc = run_cli(capsys, "run", TINY, "--patients", "1000000000", "--out", out, "--force")
    assert_bad(proc, "--out", fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X", "mine.txt"]


def test_x_dotdot_elsewhere_is_its_parent(tmp_path: Path, monkeypatch) -> None:
    """``X/..`` outside the current directory names X's parent (normalised), never a folder called '..'."""
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "a" / "X" / ".."
    (tmp_path / "a" / "X").mkdir(parents=True)
    with pytest.raises(OutputDirError, match="not empty"):
        check_output_dir(target, force=False)


def test_force_refuses_a_directory_this_tool_did_not_write(capsys, tmp_path: Path) -> None:
    """``--force`` once deleted any directory; now it names the files it would have deleted."""
    foreign = tmp_path / "thesis"
    foreign.mkdir()
    for name in ("chapter1.docx", "data.csv"):
        (foreign / name).write_text("precious")
    proc = run_cli(capsys, "run", TINY, "--patients", "5", "--out", str(foreign), "--force")
    assert_bad(proc, "written by antimag", "chapter1.docx", "data.csv")
    assert (foreign / "chapter1.docx").read_text() == "precious"


def test_force_refuses_files_added_to_a_tool_directory(tmp_path: Path) -> None:
    """A file the user added to an output directory is not deleted by ``--force``: it is named."""
    out = tool_output(tmp_path / "out")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputDirError, match="notes.txt"):
        check_output_dir(out, force=True)


def test_force_replaces_a_directory_this_tool_wrote(tmp_path: Path) -> None:
    """A directory with this tool's metadata and only its listed files is replaced atomically."""
    out = tool_output(tmp_path / "out", files=("old.csv",))
    with atomic_output_dir(out, force=True) as tmp:
        (tmp / "new.csv").write_text("y\n")
    assert sorted(p.name for p in out.iterdir()) == ["new.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_run_then_force_rerun_end_to_end(capsys, tmp_path: Path) -> None:
    """``antimag run`` lists its files in its metadata, so a second run with ``--force`` replaces it."""
    out = tmp_path / "out"
    for _ in range(2):
        proc = run_cli(capsys, "run", TINY, "--patients", "60", "--out", str(out), "--force")
        assert proc.returncode == 0, proc.stderr
    assert "metadata.json" in json.loads((out / "metadata.json").read_text())["files"]


def test_stale_temporary_folders_of_dead_runs_are_removed(tmp_path: Path) -> None:
    """A killed run's ``.out.<pid>.*.tmp`` is removed when that process is gone; a live one's is kept."""
    code = "import os; print(os.getpid())"
    dead = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".out.{dead_pid}.abc123.tmp"
    live = tmp_path / f".out.{os.getppid()}.def456.tmp"
    other = tmp_path / ".other.1.x.tmp"
    for d in (stale, live, other):
        d.mkdir()
    check_output_dir(tmp_path / "out", force=False)
    assert not stale.exists()
    assert live.exists() and other.exists()


SLOW_RUN = (
    "import sys; from sim.cli import main; "
    "sys.exit(main(['run', {tiny!r}, '--patients', '200000', '--workers', '{workers}', '--out', {out!r}]))"
)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to list processes")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killing_a_run_with_workers_leaves_nothing_running(tmp_path: Path, sig: signal.Signals) -> None:
    """SIGTERM is handled as SIGINT (exit 130, no temporary folder); after SIGKILL too the workers end
    within seconds, and the next run removes the folder the killed one left."""
    out = tmp_path / "out"
    code = SLOW_RUN.format(tiny=TINY, workers=2, out=str(out))
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 2:
        time.sleep(0.2)
        workers = _children(proc.pid)
    assert len(workers) >= 2, "the run never started its workers"
    time.sleep(0.5)
    proc.send_signal(sig)
    status = proc.wait(timeout=30)
    stderr = proc.stderr.read()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.2)
    assert not any(_alive(w) for w in workers), "worker processes outlived the command"
    assert not out.exists()
    if sig == signal.SIGTERM:
        assert status == 130, stderr
        assert "Traceback" not in stderr
        assert not list(tmp_path.glob(".out.*"))
    else:
        assert list(tmp_path.glob(".out.*.tmp"))
        check_output_dir(out, force=False)
        assert not list(tmp_path.glob(".out.*"))


def test_sigterm_is_handled_as_an_interrupt() -> None:
    """Inside a command, SIGTERM raises KeyboardInterrupt (the SIGINT clean-up path); outside, as before."""
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), sigterm_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
    assert signal.getsignal(signal.SIGTERM) == before


def test_leaving_a_pool_on_an_exception_stops_its_workers() -> None:
    """Queued and running tasks are abandoned at once: the workers are gone, not left to finish."""
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt), worker_pool(2) as pool:
        futures = [pool.submit(time.sleep, 30) for _ in range(6)]
        workers = []
        while len(workers) < 2 and time.monotonic() - t0 < 20:
            time.sleep(0.05)
            workers = list(pool._processes.values())
        raise KeyboardInterrupt
    assert workers and not any(w.is_alive() for w in workers)
    # The pool's management thread marks the running tasks' futures broken once it sees their workers gone:
    # that happens after stop_pool returns, so allow it a moment (a loaded machine needs more than none),
    # far less than the 30 s the tasks would have run.
    settled = time.monotonic() + 10
    while not all(f.done() for f in futures) and time.monotonic() < settled:  # done() includes cancelled
        time.sleep(0.05)
    assert all(f.done() for f in futures)
    assert time.monotonic() - t0 < 25
