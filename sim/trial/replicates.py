"""One replicate of a trial and the replicate runner: ``simulate_trial`` and its summary."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import ScenarioError
from sim.random import PURPOSES, generator
from sim.run.checkpoint import Checkpoint
from sim.run.executors import completed_results, executor_slots
from sim.run.progress import progress_bar
from sim.run.runner import simulate, versions
from sim.trial.design import MAX_SCREENED_PER_PATIENT, eligible_entry, has_entry_rules
from sim.trial.loading import Trial, load_trial
from sim.trial.measurement import ScaleReader, observe
from sim.trial.schema import SCALES
from sim.trial.statistics import proportion_difference, welch_difference
from sim.trial.streams import STREAM_RANDOMISE, TRIAL_STREAM

REPLICATE_COLUMNS = (
    "replicate",
    "endpoint",
    "arm_a",
    "arm_b",
    "n_a",
    "n_b",
    "n_excluded_a",
    "n_excluded_b",
    "mean_a",
    "mean_b",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "significant",
    "favours_a",
)


def run_replicate(trial: Trial, seed: int, replicate: int) -> tuple[list[tuple], list[dict]]:
    draw = replicate + 1
    model = trial.model
    needed = trial.n_patients
    factor = model.screening.factor if model.screening is not None else 4.0
    n_screen = max(needed, math.ceil(factor * needed))
    max_screen = MAX_SCREENED_PER_PATIENT * needed
    while True:
        nh = simulate(trial.screening, n_patients=n_screen, seed=seed, draw=draw)
        entry, eligible = eligible_entry(trial, nh, seed, draw)
        ids = np.flatnonzero(eligible)
        if ids.size >= needed:
            break
        if n_screen >= max_screen:
            raise ScenarioError(
                f"entry criteria too strict: only {ids.size} of {n_screen} simulated candidates are eligible "
                f"(replicate {replicate}), {needed} needed",
                trial.path,
                "entry",
            )
        n_screen = min(max_screen, n_screen * 2)
    enrolled = ids[:needed]
    labels = list(model.arms)
    sizes = [model.arms[a].patients for a in labels]
    assignment = generator(seed, draw, PURPOSES["measurement"], TRIAL_STREAM, STREAM_RANDOMISE).permutation(
        np.repeat(np.arange(len(labels)), sizes)
    )
    visits = trial.visit_months
    observed: dict[str, dict[float, dict[str, np.ndarray]]] = {}
    baseline: list[dict] = []
    for k, label in enumerate(labels):
        pts = enrolled[assignment == k]
        scenario = trial.arms[label]
        if scenario.sha256 == trial.screening.sha256 and not has_entry_rules(scenario):
            result = nh  # entry has no effect on this arm: its run is the screening run
        else:
            times = np.full(int(pts.max()) + 1, np.nan)
            times[pts] = entry[pts]
            result = simulate(
                scenario, n_patients=int(pts.max()) + 1, seed=seed, draw=draw, entry_times=times
            )
        observed[label] = {}
        reader = ScaleReader(result)
        for months in (0.0, *visits):
            true = reader.at(pts, entry[pts] + months / 12.0)
            observed[label][months] = observe(true, model.measurement_error, seed, draw, months)
        base = observed[label][0.0]
        baseline.append(
            {
                "replicate": replicate,
                "arm": label,
                "n": int(pts.size),
                "screened": int(enrolled.max()) + 1,
                "duration_years": float(np.mean(entry[pts])),
                **{f"{s}_entry": float(np.mean(base[s])) for s in SCALES},
            }
        )
    rows = []
    for name, ep in model.endpoints.items():
        months = trial.endpoint_months(name)
        better = SCALES[ep.scale][2]
        sign = -1.0 if better == "lower" else 1.0
        per_arm = {}
        for label in labels:
            base = observed[label][0.0][ep.scale]
            follow = observed[label][months]
            alive = follow["alive"]
            change = follow[ep.scale][alive] - base[alive]
            per_arm[label] = (change, int((~alive).sum()))
        for arm_a in trial.treatment_arms:
            arm_b = model.control
            (ca, xa), (cb, xb) = per_arm[arm_a], per_arm[arm_b]
            if ep.kind == "change":
                est, low, high, p = welch_difference(ca, cb, model.alpha)
                mean_a = float(ca.mean()) if ca.size else math.nan
                mean_b = float(cb.mean()) if cb.size else math.nan
                favourable = est * sign > 0
            else:
                ka = int(np.sum(sign * ca >= ep.improvement))
                kb = int(np.sum(sign * cb >= ep.improvement))
                est, low, high, p = proportion_difference(ka, ca.size, kb, cb.size, model.alpha)
                mean_a = ka / ca.size if ca.size else math.nan
                mean_b = kb / cb.size if cb.size else math.nan
                favourable = est > 0
            significant = bool(p < model.alpha)
            rows.append(
                (
                    replicate,
                    name,
                    arm_a,
                    arm_b,
                    int(ca.size),
                    int(cb.size),
                    xa,
                    xb,
                    mean_a,
                    mean_b,
                    est,
                    low,
                    high,
                    p,
                    significant,
                    bool(significant and favourable),
                )
            )
    return rows, baseline


def _run_chunk(shared: tuple[Trial, int], replicates: list[int]) -> list[tuple[int, tuple[list, list]]]:
    trial, seed = shared
    return [(r, run_replicate(trial, seed, r)) for r in replicates]


def _replicate_job(trial: Trial, seed: int, replicate: int) -> dict[str, Any]:
    """What a replicate's checkpoint record must match."""
    return {"trial_sha256": trial.sha256, "seed": seed, "replicate": replicate}


