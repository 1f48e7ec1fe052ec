"""Assembling the report from results that already exist: simulation results, an economic evaluation and
one patient's story. No simulation runs here (``antimag report`` runs them)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.cohort_course import CohortCourse, cohort_course
from analysis.economics import EconomicEvaluation
from analysis.figures import outcome_curves_figure
from analysis.summary import milestone_summary
from analysis.survival import cumulative_incidence
from sim.model.columns import COST_UNDISC, QALYS_UNDISC
from sim.run.runner import SimulationResult, horizon_of

from . import content, images
from .page import render


def build_report(
    results: Sequence[SimulationResult],
    evaluation: EconomicEvaluation | None = None,
    story=None,
    command: str = "",
) -> str:
    """The self-contained HTML page of a run.

    Parameters
    ----------
    results : sequence of SimulationResult
        One per strategy, on the same patients and seed (the first is the reference).
    evaluation : EconomicEvaluation, optional
        :func:`analysis.economics.evaluate` of ``results``; required for the strategies' section (two or
        more results).
    story : sim.PatientStory, optional
        One patient's story (:func:`sim.patient_story`) for its section; without it the section says so.
    command : str
        The command line that made the page, for the provenance.

    Returns
    -------
    str
        The page: HTML with its style sheet inline and its figures as ``data:`` URIs.
    """
    return render(report_context(results, evaluation, story, command))


def report_context(
    results: Sequence[SimulationResult],
    evaluation: EconomicEvaluation | None = None,
    story=None,
    command: str = "",
) -> dict[str, Any]:
    """Everything the templates show, as plain data (tested section by section)."""
    results = list(results)
    if not results:
        raise ValueError("the report needs at least one simulation result")
    if len(results) > 1 and evaluation is None:
        raise ValueError("several strategies need their economic evaluation (analysis.economics.evaluate)")
    names = [r.scenario.strategy for r in results]
    first = results[0]
    n = len(first.patients)
    title = "Anti-MAG neuropathy: " + (" vs ".join(names) if len(names) <= 3 else f"{len(names)} strategies")
    lead = (
        f"{n:,} simulated patients per strategy, followed from their first symptom "
        f"({_horizon_words(first)}); seed {first.metadata.get('seed')}."
    )
    return {
        "title": title,
        "lead": lead,
        "story": story_context(story) if story is not None else None,
        "cohort": cohort_context(results),
        "economics": economics_context(results, evaluation) if len(results) > 1 else None,
        "parameters": parameters_context(results),
        "provenance": provenance_context(results, command),
    }


def _horizon_words(result: SimulationResult) -> str:
    h = horizon_of(result.values)
    return "for life" if math.isinf(h) else f"for up to {h:g} years"


# --------------------------------------------------------------------------------------------- sections


def story_context(story) -> dict[str, Any]:
    """The patient's section: who they are, the picture, the timeline per strategy, the summary."""
    from analysis.patient_figure import patient_figure

    traits = story.traits
    who = "A man" if traits.get("sex") == "male" else "A woman"
    intro = (
        f"{who} whose first symptom came at age {traits['age_at_onset']:.0f}; anti-MAG titre "
        f"{traits['titre_band']} BTU, IgM paraprotein {traits['mprotein_g_dl']:.2f} g/dL. "
        f"Patient {story.patient_id} of the simulated cohort (seed {story.seed})"
    )
    intro += f", picked as a {story.pick} example: {story.reason}." if story.pick else "."
    fig = patient_figure(story)
    image = images.image(
        fig,
        images.patient_alt(story),
        "Disability scales over time (steps), milestones marked, treatment courses as bars under the axis"
        + (", every strategy on one figure." if len(story.strategies) > 1 else "."),
    )
    timeline = story.timeline
    lanes = []
    for k, name in enumerate(story.strategies):
        rows = timeline[timeline["strategy"] == name]
        if k > 0:
            rows = rows[~rows["shared"].astype(bool)]  # the shared part is told once, under the first
        lanes.append(
            {
                "heading": (
                    f"Under {name}"
                    if k == 0
                    else f"Under {name}, from the moment the courses part (the rest as above)"
                ),
                "rows": [
                    {
                        "year": f"{r['time']:.1f}",
                        "age": f"{r['age']:.0f}" if r["age"] == r["age"] else "",
                        "text": r["text"],
                        "shared": bool(r["shared"]) or len(story.strategies) == 1,
                    }
                    for r in rows.to_dict("records")
                ],
            }
        )
    parting = ""
    for p in story.partings:
        if p is None:
            continue
        theirs = _text_at(timeline, p.strategy, p.index)
        ours = _text_at(timeline, story.strategies[0], p.index)
        parting = (
            f"The courses part at year {p.time:.1f}. Under {p.strategy}: “{theirs}” Under "
            f"{story.strategies[0]} instead: “{ours}” Rows from there on are shaded."
        )
    summary = []
    for r in story.summary.to_dict("records"):
        end = f"died at {r['age_at_end']:.0f} ({r['death_cause']})" if r["died"] else "alive at the horizon"
        summary.append(
            {
                "strategy": r["strategy"],
                "years": f"{r['years_with_disease']:.1f}",
                "disabled": f"{r['years_disabled']:.1f}",
                "end": end,
                "qalys": f"{r[QALYS_UNDISC]:.2f}" if QALYS_UNDISC in r else "",
                "cost": content.money(r[COST_UNDISC]) if COST_UNDISC in r else "",
            }
        )
    return {
        "intro": intro,
        "image": image,
        "lanes": lanes,
        "parting": parting,
        "summary": summary,
        "currency": story.currency,
    }


