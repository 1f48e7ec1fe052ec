"""The names of the economic columns, in one place, each saying whether it is discounted.

A money, QALY or life-year column a user receives always ends in ``_disc`` (discounted, the headline) or
``_undisc`` (undiscounted): ``cost_disc`` / ``cost_undisc``, ``qalys_disc`` / ``qalys_undisc``,
``lys_disc`` / ``lys_undisc``, and per cost category ``cost_<category>_disc`` / ``cost_<category>_undisc``.
Increments add ``inc_`` in front (``inc_cost_disc``), standard errors ``_se`` behind. A bare ``cost`` or
``qalys`` was read both ways by users, which is why no table carries one.
"""

from __future__ import annotations

DISC = "_disc"
UNDISC = "_undisc"

#: The categories of the payer's costs (docs/economics.md, "What is counted").
COST_CATEGORIES = (
    "drugs",
    "administration",
    "monitoring",
    "adverse_events",
    "diagnostics",
    "devices",
    "disease_care",
)

COST_DISC = "cost" + DISC
COST_UNDISC = "cost" + UNDISC
QALYS_DISC = "qalys" + DISC
QALYS_UNDISC = "qalys" + UNDISC
LYS_DISC = "lys" + DISC
LYS_UNDISC = "lys" + UNDISC


def category_column(category: str, discounted: bool) -> str:
    """Column of one cost category, e.g. ``cost_drugs_disc`` or ``cost_drugs_undisc``."""
    if category not in COST_CATEGORIES:
        raise ValueError(f"unknown cost category {category!r}; allowed: {', '.join(COST_CATEGORIES)}")
    return f"cost_{category}{DISC if discounted else UNDISC}"


CATEGORY_DISC = tuple(category_column(c, True) for c in COST_CATEGORIES)
CATEGORY_UNDISC = tuple(category_column(c, False) for c in COST_CATEGORIES)

#: Per-patient outcome columns, in the order :meth:`sim.model.outcomes.OutcomeAccounting.patient` returns
#: them.
OUTCOME_COLUMNS = (
    LYS_UNDISC,
    LYS_DISC,
    QALYS_UNDISC,
    QALYS_DISC,
    COST_UNDISC,
    COST_DISC,
    *CATEGORY_UNDISC,
    *CATEGORY_DISC,
)

#: Economic measures summarised per strategy, headline (discounted) first.
MEASURES = (
    COST_DISC,
    QALYS_DISC,
    LYS_DISC,
    COST_UNDISC,
    QALYS_UNDISC,
    LYS_UNDISC,
    *CATEGORY_DISC,
    *CATEGORY_UNDISC,
)


def undiscounted(column: str) -> str:
    """The undiscounted twin of a discounted column (``cost_disc`` → ``cost_undisc``)."""
    if not column.endswith(DISC):
        raise ValueError(f"{column!r} is not a discounted column (it should end in {DISC!r})")
    return column[: -len(DISC)] + UNDISC
