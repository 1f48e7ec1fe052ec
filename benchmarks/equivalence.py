"""Are two versions of the code statistically equivalent? A paired comparison on the same patients.

    python benchmarks/equivalence.py collect OUT.pkl [--code DIR] [--patients 20000] [--seed 2026]
    python benchmarks/equivalence.py compare NEW.pkl OLD.pkl

For a change that alters random draws (a documented change of the stream layout), outputs cannot be compared
byte for byte. ``collect`` runs every bundled strategy scenario with the code in ``DIR`` (a checkout of the
project; default: the installed one) and keeps, per patient, life-years, discounted QALYs and costs, the
share reaching each milestone, and death from treatment. ``compare`` pairs the two runs patient by patient
(the same ids and seed: common random numbers) and prints, for each mean, both values and the paired
z-score ``mean(d) / (sd(d) / sqrt(n))``; under equivalence the z-scores are standard normal (over ~130
comparisons the largest |z| is about 2.9 in expectation), and a mean that does not change at all is
reported as identical.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np


def collect(out: str, code: str | None, n_patients: int, seed: int) -> None:
    if code:
        sys.path.insert(0, code)
    import sim

    folder = Path(sim.default_scenario_path()).parent
    tables = {}
    for path in sorted(folder.glob("*.toml")):
        p = sim.simulate(sim.load_scenario(path), n_patients=n_patients, seed=seed, workers=1).patients
        cols = {c: p[c].to_numpy(float) for c in ("lys", "qalys_disc", "cost_disc") if c in p}
        for c in p.columns:
            if c.startswith("t_"):
                cols["share_" + c[2:]] = (~np.isnan(p[c].to_numpy(float))).astype(float)
        cols["treatment_death"] = (p["death_cause"] == "treatment").to_numpy(float)
        tables[path.name] = cols
    with open(out, "wb") as fh:
        pickle.dump(tables, fh)
    print(f"wrote {out}: {len(tables)} scenarios x {n_patients} patients (sim from {sim.__file__})")


def compare(new_path: str, old_path: str) -> None:
    with open(new_path, "rb") as fh:
        new = pickle.load(fh)
    with open(old_path, "rb") as fh:
        old = pickle.load(fh)
    worst, n_changed = 0.0, 0
    for name in new:
        changed = []
        for col, a in new[name].items():
            d = a - old[name][col]
            if not d.any():
                continue
            z = d.mean() / (d.std(ddof=1) / np.sqrt(len(d)))
            worst = max(worst, abs(z))
            n_changed += 1
            changed.append(f"{col} {a.mean():.4g} vs {old[name][col].mean():.4g} (z {z:+.2f})")
        print(f"{name}: " + ("; ".join(changed) if changed else "identical"))
    print(f"largest |z| {worst:.2f} over {n_changed} means that changed")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect")
    c.add_argument("out")
    c.add_argument("--code", help="project checkout whose sim package to run (default: the installed one)")
    c.add_argument("--patients", type=int, default=20_000)
    c.add_argument("--seed", type=int, default=2026)
    k = sub.add_parser("compare")
    k.add_argument("new")
    k.add_argument("old")
    args = ap.parse_args(argv)
    if args.command == "collect":
        collect(args.out, args.code, args.patients, args.seed)
    else:
        compare(args.new, args.old)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