@dataclass
class TrialResult:
    """Replicated simulated trial.

    ``replicates``: one row per (replicate, endpoint, treatment arm vs control) with the estimate
    (treatment minus control: difference in mean change from entry, or in responder shares), its CI, the
    p-value, ``significant`` (p < alpha, either direction) and ``favours_a`` (significant in the direction
    favouring the treatment arm); ``n_a``/``n_b`` analysed, ``n_excluded_a``/``n_excluded_b`` dead by the
    visit; ``mean_a``/``mean_b`` the arm means (mean change, or responder share).
    ``summary``: per endpoint and comparison, the mean and SD of the estimate over replicates, its 2.5 and
    97.5 percentiles, the power (share of replicates with ``favours_a``) and its Monte Carlo SE.
    ``baseline``: per replicate and arm, the disease duration and mean observed scores at entry.
    """

    replicates: pd.DataFrame
    summary: pd.DataFrame
    baseline: pd.DataFrame
    metadata: dict[str, Any]
    trial: Trial = field(repr=False)


def simulate_trial(
    trial: Trial | str | Path,
    replicates: int = 200,
    seed: int = 1,
    workers: int = 1,
    progress: bool = False,
    checkpoint: Checkpoint | None = None,
    executor: Any = None,
) -> TrialResult:
    """Simulate a randomised trial ``replicates`` times and summarise its power.

    Parameters
    ----------
    trial : Trial, str or Path
        A trial file or a :class:`Trial` from :func:`load_trial`.
    replicates : int
        Independent replicates; replicate ``r`` uses PSA-free patient streams keyed by ``draw = r + 1``.
    seed : int
        Root seed of every random stream (non-negative).
    workers : int
        Processes over replicates; the results do not depend on it.
    progress : bool
        Show a progress bar.
    checkpoint : sim.run.checkpoint.Checkpoint, optional
        Record every finished replicate (stage ``replicates``) as it completes and skip the replicates
        already recorded (``--resume``); the result is byte-identical to an uninterrupted run's.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Run the replicates there instead of on ``workers`` local processes; results are identical.

    Returns
    -------
    TrialResult
    """
    if not isinstance(trial, Trial):
        trial = load_trial(trial)
    if not isinstance(replicates, int | np.integer) or replicates < 1:
        raise ValueError(f"replicates must be a positive integer, got {replicates!r}")
    if not isinstance(workers, int | np.integer) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    reps = list(range(int(replicates)))
    stage = checkpoint.stage("replicates") if checkpoint is not None else None
    done: dict[int, tuple[list, list]] = {}
    if stage is not None:
        for r in reps:
            record = stage.load(r, _replicate_job(trial, seed, r))
            if record is not None:
                done[r] = (record[0], record[1])
    pending = [r for r in reps if r not in done]

    def finished(r: int, result: tuple[list, list]) -> None:
        done[r] = result
        if stage is not None:
            stage.save(r, _replicate_job(trial, seed, r), [list(result[0]), list(result[1])])
        bar.update(1)

    serial = executor is None and workers == 1
    size = 1 if serial else max(1, min(10, math.ceil(len(pending) / (executor_slots(executor, workers) * 4))))
    chunks = [pending[i : i + size] for i in range(0, len(pending), size)]
    with progress_bar(len(reps), "replicates", progress) as bar:
        bar.update(len(done))
        for _, results in completed_results(
            _run_chunk, chunks, (trial, seed), executor=executor, workers=workers
        ):
            for r, result in results:
                finished(r, result)
    rows = [tuple(row) for r in reps for row in done[r][0]]
    base = [b for r in reps for b in done[r][1]]
    table = pd.DataFrame(rows, columns=list(REPLICATE_COLUMNS))
    summary = summarise(table, trial)
    metadata = {
        "trial_name": trial.name,
        "trial_path": Path(trial.path).name,
        "trial_sha256": trial.sha256,
        "source": trial.model.source,
        "seed": int(seed),
        "replicates": int(replicates),
        "draws": f"1..{int(replicates)} (draw = replicate + 1)",
        "arms": {k: {"scenario": s.name, "sha256": s.sha256} for k, s in trial.arms.items()},
        "horizon_years": trial.horizon_years,
        "versions": versions(),
    }
    return TrialResult(table, summary, pd.DataFrame(base), metadata, trial)


