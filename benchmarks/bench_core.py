"""Benchmark of the simulation core on one core (a script, not a test).

    python benchmarks/bench_core.py [--patients N] [--repeats R] [--sample S] [--memory-sizes N ...]

Measures, in one run (against the performance goals of benchmarks/README.md):

(a) patient-lifetimes per second of the default scenario (``sim.simulate(..., workers=1)``, best of R);
(b) model events per patient, counted three ways during separate, untimed runs of S patients (in a child
    process on the Python source, ``ANTIMAG_INTERPRETED=1``, where the model's modules are compiled: the
    same events, see ``sim.model.compiled``), because the model records most of its events without a
    SimPy event of their own and "as many events" depends on which are counted:
    - decision events: the SimPy events processed (taken off an environment's heap; ``Patient.run`` steps
      through them as ``simpy.Environment.step`` does, written out) and the model's events that stand in
      for one (timeline entries reached while nothing else was scheduled before them,
      ``Patient._advance_to``; actions that decide nothing, ``Patient.later``);
    - the event-by-event formulation: the same count for the same patients run with every disease and
      life event a SimPy event of its own (``runner.TIMELINE = False``, the reference the timeline
      reproduces bit for bit);
    - the events of the record: rows of the event log per patient (``keep_events=True``), every event
      the model records at its time, however it was reached;
(c) a bare SimPy loop in the same run for each count: one ``simpy.Environment`` per patient, one process
    yielding timeouts, with as many processed events per patient (timeouts = events - 2, for the
    ``Initialize`` and the finished ``Process``), best of R; model and bare loop repeats alternate so both
    see the same machine state.

Prints lifetimes/s, events/s, the ratio of the model's event rate to the bare loop's for each count, and
the peak memory of ``sim.simulate`` for each of ``--memory-sizes``, each in a fresh child process: the
resident-set high water mark (``VmHWM``, else ``resource.getrusage``) before and after the run, and the
peak of traced Python/NumPy allocations from tracemalloc in a second child (tracing slows the run and adds
its own memory).
Goals: >= 20,000 lifetimes/s and >= 50% of the bare event rate.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np
import simpy

import sim
from sim.model import process as model_process
from sim.model.compiled import INTERPRETED_VARIABLE, compiled_modules
from sim.model.process import Patient, Wait
from sim.run import runner
from sim.run.runner import versions

GOAL_LIFETIMES_PER_S = 20_000
GOAL_EVENT_RATIO = 0.5


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


#: The labels of the model's events that SimPy does not process (see count_model_events).
WITHOUT_SIMPY = "timeline entry reached without a SimPy event"
QUIET = "quiet action (Patient.later)"


def count_model_events(
    scenario: sim.Scenario, n_patients: int, seed: int, event_by_event: bool = False
) -> tuple[float, dict[str, float]]:
    """Mean processed events per patient, in total and by event class (untimed run).

    The model's events are SimPy's (events taken off an environment's heap by ``Patient.run``, which
    writes SimPy's step out, or by ``Environment.step``; by the class of the event processed), the
    timeline entries that the walk reaches without a SimPy event because nothing else is scheduled before
    them (``Patient._advance_to`` calls) and the actions that decide nothing, done when the patient's
    record reaches their time (``Patient.later``, e.g. the end of a physiotherapy course): each is an
    event the model processes, as the bare loop's timeouts are.

    With ``event_by_event``, the run takes the model's reference formulation (``runner.TIMELINE = False``):
    the same patients, the same record, with every disease and life event a SimPy event of its own (the
    diagnostic journey too, where a rule listens to one of its steps; otherwise it is written after the run).
    """
    if compiled_modules():  # compiled classes cannot be patched: count on their Python source, same events
        return _count_in_interpreted_child(n_patients, seed, event_by_event)
    original = simpy.Environment.step
    original_pop = model_process._heappop
    original_advance = Patient._advance_to
    original_quiet = Patient._run_quiet
    by_kind: collections.Counter[str] = collections.Counter()

    def counting_step(env: simpy.Environment) -> None:
        queue = env._queue  # the next event to be processed is the heap's head
        if queue:
            by_kind[type(queue[0][3]).__name__] += 1
        original(env)  # SimPy's step pops with its own reference to heappop: not counted twice

    def counting_pop(heap: list) -> Any:
        item = original_pop(heap)
        if len(item) == 4 and isinstance(item[3], (simpy.Event, Wait)):  # SimPy's heap, not the quiet one
            by_kind[type(item[3]).__name__] += 1
        return item

    def counting_advance(patient: Patient, t: float) -> None:
        by_kind[WITHOUT_SIMPY] += 1
        original_advance(patient, t)

    def counting_quiet(patient: Patient, upto: float) -> None:
        before = len(patient.quiet)
        original_quiet(patient, upto)
        by_kind[QUIET] += before - len(patient.quiet)

    simpy.Environment.step = counting_step
    model_process._heappop = counting_pop  # Patient.run reads the module's name at every run (Python source)
    Patient._advance_to = counting_advance
    Patient._run_quiet = counting_quiet
    timeline = runner.TIMELINE
    runner.TIMELINE = not event_by_event
    try:
        sim.simulate(scenario, n_patients=n_patients, seed=seed, workers=1)
    finally:
        runner.TIMELINE = timeline
        simpy.Environment.step = original
        model_process._heappop = original_pop
        Patient._advance_to = original_advance
        Patient._run_quiet = original_quiet
    total = sum(by_kind.values()) / n_patients
    return total, {k: v / n_patients for k, v in by_kind.most_common()}


def _count_in_interpreted_child(
    n_patients: int, seed: int, event_by_event: bool
) -> tuple[float, dict[str, float]]:
    env = {**os.environ, INTERPRETED_VARIABLE: "1"}
    command = [sys.executable, __file__, "--count-child", str(n_patients), "--seed", str(seed)]
    if event_by_event:
        command.append("--event-by-event")
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    total, by_kind = json.loads(done.stdout)
    return total, by_kind


def count_record_events(scenario: sim.Scenario, n_patients: int, seed: int) -> float:
    """Mean rows per patient of the run's event log: the events the model records in each patient's history
    (onset, the diagnostic journey, milestones, courses and their outcomes, death), whichever way each was
    reached (a SimPy event, a timeline entry, a quiet action or as part of another event's callback)."""
    result = sim.simulate(scenario, n_patients=n_patients, seed=seed, workers=1, keep_events=True)
    assert result.events is not None
    return len(result.events) / n_patients


def bare_loop(n_patients: int, timeouts: int) -> None:
    """One environment per patient; one process yielding ``timeouts`` timeouts of one year each."""

    def patient(env: simpy.Environment):
        for _ in range(timeouts):
            yield env.timeout(1.0)

    for _ in range(n_patients):
        env = simpy.Environment()
        env.process(patient(env))
        env.run()


def count_bare_events(n_patients: int, timeouts: int) -> float:
    original = simpy.Environment.step
    count = 0

    def counting_step(env: simpy.Environment) -> None:
        nonlocal count
        if env._queue:  # the last call finds the heap empty and raises EmptySchedule: not an event
            count += 1
        original(env)

    simpy.Environment.step = counting_step
    try:
        bare_loop(n_patients, timeouts)
    finally:
        simpy.Environment.step = original
    return count / n_patients


def _peak_rss_mib() -> float:
    """High-water mark of this process's resident set (MiB).

    Linux: ``VmHWM`` of ``/proc/self/status``, which starts afresh in a new program; ``ru_maxrss`` would
    carry the parent's peak over ``fork``/``exec``. Elsewhere: ``ru_maxrss`` (KiB on Linux, bytes on macOS).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def memory_child(n_patients: int, mode: str) -> dict[str, float]:
    """Run in a fresh process: peak memory of one ``sim.simulate`` call of ``n_patients`` patients."""
    scenario = sim.load_scenario(sim.default_scenario_path())
    sim.simulate(scenario, n_patients=16, seed=1, workers=1)  # imports and caches, before the baseline
    baseline = _peak_rss_mib()
    if mode == "tracemalloc":
        import tracemalloc

        tracemalloc.start()
        result = sim.simulate(scenario, n_patients=n_patients, seed=1, workers=1)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del result
        return {"traced_peak_mib": peak / 2**20}
    sim.simulate(scenario, n_patients=n_patients, seed=1, workers=1)
    return {"rss_baseline_mib": baseline, "rss_peak_mib": _peak_rss_mib()}


def measure_memory(n_patients: int, tracemalloc: bool) -> dict[str, float]:
    out: dict[str, float] = {}
    for mode in ("rss", "tracemalloc") if tracemalloc else ("rss",):
        proc = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--memory-child", str(n_patients), "--mode", mode],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"memory measurement of {n_patients} patients failed:\n{proc.stderr}")
        out.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def _load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1 / 5 / 15 min)"
    except OSError:
        return "unknown"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            names = [line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")]
        if names:
            cpu = names[0]
    except OSError:
        pass
    return f"{platform.node() or 'host'}: {cpu}, {os.cpu_count()} logical cores, {platform.system()}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--patients", type=_positive_int, default=20_000, help="cohort size (default 20000)")
    ap.add_argument("--repeats", type=_positive_int, default=3, help="timed repeats, best kept (default 3)")
    ap.add_argument(
        "--sample", type=_positive_int, default=2_000, help="patients whose events are counted (default 2000)"
    )
    ap.add_argument(
        "--memory-sizes",
        type=_positive_int,
        nargs="*",
        default=[20_000, 100_000],
        help="cohort sizes for the peak-memory measurement (default 20000 100000; none to skip)",
    )
    ap.add_argument("--no-tracemalloc", action="store_true", help="measure the resident set only")
    ap.add_argument("--seed", type=int, default=1, help="root seed (default 1)")
    ap.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--count-child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--event-by-event", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="rss", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.count_child is not None:
        scenario = sim.load_scenario(sim.default_scenario_path())
        print(json.dumps(count_model_events(scenario, args.count_child, args.seed, args.event_by_event)))
        return 0
    if args.memory_child is not None:
        print(json.dumps(memory_child(args.memory_child, args.mode)))
        return 0

    n = args.patients
    print(f"antimag-sim core benchmark, {datetime.datetime.now().isoformat(timespec='seconds')}")
    print(machine())
    v = versions()
    print(f"Python {v['python']}, SimPy {v['simpy']}, NumPy {v['numpy']}, antimag-sim {v['antimag-sim']}")
    compiled = ", ".join(name.rsplit(".", 1)[1] for name in compiled_modules()) or "none"
    print(f"compiled modules (mypyc): {compiled}; events counted on the Python source")
    print(f"load average at start: {_load()} (other processes on the machine distort the timings)")
    scenario = sim.load_scenario(sim.default_scenario_path())
    sim.simulate(scenario, n_patients=512, seed=args.seed, workers=1)  # warm-up: imports, caches

    events_per_patient, by_kind = count_model_events(scenario, args.sample, args.seed)
    reference_events, reference_kinds = count_model_events(
        scenario, args.sample, args.seed, event_by_event=True
    )
    record_events = count_record_events(scenario, args.sample, args.seed)
    # The three counts of the model's events per patient (benchmarks/README.md, "which events count"),
    # each against a bare loop of as many events per patient.
    counts = {
        "decision events": events_per_patient,
        "event-by-event formulation": reference_events,
        "events of the record": record_events,
    }
    timeouts = {name: max(1, round(count) - 2) for name, count in counts.items()}
    bare_per_patient = {name: count_bare_events(min(args.sample, 1000), k) for name, k in timeouts.items()}

    model_times: list[float] = []
    bare_times: dict[str, list[float]] = {name: [] for name in counts}
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        sim.simulate(scenario, n_patients=n, seed=args.seed, workers=1)
        model_times.append(time.perf_counter() - t0)
        for name, k in timeouts.items():
            t0 = time.perf_counter()
            bare_loop(n, k)
            bare_times[name].append(time.perf_counter() - t0)

    model_best = min(model_times)
    lifetimes_per_s = n / model_best

    print()
    print(f"default scenario ({scenario.name}), {n} patients, workers=1, best of {args.repeats}")
    print(f"  wall time (s)                 {model_best:10.3f}   all: {np.round(model_times, 3).tolist()}")
    print(f"  patient-lifetimes per second  {lifetimes_per_s:10,.0f}   goal >= {GOAL_LIFETIMES_PER_S:,}")
    print(f"model events per patient, counted on {args.sample} patients, three ways:")
    kinds = ", ".join(f"{k} {c:.2f}" for k, c in by_kind.items())
    simpy_steps = events_per_patient - by_kind.get(WITHOUT_SIMPY, 0.0) - by_kind.get(QUIET, 0.0)
    print(f"  decision events               {events_per_patient:10.2f}   ({simpy_steps:.2f} SimPy steps)")
    print(f"    by event class: {kinds}")
    kinds = ", ".join(f"{k} {c:.2f}" for k, c in reference_kinds.items())
    print(
        f"  event-by-event formulation    {reference_events:10.2f}   (the same patients, each event in SimPy)"
    )
    print(f"    by event class: {kinds}")
    print(f"  events of the record          {record_events:10.2f}   (rows of the event log)")
    print(f"bare SimPy loop, {n} patients, one Environment each, best of {args.repeats}, against each count")
    print(f"  {'count':<28}{'events':>8}{'wall s':>9}{'bare events/s':>15}{'model events/s':>16}{'ratio':>8}")
    ratios = {}
    for name, count in counts.items():
        bare_best = min(bare_times[name])
        bare_events_per_s = n * bare_per_patient[name] / bare_best
        model_events_per_s = lifetimes_per_s * count
        ratios[name] = model_events_per_s / bare_events_per_s
        print(
            f"  {name:<28}{bare_per_patient[name]:8.2f}{bare_best:9.3f}{bare_events_per_s:15,.0f}"
            f"{model_events_per_s:16,.0f}{ratios[name]:8.1%}"
        )
    print(f"ratio model / bare event rate, goal >= {GOAL_EVENT_RATIO:.0%}:")
    for name, ratio in ratios.items():
        print(f"  {name:<28}{ratio:8.1%}   {'met' if ratio >= GOAL_EVENT_RATIO else 'NOT met'}")
    print(f"load average after the timed runs: {_load()}")
    throughput = "met" if lifetimes_per_s >= GOAL_LIFETIMES_PER_S else "NOT met"
    met = [name for name, ratio in ratios.items() if ratio >= GOAL_EVENT_RATIO]
    print(
        f"performance goals: lifetimes per second {throughput}; event ratio met by "
        f"{len(met)} of {len(ratios)} counts ({', '.join(met) or 'none'})"
    )

    if args.memory_sizes:
        print()
        print("peak memory of sim.simulate (fresh child process per size, workers=1)")
        print(f"  {'patients':>9}{'RSS baseline MiB':>18}{'RSS peak MiB':>14}{'traced peak MiB':>17}")
        for size in args.memory_sizes:
            m = measure_memory(size, tracemalloc=not args.no_tracemalloc)
            traced = f"{m['traced_peak_mib']:17.1f}" if "traced_peak_mib" in m else f"{'-':>17}"
            print(f"  {size:>9}{m['rss_baseline_mib']:18.1f}{m['rss_peak_mib']:14.1f}{traced}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
