"""Bad scenario and trial files that once escaped as tracebacks or blamed the wrong file: each is now exit
status 2 with a message naming the file, the field and what is allowed (issue 10, items 1-3)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import sim
from sim.cli import main
from sim.scenario.loading import bundled_scenario_path

TINY = bundled_scenario_path("tests/tiny.toml").as_posix()
TRIALS = sorted(Path(bundled_scenario_path("trials/leger2013.toml")).parent.glob("*.toml"))


def check(capsys: pytest.CaptureFixture, path: Path) -> subprocess.CompletedProcess:
    try:
        status = main(["check", str(path)])
    except SystemExit as exc:
        status = exc.code
    out = capsys.readouterr()
    return subprocess.CompletedProcess(["antimag", "check", str(path)], status, out.out, out.err)


def assert_bad(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, (fragment, proc.stderr)


def child(tmp_path: Path, body: str, name: str = "child.toml") -> Path:
    path = tmp_path / name
    path.write_text(f'extends = "{TINY}"\n{body}')
    return path


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        ("x = " + "[" * 1000 + "]" * 1000 + "\n", ("nested too deeply",)),
        ("x = " + "{a=" * 1000 + "1" + "}" * 1000 + "\n", ("nested too deeply",)),
        ("x = " + "[" * 40 + "]" * 40 + "\n", ("nested more than 32 levels", "'x[0]")),
        (
            '[population]\np_male = { value = 0.5, dist = "beta", sd = 1e300, source = "x" }\n',
            ("population.p_male", "sd = 1e+300", "times |value|"),
        ),
        (
            '[population]\np_male = { value = 0.5, dist = "beta", sd = 5e-324, source = "x" }\n',
            ("population.p_male", "sd = 5e-324"),
        ),
        (
            '[population]\np_male = { value = 0.5, dist = "beta", alpha = 1e300, beta = 1e300, '
            'source = "x" }\n',
            ("population.p_male", "cannot be computed"),
        ),
        ("[settings]\nhorizon_years = " + "9" * 400 + "\n", ("settings.horizon_years", "<= 200", "lifetime")),
        ("[settings]\nhorizon_years = 1e300\n", ("settings.horizon_years", "<= 200")),
        ("[settings]\nstrategy = { a = 1 }\n", ("settings.strategy", "got a table")),
    ],
    ids=[
        "deep-arrays",
        "deep-tables",
        "deep-but-parsable",
        "beta-sd-huge",
        "beta-sd-subnormal",
        "beta-shape-huge",
        "horizon-huge-int",
        "horizon-huge-float",
        "table-for-scalar",
    ],
)
def test_malformed_values_are_one_clear_error(capsys, tmp_path: Path, body: str, fragments) -> None:
    """Each once raised RecursionError, OverflowError or ZeroDivisionError; now exit 2 naming the child."""
    path = child(tmp_path, body)
    assert_bad(check(capsys, path), f"in {path}", *fragments)


def test_a_cross_field_error_in_a_child_names_the_child(capsys, tmp_path: Path) -> None:
    """The rule min < mean < max broken by the child is blamed on the child, not on its parent."""
    path = child(tmp_path, '[population]\nage_onset_min = { value = 90, source = "x" }\n')
    proc = check(capsys, path)
    assert_bad(proc, f"in {path}", "'population'", "age_onset_min < age_onset_mean")
    assert "natural_history.toml" not in proc.stderr


def test_a_table_where_a_scalar_belongs_names_the_child(capsys, tmp_path: Path) -> None:
    """The parent set ``settings.strategy``; the child's table replaces it and the error is the child's."""
    proc = check(capsys, child(tmp_path, "[settings]\nstrategy = { a = 1 }\n"))
    assert_bad(proc, "child.toml", "settings.strategy")
    assert "tiny.toml" not in proc.stderr


@pytest.mark.parametrize(
    ("extends", "fragment"),
    [
        ("a" * 5000 + ".toml", "cannot be opened (File name too long)"),
        ("/dev/zero", "not a regular file"),
        (".", "not a regular file"),
        ("missing.toml", "does not exist"),
    ],
    ids=["name-too-long", "device", "directory", "missing"],
)
def test_extends_must_name_a_regular_file(capsys, tmp_path: Path, extends: str, fragment: str) -> None:
    """``extends`` naming a device, a directory or an impossible name is refused before reading it."""
    path = tmp_path / "child.toml"
    path.write_text(f'extends = "{extends}"\nname = "x"\n')
    assert_bad(check(capsys, path), f"in {path}", "'extends'", fragment)


def test_a_scenario_larger_than_the_limit_is_refused(capsys, tmp_path: Path) -> None:
    """The size limit is checked before reading: a 2 MB file of comments is refused with the limit."""
    path = tmp_path / "big.toml"
    path.write_text(f'extends = "{TINY}"\n' + ("# padding\n" * 200_000))
    assert_bad(check(capsys, path), str(path), "at most 1,048,576")


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ("/dev/zero", "not a regular file"),
        (None, "rate > 0 at its last age"),
        ("garbage", "lacks column"),
        ("nonnumeric", "numbers only"),
    ],
    ids=["device", "zero-last-rate", "no-columns", "text"],
)
def test_check_reads_the_life_table(capsys, tmp_path: Path, table: str | None, fragment: str) -> None:
    """``check`` validates the life table that ``run`` would read; errors name the scenario and the table."""
    contents = {
        None: "Age,Female,Male\n0,0.01,0.01\n1,0.02,0.0\n",
        "garbage": "a,b\n1,2\n",
        "nonnumeric": "Age,Female,Male\n0,x,y\n",
    }
    if table in contents:
        (tmp_path / "table.csv").write_text(contents[table])
        table = "table.csv"
    elif table is None:
        (tmp_path / "table.csv").write_text(contents[None])
        table = "table.csv"
    path = child(tmp_path, f'[settings]\nstrategy = "s"\nhorizon_years = 10\nlife_table = "{table}"\n')
    assert_bad(check(capsys, path), f"in {path}", "settings.life_table", fragment)


def test_every_bundled_trial_file_checks(capsys) -> None:
    """``check`` recognises a trial file and validates it with its arms (it once listed 17 bogus problems)."""
    assert TRIALS
    for path in TRIALS:
        proc = check(capsys, path)
        assert proc.returncode == 0, proc.stderr
        assert f"valid trial '{path.stem}'" in proc.stdout


def test_check_of_a_trial_with_a_bad_arm_names_the_arm(capsys, tmp_path: Path) -> None:
    """A trial whose arm scenario is invalid is bad input naming the arm's file."""
    trial = Path(TRIALS[0])
    text = trial.read_text()
    arm = tmp_path / "arm.toml"
    arm.write_text(f'extends = "{TINY}"\n[population]\np_male = {{ value = 2.0, source = "x" }}\n')
    first_arm = text.split('scenario = "')[1].split('"')[0]
    bad = tmp_path / "trial.toml"
    bad.write_text(text.replace(f'scenario = "{first_arm}"', f'scenario = "{arm.as_posix()}"'))
    assert_bad(check(capsys, bad), str(arm), "population.p_male")


