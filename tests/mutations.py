"""Mutation check: apply each deliberate bug to the code, one at a time, and see which test catches it.

Each mutation below is a small change that breaks a behaviour the model promises (listed with the test
expected to catch it). The script applies one, runs the tests (``-x``: stops at the first failure), reports
CAUGHT with the failing test or MISSED, and restores the file, whatever happens (also on Ctrl-C). Not
collected by pytest; run from the repository root::

    python tests/mutations.py                 # every mutation, against the default test run
    python tests/mutations.py --list          # names only
    python tests/mutations.py mrc_motor ivig   # some of them
    python tests/mutations.py --fast          # each against its own tests only (quicker)

Exit status 0 if every mutation is caught, 1 otherwise.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    what: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]  # where the catching test lives (used by --fast)


MUTATIONS = (
    Mutation(
        "treatment_death_continues",
        "a death caused by a treatment or a treatment-induced cancer does not end the patient's simulation",
        "sim/model/process.py",
        "        self._signal_end()\n\n    def _count_wait(",
        "        if cause != 3:\n            self._signal_end()\n\n    def _count_wait(",
        (
            "tests/unit/test_treatment_rules.py",
            "tests/property/test_treatment_stateful.py",
            "tests/property/test_treated_properties.py",
        ),
    ),
    Mutation(
        "no_relapse",
        "a treatment's effect is never removed when the response ends (no relapse)",
        "sim/model/treatments.py",
        "        if patient.alive and latest:\n            patient.remove_effect(self.effect_key)\n",
        "        if patient.alive and latest:\n            pass\n",
        ("tests/unit/test_treatment_rules.py",),
    ),
    Mutation(
        "ivig_no_relapse",
        "IVIg's effect is never removed after the course stops",
        "sim/model/treatments.py",
        "            yield patient.wait(p.benefit_weeks_after_stop * WEEK)\n"
        "            patient.remove_effect(self.effect_key)\n",
        "            yield patient.wait(p.benefit_weeks_after_stop * WEEK)\n",
        ("tests/unit/test_treatment_rules.py",),
    ),
    Mutation(
        "ivig_non_responders",
        "IVIg's effect is applied to non-responders too",
        "sim/model/treatments.py",
        '        if traits["responder"] and t_effect < stop_at:\n',
        "        if t_effect < stop_at:\n",
        ("tests/unit/test_treatment_rules.py",),
    ),
    Mutation(
        "max_courses_plus_one",
        "a strategy rule gives one course more than its max_courses",
        "sim/model/strategy.py",
        "        if n_courses >= check.max_courses:\n",
        "        if n_courses > check.max_courses:\n",
        ("tests/unit/test_treatment_rules.py",),
    ),
    Mutation(
        "qalys_at_cost_rate",
        "QALYs are discounted at the cost discount rate",
        "sim/model/outcomes.py",
        "        self.de = force_of_interest(econ.discount_rate_effects)\n",
        "        self.de = force_of_interest(econ.discount_rate_costs)\n",
        ("tests/unit/test_separations.py",),
    ),
    Mutation(
        "block_order_shifts_streams",
        "the order in which a worker receives several blocks shifts their random streams",
        "sim/run/runner.py",
        "[b for b, _ in blocks]",
        "[blocks[0][0] + k for k in range(len(blocks))]",
        ("tests/unit/test_separations.py",),
    ),
    Mutation(
        "other_sex_life_table",
        "background mortality reads the other sex's life table",
        "sim/model/mortality.py",
        "            return np.full(np.shape(age_now), np.inf)\n        sex = np.asarray(male, dtype=int)\n",
        "            return np.full(np.shape(age_now), np.inf)\n"
        "        sex = 1 - np.asarray(male, dtype=int)\n",
        ("tests/unit/test_separations.py",),
    ),
    Mutation(
        "incat_arm_leg_swapped",
        "INCAT arm and leg are swapped in the combined scales",
        "sim/model/scales.py",
        '        "incat_arm": arm,\n        "incat_leg": leg,\n',
        '        "incat_arm": leg,\n        "incat_leg": arm,\n',
        ("tests/unit/test_separations.py",),
    ),
    Mutation(
        "mrc_ignores_motor_factor",
        "the MRC sum score ignores the patient's motor factor",
        "sim/model/scales.py",
        "60.0 - 40.0 * np.asarray(motor_factor) * frac",
        "60.0 - 40.0 * frac",
        ("tests/unit/test_separations.py",),
    ),
)


def run_one(m: Mutation, fast: bool) -> tuple[bool, str, float]:
    """Apply ``m``, run the tests, restore; returns (caught, first failing test or summary, seconds)."""
    path = ROOT / m.file
    original = path.read_text()
    if original.count(m.old) != 1:
        raise SystemExit(f"{m.name}: the code to mutate was not found exactly once in {m.file}; update it")
    t0 = time.perf_counter()
    try:
        path.write_text(original.replace(m.old, m.new))
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--no-header", "-rf"]
        proc = subprocess.run([*cmd, *(m.tests if fast else ())], cwd=ROOT, capture_output=True, text=True)
    finally:
        path.write_text(original)
    failed = re.findall(r"^FAILED (\S+)", proc.stdout, flags=re.M)
    caught = proc.returncode != 0
    detail = failed[0] if failed else (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
    return caught, detail, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutations to run (default: all)")
    parser.add_argument("--fast", action="store_true", help="run each mutation's own tests only")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    args = parser.parse_args(argv)
    by_name = {m.name: m for m in MUTATIONS}
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name:<28}{m.what}")
        return 0
    unknown = [n for n in args.names if n not in by_name]
    if unknown:
        parser.error(f"unknown mutation(s) {unknown}; see --list")
    chosen = [by_name[n] for n in args.names] if args.names else list(MUTATIONS)
    missed = 0
    for m in chosen:
        caught, detail, seconds = run_one(m, args.fast)
        missed += not caught
        print(f"{'CAUGHT' if caught else 'MISSED':<8}{m.name:<28}{seconds:6.0f} s  {detail}", flush=True)
    print(f"{len(chosen) - missed} of {len(chosen)} mutations caught")
    return 0 if missed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