def summarise(table: pd.DataFrame, trial: Trial) -> pd.DataFrame:
    """Per endpoint and comparison: the distribution of the estimate over replicates and the power.

    ``power`` is the share of replicates with p < alpha in the direction favouring the treatment arm;
    ``power_mcse = sqrt(power (1 - power) / replicates)``.
    """
    out = []
    for (name, arm_a, arm_b), g in table.groupby(["endpoint", "arm_a", "arm_b"], sort=False):
        ep = trial.model.endpoints[name]
        est = g["estimate"].to_numpy(dtype=float)
        finite = est[np.isfinite(est)]
        n = len(g)
        power = float(g["favours_a"].mean())
        out.append(
            {
                "endpoint": name,
                "primary": name == trial.model.primary,
                "kind": ep.kind,
                "scale": ep.scale,
                "improvement": ep.improvement,
                "months": trial.endpoint_months(name),
                "better": SCALES[ep.scale][2],
                "arm_a": arm_a,
                "arm_b": arm_b,
                "replicates": n,
                "mean_n_a": float(g["n_a"].mean()),
                "mean_n_b": float(g["n_b"].mean()),
                "mean_excluded_a": float(g["n_excluded_a"].mean()),
                "mean_excluded_b": float(g["n_excluded_b"].mean()),
                "mean_a": float(g["mean_a"].mean()),
                "mean_b": float(g["mean_b"].mean()),
                "mean_estimate": float(finite.mean()) if finite.size else math.nan,
                "sd_estimate": float(finite.std(ddof=1)) if finite.size > 1 else math.nan,
                "p2_5": float(np.percentile(finite, 2.5)) if finite.size else math.nan,
                "p97_5": float(np.percentile(finite, 97.5)) if finite.size else math.nan,
                "share_significant": float(g["significant"].mean()),
                "power": power,
                "power_mcse": math.sqrt(power * (1 - power) / n),
            }
        )
    return pd.DataFrame(out)
