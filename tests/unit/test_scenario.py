"""Scenario files: loading, ``extends`` layering, validation errors that name the file and the field."""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace

import pytest

import sim
from sim.scenario.loading import MAX_EXTENDS_DEPTH, _to_values, bundled_scenario_path
from sim.testing import scenario_to_toml

DEFAULT = sim.default_scenario_path()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def child_of_default(tmp_path: Path, body: str, name: str = "child.toml") -> Path:
    """A scenario file that extends the bundled default by absolute path."""
    return write(tmp_path / name, f'extends = "{DEFAULT.as_posix()}"\nname = "child"\n{body}')


# --------------------------------------------------------------------------- bundled scenarios


def test_default_scenario_loads_with_a_source_for_every_parameter(default_scenario: sim.Scenario) -> None:
    """The bundled default validates, and every one of its parameters names a source."""
    params = default_scenario.parameters()
    assert "population.p_male" in params and "thresholds.disabled" in params
    assert all(p.source.strip() for p in params.values())
    assert default_scenario.model.settings.horizon_years == "lifetime"


def test_tiny_scenario_inherits_everything_but_what_it_names(
    tiny_scenario: sim.Scenario, default_scenario: sim.Scenario
) -> None:
    """tiny.toml overrides name and horizon; every parameter comes from the default, with its origin."""
    assert tiny_scenario.name == "tiny"
    assert tiny_scenario.model.settings.horizon_years == 20.0
    assert tiny_scenario.parameters() == default_scenario.parameters()
    assert Path(tiny_scenario.origins["population.p_male"]).name == "natural_history.toml"
    assert Path(tiny_scenario.origins["settings.horizon_years"]).name == "tiny.toml"
    assert tiny_scenario.sha256 != default_scenario.sha256


def test_bundled_path_points_at_the_test_fixture() -> None:
    """``bundled_scenario_path`` finds scenarios shipped with the package."""
    path = bundled_scenario_path("tests/tiny.toml")
    assert path.is_file() and path.name == "tiny.toml"


# --------------------------------------------------------------------------- layering


def test_child_replaces_a_whole_parameter_table(tmp_path: Path, default_scenario: sim.Scenario) -> None:
    """A child's parameter table replaces the parent's whole table: no alpha/beta is inherited."""
    parent = default_scenario.model.population.p_male
    assert parent.dist == "beta"
    path = child_of_default(tmp_path, '[population]\np_male = { value = 0.5, source = "child" }\n')
    child = sim.load_scenario(path)
    p_male = child.model.population.p_male
    assert (p_male.value, p_male.dist, p_male.alpha, p_male.beta, p_male.source) == (
        0.5,
        "fixed",
        None,
        None,
        "child",
    )
    assert child.origins["population.p_male"] == str(path)


def test_child_merges_sections_key_by_key(tmp_path: Path, default_scenario: sim.Scenario) -> None:
    """Overriding one parameter of a section keeps the parent's other parameters of that section."""
    path = child_of_default(tmp_path, '[population]\np_male = { value = 0.5, source = "child" }\n')
    child = sim.load_scenario(path)
    assert child.model.population.p_titre_low == default_scenario.model.population.p_titre_low
    assert child.model.progression == default_scenario.model.progression
    assert Path(child.origins["population.p_titre_low"]).name == "natural_history.toml"


def test_child_writing_only_a_value_must_give_the_source(tmp_path: Path) -> None:
    """Writing ``p_male.value`` alone replaces the table, so its missing source is reported in the child."""
    path = child_of_default(tmp_path, "[population]\np_male.value = 0.5\n")
    with pytest.raises(sim.ScenarioError) as info:
        sim.load_scenario(path)
    assert info.value.field == "population.p_male.source"
    assert info.value.file == str(path)
    assert "required" in str(info.value)


