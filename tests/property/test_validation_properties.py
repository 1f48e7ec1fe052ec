"""Input validation over generated malformed scenarios (invariants E27–E29).

Every scenario drawn by :func:`sim.testing.malformed_scenario_dicts` has exactly one defect; loading it must
raise :class:`sim.ScenarioError` naming the file and the dotted field path, with the offending key, value or
allowed range in the message, and the command line must exit with status 2 and no traceback.
"""

from __future__ import annotations

import contextlib
import copy
import io
import itertools
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.cli import main as antimag
from sim.testing import (
    DEFECTS,
    NATURAL_HISTORY_SECTIONS,
    MalformedScenario,
    malformed_scenario_dicts,
    parameter_kind,
    scenario_to_toml,
    valid_scenarios,
)

#: Each defect kind gets a share of the profile's examples (validating a scenario takes ~0.1 s).
PER_DEFECT = settings(max_examples=max(5, settings().max_examples // 3))
_counter = itertools.count()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("malformed")


def write_scenario(workdir: Path, data: dict, text: str | None = None) -> Path:
    path = workdir / f"scenario_{next(_counter)}.toml"
    path.write_text(scenario_to_toml(data) if text is None else text, encoding="utf-8")
    return path


def check_error(err: sim.ScenarioError, malformed: MalformedScenario, file: str) -> None:
    message = str(err)
    assert err.file == file, message
    assert err.field == malformed.field, message
    assert file in message
    if malformed.field:
        assert f"'{malformed.field}'" in message
    for fragment in malformed.expect:
        assert fragment in message, (fragment, message)
    assert "problems" not in message, "one defect must be reported as one problem"


@pytest.mark.parametrize("defect", DEFECTS)
@PER_DEFECT
@given(data=st.data())
def test_e27_malformed_file_raises_scenario_error_naming_file_and_field(
    defect: str, data: st.DataObject, workdir: Path
) -> None:
    """A file with one defect raises ScenarioError with the file, the dotted field and what is wrong."""
    malformed = data.draw(malformed_scenario_dicts(defects=[defect]))
    path = write_scenario(workdir, malformed.data)
    assert (
        tomllib.loads(path.read_text(encoding="utf-8")) == malformed.data
        or malformed.defect == "out_of_range"
    )
    with pytest.raises(sim.ScenarioError) as info:
        sim.load_scenario(path)
    check_error(info.value, malformed, str(path))


@settings(max_examples=max(5, settings().max_examples // 2))
@given(malformed=malformed_scenario_dicts())
def test_e27_malformed_dict_raises_scenario_error(malformed: MalformedScenario) -> None:
    """The same defects given as a dictionary are reported under the name given for it."""
    with pytest.raises(sim.ScenarioError) as info:
        sim.scenario_from_dict(malformed.data, name="generated.toml")
    check_error(info.value, malformed, "generated.toml")


@settings(max_examples=max(5, settings().max_examples // 3))
@given(malformed=malformed_scenario_dicts())
def test_e27_check_command_exits_2_with_the_field_and_no_traceback(
    malformed: MalformedScenario, workdir: Path
) -> None:
    """``antimag check`` on a malformed file exits with status 2 and a one-paragraph message with the key."""
    path = write_scenario(workdir, malformed.data)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = antimag(["check", str(path)])
    assert status == 2
    message = err.getvalue()
    assert message.startswith("antimag check: error:")
    assert str(path) in message
    assert malformed.field.rsplit(".", 1)[-1] in message
    assert "Traceback" not in message and out.getvalue() == ""


# --------------------------------------------------------------------------- corrupted TOML


@pytest.fixture(scope="module")
def default_text() -> str:
    return sim.default_scenario_path().read_text(encoding="utf-8")


@st.composite
def corruptions(draw: st.DrawFn, text: str) -> str:
    """The default file cut short, with a line dropped or doubled, or with junk inserted."""
    how = draw(st.sampled_from(["truncate", "drop_line", "double_line", "insert"]))
    lines = text.splitlines(keepends=True)
    if how == "truncate":
        return text[: draw(st.integers(0, len(text) - 1))]
    if how in ("drop_line", "double_line"):
        candidates = [i for i, line in enumerate(lines) if "=" in line and not line.lstrip().startswith("#")]
        i = draw(st.sampled_from(candidates))
        return "".join(lines[:i] + ([] if how == "drop_line" else [lines[i], lines[i]]) + lines[i + 1 :])
    junk = draw(st.sampled_from(["[", "]", "=", '"', "{", "}", ",", "x = ", "\n[population]\n", "\x00", "é"]))
    at = draw(st.integers(0, len(text)))
    return text[:at] + junk + text[at:]


@settings(max_examples=max(5, settings().max_examples // 2))
@given(data=st.data())
def test_e27_corrupted_toml_is_a_scenario_error_or_still_valid(
    data: st.DataObject, default_text: str, workdir: Path
) -> None:
    """A corrupted file either still validates or raises ScenarioError naming it — never another exception."""
    text = data.draw(corruptions(default_text))
    path = write_scenario(workdir, {}, text=text)
    try:
        sim.load_scenario(path)
    except sim.ScenarioError as err:
        assert err.file == str(path)
        assert str(path) in str(err)


def test_e27_truncated_file_is_reported() -> None:
    """The control for the corruption property: cutting the default in half is an error."""
    text = sim.default_scenario_path().read_text(encoding="utf-8")
    with contextlib.ExitStack() as stack:
        import tempfile

        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        path = tmp / "half.toml"
        path.write_text(text[: len(text) // 2], encoding="utf-8")
        with pytest.raises(sim.ScenarioError) as info:
            sim.load_scenario(path)
        assert info.value.file == str(path)


# --------------------------------------------------------------------------- E28, E29 by example


@pytest.mark.parametrize(
    ("section", "key"),
    [
        (None, "discout_rate"),
        ("settings", "discout_rate"),
        ("settings", "horizon_year"),
        ("population", "p_mal"),
        ("strategy", "stop_on_adverse_events"),
    ],
)
def test_e28_misspelt_keys_are_rejected(
    default_scenario: sim.Scenario, section: str | None, key: str
) -> None:
    """A typo (``discout_rate``) is an error naming the key and listing the allowed ones, never ignored."""
    data = copy.deepcopy(default_scenario.data)
    if section is not None and section not in data:
        pytest.skip(f"the default scenario has no [{section}]")
    (data if section is None else data[section])[key] = 0.035
    with pytest.raises(sim.ScenarioError) as info:
        sim.scenario_from_dict(data, name="typo.toml")
    field = key if section is None else f"{section}.{key}"
    assert info.value.field == field
    assert f"unknown key '{key}'" in str(info.value)
    assert "allowed keys here" in str(info.value)


def test_e28_unknown_key_in_economics_lists_the_allowed_keys(default_scenario: sim.Scenario) -> None:
    """A typo in [economics] (``discout_rate_costs``) lists the keys allowed there, like every other table."""
    data = copy.deepcopy(default_scenario.data)
    if "economics" not in data:
        pytest.skip("the default scenario has no [economics]")
    data["economics"]["discout_rate_costs"] = 0.035
    with pytest.raises(sim.ScenarioError) as info:
        sim.scenario_from_dict(data, name="typo.toml")
    assert info.value.field == "economics.discout_rate_costs"
    assert "allowed keys here" in str(info.value) and "discount_rate_costs" in str(info.value)


@pytest.mark.parametrize(
    ("path", "table", "fragments"),
    [
        ("population.p_male", {"value": 1.2, "source": "x"}, ("value 1.2", "[0, 1]")),
        ("symptoms.p_tremor", {"value": -0.01, "source": "x"}, ("value -0.01", "[0, 1]")),
        ("malignancy.rate_per_year_at_1g_dl", {"value": -0.02, "source": "x"}, ("value -0.02", "[0, inf)")),
        ("progression.rate_slow_median_per_year", {"value": 0.0, "source": "x"}, ("value 0.0", "(0, inf)")),
        ("population.age_onset_max", {"value": 130.0, "source": "x"}, ("value 130.0", "[0, 110]")),
        (
            "population.p_male",
            {"value": 0.9, "dist": "uniform", "low": 0.7, "high": 1.1, "source": "x"},
            ("[0.7, 1.1]", "[0, 1]"),
        ),
        (
            "population.p_male",
            {"value": 0.5, "dist": "beta", "sd": 0.6, "source": "x"},
            ("sd 0.6", "value 0.5"),
        ),
        ("population.p_male", {"value": 0.5, "dist": "gamma", "sd": 0.1, "source": "x"}, ("'gamma'", "beta")),
        (
            "diagnosis.referral_wait_mean_years",
            {"value": 0.5, "dist": "gamma", "shape": 2.0, "scale": 1.0, "source": "x"},
            ("value 0.5", "mean 2"),
        ),
    ],
)
def test_e29_domain_errors_quote_the_value_and_the_allowed_range(
    default_scenario: sim.Scenario, path: str, table: dict, fragments: tuple[str, ...]
) -> None:
    """Probabilities outside [0, 1], negative rates, bad distributions: the error quotes value and range."""
    data = copy.deepcopy(default_scenario.data)
    section, name = path.split(".")
    data[section][name] = table
    with pytest.raises(sim.ScenarioError) as info:
        sim.scenario_from_dict(data, name="domain.toml")
    assert info.value.field == path
    for fragment in fragments:
        assert fragment in str(info.value)


@pytest.mark.parametrize("bad", [0.0, -5.0, float("inf"), float("nan")])
def test_e29_horizon_must_be_positive_and_finite(default_scenario: sim.Scenario, bad: float) -> None:
    """A horizon that is not > 0 and finite is rejected, quoting it."""
    data = copy.deepcopy(default_scenario.data)
    data["settings"]["horizon_years"] = bad
    with pytest.raises(sim.ScenarioError, match="> 0") as info:
        sim.scenario_from_dict(data, name="h.toml")
    assert info.value.field == "settings.horizon_years"
    assert f"got {bad}" in str(info.value)


# --------------------------------------------------------------------------- the generators themselves


@settings(max_examples=max(5, settings().max_examples // 2))
@given(scenario=valid_scenarios(max_changes=3))
def test_valid_scenarios_move_few_parameters_inside_their_domain(scenario: sim.Scenario) -> None:
    """sim.testing.valid_scenarios changes at most 3 natural-history parameters, each inside its kind."""
    changed = {p: v for p, v in scenario.parameters().items() if v.source == "hypothesis"}
    assert len(changed) <= 3
    for path, param in changed.items():
        assert path.split(".")[0] in NATURAL_HISTORY_SECTIONS
        assert param.dist == "fixed"
        kind = parameter_kind(scenario, path)
        assert kind is not None and kind.contains(param.value), (path, param.value)
    horizon = scenario.model.settings.horizon_years
    assert horizon == "lifetime" or 0.5 <= horizon <= 40.0


@settings(max_examples=1)
@given(data=st.data())
def test_malformed_generator_rejects_unknown_defects(data: st.DataObject) -> None:
    """Asking for a defect kind that does not exist is a usage error of the strategy."""
    with pytest.raises(ValueError, match="unknown defect"):
        data.draw(malformed_scenario_dicts(defects=["typo"]))
