"""The model's invariants (A1–A5 of the verification catalogue, docs/invariants.md), checked on a simulated
cohort from its tidy tables, cheaply enough to run on every PSA draw (``--check-invariants``).

Each check reads only what every run keeps (``result.patients`` and ``result.paths``, not the event log),
with vectorised NumPy, so it costs a small fraction of the simulation it checks. A broken invariant raises
:class:`InvariantError` naming the invariant, the run (PSA draw, strategy), the first patient that breaks
it and the values involved: a bug in the model, never bad input (exit status 1).

* **A1** milestone times lie in ``[0, horizon)`` and never after death; undiscounted life-years equal
  ``min(death, horizon)`` (time in states sums exactly to follow-up).
* **A2** at reporting times every patient is in exactly one state (mRS 0–5 alive, or dead): the counts are
  non-negative, sum to the cohort size, and cumulative deaths never fall.
* **A3** milestones come in clinical order (each implies the earlier ones, never before them); the burden
  stays in ``[0, 1]`` and never falls in a patient who had no course of treatment.
* **A4** discounted ≤ undiscounted (costs, life-years; QALYs when no utility is negative); QALYs ≤ LYs when
  no utility exceeds 1; undiscounted QALYs / LYs within the lowest and highest utility a patient can have.
* **A5** cost categories are ≥ 0 and sum to the totals, undiscounted and discounted.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd

from sim.errors import SimulationError
from sim.model.columns import COST_CATEGORIES, DISC, LYS_UNDISC, QALYS_UNDISC, UNDISC, category_column
from sim.model.milestones import ORDER_PAIRS, PHENOTYPE_BETWEEN
from sim.model.process import MILESTONES

__all__ = ["InvariantError", "check_invariants"]

#: Relative tolerance of sums and comparisons of accumulated floats.
TOL = 1e-9


class InvariantError(SimulationError):
    """A simulated cohort breaks one of the model's invariants (a bug, reported with exit status 1)."""


def _fail(code: str, what: str, context: str, patients: pd.DataFrame, bad: np.ndarray, detail: str) -> None:
    i = int(np.flatnonzero(bad)[0])
    pid = int(patients["patient_id"].iloc[i])
    strategy = patients["strategy"].iloc[i]
    where = f"{context}, " if context else ""
    raise InvariantError(
        f"invariant {code} ({what}) broken in {where}strategy '{strategy}', patient {pid}"
        f" ({int(bad.sum())} patient(s) in all): {detail(i) if callable(detail) else detail}"
    )


def _a1(p: pd.DataFrame, horizon: float, context: str) -> None:
    t_death = p["t_death"].to_numpy()
    end = np.minimum(np.where(np.isnan(t_death), horizon, t_death), horizon)
    for name in MILESTONES:
        t = p[name].to_numpy()
        present = ~np.isnan(t)
        bad = present & ((t < 0) | (t >= horizon) | (t > np.where(np.isnan(t_death), np.inf, t_death)))
        if bad.any():
            _fail(
                "A1",
                "events within follow-up, nothing after death",
                context,
                p,
                bad,
                lambda i, t=t, name=name: f"{name} = {t[i]!r}, t_death = {t_death[i]!r}, horizon {horizon}",
            )
    if LYS_UNDISC in p:
        lys = p[LYS_UNDISC].to_numpy()
        bad = ~(np.abs(lys - end) <= TOL * np.maximum(1.0, end))
        if bad.any():
            _fail(
                "A1",
                "time alive sums to follow-up",
                context,
                p,
                bad,
                lambda i: f"{LYS_UNDISC} {lys[i]!r} != {end[i]!r}",
            )


def _a2(result, horizon: float, context: str) -> None:
    from sim.run.trajectory import outcome_scales

    p = result.patients
    n = len(p)
    top = horizon if math.isfinite(horizon) else 80.0
    times = sorted({0.0, top / 4, top / 2, math.nextafter(top, 0.0)})
    frame = outcome_scales(result, times)
    t_death = p.set_index("patient_id")["t_death"]
    deaths_before = 0
    for t, at in frame.groupby("time", sort=True):
        mrs = at["mrs"].to_numpy()
        in_a_state = np.isin(mrs, (0, 1, 2, 3, 4, 5, 6))
        if len(at) != n or not in_a_state.all():
            bad = p["patient_id"].isin(at.loc[~in_a_state, "patient_id"]).to_numpy()
            _fail("A2", "every patient in one state", context, p, bad | (len(at) != n), f"at t = {t}")
        n_dead = int((mrs == 6).sum())
        dead_by_then = t_death.reindex(at["patient_id"]).to_numpy() <= t
        if n_dead < deaths_before or not np.array_equal(mrs == 6, dead_by_then):
            bad = p["patient_id"].isin(at.loc[(mrs == 6) != dead_by_then, "patient_id"]).to_numpy()
            _fail("A2", "the dead counted once, deaths never fall", context, p, bad, f"at t = {t}")
        deaths_before = n_dead


