"""The picture of one simulated patient: disability over time, milestones, treatment courses.

One column per strategy (small multiples on shared axes); rows from the top:

1. the disability scales of :data:`SCALE_PANELS` that the scales frame holds, as step lines, one panel per
   instrument (INCAT arm, leg and total; ONLS arm, leg and total), so a scale appears once
   :func:`sim.outcome_scales` provides it;
2. the modified Rankin level (0–6, 6 = dead) as a step line;
3. the milestones (first symptom in the hands, ataxia, weakness, walking aid, tremor, pain, CIDP label,
   diagnosis, transformation, death), one labelled lane each;
4. the treatment courses as bars, one lane per treatment, with adverse events (minor, serious), responses,
   non-responses, relapses and IgM flares as markers.

With several strategies, a dashed line marks where each course parts from the reference (first column).
The functions take the tidy frames of a :class:`sim.PatientStory` and never run a simulation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from sim.story.words import treatment_name  # noqa: E402

#: Scale columns drawn, when the scales frame has them, in panels of one instrument each (panel title, y
#: axis top, columns → (label, colour, line style)); colours follow the limb: arm, leg, total.
SCALE_PANELS = (
    (
        "INCAT disability (points)",
        10,
        {
            "incat_arm": ("INCAT arm (0–5)", "#1b9e77", "-"),
            "incat_leg": ("INCAT leg (0–5)", "#d95f02", "-"),
            "incat_total": ("INCAT total (0–10)", "#000000", "-"),
        },
    ),
    (
        "ONLS (points)",
        12,
        {
            "onls_arm": ("ONLS arm (0–5)", "#1b9e77", "--"),
            "onls_leg": ("ONLS leg (0–7)", "#d95f02", "--"),
            "onls_total": ("ONLS total (0–12)", "#000000", "--"),
        },
    ),
)
SCALES = {col: style for _, _, cols in SCALE_PANELS for col, style in cols.items()}
#: Milestone lanes: event name → label (top lane first).
MILESTONES = {
    "sensory_hands": "numb hands",
    "ataxia": "ataxia, balance",
    "weakness": "weakness",
    "walking_aid": "walking aid",
    "tremor": "tremor",
    "neuropathic_pain": "nerve pain",
    "cidp_label": "labelled CIDP",
    "diagnosis": "anti-MAG diagnosis",
    "malignancy": "transformation",
    "bladder_cancer": "bladder cancer",
    "death": "death",
}
MARKERS = {
    "minor": ("adverse event", "x", "#444444", 40),
    "severe": ("serious adverse event", "*", "#d62728", 110),
    "response_onset": ("response begins", "2", "#2ca02c", 80),
    "response": ("response (complete)", "^", "#2ca02c", 45),
    "non_response": ("no response", "v", "#7f7f7f", 45),
    "relapse": ("relapse (benefit wears off)", "<", "#000000", 40),
    "igm_flare": ("IgM flare", "D", "#ff7f0e", 30),
}
TREATMENT_COLOURS = ("#1f77b4", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#ff7f0e", "#7f7f7f")
PARTING_COLOUR = "#d62728"


def _step(ax, frame: pd.DataFrame, column: str, **kw) -> None:
    """A step line that holds each value until the next row (also up to death, where the scale ends)."""
    t = frame["time"].to_numpy(dtype=float)
    y = frame[column].to_numpy(dtype=float)
    xs, ys = [], []
    for i in range(len(t)):
        if np.isnan(y[i]) and i > 0 and not np.isnan(y[i - 1]):
            xs.append(t[i])
            ys.append(y[i - 1])
        xs.append(t[i])
        ys.append(y[i])
    if np.isfinite(ys).any():
        ax.step(xs, ys, where="post", **kw)


def _lanes(timeline: pd.DataFrame) -> list[str]:
    present = set(timeline["event"])
    return [e for e in MILESTONES if e in present]


def plot_patient(
    scales: pd.DataFrame,
    timeline: pd.DataFrame,
    courses: pd.DataFrame,
    strategies: Sequence[str],
    partings: Sequence[object | None] = (),
    age_at_onset: float | None = None,
    title: str | None = None,
) -> Figure:
    """Draw one patient under one or more strategies (the first is the reference).

    Parameters
    ----------
    scales, timeline, courses : DataFrame
        ``PatientStory.scales``, ``.timeline`` and ``.courses``.
    strategies : sequence of str
        Column order.
    partings : sequence
        ``PatientStory.partings`` (objects with ``strategy`` and ``time``), one per strategy after the first.
    age_at_onset : float, optional
        Adds an age axis on top.
    title : str, optional
        Figure title.
    """
    strategies = list(strategies)
    n = len(strategies)
    t_max = max(float(timeline["time"].max()), float(scales["time"].max())) if len(timeline) else 1.0
    t_max = t_max if math.isfinite(t_max) and t_max > 0 else 1.0
    panels = [(name, top, [c for c in cols if c in scales.columns]) for name, top, cols in SCALE_PANELS]
    panels = [panel for panel in panels if panel[2]]
    scale_cols = [c for _, _, cols in panels for c in cols]
    lanes = _lanes(timeline)
    treatments = (
        list(dict.fromkeys(courses.sort_values("start", kind="stable")["treatment"])) if len(courses) else []
    )
    colours = {t: TREATMENT_COLOURS[i % len(TREATMENT_COLOURS)] for i, t in enumerate(treatments)}
    k = len(panels)
    heights = [2.4] * k + [1.6, 0.3 * max(len(lanes), 2) + 0.4, 0.3 * max(len(treatments), 1) + 0.4]
    fig, axes = plt.subplots(
        k + 3, n, figsize=(max(9.0, 6.2 * n + 1.6), 7.0 + 2.2 * k), sharex=True, squeeze=False,
        gridspec_kw={"height_ratios": heights, "hspace": 0.12, "wspace": 0.06},
    )  # fmt: skip
    parting_of = {getattr(p, "strategy", None): p for p in partings if p is not None}
    for j, strategy in enumerate(strategies):
        sc = scales[scales["strategy"] == strategy]
        tl = timeline[timeline["strategy"] == strategy]
        co = courses[courses["strategy"] == strategy]
        for ax_s, (_, top_score, cols) in zip(axes[:k, j], panels, strict=True):
            for c in cols:
                label, colour, style = SCALES[c]
                _step(ax_s, sc, c, color=colour, linestyle=style, linewidth=1.8, label=label)
            ax_s.set_ylim(-0.4, top_score + 0.6)
            ax_s.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax_m, ax_e, ax_t = axes[k:, j]
        _step(ax_m, sc, "mrs", color="#444444", linewidth=2.0, label="modified Rankin (6 = dead)")
        ax_m.set_ylim(-0.3, 6.4)
        ax_m.set_yticks(range(7))
        _milestones(ax_e, tl, lanes)
        _courses(ax_t, co, tl, treatments, colours, t_max)
        # The reference column shows every parting; each other column its own.
        marks = list(parting_of.values()) if j == 0 else [p for p in [parting_of.get(strategy)] if p]
        for ax in axes[:, j]:
            ax.grid(axis="x", color="#dddddd", linewidth=0.6)
            ax.set_xlim(-0.02 * t_max, t_max * 1.02)
            for parting in marks:
                ax.axvline(parting.time, color=PARTING_COLOUR, linestyle="--", linewidth=1.2)
            if j > 0:
                ax.tick_params(labelleft=False)
        ax_t.set_xlabel("years since the first symptom")
        head = axes[0, j]
        pad = 6
        if age_at_onset is not None:
            a0 = float(age_at_onset)
            top = head.secondary_xaxis("top", functions=(lambda t, a0=a0: t + a0, lambda a, a0=a0: a - a0))
            top.set_xlabel("age (years)", fontsize=9)
            pad = 28
        head.set_title(strategy.replace("_", " "), fontsize=11, pad=pad)
    for row, (name, _, _) in enumerate(panels):
        axes[row, 0].set_ylabel(name)
    axes[k, 0].set_ylabel("modified Rankin")
    axes[k + 1, 0].set_ylabel("milestones")
    axes[k + 2, 0].set_ylabel("treatments")
    handles = _legend(scale_cols, treatments, colours, bool(parting_of), _marks_present(timeline))
    ncol = 4 if n > 1 else 3
    fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=8.5, frameon=False)
    if title:
        fig.suptitle(title, fontsize=12, y=0.998)
    bottom = 0.1 + 0.012 * math.ceil(len(handles) / ncol)
    fig.subplots_adjust(left=0.2 if n == 1 else 0.1, right=0.98, top=0.88, bottom=bottom)
    return fig


def _milestones(ax, timeline: pd.DataFrame, lanes: list[str]) -> None:
    for k, event in enumerate(lanes):
        times = timeline.loc[timeline["event"] == event, "time"]
        y = len(lanes) - 1 - k
        marker, colour = ("X", "#000000") if event == "death" else ("o", "#555555")
        ax.scatter(times, np.full(len(times), y), marker=marker, color=colour, s=30, zorder=3)
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels(list(reversed([MILESTONES[e] for e in lanes])), fontsize=8)
    ax.set_ylim(-0.7, max(len(lanes), 1) - 0.3)


def _courses(ax, courses: pd.DataFrame, timeline: pd.DataFrame, treatments, colours, t_max: float) -> None:
    lane = {t: len(treatments) - 1 - i for i, t in enumerate(treatments)}
    t_end = float(timeline["time"].max()) if len(timeline) else t_max
    for r in courses.itertuples(index=False):
        end = r.end if r.end == r.end else t_end
        width = max(end - r.start, t_max * 0.004)  # a course of days is still visible
        ax.broken_barh([(r.start, width)], (lane[r.treatment] - 0.3, 0.6), color=colours[r.treatment])
    # Marks of one moment (a relapse, the retreatment it triggers, its flare and side effects) sit at
    # different heights of the lane so that none hides another.
    marks = (
        ("response_onset", 0.0),
        ("response", 0.0),
        ("non_response", 0.0),
        ("relapse", 0.0),
        ("igm_flare", -0.24),
    )
    for key, dy in marks:
        rows = timeline[timeline["event"] == key]
        for t, treatment in zip(rows["time"], _treatment_of(rows), strict=True):
            if treatment in lane:
                _, marker, colour, size = MARKERS[key]
                ax.scatter([t], [lane[treatment] + dy], marker=marker, color=colour, s=size, zorder=4)
    aes = timeline[timeline["event"] == "adverse_event"]
    for t, treatment, text in zip(aes["time"], _treatment_of(aes), aes["text"], strict=True):
        if treatment in lane:
            _, marker, colour, size = MARKERS["severe" if text.startswith("Serious") else "minor"]
            ax.scatter([t], [lane[treatment] + 0.24], marker=marker, color=colour, s=size, zorder=5)
    ax.set_yticks(range(len(treatments)))
    ax.set_yticklabels([treatment_name(t) for t in reversed(treatments)], fontsize=8)
    ax.set_ylim(-0.7, max(len(treatments), 1) - 0.3)


def _treatment_of(rows: pd.DataFrame) -> list[str]:
    """The treatment an event belongs to (the model logs it as the event's detail)."""
    return [str(d) for d in rows["detail"]] if "detail" in rows.columns else [""] * len(rows)


def _marks_present(timeline: pd.DataFrame) -> set[str]:
    present = set(timeline["event"]) & set(MARKERS)
    aes = timeline.loc[timeline["event"] == "adverse_event", "text"]
    if aes.str.startswith("Serious").any():
        present.add("severe")
    if (~aes.str.startswith("Serious")).any():
        present.add("minor")
    return present


def _legend(scale_cols, treatments, colours, parted: bool, marks: set[str]) -> list:
    handles: list = [
        Line2D([], [], color=SCALES[c][1], linestyle=SCALES[c][2], linewidth=1.8, label=SCALES[c][0])
        for c in scale_cols
    ]
    handles.append(Line2D([], [], color="#444444", linewidth=2.0, label="modified Rankin (6 = dead)"))
    handles.append(Line2D([], [], color="#555555", marker="o", linestyle="none", label="milestone"))
    handles.append(Line2D([], [], color="#000000", marker="X", linestyle="none", label="death"))
    handles += [Patch(color=colours[t], label=f"course: {treatment_name(t)}") for t in treatments]
    handles += [Line2D([], [], color=c, marker=m, linestyle="none", markersize=7, label=label)
                for key, (label, m, c, _) in MARKERS.items() if key in marks]  # fmt: skip
    if parted:
        handles.append(
            Line2D([], [], color=PARTING_COLOUR, linestyle="--", label="courses part from the first strategy")
        )
    return handles


def patient_figure(story) -> Figure:
    """:func:`plot_patient` of a :class:`sim.PatientStory`."""
    title = f"Patient {story.patient_id} (seed {story.seed})"
    if story.pick:
        title += f", picked as {story.pick}"
    return plot_patient(
        story.scales,
        story.timeline,
        story.courses,
        story.strategies,
        story.partings,
        story.traits.get("age_at_onset"),
        title,
    )
