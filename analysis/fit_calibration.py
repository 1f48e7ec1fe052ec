"""Refit the calibrated natural-history parameters to the targets (reproducible: fixed seed, CRN).

    python -m analysis.fit_calibration [SCENARIO] [--patients N] [--seed S]

Method: minimise the sum of squared differences (in points) between the simulated Kaplan–Meier cumulative
incidence and the targets, by Nelder–Mead on log-transformed parameters. Common random numbers make the
objective a deterministic (piecewise-constant, finely stepped) function of the parameters, which
Nelder–Mead handles without gradients. Disability and transformation do
not share parameters, so they are fitted separately. Prints the fitted values to copy into the scenario.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.optimize import minimize

import sim

from .calibration import load_targets
from .survival import cumulative_incidence

DISABILITY = (
    "progression.p_fast_progressor",
    "progression.rate_slow_median_per_year",
    "progression.rate_slow_sigma",
    "progression.rate_fast_median_per_year",
)
MALIGNANCY = ("malignancy.rate_per_year_at_1g_dl",)


def _objective(scenario, names, column, n, seed):
    targets = load_targets()
    targets = targets[targets["column"] == column]

    def f(x: np.ndarray) -> float:
        overrides = dict(zip(names, np.exp(x), strict=True))
        if "progression.p_fast_progressor" in overrides and overrides["progression.p_fast_progressor"] >= 1:
            return 1e9
        p = sim.simulate(scenario, n_patients=n, seed=seed, overrides=overrides).patients
        got = cumulative_incidence(p, column, targets["years"].to_numpy())["percent"].to_numpy()
        return float(np.sum((got - targets["percent"].to_numpy()) ** 2))

    return f


def fit(scenario, names, column, n, seed):
    params = scenario.parameters()
    x0 = np.log([params[k].value for k in names])
    f = _objective(scenario, names, column, n, seed)
    res = minimize(f, x0, method="Nelder-Mead", options={"xatol": 1e-3, "fatol": 0.05, "maxfev": 400})
    return dict(zip(names, np.exp(res.x), strict=True)), res.fun


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m analysis.fit_calibration", description=__doc__.split("\n")[0]
    )
    ap.add_argument("scenario", nargs="?", default=str(sim.default_scenario_path()))
    ap.add_argument("--patients", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args(argv)
    scenario = sim.load_scenario(args.scenario)
    for names, column in ((DISABILITY, "t_disabled"), (MALIGNANCY, "t_malignancy")):
        values, loss = fit(scenario, names, column, args.patients, args.seed)
        print(f"# {column}: sum of squared errors {loss:.2f} (points^2)")
        for k, v in values.items():
            print(f"{k} = {v:.4g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
