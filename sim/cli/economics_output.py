"""What ``compare`` and ``psa`` write and print: PSA tables and figures, metadata, the text tables."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.cea import ce_plane, ceac, ceaf, evpi
from analysis.economics import DISCOUNTED_NAMES, EconomicEvaluation
from sim.cli.common import UsageError, save_png


def load_strategies(paths: Sequence[str]):
    """Load every scenario file and check they form a set of distinct strategies on one population."""
    from sim.run.psa import as_scenario_list
    from sim.scenario.loading import load_scenario

    return as_scenario_list([load_scenario(p) for p in paths])


def reference_of(scenarios, name: str | None) -> str:
    """The ``--reference`` strategy (default: the first scenario's), checked against the strategies."""
    names = [s.strategy for s in scenarios]
    if name is None:
        return names[0]
    if name not in names:
        raise UsageError(f"--reference '{name}' is not one of the strategies {names}")
    return name


def wtp_grid(wtp: Sequence[float], points: int = 101) -> np.ndarray:
    """Willingness-to-pay grid of the acceptability curves: 0 to ``max(2 × max(wtp), 50,000)``, plus
    the given values."""
    top = max(2.0 * max(wtp), 50_000.0)
    return np.unique(np.concatenate([np.linspace(0.0, top, points), np.asarray(wtp, dtype=float)]))


def to_json(data: Any) -> str:
    def default(x: Any) -> Any:
        if isinstance(x, np.integer):
            return int(x)
        if isinstance(x, np.floating):
            return float(x)
        if isinstance(x, Path):
            return str(x)
        return str(x)

    return json.dumps(data, indent=2, sort_keys=True, default=default) + "\n"


#: Most parameters of a scenario section that its EVPPI group holds (those with the highest single-parameter
#: EVPPI): a Gaussian process in more dimensions than that needs far more draws than a PSA usually has.
MAX_GROUP_SIZE = 10
#: Draws per member of a group: with fewer, a Gaussian process interpolates the noise (EVPPI = EVPI). A rule
#: of thumb, checked by each fit's ``fit_check``.
DRAWS_PER_GROUP_MEMBER = 30


def population_of(scenario) -> float | None:
    """Discounted number of patients the decision concerns, from ``[economics.population]`` (or None)."""
    from analysis.voi import population_multiplier

    econ = scenario.model.economics
    pop = getattr(econ, "population", None)
    if pop is None:
        return None
    return population_multiplier(
        pop.people.value,
        pop.prevalence_per_100k.value,
        pop.incidence_per_100k_per_year.value,
        pop.horizon_years.value,
        econ.discount_rate_costs.value,
    )


def evppi_tables(psa: pd.DataFrame, parameters: Sequence[str], wtp: Sequence[float]) -> pd.DataFrame:
    """EVPPI of each parameter that varies in the PSA and of each scenario section (:func:`section_groups`,
    with at most :data:`MAX_GROUP_SIZE` members, and at most one per :data:`DRAWS_PER_GROUP_MEMBER` draws;
    none with fewer than 60 draws), ranked at each WTP."""
    from analysis.evppi import evppi, section_groups
    from analysis.voi import information_rank

    varying = [p for p in parameters if p in psa.columns and psa[p].nunique(dropna=True) > 1]
    if not varying:
        return pd.DataFrame()
    kw = {"cost": "cost_disc", "effect": "qalys_disc"}
    singles = evppi(psa, varying, wtp, **kw).assign(label=lambda t: t["parameters"], group="")
    first_wtp = singles[singles["wtp"] == min(wtp)].set_index("parameters")["evppi"]
    frames = [singles]
    size = min(MAX_GROUP_SIZE, psa["draw"].nunique() // DRAWS_PER_GROUP_MEMBER)
    for name, members in section_groups(varying).items() if size >= 2 else ():
        kept = sorted(members, key=lambda p: -first_wtp.get(p, 0.0))[:size]
        table = evppi(psa, [kept], wtp, **kw)
        label = f"{name} ({len(kept)} of {len(members)})" if len(kept) < len(members) else name
        frames.append(table.assign(label=f"{label}", group=name))
    return information_rank(pd.concat(frames, ignore_index=True))


def write_psa_outputs(
    tmp: Path,
    psa: pd.DataFrame,
    wtp: Sequence[float],
    reference: str,
    currency: str,
    *,
    shared_cohort: bool = True,
    precision: float = 100.0,
    evppi_parameters: Sequence[str] | None = None,
    population: float | None = None,
) -> dict[str, pd.DataFrame]:
    """Write ``psa.csv``, ``psa_variance.csv`` and, with two or more strategies, the decision tables and
    figures (acceptability, expected loss, EVPI, the ICER table on PSA means; EVPPI if asked).

    ``psa`` must have ``reference`` as its first strategy (increments and the ANOVA split are over it). A PSA
    run with a new cohort per draw is denoised (:func:`analysis.psa_noise.denoise`) before the CEAC, CEAF,
    EVPI and EVPPI; the raw EVPI is kept as ``evpi_uncorrected``.

    Returns the tables written, by file stem.
    """
    from analysis.figures import ce_plane_figure, ceac_figure, evpi_figure
    from analysis.psa_curves import expected_loss, pairwise_ceac, psa_icers
    from analysis.psa_noise import denoise, variance_split
    from analysis.voi import population_value
    from analysis.voi_figures import evppi_figure, expected_loss_figure, pairwise_ceac_figure

    if psa["strategy"].iloc[0] != reference:
        raise ValueError(f"the PSA's first strategy must be the reference {reference!r}")
    psa.to_csv(tmp / "psa.csv", index=False)
    out = {"psa": psa}
    out["psa_variance"] = variance_split(psa, wtp, shared_cohort=shared_cohort, precision=precision)
    out["psa_variance"].to_csv(tmp / "psa_variance.csv", index=False)
    if psa["strategy"].nunique() < 2:
        return out
    analysed = psa if shared_cohort else denoise(psa)
    grid = wtp_grid(wtp)
    kw = {"cost": "cost_disc", "effect": "qalys_disc"}
    n_draws = psa["draw"].nunique()
    out["ceac"] = _with_binomial_se(ceac(analysed, grid, **kw), n_draws)
    out["ceaf"] = _with_binomial_se(ceaf(analysed, grid, **kw), n_draws)
    out["pairwise_ceac"] = pairwise_ceac(analysed, grid, reference, **kw)
    out["expected_loss"] = expected_loss(analysed, grid, **kw)
    table = evpi(analysed, grid, **kw)
    if not shared_cohort:
        table["evpi_uncorrected"] = evpi(psa, grid, **kw)["evpi"].to_numpy()
    out["evpi"] = population_value(table, population) if population is not None else table
    out["icers_psa"] = psa_icers(analysed, **kw).rename(columns=DISCOUNTED_NAMES)
    plane = ce_plane(psa, reference, **kw)
    out["ce_plane"] = plane.rename(columns=DISCOUNTED_NAMES)
    for name in ("ceac", "ceaf", "pairwise_ceac", "expected_loss", "evpi", "icers_psa", "ce_plane"):
        out[name].to_csv(tmp / f"{name}.csv", index=False)
    save_png(ce_plane_figure(plane, wtp, reference, currency), tmp / "ce_plane.png")
    save_png(ceac_figure(out["ceac"], out["ceaf"], currency), tmp / "ceac.png")
    save_png(pairwise_ceac_figure(out["pairwise_ceac"], currency), tmp / "pairwise_ceac.png")
    save_png(expected_loss_figure(out["expected_loss"], currency), tmp / "expected_loss.png")
    save_png(evpi_figure(out["evpi"], currency), tmp / "evpi.png")
    if evppi_parameters:
        ranked = evppi_tables(analysed, evppi_parameters, wtp)
        if not ranked.empty:
            out["evppi"] = population_value(ranked, population, "evppi") if population is not None else ranked
            out["evppi"].to_csv(tmp / "evppi.csv", index=False)
            save_png(evppi_figure(ranked, currency), tmp / "evppi.png")
    return out


def _with_binomial_se(frame: pd.DataFrame, n_draws: int) -> pd.DataFrame:
    """Add ``se``, the Monte Carlo standard error of a proportion of draws, ``sqrt(p (1 − p) / n)``."""
    p = frame["probability"].to_numpy(dtype=float)
    return frame.assign(se=np.sqrt(p * (1 - p) / n_draws))


def psa_text(tables: dict[str, pd.DataFrame], wtp: Sequence[float], currency: str) -> str:
    """What a PSA found, as headed tables for the terminal."""
    from analysis.psa_noise import format_variance_split

    psa = tables["psa"]
    n = psa["draw"].nunique()
    lines = [
        f"PSA: {n} draws; mean over draws (± standard error over draws); costs in {currency}, discounted; "
        "QALYs discounted.",
        f"{'strategy':<28}{'cost_disc':>12}{'± se':>9}{'qalys_disc':>11}{'± se':>8}",
    ]
    for name, g in psa.groupby("strategy", sort=False):
        sd_c = g["cost_disc"].std(ddof=1) / math.sqrt(len(g)) if len(g) > 1 else math.nan
        sd_q = g["qalys_disc"].std(ddof=1) / math.sqrt(len(g)) if len(g) > 1 else math.nan
        lines.append(
            f"{name:<28}{g['cost_disc'].mean():>12,.0f}{sd_c:>9,.0f}{g['qalys_disc'].mean():>11.3f}{sd_q:>8.3f}"
        )
    if "icers_psa" in tables:
        lines += ["", "ICER table on the PSA means (each ICER vs the comparator named on its row):"]
        lines.append(f"{'strategy':<28}{'comparator':<28}{'ICER':>12}  {'status':<7}note")
        for r in tables["icers_psa"].itertuples(index=False):
            icer = "-" if r.icer != r.icer else f"{r.icer:,.0f}"
            lines.append(f"{r.strategy:<28}{r.comparator or '-':<28}{icer:>12}  {r.status:<7}{r.note}")
    if "ceac" in tables:
        vs = f"P(> {psa['strategy'].iloc[0]})"
        lines += ["", f"{'WTP per QALY':<14}{'strategy':<28}{'P(best)':>8}{vs:>30}{'expected loss':>15}"]
        c, pw, loss = tables["ceac"], tables["pairwise_ceac"], tables["expected_loss"]
        for w in wtp:
            for r in c[c["wtp"] == w].itertuples(index=False):
                p = pw[(pw["wtp"] == w) & (pw["strategy"] == r.strategy)]["probability"]
                el = loss[(loss["wtp"] == w) & (loss["strategy"] == r.strategy)]["expected_loss"].iloc[0]
                pair = f"{p.iloc[0]:.2f}" if len(p) else "(comparator)"
                lines.append(f"{w:<14,.0f}{r.strategy:<28}{r.probability:>8.2f}{pair:>30}{el:>15,.0f}")
        e = tables["evpi"]
        lines += ["", f"{'WTP per QALY':<14}{'EVPI per patient':>18}{'± se':>9}"
                  + (f"{'population EVPI':>18}" if "population_evpi" in e.columns else "")]  # fmt: skip
        for w in wtp:
            r = e[e["wtp"] == w].iloc[0]
            pop = f"{r['population_evpi']:>18,.0f}" if "population_evpi" in e.columns else ""
            lines.append(f"{w:<14,.0f}{r['evpi']:>18,.0f}{r['se']:>9,.0f}{pop}")
    if "evppi" in tables:
        ev = tables["evppi"]
        w = min(wtp)
        top = ev[ev["wtp"] == w].head(10)
        lines += [
            "",
            f"EVPPI per patient at {currency} {w:,.0f}/QALY, highest first (groups are scenario sections):",
        ]
        lines.append(f"{'rank':>4}  {'parameter or group':<64}{'EVPPI':>9}{'± se':>8}{'% EVPI':>8}  fit")
        for r in top.itertuples(index=False):
            share = "-" if r.share_of_evpi != r.share_of_evpi else f"{100 * r.share_of_evpi:.0f}"
            lines.append(f"{r.rank:>4}  {r.label:<64}{r.evppi:>9,.0f}{r.se:>8,.0f}{share:>8}  {r.fit_check}")
    split = format_variance_split(tables["psa_variance"], currency)
    if split:
        lines += ["", split]
    return "\n".join(lines)


def run_psa_outputs(
    tmp: Path,
    scenarios,
    reference: str,
    args: argparse.Namespace,
    n_draws: int,
    n_patients: int,
    checkpoint=None,
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Run the PSA of ``compare --psa`` or ``psa`` (reference first, so every increment is over it) and write
    its tables and figures; with ``--subgroups`` also ``psa_subgroups.csv``, the subgroup results over the
    draws (the same simulations). Returns the tables and the PSA's metadata."""
    from analysis.dsa import candidate_parameters
    from analysis.subgroups import psa_subgroup_table
    from sim.run.psa import psa_attrs, run_psa, run_psa_by_subgroup

    shared = args.cohort == "shared" or args.shared_cohort
    ordered = sorted(scenarios, key=lambda s: s.strategy != reference)
    subgroups = getattr(args, "subgroups", None) or []
    options = {
        "shared_cohort": shared,
        "checkpoint": checkpoint,
        "check_invariants": getattr(args, "check_invariants", False),
        "executor": getattr(args, "executor", None),
    }
    if subgroups:
        psa, by_subgroup = run_psa_by_subgroup(
            ordered, n_draws, n_patients, args.seed, subgroups, args.workers, progress=True, **options
        )
    else:
        psa = run_psa(ordered, n_draws, n_patients, args.seed, args.workers, progress=True, **options)
    population = population_of(ordered[0])
    tables = write_psa_outputs(
        tmp,
        psa,
        args.wtp,
        reference,
        ordered[0].model.economics.currency,
        shared_cohort=shared,
        precision=args.precision,
        evppi_parameters=list(candidate_parameters(ordered)) if args.evppi else None,
        population=population,
    )
    if subgroups:
        tables["psa_subgroups"] = psa_subgroup_table(by_subgroup, reference, args.wtp, shared_cohort=shared)
        tables["psa_subgroups"].to_csv(tmp / "psa_subgroups.csv", index=False)
    meta = psa_attrs(ordered, n_draws, n_patients, args.seed, shared)
    meta |= {"design": "shared cohort" if shared else "cohort per draw (decision results denoised)"}
    meta |= {"reference": reference, "population_patients": population, "evppi": bool(args.evppi)}
    return tables, meta


def write_subgroups(
    tmp: Path, results, subgroups, reference: str | None, wtp: Sequence[float]
) -> pd.DataFrame:
    """``subgroups.csv`` from paired simulation results (one per strategy)."""
    from analysis.subgroups import subgroup_table

    by_strategy = {str(r.patients["strategy"].iloc[0]): r.patients for r in results}
    table = subgroup_table(by_strategy, subgroups, reference, wtp)
    table.to_csv(tmp / "subgroups.csv", index=False)
    return table


def write_workbook(tmp: Path, tables: dict[str, pd.DataFrame]) -> None:
    """``results.xlsx``: one sheet per table (the CSV files' contents, sheets named as the files), written
    with openpyxl, with fixed time stamps so that the same run gives the same bytes."""
    import datetime
    import re
    import zipfile

    path = tmp / "results.xlsx"
    fixed = datetime.datetime(2000, 1, 1)
    with pd.ExcelWriter(path, engine="openpyxl") as book:
        for name, table in tables.items():
            table.to_excel(book, sheet_name=name[:31], index=False)
        book.book.properties.created = fixed
        book.book.properties.modified = fixed
    with zipfile.ZipFile(path) as source:
        members = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for filename, data in members:
            if filename == "docProps/core.xml":  # openpyxl stamps the save time here
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2000-01-01T00:00:00Z", data)
            target.writestr(zipfile.ZipInfo(filename, date_time=(2000, 1, 1, 0, 0, 0)), data)


def incremental_text(ev: EconomicEvaluation) -> str:
    t = ev.incremental
    if t.empty:
        return ""
    lines = [
        f"Incremental vs {ev.reference} (paired patients; mean ± SE; discounted):",
        f"{'strategy':<28}{'vs':<28}{'inc_cost_disc':>14}{'± se':>9}{'inc_qalys_disc':>15}{'± se':>8}"
        f"{'ICER':>11}  note",
    ]
    for r in t.itertuples(index=False):
        icer = "-" if r.icer != r.icer else f"{r.icer:,.0f}"
        lines.append(
            f"{r.strategy:<28}{r.reference:<28}{r.inc_cost_disc:>14,.0f}{r.inc_cost_disc_se:>9,.0f}"
            f"{r.inc_qalys_disc:>15.3f}{r.inc_qalys_disc_se:>8.3f}{icer:>11}  {r.note}"
        )
    return "\n".join(lines)


def versions() -> dict[str, str]:
    from sim.run.runner import versions as _versions

    return _versions()


#: Options that control how a run is carried out, never what it computes: left out of metadata.json so
#: that a run with more workers, resumed, or written to another directory gives byte-identical files.
RUN_CONTROL_OPTIONS = (
    "func",
    "command",
    "workers",
    "scheduler",
    "dask",
    "resume",
    "force",
    "out",
    "check_invariants",
    "executor",
)


def arguments_of(args: argparse.Namespace) -> dict[str, Any]:
    """The options that determine a command's results, for metadata.json."""
    return {k: v for k, v in sorted(vars(args).items()) if k not in RUN_CONTROL_OPTIONS}
