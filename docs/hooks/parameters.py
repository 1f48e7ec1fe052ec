"""The parameter page of the docs, generated from the scenario files so that it can never drift.

Three uses, one renderer (:func:`render`):

* an MkDocs hook (``hooks:`` in ``mkdocs.yml``): the site's ``parameters.md`` is replaced by a fresh rendering
  at every build, whatever the committed file says;
* a script, ``python docs/hooks/parameters.py``, that rewrites the committed ``docs/parameters.md`` (for
  readers of the repository), and ``--check`` that exits 1 when it is stale;
* a test (``tests/docs/test_parameter_page.py``) that fails when the committed page differs from the
  rendering.

The page lists every parameter of the default scenario (``scenarios/natural_history.toml``, which holds the
natural history, the treatment catalogue and the economics shared by every strategy), then each shipped
strategy and trial arm: the rules it adds to the default and every value it changes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = "parameters.md"
if str(ROOT) not in sys.path:  # run as a script or loaded by MkDocs from a checkout
    sys.path.insert(0, str(ROOT))

from analysis.parameter_table import format_number, parameter_table  # noqa: E402
from sim.scenario.loading import Scenario, load_scenario  # noqa: E402

SECTION_TITLES = {
    "population": "Population at onset",
    "progression": "Progression of the latent burden",
    "thresholds": "Milestone thresholds (burden levels)",
    "symptoms": "Symptoms",
    "diagnosis": "Diagnostic journey",
    "malignancy": "Transformation of the gammopathy",
    "mortality": "Mortality",
    "treatments": "Treatment catalogue",
    "economics": "Economics",
}
SECTION_PAGES = {
    "population": "model.md",
    "progression": "model.md",
    "thresholds": "model.md",
    "symptoms": "model.md",
    "diagnosis": "model.md",
    "malignancy": "model.md",
    "mortality": "model.md",
    "treatments": "treatments.md",
    "economics": "economics.md",
}
TREATMENT_SETTINGS = ("type", "regimen", "route", "combined_with")


def _cell(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("<", "&lt;").replace("*", "\\*").replace("\n", " ")


def _range(row) -> str:
    if row["distribution"] == "fixed":
        return ""
    return f"{format_number(row['low_95'], 3)} – {format_number(row['high_95'], 3)}"


def _table(rows, prefix: str) -> list[str]:
    lines = [
        "| parameter | value | PSA distribution | 95% range | allowed | source |",
        "|---|---|---|---|---|---|",
    ]
    for _, row in rows.iterrows():
        name = f"`{row['path'].removeprefix(prefix)}`"
        if row["meaning"]:
            name += f": {_cell(row['meaning'])}"
        lines.append(
            f"| {name} | {format_number(row['value'], 5)} | {_cell(row['distribution'])} | {_range(row)} "
            f"| {_cell(row['domain'])} | {_cell(row['source'])} |"
        )
    return lines


def _rules_table(rules: dict) -> list[str]:
    lines = ["| rule | on | gives | conditions |", "|---|---|---|---|"]
    defaults = {"delay_months": 0.0, "min_mrs": 0, "min_titre": "1000-10000", "max_courses": 1000}
    defaults |= {"max_cumulative_dose": None, "requires_diagnosis": True}
    for name, rule in rules.items():
        on = rule.on + (f" of `{rule.after}`" if rule.after else "")
        conditions = [
            f"{key} = {_toml(getattr(rule, key))}"
            for key, default in defaults.items()
            if getattr(rule, key) != default
        ]
        lines.append(f"| `{name}` | {on} | `{rule.give}` | {_cell(', '.join(conditions)) or '—'} |")
    return lines


def _toml(value: object) -> str:
    """A value as a scenario file writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return format_number(value, 5) if isinstance(value, float) else str(value)


def _treatment_anchor(name: str) -> str:
    return f"treatment-{name.replace('_', '-')}"


def _default_section(default: Scenario) -> list[str]:
    table = parameter_table(default)
    settings = default.model.settings
    out = [
        "## Settings",
        "",
        f"`strategy = {_toml(settings.strategy)}`; `horizon_years = {_toml(settings.horizon_years)}`; "
        f'`life_table = "{settings.life_table}"`.',
        "",
    ]
    sections = list(dict.fromkeys(p.split(".", 1)[0] for p in table["path"]))
    for section in sections:
        rows = table[table["path"].str.startswith(section + ".")]
        title = SECTION_TITLES.get(section, section)
        out += [f"## {title} (`[{section}]`)", ""]
        if section in SECTION_PAGES:
            out += [f"What these parameters do: [{SECTION_PAGES[section]}]({SECTION_PAGES[section]}).", ""]
        if section == "treatments":
            for name, entry in default.model.treatments.items():
                mine = rows[rows["path"].str.startswith(f"treatments.{name}.")]
                fixed = [
                    f"{key} = `{getattr(entry, key)}`"
                    for key in TREATMENT_SETTINGS
                    if getattr(entry, key, None) is not None
                ]
                out += [f'<a id="{_treatment_anchor(name)}"></a>', "", f"### `{name}`", ""]
                if fixed:
                    out += ["; ".join(fixed) + ".", ""]
                out += _table(mine, f"treatments.{name}.") + [""]
        else:
            out += _table(rows, section + ".") + [""]
    out += [
        "## Rules of the default strategy",
        "",
        f"`{default.strategy}`: {_cell(default.model.strategy.description)}. Every shipped strategy keeps "
        "these rules unless it replaces one by name.",
        "",
        *_rules_table(default.model.strategy.rules),
        "",
    ]
    return out