def test_domain_limits_of_intervals_are_rejected_at_load(tmp_path: Path) -> None:
    """A value that would make renewals or infusions run on without end is refused with the reason."""
    base = sim.load_scenario(TINY)
    for dotted, value, fragment in [
        ("treatments.walker.replacement_years", 1e-300, "renewed more often than four times a year"),
        ("treatments.ivig.maintenance_interval_weeks", 1e-3, "more often than weekly"),
        ("treatments.ivig.max_years", 1e6, "longest horizon"),
    ]:
        if dotted.split(".")[1] not in base.model.treatments:
            pytest.skip(f"the bundled scenario has no {dotted.split('.')[1]}")
        with pytest.raises(sim.ScenarioError, match=fragment) as info:
            base.with_updates({dotted: {"value": value, "source": "x"}})
        assert info.value.field == dotted


def test_an_extreme_log_scale_spread_is_rejected_at_load() -> None:
    """A log-normal spread so wide that a patient's progression rate overflows to infinity (found by the
    standing fuzz run: ``rate_slow_sigma = 1e6`` was accepted, then failed in the simulation) is refused
    when the file is loaded, naming the field and the reason."""
    base = sim.load_scenario(TINY)
    for dotted in (
        "progression.rate_slow_sigma",
        "progression.rate_fast_sigma",
        "diagnosis.cidp_relabel_sigma",
    ):
        with pytest.raises(sim.ScenarioError, match="overflow to infinity") as info:
            base.with_updates({dotted: {"value": 1e6, "source": "x"}})
        assert info.value.field == dotted


def test_a_lifetime_needs_mortality_in_every_draw() -> None:
    """A lifetime horizon with a tiny mortality multiplier (or one a PSA draw can make tiny) never ends."""
    base = sim.load_scenario(sim.default_scenario_path())
    for multiplier in (
        {"value": 1e-300, "source": "x"},
        {"value": 0.5, "dist": "uniform", "low": 0.0, "high": 1.0, "source": "x"},
    ):
        with pytest.raises(sim.ScenarioError, match="lifetime' needs mortality.background_rate_multiplier"):
            base.with_updates({"mortality.background_rate_multiplier": multiplier})


def test_the_event_budget_stops_a_runaway_patient(monkeypatch) -> None:
    """Second line of defence: a patient exceeding the budget stops the run with an error naming the
    patient, the draw, the seed and the parameters behind the most frequent events."""
    import sim.model.process as process

    scenario = sim.load_scenario(bundled_scenario_path("current_practice.toml"))
    monkeypatch.setattr(process, "EVENT_BUDGET", 20)  # low enough to stop a treated patient on their courses
    with pytest.raises(sim.SimulationError) as info:
        sim.simulate(scenario, n_patients=200, seed=7, draw=0)
    message = str(info.value)
    for fragment in ("patient ", "exceeded the budget of 20", "draw 0", "seed 7", "parameters that set"):
        assert fragment in message, message
    assert "treatments." in message, message


def test_an_extreme_rate_ratio_per_decade_is_rejected_at_load() -> None:
    """The onset-age factor raises this ratio to the power of the decades from 60 (the standing fuzz run
    found a value that overflowed it): refused at load, naming the field and the reason."""
    base = sim.load_scenario(TINY)
    dotted = "progression.rate_ratio_per_decade_of_onset_age"
    for extreme in (1e6, 3.5e-200):  # the second was found by the property tests
        with pytest.raises(sim.ScenarioError, match="overflows the progression rate") as info:
            base.with_updates({dotted: {"value": extreme, "source": "x"}})
        assert info.value.field == dotted
    base.with_updates({dotted: {"value": 1.5, "source": "x"}})  # a large but possible ratio is accepted
