"""The story as plain text, Markdown or JSON.

One line per event: years since the first symptom, age (completed years) and what happens. With other
strategies, the shared part of the course is told once, then the moment the courses part is marked, then
each strategy's own continuation; the summary puts the strategies side by side.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from sim.model.columns import COST_DISC, COST_UNDISC, LYS_UNDISC, QALYS_DISC, QALYS_UNDISC

PatientStory = Any  # a sim.story.story.PatientStory (not imported: that module imports this one)

SUMMARY_ROWS = (
    ("years_with_disease", "Years lived with the disease", "{:.1f}"),
    ("years_disabled", "Years disabled (modified Rankin 3 or worse)", "{:.1f}"),
    ("age_at_end", "Age at death or end of follow-up", "{:.1f}"),
    ("death_cause", "Cause of death", "{}"),
    ("n_courses", "Treatment courses (including therapy and aids)", "{}"),
    ("n_adverse_events", "Side effects", "{}"),
    (LYS_UNDISC, "Life-years, undiscounted", "{:.2f}"),
    (QALYS_UNDISC, "Quality-adjusted life-years (QALYs), undiscounted", "{:.2f}"),
    (QALYS_DISC, "QALYs, discounted", "{:.2f}"),
    (COST_UNDISC, "Costs{currency}, undiscounted", "{:,.0f}"),
    (COST_DISC, "Costs{currency}, discounted", "{:,.0f}"),
)

CAUSE_WORDS = {"background": "other causes", "malignancy": "blood cancer", "treatment": "treatment harm"}


def _when(t: float, age: float) -> str:
    return f"year {t:5.1f}, age {math.floor(age):3d}"


def _intro(story: PatientStory) -> list[str]:
    tr = story.traits
    who = "A man" if tr.get("sex") == "male" else "A woman"
    band = str(tr.get("titre_band", ""))
    titre = f"{int(band[2:]):,} BTU or more" if band.startswith(">=") else _band(band)
    lines = [
        f"{who} whose first symptom came at age {math.floor(tr['age_at_onset'])}; anti-MAG antibody titre "
        f"{titre}, IgM M-protein {tr['mprotein_g_dl']:.2f} g/dL."
    ]
    traits = [w for k, w in (("fast_progressor", "a faster course than most"), ("tremor", "a tremor"),
                             ("neuropathic_pain", "neuropathic pain")) if tr.get(k)]  # fmt: skip
    if traits:
        listed = traits[0] if len(traits) == 1 else ", ".join(traits[:-1]) + " and " + traits[-1]
        lines.append(f"In the model this patient is prone to {listed}.")
    if story.pick:
        lines.append(f"Picked by --pick {story.pick}: {story.reason}.")
    return lines


def _band(band: str) -> str:
    try:
        lo, hi = band.split("-")
        return f"{int(lo):,}–{int(hi):,} BTU"
    except ValueError:
        return band


def _title(story: PatientStory) -> str:
    names = " vs ".join(story.strategies)
    return f"Patient {story.patient_id} under {names} (seed {story.seed})"


def _told(rows: pd.DataFrame) -> list[tuple[float, float, str]]:
    """(time, age, text) per line; identical events at the same moment are told once, with a count
    (e.g. the minor infusion effects of a long IVIg course, recorded together at its end)."""
    out: list[tuple[float, float, str]] = []
    counts: list[int] = []
    for r in rows.itertuples():
        if out and out[-1][0] == r.time and out[-1][2] == r.text:
            counts[-1] += 1
        else:
            out.append((r.time, r.age, r.text))
            counts.append(1)
    return [
        (t, a, text if n == 1 else f"{text.rstrip('.')} ({n} times).")
        for (t, a, text), n in zip(out, counts, strict=True)
    ]


def _rows(story: PatientStory, strategy: str) -> pd.DataFrame:
    return story.timeline[story.timeline["strategy"] == strategy].reset_index(drop=True)


def _first_parting(story: PatientStory) -> int | None:
    return min((p.index for p in story.partings if p is not None), default=None)


def _parting_line(story: PatientStory) -> list[str]:
    """``The courses part at year ...``: the first event that differs, in words, under each strategy."""
    out = []
    ref = story.strategies[0]
    for p in story.partings:
        if p is None:
            continue
        age = story.traits["age_at_onset"] + p.time
        nexts = []
        for s in (ref, p.strategy):
            rows = _rows(story, s)
            if p.index < len(rows):
                r = rows.iloc[p.index]
                nexts.append(f"under {s} next comes (year {r.time:.2f}) {_lower_first(r.text).rstrip('.')}")
            else:
                nexts.append(f"under {s} nothing more happens")
        out.append(f"The courses part at year {p.time:.2f} (age {math.floor(age)}): " + "; ".join(nexts))
    return out


def _lower_first(text: str) -> str:
    return text[0].lower() + text[1:] if len(text) > 1 and text[1].islower() else text


def _identical(story: PatientStory) -> list[str]:
    return [
        f"Under {s} the course is identical to {story.strategies[0]}'s, event for event."
        for s, p in zip(story.strategies[1:], story.partings, strict=True)
        if p is None
    ]


def _summary_table(story: PatientStory) -> tuple[list[str], list[list[str]]]:
    currency = f" ({story.currency})" if story.currency else ""
    summary = story.summary.set_index("strategy")
    body = []
    for col, label, fmt in SUMMARY_ROWS:
        if col not in summary.columns:
            continue
        cells = []
        for s in story.strategies:
            v = summary.at[s, col]
            if col == "death_cause":
                cells.append(CAUSE_WORDS.get(str(v), str(v)) if v is not None and v == v else "alive")
            elif v is None or (isinstance(v, float) and np.isnan(v)):
                cells.append("—")
            else:
                cells.append(fmt.format(v))
        body.append([label.format(currency=currency), *cells])
    return ["", *story.strategies], body


def render_text(story: PatientStory) -> str:
    lines = [_title(story), "=" * len(_title(story)), *_intro(story), ""]
    ref = story.strategies[0]
    first = _first_parting(story)
    if len(story.strategies) == 1 or first is None:
        if len(story.strategies) > 1:
            lines += _identical(story) + [""]
        lines += [f"{_when(t, a)}  {text}" for t, a, text in _told(_rows(story, ref))]
    else:
        shared = _rows(story, ref).iloc[:first]
        lines.append(f"Shared course (the same under {', '.join(story.strategies)}):")
        lines += [f"{_when(t, a)}  {text}" for t, a, text in _told(shared)]
        lines += ["", *("--> " + x for x in _parting_line(story)), *_identical(story)]
        for s, p in zip(story.strategies, (None, *story.partings), strict=True):
            if s != ref and p is None:
                continue
            lines += ["", f"Under {s}:"]
            rows = _rows(story, s)
            if s != ref and p.index > first:  # still the reference's course until its own parting
                lines += [f"{_when(t, a)}  {text}" for t, a, text in _told(rows.iloc[first : p.index])]
                lines.append(f"--> here the course under {s} parts from {ref}'s")
                rows = rows.iloc[p.index :]
            else:
                rows = rows.iloc[first:]
            lines += [f"{_when(t, a)}  {text}" for t, a, text in _told(rows)]
    header, body = _summary_table(story)
    width = max(len(row[0]) for row in body)
    cols = [
        max(len(x) for x in [header[j + 1], *(row[j + 1] for row in body)]) for j in range(len(header) - 1)
    ]
    lines += ["", "Summary"]
    if len(story.strategies) > 1:
        lines.append(
            " " * width + "  " + "  ".join(h.rjust(c) for h, c in zip(header[1:], cols, strict=True))
        )
    for row in body:
        lines.append(
            row[0].ljust(width) + "  " + "  ".join(x.rjust(c) for x, c in zip(row[1:], cols, strict=True))
        )
    if story.currency:
        lines.append("(Costs and QALYs from the scenario's economics; discounted at its annual rates.)")
    return "\n".join(lines) + "\n"


def _md_table(rows: pd.DataFrame) -> list[str]:
    out = ["| years since first symptom | age | what happens |", "|---:|---:|---|"]
    out += [f"| {t:.1f} | {math.floor(a)} | {text} |" for t, a, text in _told(rows)]
    return out


def render_markdown(story: PatientStory) -> str:
    lines = [f"# {_title(story)}", "", *_intro(story), ""]
    ref = story.strategies[0]
    first = _first_parting(story)
    if len(story.strategies) == 1 or first is None:
        lines += _identical(story)
        lines += ["", *_md_table(_rows(story, ref))]
    else:
        lines += [f"## Shared course (the same under {', '.join(story.strategies)})", ""]
        lines += _md_table(_rows(story, ref).iloc[:first])
        for x in [f"**{x}.**" for x in _parting_line(story)] + _identical(story):
            lines += ["", x]
        for s, p in zip(story.strategies, (None, *story.partings), strict=True):
            if s != ref and p is None:
                continue
            lines += ["", f"## Under {s}", ""]
            rows = _rows(story, s)
            if s != ref and p.index > first:  # still the reference's course until its own parting
                lines += _md_table(rows.iloc[first : p.index])
                lines += ["", f"**Here the course under {s} parts from {ref}'s.**", ""]
                rows = rows.iloc[p.index :]
            else:
                rows = rows.iloc[first:]
            lines += _md_table(rows)
    header, body = _summary_table(story)
    lines += [
        "",
        "## Summary",
        "",
        "| " + " | ".join(header) + " |",
        "|---" + "|---:" * (len(header) - 1) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def _plain(x: Any) -> Any:
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating | float):
        return None if not math.isfinite(float(x)) else float(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def render_json(story: PatientStory) -> str:
    def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]

    data = {
        "patient_id": story.patient_id,
        "seed": story.seed,
        "strategies": list(story.strategies),
        "pick": story.pick,
        "reason": story.reason,
        "traits": {k: _plain(v) for k, v in story.traits.items()},
        "timeline": records(story.timeline),
        "summary": records(story.summary),
        "partings": [
            None if p is None else {k: _plain(v) for k, v in vars(p).items()} for p in story.partings
        ],
        "currency": story.currency,
        "metadata": story.metadata,
    }
    return json.dumps(data, indent=2, default=_plain) + "\n"
