"""Parameters in words: a label from the scenario schema's description, the unit, values in natural units.

A dotted path such as ``treatments.rituximab.efficacy.response_duration_years`` is what the files and the PSA
table use; a reader of a tornado diagram wants "rituximab: response duration (years) [1.1 – 4.9 years]".
The unit follows from the field's name and place (the schema's naming rules: ``p_`` a probability, ``_years``
and ``_per_year`` times and rates, anything under ``costs`` or named ``cost...`` money in the scenario's
currency, ``utilities`` EQ-5D values); the description is the schema field's own, where it has one.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["describe", "format_value", "parameter_label", "unit_of"]


def unit_of(path: str) -> str:
    """``"money"``, ``"probability"``, ``"utility"``, ``"years"``, ``"months"``, ``"per year"`` or ``""``."""
    parts = path.split(".")
    leaf = parts[-1]
    if "costs" in parts[:-1] or leaf.startswith("cost") or leaf.endswith("_cost") or leaf == "cost":
        return "money"
    if parts[:2] == ["economics", "utilities"]:
        return "QALYs" if leaf.endswith("qaly_loss") else "utility"
    if leaf.startswith("p_") or leaf.startswith("share_"):
        return "probability"
    if leaf.endswith("_per_year"):
        return "per year"
    if leaf.endswith("_years") or leaf.endswith("_year"):
        return "years"
    if leaf.startswith("months_") or leaf.endswith("_months"):
        return "months"
    if leaf.startswith("age_"):
        return "years of age"
    return ""


def describe(model: Any, path: str) -> str | None:
    """The schema's description of the field at ``path`` of a validated scenario model (or None)."""
    node = model
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else getattr(node, part, None)
        if node is None:
            return None
    fields = getattr(type(node), "model_fields", {})
    info = fields.get(parts[-1])
    return getattr(info, "description", None) if info is not None else None


def format_value(x: float, unit: str, currency: str = "") -> str:
    """A value in its natural unit: ``GBP 8,174``, ``31.5%``, ``2.4 years``, ``0.83``."""
    if x != x:
        return "-"
    if unit == "money":
        return f"{currency} {x:,.0f}".strip() if abs(x) >= 10 else f"{currency} {x:,.2f}".strip()
    if unit == "probability":
        return f"{100 * x:.3g}%"
    if unit in ("years", "months", "years of age"):
        return f"{x:.3g} {unit.split()[0]}"
    if unit == "per year":
        return f"{x:.3g}/year"
    return f"{x:.3g}" if abs(x) < 1e4 or not math.isfinite(x) else f"{x:,.0f}"


def parameter_label(model: Any, path: str, currency: str = "") -> str:
    """``"<section>: <name in words> (<description>)"``: the section (a treatment's name, an economics table,
    or the top-level section) and the field's name with spaces, and the schema's description if any."""
    parts = path.split(".")
    section = parts[1] if parts[0] in ("treatments", "economics") and len(parts) > 2 else parts[0]
    name = parts[-1].replace("_", " ")
    if len(parts) > 3 and parts[0] == "treatments":
        name = f"{parts[2]} {name}" if parts[2] not in ("efficacy", "costs") else name
    text = describe(model, path)
    unit = unit_of(path)
    for word in (" per year", " years", " year", " months"):  # the unit is said once, in brackets
        if name.endswith(word) and unit in ("per year", "years", "months"):
            name = name[: -len(word)]
    if name.startswith("p ") and unit == "probability":
        name = f"P({name[2:]})"
    suffix = {"money": f" ({currency})" if currency else "", "probability": ""}.get(
        unit, f" ({unit})" if unit else ""
    )
    label = f"{section}: {name}{suffix}"
    return f"{label} — {text}" if text else label