def _text_at(timeline: pd.DataFrame, strategy: str, index: int) -> str:
    """The plain-words text of a strategy's ``index``-th event (the parting point), or a fallback."""
    rows = timeline[timeline["strategy"] == strategy]
    return str(rows["text"].iloc[index]) if 0 <= index < len(rows) else "the course ends here."


def cohort_context(results: Sequence[SimulationResult]) -> dict[str, Any]:
    """The cohort's section: milestone incidence, modified Rankin occupancy, and the milestone table."""
    course: CohortCourse = cohort_course(results)
    horizon = horizon_of(results[0].values)
    imgs = [
        images.image(
            course.incidence_figure(),
            images.incidence_alt(course.incidence),
            f"When patients reach each symptom milestone. Each curve stops where fewer than "
            f"{course.min_at_risk} patients remain at risk.",
        ),
        images.image(
            course.occupancy_figure(),
            images.occupancy_alt(course.occupancy),
            "Where the cohort is on the modified Rankin scale over time; the dark top band is the dead. "
            f"The areas stop where fewer than {course.min_at_risk} patients are alive or at the horizon.",
        ),
    ]
    patients = pd.concat([r.patients for r in results], ignore_index=True)
    summary = milestone_summary(patients, horizon)
    tables = [
        {"strategy": name, "rows": content.milestone_rows(group)}
        for name, group in summary.groupby("strategy", sort=False)
    ]
    intro = (
        "How the simulated cohort fares over time: when the symptoms and disability milestones arrive "
        "(percentages are Kaplan–Meier estimates with death censored, as in the published series), and how "
        "the whole cohort, the dead included, is spread over the modified Rankin levels."
    )
    return {"intro": intro, "images": imgs, "tables": tables}


def economics_context(results: Sequence[SimulationResult], ev: EconomicEvaluation) -> dict[str, Any]:
    """The strategies' section: outcome curves, ICER table with intervals, increments vs the reference."""
    horizon = horizon_of(results[0].values)
    patients = pd.concat([r.patients for r in results], ignore_index=True)
    at10 = {}
    for r in results:
        p = r.patients
        disabled = cumulative_incidence(p, "t_disabled", [10.0], horizon)["percent"].iloc[0]
        dead = cumulative_incidence(p, "t_death", [10.0], horizon)["percent"].iloc[0]
        at10[r.scenario.strategy] = {"disabled": float(disabled), "alive": 100.0 - float(dead)}
    fig = outcome_curves_figure(patients, horizon)
    econ = results[0].values.economics
    meta = ev.metadata.get("icer_interval", {})
    return {
        "currency": ev.currency,
        "price_year": ev.price_year,
        "reference": ev.reference,
        "discount_costs": f"{econ.discount_rate_costs:.1%}",
        "discount_effects": f"{econ.discount_rate_effects:.1%}",
        "interval_method": {"fieller": "Fieller", "bootstrap": "bootstrap"}.get(
            meta.get("method"), "Fieller"
        ),
        "image": images.image(
            fig,
            images.outcomes_alt(at10),
            "Disability (modified Rankin 3 or more) and survival by strategy, with 95% confidence bands.",
        ),
        "icers": content.icer_rows(ev),
        "incremental": content.incremental_rows(ev),
        "best": content.best_at(ev),
    }


def parameters_context(results: Sequence[SimulationResult]) -> dict[str, Any]:
    """Every parameter of the reference scenario; for each other strategy, those that differ."""
    reference = results[0].scenario
    return {
        "reference": reference.strategy,
        "rows": content.parameter_rows(reference),
        "others": [
            {"strategy": r.scenario.strategy, "rows": content.parameter_differences(reference, r.scenario)}
            for r in results[1:]
        ],
    }


def provenance_context(results: Sequence[SimulationResult], command: str) -> dict[str, Any]:
    """Seed, cohort size, horizon, scenario files and hashes, versions."""
    first = results[0]
    h = horizon_of(first.values)
    return {
        "command": command,
        "seed": first.metadata.get("seed"),
        "n_patients": int(len(first.patients)),
        "horizon": "lifetime" if np.isinf(h) else f"{h:g} years",
        "scenarios": [
            {
                "file": str(r.scenario.path).replace("\\", "/").rsplit("/", 1)[-1],
                "strategy": r.scenario.strategy,
                "sha256": r.scenario.sha256,
            }
            for r in results
        ],
        "versions": dict(first.metadata.get("versions", {})),
    }
