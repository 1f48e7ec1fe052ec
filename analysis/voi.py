"""Value of information for a population, and which parameters matter most.

* :func:`population_multiplier` -- how many patients a decision affects: the prevalent patients now plus
  the patients who fall ill each year over the decision's time horizon, discounted continuously at the
  force of interest ``δ = ln(1 + r)`` (the convention of the whole package), i.e.
  ``N = P·prevalence + P·incidence · (1 − e^(−δH)) / δ`` (``P·incidence·H`` when ``r = 0``).
  ⚠ Every patient is valued with the per-patient EVPI of a patient followed from the first symptom, also the
  prevalent ones, who are further along: an approximation.
* :func:`population_value` -- an EVPI or EVPPI table (per patient) scaled by that number.
* :func:`information_rank` -- each parameter's (or group's) EVPPI as a share of the EVPI at each WTP, ranked
  (the "Info-rank" view of BCEA): where further research would be worth most.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["information_rank", "population_multiplier", "population_value"]


def population_multiplier(
    population: float,
    prevalence_per_100k: float,
    incidence_per_100k_per_year: float,
    horizon_years: float,
    discount_rate: float,
) -> float:
    """Discounted number of patients a decision concerns (module docstring).

    Parameters
    ----------
    population : float
        People in the jurisdiction.
    prevalence_per_100k, incidence_per_100k_per_year : float
        Prevalent patients per 100,000 people; new patients per 100,000 people per year.
    horizon_years : float
        How long the decision stands (years).
    discount_rate : float
        Annual discount rate (e.g. 0.035).
    """
    for name, value in (
        ("population", population),
        ("prevalence_per_100k", prevalence_per_100k),
        ("incidence_per_100k_per_year", incidence_per_100k_per_year),
        ("horizon_years", horizon_years),
        ("discount_rate", discount_rate),
    ):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    delta = math.log1p(discount_rate)
    years = horizon_years if delta == 0 else -math.expm1(-delta * horizon_years) / delta
    return population * (prevalence_per_100k + incidence_per_100k_per_year * years) / 1e5


def population_value(table: pd.DataFrame, multiplier: float, column: str = "evpi") -> pd.DataFrame:
    """``table`` with ``population_<column>`` and ``population_se`` (if ``se`` is present) added:
    the per-patient value times the discounted number of patients."""
    out = table.assign(
        **{f"population_{column}": table[column] * multiplier, "population_patients": multiplier}
    )
    if "se" in table.columns:
        out[f"population_{column}_se"] = table["se"] * multiplier
    return out


def information_rank(evppi_table: pd.DataFrame) -> pd.DataFrame:
    """Rank parameters (or groups) by EVPPI at each WTP, with their share of the EVPI.

    Parameters
    ----------
    evppi_table : pandas.DataFrame
        The output of :func:`analysis.evppi.evppi`.

    Returns
    -------
    pandas.DataFrame
        The rows sorted by WTP then decreasing EVPPI, with ``rank`` (1 = most valuable) and ``share_of_evpi``
        (EVPPI / EVPI; NaN when the EVPI is 0).
    """
    out = evppi_table.sort_values(["wtp", "evppi"], ascending=[True, False], kind="stable").copy()
    out["rank"] = out.groupby("wtp").cumcount() + 1
    evpi = out["evpi"].where(out["evpi"] > 0)
    out["share_of_evpi"] = out["evppi"] / evpi
    return out.reset_index(drop=True)
