"""Every parameter of a scenario as a tidy table: value, PSA distribution, 95% range, domain, source.

Built from the validated scenario itself (:meth:`sim.scenario.loading.Scenario.parameters`), never copied by
hand, so that a page or report listing the parameters cannot drift from the files the model reads. The docs
site's parameter page and any report use it.
"""

from __future__ import annotations

import math

import pandas as pd

from analysis.dsa import parameter_range
from sim.scenario.loading import Scenario, walk_parameter_fields
from sim.scenario.parameters import Param

__all__ = ["COLUMNS", "describe_distribution", "format_number", "parameter_table"]

#: Columns of :func:`parameter_table`, in order.
COLUMNS = (
    "path",
    "value",
    "distribution",
    "low_95",
    "high_95",
    "domain",
    "meaning",
    "source",
    "thin_evidence",
    "origin",
)


def format_number(x: float, digits: int = 4) -> str:
    """A number for people: ``digits`` significant figures, thousands separated, no exponent below 10⁹.

    Examples
    --------
    >>> format_number(65754.548), format_number(0.0214), format_number(1.7463, 5), format_number(-0.18)
    ('65,755', '0.0214', '1.7463', '−0.18')
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x != 0 and 1e3 <= abs(x) < 1e9:
        text = f"{x:,.0f}" if abs(x) >= 10 ** (digits - 1) else f"{x:,.{digits}g}"
    else:
        text = f"{x:.{digits}g}"
    return text.replace("-", "−")


def describe_distribution(p: Param) -> str:
    """The PSA distribution in words, as the scenario file writes it (``beta(104, 29)``, ``gamma, sd 5``).

    ``sd`` means a distribution centred exactly on the value, with that standard deviation (method of
    moments); ``fixed`` means no uncertainty in the PSA.
    """
    n = format_number
    if p.dist == "fixed":
        return "fixed"
    if p.sd is not None:
        return f"{p.dist}, sd {n(p.sd)}"
    if p.dist == "beta":
        return f"beta({n(p.alpha)}, {n(p.beta)})"
    if p.dist == "gamma":
        return f"gamma(shape {n(p.shape)}, scale {n(p.scale)})"
    if p.dist == "lognormal":
        return f"lognormal(μ {n(p.mu)}, σ {n(p.sigma)})"
    return f"uniform({n(p.low)}, {n(p.high)})"


def parameter_table(scenario: Scenario) -> pd.DataFrame:
    """One row per parameter of ``scenario``, in file order.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario (its ``extends`` chain already merged).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`: ``path`` (dotted), ``value`` (the deterministic value), ``distribution``
        (:func:`describe_distribution`), ``low_95``/``high_95`` (2.5th and 97.5th percentiles of the PSA
        distribution, uniforms included; the value when fixed: the range a one-way sensitivity analysis
        uses), ``domain`` (the field's kind and allowed range, e.g. ``probability [0, 1]``), ``meaning`` (the
        schema's description of the field, often its unit), ``source`` (as written, a key of
        ``docs/references.md`` first), ``thin_evidence`` (the source carries ⚠ or is an assumption) and
        ``origin`` (the file that set the value).
    """
    params = scenario.parameters()
    kinds = scenario.parameter_kinds()
    meanings = {path: text for path, _, text in walk_parameter_fields(scenario.model)}
    rows = []
    for path, p in params.items():
        low, high = parameter_range(p)
        kind = kinds.get(path)
        rows.append(
            {
                "path": path,
                "value": p.value,
                "distribution": describe_distribution(p),
                "low_95": low,
                "high_95": high,
                "domain": f"{kind.name} {kind.describe()}" if kind is not None else "",
                "meaning": meanings.get(path, ""),
                "source": p.source,
                "thin_evidence": "⚠" in p.source or p.source.lower().startswith("assumption"),
                "origin": _origin(scenario, path),
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _origin(scenario: Scenario, path: str) -> str:
    parts = path.split(".")
    for n in range(len(parts), 0, -1):
        hit = scenario.origins.get(".".join(parts[:n]))
        if hit:
            return hit
    return scenario.path