def test_three_level_chain_takes_the_nearest_value(tmp_path: Path) -> None:
    """With grandparent → parent → child, each value comes from the nearest file that writes it."""
    mid = child_of_default(tmp_path, '[settings]\nstrategy = "mid"\nhorizon_years = 10.0\n', "mid.toml")
    leaf = write(tmp_path / "sub" / "leaf.toml", 'extends = "../mid.toml"\n[settings]\nhorizon_years = 5.0\n')
    scenario = sim.load_scenario(leaf)
    assert scenario.model.settings.horizon_years == 5.0
    assert scenario.strategy == "mid"
    assert scenario.name == "child"
    assert Path(scenario.origins["settings.strategy"]).resolve() == mid.resolve()


def test_extends_cycle_is_reported(tmp_path: Path) -> None:
    """Two files extending each other are an error naming 'extends' and the cycle, not a recursion crash."""
    write(tmp_path / "a.toml", 'extends = "b.toml"\nname = "a"\n')
    write(tmp_path / "b.toml", 'extends = "a.toml"\nname = "b"\n')
    with pytest.raises(sim.ScenarioError, match="cycle") as info:
        sim.load_scenario(tmp_path / "a.toml")
    assert info.value.field == "extends"
    assert "a.toml" in str(info.value) and "b.toml" in str(info.value)


def test_file_extending_itself_is_a_cycle(tmp_path: Path) -> None:
    """A file naming itself in ``extends`` is a cycle."""
    write(tmp_path / "self.toml", 'extends = "self.toml"\nname = "x"\n')
    with pytest.raises(sim.ScenarioError, match="cycle"):
        sim.load_scenario(tmp_path / "self.toml")


def test_too_deep_extends_chain_is_reported(tmp_path: Path) -> None:
    """A chain of ``extends`` longer than the limit is an error, not a slow crawl."""
    n = MAX_EXTENDS_DEPTH + 3
    write(tmp_path / "s0.toml", f'extends = "{DEFAULT.as_posix()}"\n')
    for i in range(1, n):
        write(tmp_path / f"s{i}.toml", f'extends = "s{i - 1}.toml"\n')
    with pytest.raises(sim.ScenarioError, match="deeper than"):
        sim.load_scenario(tmp_path / f"s{n - 1}.toml")


def test_extends_missing_parent_names_the_child(tmp_path: Path) -> None:
    """A parent that does not exist is reported in the child file, at 'extends'."""
    path = write(tmp_path / "orphan.toml", 'extends = "nowhere.toml"\nname = "x"\n')
    with pytest.raises(sim.ScenarioError, match="nowhere.toml") as info:
        sim.load_scenario(path)
    assert (info.value.file, info.value.field) == (str(path), "extends")


def test_extends_must_be_a_string(tmp_path: Path) -> None:
    """``extends = 3`` is an error at 'extends'."""
    path = write(tmp_path / "bad.toml", 'extends = 3\nname = "x"\n')
    with pytest.raises(sim.ScenarioError) as info:
        sim.load_scenario(path)
    assert info.value.field == "extends"


def test_error_in_the_parent_names_the_parent_file(tmp_path: Path) -> None:
    """A bad value inherited from a parent is reported in the parent, where it must be fixed."""
    data = copy.deepcopy(sim.load_scenario(DEFAULT).data)
    data["population"]["p_male"] = {"value": 1.5, "source": "typo"}
    parent = write(tmp_path / "parent.toml", scenario_to_toml(data))
    child = write(tmp_path / "child.toml", 'extends = "parent.toml"\nname = "child"\n')
    with pytest.raises(sim.ScenarioError) as info:
        sim.load_scenario(child)
    assert info.value.file == str(parent)
    assert info.value.field == "population.p_male"


# --------------------------------------------------------------------------- unreadable files


def test_missing_file_is_reported_with_its_name(tmp_path: Path) -> None:
    """Loading a file that does not exist raises ScenarioError naming it."""
    path = tmp_path / "missing.toml"
    with pytest.raises(sim.ScenarioError, match="not found") as info:
        sim.load_scenario(path)
    assert info.value.file == str(path)
    assert isinstance(info.value, ValueError)