def _strategy_section(path: Path, default: Scenario, root: Path) -> list[str]:
    scenario = load_scenario(path)
    rel = path.relative_to(root).as_posix()
    base_params = default.parameters()
    added = {
        name: rule
        for name, rule in scenario.model.strategy.rules.items()
        if default.model.strategy.rules.get(name) != rule
    }
    given = sorted({rule.give for rule in added.values()})
    changed = {
        p: q for p, q in scenario.parameters().items() if base_params.get(p) != q
    }  # new or different values
    out = [f"### `{scenario.name}`", "", f"`{rel}`: {_cell(scenario.model.description or '')}.", ""]
    if scenario.model.strategy.description:
        out += [f"Strategy: {_cell(scenario.model.strategy.description)}.", ""]
    if added:
        out += ["Rules beyond the default's:", "", *_rules_table(added), ""]
        links = ", ".join(f"[`{g}`](#{_treatment_anchor(g)})" for g in given)
        out += [f"Treatments these rules give (parameters above): {links}.", ""]
    else:
        out += ["No rule beyond the default's.", ""]
    settings = {
        key: getattr(scenario.model.settings, key)
        for key in ("horizon_years", "life_table")
        if getattr(scenario.model.settings, key) != getattr(default.model.settings, key)
    }
    for key, value in settings.items():
        out += [f"Changes `settings.{key}` to `{_toml(value)}`.", ""]
    if changed:
        rows = parameter_table(scenario)
        rows = rows[rows["path"].isin(changed)]
        out += ["Values it changes:", "", *_table(rows, ""), ""]
    else:
        out += ["Every parameter value as in the default scenario.", ""]
    return out


def render(root: Path = ROOT) -> str:
    """The whole parameter page (Markdown), from the scenario files under ``root``."""
    default = load_scenario(root / "scenarios" / "natural_history.toml")
    n = len(default.parameters())
    n_uncertain = len(default.uncertain_parameters())
    lines = [
        "# Parameters",
        "",
        "<!-- Generated by docs/hooks/parameters.py from the scenario files: do not edit by hand. "
        "Regenerate with `python docs/hooks/parameters.py`. -->",
        "",
        f"Every parameter of the default scenario, `scenarios/natural_history.toml` ({n} parameters, "
        f"{n_uncertain} of them uncertain in the probabilistic sensitivity analysis), then what each shipped "
        "strategy and trial arm adds or changes. Every strategy file extends the default, so the natural "
        "history, the treatment catalogue and the economics below are shared by all of them, and so are "
        "their PSA draws. This page is generated from the files themselves: it cannot disagree with them.",
        "",
        "How to read the tables:",
        "",
        "- **value**: what the deterministic run uses.",
        "- **PSA distribution**: as written in the file. `sd` means a distribution with mean exactly the "
        "value and that standard deviation (method of moments); `fixed`: no uncertainty.",
        "- **95% range**: the 2.5th and 97.5th percentiles of the PSA distribution (uniforms included), "
        "the range a one-way sensitivity analysis uses.",
        "- **allowed**: the field's domain; every PSA draw stays inside it.",
        "- **source**: a key of [the references](references.md) first, or `assumption`, `calibrated`, "
        "`structural`, `definition`. ⚠ marks thin evidence (a proxy, a derived figure, a small series or an "
        "assumption): such parameters carry wide distributions.",
        "",
        "In Python: `analysis.parameter_table.parameter_table(sim.load_scenario(path))` gives the same "
        "table as a data frame for any scenario.",
        "",
    ]
    lines += _default_section(default)
    lines += [
        "## Strategies",
        "",
        "Each file extends the default; the rules below are added to (or replace by name) the default's "
        "supportive-care rules.",
        "",
    ]
    for path in sorted((root / "scenarios").glob("*.toml")):
        if path.name != "natural_history.toml":
            lines += _strategy_section(path, default, root)
    lines += ["## Trial arms", "", "The arms of the simulated trials ([validation](validation.md)).", ""]
    for path in sorted((root / "scenarios" / "trials" / "arms").glob("*.toml")):
        lines += _strategy_section(path, default, root)
    return "\n".join(lines).rstrip("\n").replace("\n\n\n", "\n\n") + "\n"


# --------------------------------------------------------------------------- MkDocs hook


def on_page_markdown(markdown: str, page, config, files) -> str:
    """Serve a fresh rendering of the parameter page, whatever the committed file holds."""
    if page.file.src_uri == PAGE:
        return render(ROOT)
    return markdown


def main(argv: list[str]) -> int:
    target = ROOT / "docs" / PAGE
    fresh = render(ROOT)
    if "--check" in argv:
        if not target.exists() or target.read_text(encoding="utf-8") != fresh:
            print(f"{target} is stale: run python docs/hooks/parameters.py", file=sys.stderr)
            return 1
        return 0
    target.write_text(fresh, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
