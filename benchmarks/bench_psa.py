"""PSA throughput: draws × patients × 4 strategies, at 1 and 2 workers (a script, not a test).

    python benchmarks/bench_psa.py [--draws 20] [--patients 1000] [--workers 1 2]

Times ``sim.run_psa`` of the four bundled strategies supportive care, rituximab at diagnosis, IVIg
maintenance and cyclophosphamide with rituximab, ``--draws`` × ``--patients`` per strategy, once per number
of workers (end to end: sampling, checking every draw, simulating, summarising). Prints the wall time,
patient-lifetimes per second over all workers, the parallel efficiency (speed-up over one worker ÷ workers)
and the time a 1,000 draws × 1,000 patients × 4 strategies PSA would take at the measured rate (an
extrapolation: the cost is linear in draws × patients once the pool is running). The default cohort is the
target's 1,000 patients per draw, so that what each draw costs besides its patients (sampling, checking
and summarising it) weighs as much as in the target; ``--draws 1000 --workers 2`` runs the target itself
(about four minutes on two cores). Also checks that every number of workers gives the identical table.

The machine's own speed moves by a third and more from hour to hour on a shared virtual machine, so the
script also times a bare SimPy loop on one core (the reference of ``bench_core.py``) before and after the
PSA and prints both rates: a rough gauge of the machine at the time (a short loop on one core and minutes on
two cores are not slowed alike, so it does not convert one PSA time into another).
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import time
from pathlib import Path

import pandas as pd
from bench_core import bare_loop  # this script's folder is first on the path when it is run

import sim

#: Patients × one-year timeouts of the bare SimPy loop that gauges the machine's speed (about 0.1 s).
REFERENCE = (2000, 20)

STRATEGIES = (
    "supportive_care.toml",
    "rituximab_at_diagnosis.toml",
    "ivig_maintenance.toml",
    "cyclophosphamide_rituximab.toml",
)
TARGET = (1000, 1000)  # draws, patients: the size of a health economist's PSA
GOAL_SECONDS = 180.0


def reference_rate() -> float:
    """Events per second of the bare SimPy loop on one core, best of three: the machine's speed now."""
    patients, timeouts = REFERENCE
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        bare_loop(patients, timeouts)
        best = min(best, time.perf_counter() - t0)
    return patients * timeouts / best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draws", type=int, default=20, help="PSA draws (default 20)")
    ap.add_argument(
        "--patients", type=int, default=1000, help="patients per strategy and draw (default 1000)"
    )
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts (default 1 2)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    folder = Path(sim.default_scenario_path()).parent
    scenarios = [sim.load_scenario(folder / name) for name in STRATEGIES]
    lifetimes = args.draws * args.patients * len(scenarios)
    print(f"antimag-sim PSA benchmark, {datetime.datetime.now().isoformat(timespec='seconds')}")
    print(f"{os.cpu_count()} logical cores; load average at start {os.getloadavg()[0]:.2f} (1 min)")
    size = f"{len(scenarios)} strategies × {args.draws} draws × {args.patients} patients"
    print(f"{size} = {lifetimes:,} lifetimes")
    sim.run_psa(scenarios, 1, 64, args.seed)  # warm-up: imports and caches
    rate_before = reference_rate()
    tables: dict[int, pd.DataFrame] = {}
    seconds: dict[int, float] = {}
    for w in args.workers:
        t0 = time.perf_counter()
        tables[w] = sim.run_psa(scenarios, args.draws, args.patients, args.seed, workers=w)
        seconds[w] = time.perf_counter() - t0
    base = seconds.get(1)
    print(f"{'workers':>8}{'wall s':>10}{'lifetimes/s':>14}{'efficiency':>12}{'1000x1000x4 (min)':>20}")
    for w in args.workers:
        rate = lifetimes / seconds[w]
        eff = f"{base / seconds[w] / w:12.0%}" if base else f"{'-':>12}"
        full = TARGET[0] * TARGET[1] * len(scenarios) / rate / 60
        print(f"{w:>8}{seconds[w]:10.1f}{rate:14,.0f}{eff}{full:20.1f}")
    rate_after = reference_rate()
    print(
        f"machine speed, bare SimPy loop on one core: {rate_before:,.0f} events/s before the PSA, "
        f"{rate_after:,.0f} after"
    )
    first = tables[args.workers[0]]
    same = all(t.equals(first) for t in tables.values())
    print(f"tables identical for every number of workers: {same}")
    print(f"load average at the end {os.getloadavg()[0]:.2f} (1 min)")
    print(f"goal: 1000 draws x 1000 patients x 4 strategies in <= {GOAL_SECONDS / 60:.0f} min")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