def _a3(p: pd.DataFrame, paths: pd.DataFrame, context: str) -> None:
    pairs = [(f"t_{a}", f"t_{b}") for a, b in ORDER_PAIRS if f"t_{a}" in p and f"t_{b}" in p]
    for first, then in pairs:
        earlier, later = p[first].to_numpy(), p[then].to_numpy()
        present = ~np.isnan(later)
        bad = present & (np.isnan(earlier) | (earlier > later))
        if bad.any():
            _fail(
                "A3",
                "symptoms in clinical order",
                context,
                p,
                bad,
                lambda i, a=first, b=then: f"{b} = {p[b].iloc[i]!r} but {a} = {p[a].iloc[i]!r}",
            )
    for name, after, before in PHENOTYPE_BETWEEN:
        cols = (f"t_{after}", f"t_{name}", f"t_{before}")
        if not all(c in p for c in cols):
            continue
        lo, mid, hi = (p[c].to_numpy() for c in cols)
        has = ~np.isnan(mid)
        bad = has & (np.isnan(lo) | (lo > mid) | (mid > hi))  # NaN compares False: a missing later is fine
        if bad.any():
            _fail(
                "A3",
                "symptoms in clinical order",
                context,
                p,
                bad,
                lambda i, c=cols: ", ".join(f"{x} = {p[x].iloc[i]!r}" for x in c),
            )
    tremor = p["t_tremor"].to_numpy() if "t_tremor" in p else np.array([])
    if tremor.size and np.any(tremor < 0):
        _fail("A3", "tremor not before sensory onset", context, p, tremor < 0, "t_tremor < 0")
    b = paths["burden"].to_numpy()
    out_of_bounds = ~((b >= 0.0) & (b <= 1.0 + TOL))
    untreated = set(p.loc[p["n_courses"] == 0, "patient_id"]) if "n_courses" in p else set()
    pid = paths["patient_id"].to_numpy()
    t_seg = paths["time"].to_numpy()
    rate = paths["rate_per_year"].to_numpy()
    same = np.r_[False, pid[1:] == pid[:-1]]
    # where the previous segment had got to when this one starts (the path is continuous unless reversed)
    reached = np.minimum(1.0, np.r_[np.nan, b[:-1] + rate[:-1] * (t_seg[1:] - t_seg[:-1])])
    falls = same & (np.minimum(b, 1.0) < reached - TOL) | (rate < 0)
    falls &= np.isin(pid, list(untreated))
    bad_ids = set(pid[out_of_bounds | falls])
    if bad_ids:
        bad = p["patient_id"].isin(bad_ids).to_numpy()
        _fail("A3", "burden within [0, 1], never falling without treatment", context, p, bad, "see its path")


def _utility_bounds(u: SimpleNamespace) -> tuple[float, float, bool]:
    levels = [u.mrs1, u.mrs2, u.mrs3, u.mrs4, u.mrs5]  # patients start at mRS 1 and never go below it
    decrement = max(u.pain_untreated_decrement, u.pain_relieved_decrement)
    lowest = min(levels) - decrement - u.malignancy_decrement - u.bladder_cancer_decrement
    highest = max(levels) + u.physiotherapy_gain
    one_off_losses = u.adverse_event_minor_qaly_loss > 0 or u.adverse_event_severe_qaly_loss > 0
    return lowest, highest, one_off_losses


def _a4_a5(p: pd.DataFrame, values: SimpleNamespace, context: str) -> None:
    econ = getattr(values, "economics", None)
    if econ is None or QALYS_UNDISC not in p:
        return

    def check(code: str, what: str, ok: np.ndarray, detail) -> None:
        if not ok.all():
            _fail(code, what, context, p, ~ok, detail)

    col = {c: p[c].to_numpy() for c in p.columns if c.startswith(("cost", "qalys", "lys"))}
    slack = {m: TOL * np.maximum(1.0, np.abs(col[m + UNDISC])) for m in ("cost", "lys", "qalys")}
    lowest, highest, losses = _utility_bounds(econ.utilities)
    for m in ("cost", "lys") + (("qalys",) if lowest >= 0 and not losses else ()):
        d, u = m + DISC, m + UNDISC
        check(
            "A4",
            f"discounted {m} <= undiscounted",
            col[d] <= col[u] + slack[m],
            lambda i, d=d, u=u: f"{d} {col[d][i]!r} > {u} {col[u][i]!r}",
        )
    qalys, lys = col[QALYS_UNDISC], col[LYS_UNDISC]
    if highest <= 1.0:
        check(
            "A4",
            "QALYs <= life-years",
            qalys <= lys + slack["lys"],
            lambda i: f"{QALYS_UNDISC} {qalys[i]!r} > {LYS_UNDISC} {lys[i]!r}",
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(lys > 0, qalys / np.where(lys > 0, lys, 1.0), np.nan)
    followed = lys > 0
    ok = ~followed | (ratio <= highest + TOL)
    if not losses:
        ok &= ~followed | (ratio >= lowest - TOL)
    check(
        "A4",
        f"QALYs / LYs within the utilities [{lowest:.6g}, {highest:.6g}]",
        ok,
        lambda i: f"QALYs / LYs = {ratio[i]!r}",
    )
    for discounted in (False, True):
        suffix = DISC if discounted else UNDISC
        parts = np.column_stack([col[category_column(c, discounted)] for c in COST_CATEGORIES])
        check("A5", "cost categories >= 0", (parts >= 0).all(axis=1), f"a negative cost category{suffix}")
        total = col[f"cost{suffix}"]
        check(
            "A5",
            "cost categories sum to the total",
            np.abs(parts.sum(axis=1) - total) <= TOL * np.maximum(1.0, np.abs(total)),
            lambda i, parts=parts, total=total, suffix=suffix: (
                f"categories sum to {parts[i].sum()!r}, cost{suffix} = {total[i]!r}"
            ),
        )


def check_invariants(result, context: str = "") -> None:
    """Raise :class:`InvariantError` if the cohort of ``result`` breaks one of A1–A5.

    Parameters
    ----------
    result : SimulationResult
        One strategy's run (:func:`sim.simulate`).
    context : str
        Where the run belongs, for the message, e.g. ``"PSA draw 7"``.
    """
    from sim.run.runner import horizon_of

    p = result.patients
    if len(p) == 0:
        return
    horizon = horizon_of(result.values)
    _a1(p, horizon, context)
    _a2(result, horizon, context)
    _a3(p, result.paths, context)
    _a4_a5(p, result.values, context)