def test_directory_is_not_a_scenario(tmp_path: Path) -> None:
    """A directory given as the scenario is reported as such."""
    with pytest.raises(sim.ScenarioError, match="directory"):
        sim.load_scenario(tmp_path)


@pytest.mark.parametrize(
    "text",
    ['name = "x\n', "name = \n", "[settings\nstrategy = 1\n", "a = 1\na = 2\n", "p = { value = 0.5, }\n"],
)
def test_bad_toml_names_the_file(tmp_path: Path, text: str) -> None:
    """Text that is not TOML raises ScenarioError naming the file and the parse problem."""
    path = write(tmp_path / "broken.toml", text)
    with pytest.raises(sim.ScenarioError, match="not valid TOML") as info:
        sim.load_scenario(path)
    assert info.value.file == str(path)
    assert str(path) in str(info.value)


def test_non_utf8_file_is_reported(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 raise ScenarioError, not UnicodeDecodeError."""
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "Ström"\n'.encode("latin-1"))
    with pytest.raises(sim.ScenarioError) as info:
        sim.load_scenario(path)
    assert info.value.file == str(path)


# --------------------------------------------------------------------------- validation messages


def test_error_names_file_field_value_and_allowed_range(tmp_path: Path) -> None:
    """An out-of-range value is reported with the file, the dotted field path, the value and the range."""
    path = child_of_default(tmp_path, '[population]\np_male = { value = 1.5, source = "typo" }\n')
    with pytest.raises(sim.ScenarioError) as info:
        sim.load_scenario(path)
    err = info.value
    assert (err.file, err.field) == (str(path), "population.p_male")
    message = str(err)
    assert str(path) in message and "population.p_male" in message
    assert "1.5" in message and "[0, 1]" in message


def test_unknown_key_lists_the_allowed_keys(tmp_path: Path) -> None:
    """A misspelt key is rejected, and the message lists the keys allowed at that place."""
    path = child_of_default(tmp_path, "[settings]\ndiscout_rate = 0.035\n")
    with pytest.raises(sim.ScenarioError) as info:
        sim.load_scenario(path)
    assert info.value.field == "settings.discout_rate"
    message = str(info.value)
    assert "unknown key 'discout_rate'" in message
    for key in ("strategy", "horizon_years", "life_table"):
        assert key in message


def test_unknown_key_in_a_parameter_lists_parameter_keys(tmp_path: Path) -> None:
    """A typo inside a parameter table (``sorce``) lists value, source, dist and the spread keys."""
    path = child_of_default(tmp_path, '[population]\np_male = { value = 0.5, sorce = "x", source = "y" }\n')
    with pytest.raises(sim.ScenarioError, match="unknown key 'sorce'") as info:
        sim.load_scenario(path)
    assert info.value.field == "population.p_male.sorce"
    assert "value, source, dist" in str(info.value)


def test_cross_field_rule_names_the_section(tmp_path: Path) -> None:
    """Thresholds out of order are reported at 'thresholds' with both offending values."""
    path = child_of_default(tmp_path, '[thresholds]\nataxia = { value = 0.1, source = "x" }\n')
    with pytest.raises(sim.ScenarioError, match="must increase") as info:
        sim.load_scenario(path)
    assert info.value.field == "thresholds"
    assert "0.1" in str(info.value)


def test_lifetime_horizon_without_mortality_is_rejected(tmp_path: Path) -> None:
    """A lifetime horizon with background mortality switched off would never end: an error."""
    body = '[mortality]\nbackground_rate_multiplier = { value = 0.0, source = "x" }\n'
    with pytest.raises(sim.ScenarioError, match="lifetime"):
        sim.load_scenario(child_of_default(tmp_path, body))


def test_several_problems_are_all_listed(tmp_path: Path) -> None:
    """Two independent mistakes are both reported in one message."""
    body = '[settings]\nstrategy = ""\n[population]\np_male = { value = 1.5, source = "x" }\n'
    with pytest.raises(sim.ScenarioError, match="2 problems") as info:
        sim.load_scenario(child_of_default(tmp_path, body))
    assert "settings.strategy" in str(info.value) and "population.p_male" in str(info.value)


def test_scenario_from_dict_rejects_extends() -> None:
    """``extends`` only makes sense in files."""
    with pytest.raises(sim.ScenarioError, match="only allowed in files"):
        sim.scenario_from_dict({"extends": "x.toml", "name": "x"})


def test_toml_writer_round_trips_the_default(default_scenario: sim.Scenario, tmp_path: Path) -> None:
    """sim.testing.scenario_to_toml writes a file that loads back to the same scenario (same hash)."""
    path = write(tmp_path / "copy.toml", scenario_to_toml(default_scenario.data))
    assert sim.load_scenario(path).sha256 == default_scenario.sha256


# --------------------------------------------------------------------------- wrong types


def test_wrong_type_of_horizon_names_the_field_itself(default_scenario: sim.Scenario) -> None:
    """``horizon_years = "forever"`` is one problem, reported at 'settings.horizon_years'."""
    data = copy.deepcopy(default_scenario.data)
    data["settings"]["horizon_years"] = "forever"
    with pytest.raises(sim.ScenarioError) as info:
        sim.scenario_from_dict(data, name="h.toml")
    assert info.value.field == "settings.horizon_years"
    assert "problems" not in str(info.value)


def test_error_inside_a_treatment_names_its_path(default_scenario: sim.Scenario) -> None:
    """A bad value in ``[treatments.rituximab.efficacy]`` is reported at that dotted path."""
    data = copy.deepcopy(default_scenario.data)
    if "rituximab" not in data.get("treatments", {}):
        pytest.skip("the default scenario has no rituximab entry")
    data["treatments"]["rituximab"]["efficacy"]["p_response"] = {"value": 1.5, "source": "x"}
    with pytest.raises(sim.ScenarioError) as info:
        sim.scenario_from_dict(data, name="t.toml")
    assert info.value.field == "treatments.rituximab.efficacy.p_response"


@pytest.mark.parametrize(
    ("where", "bad"),
    [
        (("settings", "horizon_years"), True),
        (("population", "p_male"), {"value": True, "source": "x"}),
        (("population", "p_male"), {"value": "0.5", "source": "x"}),
        (("settings", "horizon_years"), "20"),
    ],
    ids=["horizon-true", "value-true", "value-string", "horizon-string"],
)
def test_wrong_scalar_types_are_rejected(default_scenario: sim.Scenario, where: tuple, bad) -> None:
    """A boolean or a quoted number where a number is expected is a wrong type, not silently converted."""
    data = copy.deepcopy(default_scenario.data)
    data[where[0]][where[1]] = bad
    with pytest.raises(sim.ScenarioError) as info:
        sim.scenario_from_dict(data, name="types.toml")
    assert info.value.field.startswith(".".join(where))


# --------------------------------------------------------------------------- the Scenario object


def test_with_updates_number_keeps_the_table_dict_replaces_it(default_scenario: sim.Scenario) -> None:
    """A number updates only ``value``; a table replaces the whole parameter; the original is untouched."""
    by_number = default_scenario.with_updates({"population.p_male": 0.77})
    assert by_number.model.population.p_male.value == 0.77
    assert by_number.model.population.p_male.dist == "beta"
    by_table = default_scenario.with_updates({"population.p_male": {"value": 0.6, "source": "s"}})
    assert by_table.model.population.p_male.dist == "fixed"
    assert by_table.origins["population.p_male"] == "<updated>"
    assert default_scenario.model.population.p_male.value == 0.782
    assert by_table.sha256 != default_scenario.sha256


def test_with_updates_is_validated(default_scenario: sim.Scenario) -> None:
    """An update that breaks a rule raises ScenarioError naming the field."""
    with pytest.raises(sim.ScenarioError) as info:
        default_scenario.with_updates({"population.p_male": {"value": -1.0, "source": "s"}})
    assert info.value.field == "population.p_male"


def test_same_content_same_hash(default_scenario: sim.Scenario) -> None:
    """The scenario hash depends on the content only."""
    again = sim.scenario_from_dict(default_scenario.data, name="elsewhere.toml")
    assert again.sha256 == default_scenario.sha256


def test_values_apply_overrides_by_path(default_scenario: sim.Scenario) -> None:
    """``values(overrides)`` replaces the named parameters and nothing else; unknown paths are errors."""
    base = default_scenario.values()
    changed = default_scenario.values({"population.p_male": 0.5})
    assert (base.population.p_male, changed.population.p_male) == (0.782, 0.5)
    assert changed.population.p_titre_low == base.population.p_titre_low
    with pytest.raises(sim.ScenarioError, match="unknown parameter"):
        default_scenario.values({"population.p_mal": 0.5})


def test_overridden_values_equal_a_tree_built_with_them_and_leave_the_base_case_alone() -> None:
    """The values of a draw share what they do not change with the base case; they are still exactly the
    tree built from the model with the overrides, in a treatment's table too, and the base case keeps its
    values (:func:`sim.scenario.loading._overridden`)."""
    scenario = sim.load_scenario(bundled_scenario_path("cyclophosphamide_rituximab.toml"))
    base_before = repr(scenario.values())
    overrides = {path: param.value * 0.9 for path, param in scenario.uncertain_parameters().items()}
    kinds = scenario.parameter_kinds()
    overrides = {p: v for p, v in overrides.items() if kinds[p] is None or kinds[p].contains(v)}
    assert any(p.startswith("treatments.") for p in overrides)  # a path through a table of namespaces
    changed = scenario.values(overrides)
    assert repr(changed) == repr(_to_values(scenario.model, "", overrides))
    assert repr(changed) != base_before
    assert repr(scenario.values()) == base_before
    sections = {p.split(".")[0] for p in overrides}
    untouched = [k for k, v in vars(scenario.values()).items() if isinstance(v, SimpleNamespace)]
    untouched = [k for k in untouched if k not in sections]
    assert untouched
    for name in untouched:  # shared with the base case, not copied
        assert getattr(changed, name) is getattr(scenario.values(), name)


def test_relative_life_table_resolves_against_the_scenario_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A life table path written in a scenario is relative to that file, not to the working directory."""
    rows = "\n".join(f"{age},0.5,0.5" for age in range(0, 111))
    write(tmp_path / "tables" / "fast.csv", "Age,Female,Male\n" + rows + "\n")
    path = child_of_default(
        tmp_path, '[settings]\nstrategy = "s"\nhorizon_years = 50.0\nlife_table = "tables/fast.csv"\n'
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = sim.simulate(sim.load_scenario(path), n_patients=300, seed=3)
    # a rate of 0.5 per year (plus malignancy) gives a mean survival of at most 2 years
    assert result.patients["t_death"].notna().all()
    assert result.patients["t_death"].mean() < 2.5


@pytest.mark.parametrize(
    ("path", "value"), [("population.p_male", 1.5), ("progression.rate_slow_median_per_year", -0.1)]
)
def test_overrides_outside_the_domain_are_rejected(
    default_scenario: sim.Scenario, path: str, value: float
) -> None:
    """A sensitivity step or PSA value outside its field's domain is an error naming the field (E29)."""
    with pytest.raises(sim.ScenarioError) as info:
        sim.simulate(default_scenario, n_patients=10, seed=1, overrides={path: value})
    assert path in str(info.value)
