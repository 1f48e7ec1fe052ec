"""CPU instructions per patient-lifetime, counted by Valgrind (a script, not a test).

    python benchmarks/instructions.py [SCENARIO ...] [--patients 2000] [--code DIR ...]

Wall-clock and CPU times on a shared virtual machine vary by 30% and more from one run to the next, which
hides a change of 10-20%. The number of instructions a run executes does not: this script runs
``sim.simulate`` of each scenario under ``valgrind --tool=cachegrind`` (no cache simulation) twice, with
``--patients`` and with 10 patients, and prints the difference divided by the difference in patients, so that
start-up and imports cancel out (string hashing is fixed and thread pools are off, so that the count
repeats). ``--code`` names checkouts of the project to compare (each is put first on
``PYTHONPATH``); by default the installed package. Needs Valgrind (``apt install valgrind``); a run of 2,000
patients of the default scenario takes about a minute.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

RUN = """
import os, sys
import sim
path = sys.argv[1] or sim.default_scenario_path()
if not os.path.isabs(path):
    path = os.path.join(os.path.dirname(sim.default_scenario_path()), path)
sim.simulate(sim.load_scenario(path), n_patients=int(sys.argv[2]), seed=1)
"""
SMALL = 10


def instructions(code: str | None, scenario: str, patients: int) -> int:
    """Instructions executed by one ``sim.simulate`` run (with Python's start-up), as Valgrind counts them."""
    # Fixed string hashing and no thread pools (their spinning is counted too): the count repeats to ~0.1%.
    env = dict(
        os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1"
    )
    if code:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (code, env.get("PYTHONPATH", "")) if p)
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
    out = subprocess.run(
        # -P: no current directory on sys.path, so that --code, not the checkout run from, is imported
        [*cmd, sys.executable, "-P", "-c", RUN, scenario, str(patients)],
        env=env,
        capture_output=True,
        text=True,
    )
    found = re.search(r"I\s+refs:\s+([\d,]+)", out.stderr)
    if out.returncode != 0 or found is None:
        raise SystemExit(f"valgrind run failed ({scenario}, {patients} patients):\n{out.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "scenarios", nargs="*", default=[""], help="bundled scenario files (default: the default scenario)"
    )
    ap.add_argument("--patients", type=int, default=2000, help="patients of the counted run (default 2000)")
    ap.add_argument("--code", nargs="+", default=[None], help="checkouts to compare (default: installed)")
    args = ap.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (apt install valgrind)", file=sys.stderr)
        return 2
    if args.patients <= SMALL:
        print(f"--patients must be more than {SMALL}", file=sys.stderr)
        return 2
    print(f"instructions per patient-lifetime ({args.patients} minus {SMALL} patients, seed 1)")
    for scenario in args.scenarios:
        for code in args.code:
            per = (instructions(code, scenario, args.patients) - instructions(code, scenario, SMALL)) / (
                args.patients - SMALL
            )
            print(f"  {scenario or 'default scenario':34s} {code or 'installed':24s} {per:12,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
