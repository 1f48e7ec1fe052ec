"""Expected value of partial perfect information (EVPPI) by non-parametric regression.

The method of Strong, Oakley & Brennan (2014, *Med Decis Making* 34:311; ``strong2014``): for a parameter, or
a group of parameters, ``phi``, the EVPPI is

    EVPPI(phi) = E_phi[ max_s E(NMB_s | phi) ] − max_s E(NMB_s),

and the inner conditional expectation is estimated, from the PSA table alone (no nested simulation), by
regressing each strategy's incremental net monetary benefit ``INMB_s = w × Δeffect − Δcost`` (vs the first
strategy, whose INMB is 0) at each willingness to pay ``w`` on the sampled values of ``phi``: the fitted
value at draw ``i`` estimates ``E(INMB_s | phi_i)``. One regression per WTP and comparator, as Strong et al.
do, rather than one for the effect and one for the cost: the fit's own uncertainty then contains the joint
uncertainty of cost and effect (which are correlated through the draws, often strongly), and the standard
error below is honest. Patient-level (first-order) noise in the PSA rows and the effect of all other
parameters are what the regression averages out.

Smoothers, from well-kept libraries:

* one parameter: a penalised cubic regression spline (``statsmodels.gam.GLMGam`` with ``BSplines``, Gaussian
  family), its penalty chosen by generalised cross-validation over a fixed grid;
* a group of parameters: a Gaussian process (``sklearn.gaussian_process``) with a squared-exponential kernel
  with one length scale per parameter (automatic relevance determination) plus a white-noise term, the
  hyperparameters fitted by maximum marginal likelihood on at most :data:`GP_FIT_DRAWS` draws (evenly spaced
  through the table; draws are independent, so this is a random subset) and then used on every draw.

Standard error: the regression function is uncertain; the EVPPI is recomputed for :data:`N_POSTERIOR`
samples of it from its approximate posterior (the spline coefficients' normal approximation; the Gaussian
process's posterior over the latent function at the draws), as Strong et al. propose, from a generator
seeded with :data:`POSTERIOR_SEED` so the result is reproducible. Each sample is ``fitted + G z`` with ``G``
the fit's posterior square root and ``z`` standard normal; with three or more strategies the comparators'
``z`` are drawn with the correlation of their INMB residuals, so that errors shared by the comparators (all
measured on the same draws) move together (exact when the fits share their smoothing, an approximation
otherwise). The spread of the recomputed values is reported as ``se``: the error of the estimate given the
PSA's draws of ``phi`` (what more draws of the other parameters, or a better fit, would remove). It does not
include the sampling error of ``phi``'s own draws nor the Monte Carlo error of the second term, which
:func:`analysis.cea.evpi` reports. Its calibration is tested: over replicate PSAs of a closed-form case with
strongly correlated cost and effect, the spread of the estimates matches the mean reported ``se``
(``tests/unit/test_evppi.py``).

Fit check: ``r2`` (the smallest, over strategies, share of the INMB's variance across draws that the fitted
function explains) and ``edf`` (effective degrees of freedom of the fit; a value close to the number of draws
means the smoother has interpolated noise: use more draws), and ``fit_check``, ``"ok"`` or a warning when the
effective degrees of freedom exceed :data:`MAX_EDF_SHARE` of the draws. An EVPPI whose ``r2`` is near 0
means the parameters explain nothing of the decision's uncertainty; a positive EVPPI then is the upward bias
of the estimator, of the order of its ``se``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .psa_input import as_wtp_array, psa_matrices

__all__ = [
    "GP_FIT_DRAWS",
    "MAX_EDF_SHARE",
    "N_POSTERIOR",
    "POSTERIOR_SEED",
    "evppi",
    "parameter_values",
    "section_groups",
    "section_of",
]

#: Most draws on which a Gaussian process's hyperparameters are fitted (the fit is cubic in this number).
GP_FIT_DRAWS = 500
#: Largest effective degrees of freedom, as a share of the draws, of a fit that is not flagged.
MAX_EDF_SHARE = 0.2
#: Samples of the fitted regression function behind the standard error.
N_POSTERIOR = 500
#: Seed of the generator of those samples (fixed, so the standard error is reproducible).
POSTERIOR_SEED = 20140301
#: Penalty weights tried for the spline (on standardised data); the GCV-best is used.
_GAM_ALPHAS = tuple(10.0**k for k in range(-2, 5))
#: Basis size of the spline (as mgcv's default ``k = 10``), reduced for small PSAs.
_GAM_DF = 10

_METHODS = ("auto", "gam", "gp")


def parameter_values(psa: pd.DataFrame, column: str, draws: np.ndarray, draw: str = "draw") -> np.ndarray:
    """One value of a parameter per draw: the first strategy's that has it (NaN in the others' rows).

    In a PSA of :func:`sim.run.psa.run_psa` every strategy's value of a parameter is its distribution's
    quantile at the same uniform, so any strategy's value carries all the information about the draw.
    """
    if column not in psa.columns:
        raise ValueError(f"evppi(): {column!r} is not a column of the PSA table")
    values = pd.to_numeric(psa[column], errors="coerce")
    first = values.groupby(psa[draw], sort=False).first()
    out = first.reindex(draws).to_numpy(dtype=float)
    if np.isnan(out).any():
        raise ValueError(f"evppi(): parameter {column!r} has no value in some draws")
    return out


def _groups(parameters: Sequence[str] | Sequence[Sequence[str]] | str) -> list[tuple[str, ...]]:
    if isinstance(parameters, str):
        return [(parameters,)]
    groups = []
    for item in parameters:
        group = (item,) if isinstance(item, str) else tuple(item)
        if not group or not all(isinstance(p, str) for p in group):
            raise ValueError(f"evppi(): each group must be a parameter name or a list of names, got {item!r}")
        if len(set(group)) != len(group):
            raise ValueError(f"evppi(): group {list(group)} names a parameter twice")
        groups.append(group)
    if not groups:
        raise ValueError("evppi(): at least one parameter or group is required")
    return groups


def _standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns with their mean 0 and SD 1; and which columns vary at all."""
    sd = x.std(axis=0)
    varies = sd > 1e-12 * np.maximum(np.abs(x).max(axis=0), 1e-300)
    z = np.zeros_like(x)
    z[:, varies] = (x[:, varies] - x[:, varies].mean(axis=0)) / sd[varies]
    return z, varies


class _Fit:
    """A fitted regression: the fitted values at the draws, the square root ``G`` of their posterior
    covariance (posterior samples are ``fitted + G z`` with ``z`` standard normal), and its fit check."""

    def __init__(self, fitted: np.ndarray, root: np.ndarray, r2: float, edf: float) -> None:
        self.fitted, self.root, self.r2, self.edf = fitted, root, r2, edf

    def samples(self, z: np.ndarray) -> np.ndarray:
        """Posterior samples (draws × samples) from standard normals ``z`` (at least ``G``'s columns rows)."""
        return self.fitted[:, None] + self.root @ z[: self.root.shape[1]]


def _constant_fit(y: np.ndarray) -> _Fit:
    return _Fit(np.full(y.size, y.mean()), np.zeros((y.size, 1)), 0.0, 1.0)


def _root(cov: np.ndarray) -> np.ndarray:
    """A square root ``C`` of a covariance matrix (``C Cᵀ = cov``): its Cholesky factor, so that the same
    ``z`` maps to comparable directions for similar matrices; eigenvalues floored at 0 if it is singular."""
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh((cov + cov.T) / 2)
        return vectors * np.sqrt(np.clip(values, 0.0, None))


def _r2(y: np.ndarray, fitted: np.ndarray) -> float:
    total = float(np.sum((y - y.mean()) ** 2))
    if total == 0:
        return 0.0
    return float(max(0.0, 1.0 - np.sum((y - fitted) ** 2) / total))


def _gam_fit(x: np.ndarray, y: np.ndarray) -> _Fit:
    """Penalised cubic spline of ``y`` on one parameter (statsmodels GLMGam), penalty by GCV."""
    from statsmodels.gam.api import BSplines, GLMGam
    from statsmodels.tools.sm_exceptions import PerfectSeparationError

    n = y.size
    y_sd = float(y.std())
    if y_sd == 0 or n < 8:
        return _constant_fit(y)
    y_mean = float(y.mean())
    ys = (y - y_mean) / y_sd
    df = int(min(_GAM_DF, max(4, n // 8)))
    basis = BSplines(x[:, None], df=[df], degree=[3])
    exog = np.ones((n, 1))
    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for alpha in _GAM_ALPHAS:
            try:
                result = GLMGam(ys, exog=exog, smoother=basis, alpha=alpha).fit()
            except PerfectSeparationError:  # y is exactly a spline of x at this penalty: nothing to smooth
                continue
            gcv = float(result.gcv)
            if best is None or gcv < best[0]:
                best = (gcv, result)
    if best is None:
        return _Fit(y.copy(), np.zeros((n, 1)), 1.0, float(df))
    result = best[1]
    design = result.model.exog
    params = np.asarray(result.params, dtype=float)
    cov = np.asarray(result.cov_params(), dtype=float)
    fitted = y_mean + y_sd * (design @ params)
    return _Fit(fitted, y_sd * (design @ _root(cov)), _r2(y, fitted), float(result.edf.sum()))


def _gp_fit(x: np.ndarray, y: np.ndarray) -> _Fit:
    """Gaussian-process regression of ``y`` on several parameters (scikit-learn), ARD kernel."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    n, d = x.shape
    y_sd = float(y.std())
    if y_sd == 0 or n < 8 or d == 0:
        return _constant_fit(y)
    y_mean = float(y.mean())
    ys = (y - y_mean) / y_sd
    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * RBF(np.ones(d), (1e-2, 1e3)) + WhiteKernel(0.5, (1e-6, 10.0))
    step = max(1, math.ceil(n / GP_FIT_DRAWS))
    subset = np.arange(0, n, step)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        tuned = GaussianProcessRegressor(kernel=kernel, normalize_y=False).fit(x[subset], ys[subset]).kernel_
    signal, noise = tuned.k1, max(float(tuned.k2.noise_level), 1e-9)
    # Every draw is used through the subset-of-regressors form with the fitted subset as inducing points
    # (exact when the subset is every draw): f = K_nm w, w | y ~ N(A^-1 K_mn y, noise A^-1) with
    # A = noise K_mm + K_mn K_nm. Cost O(n m^2) instead of O(n^3).
    k_nm = signal(x, x[subset])
    k_mm = signal(x[subset])
    a = noise * k_mm + k_nm.T @ k_nm
    a[np.diag_indices_from(a)] += 1e-8 * np.trace(a) / a.shape[0]
    chol = np.linalg.cholesky(a)
    weights = _chol_solve(chol, k_nm.T @ ys)
    fitted_s = k_nm @ weights
    # Samples of w: mean + sqrt(noise) L^-T z, since (L L^T)^-1 = L^-T L^-1; so f = fitted + G z with
    # G = sqrt(noise) K_nm L^-T = sqrt(noise) (L^-1 K_mn)^T.
    from scipy.linalg import solve_triangular

    root = math.sqrt(noise) * solve_triangular(chol, k_nm.T, lower=True).T
    edf = float(np.trace(_chol_solve(chol, k_nm.T @ k_nm)))
    fitted = y_mean + y_sd * fitted_s
    return _Fit(fitted, y_sd * root, _r2(y, fitted), edf)


def _chol_solve(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    from scipy.linalg import cho_solve

    return cho_solve((chol, True), b)


def _evppi_of(fits: list[np.ndarray]) -> np.ndarray:
    """EVPPI from fitted INMBs (one array per non-baseline strategy, draws along axis 0); the baseline's
    INMB is 0. Works on fitted values (n,) or posterior samples (n, k)."""
    stacked = np.stack([np.zeros_like(fits[0]), *fits])  # strategies × draws (× samples)
    return stacked.max(axis=0).mean(axis=0) - stacked.mean(axis=1).max(axis=0)


def evppi(
    psa: pd.DataFrame,
    parameters: Sequence[str] | Sequence[Sequence[str]] | str,
    wtp: float | Sequence[float] | np.ndarray,
    *,
    method: str = "auto",
    draw: str = "draw",
    strategy: str = "strategy",
    cost: str = "cost",
    effect: str = "effect",
    n_samples: int = N_POSTERIOR,
) -> pd.DataFrame:
    """Per-decision EVPPI of single parameters or groups of parameters, by regression (Strong et al. 2014).

    Parameters
    ----------
    psa : pandas.DataFrame
        Long PSA table (one row per draw × strategy, balanced) with the sampled parameters as columns, e.g.
        the output of :func:`sim.run.psa.run_psa` (then ``cost="cost_disc", effect="qalys_disc"``).
    parameters : str, list of str, or list of lists of str
        What to value: each string is one parameter (a column of ``psa``), each inner list a group whose
        values are learnt together.
    wtp : float or sequence of float
        Willingness to pay per unit of effect.
    method : {"auto", "gam", "gp"}
        ``"gam"``: a spline (single parameters only); ``"gp"``: a Gaussian process (any group);
        ``"auto"``: spline for one parameter, Gaussian process for a group.
    draw, strategy, cost, effect : str
        Column names.
    n_samples : int
        Posterior samples of the regression behind ``se``.

    Returns
    -------
    pandas.DataFrame
        One row per group × WTP (groups in the given order): ``parameters`` (the names joined by ``" + "``),
        ``n_parameters``, ``wtp``, ``evppi`` (money per patient, per decision), ``se``, ``evpi`` (for
        comparison; EVPPI ≤ EVPI up to estimation error), ``method`` (``"gam"``, ``"gp"`` or ``"none"`` when
        the parameters do not vary), ``r2``, ``edf`` and ``fit_check`` (module docstring), ``n_draws``.

    Raises
    ------
    ValueError
        On a malformed PSA table, an unknown parameter column, an unknown method, ``"gam"`` for a group, or
        fewer than two strategies.
    """
    if method not in _METHODS:
        raise ValueError(f"evppi(): method must be one of {_METHODS}, got {method!r}")
    if not isinstance(n_samples, int) or n_samples < 2:
        raise ValueError(f"evppi(): n_samples must be an integer >= 2, got {n_samples!r}")
    draws, strategies, costs, effects = psa_matrices(psa, draw, strategy, cost, effect, "evppi()")
    if strategies.size < 2:
        raise ValueError("evppi(): the PSA table needs at least two strategies")
    wtps = as_wtp_array(wtp)
    groups = _groups(parameters)
    for group in groups:
        if method == "gam" and len(group) > 1:
            raise ValueError(
                f"evppi(): method 'gam' values one parameter at a time; {list(group)} is a group"
            )
    columns = {p: parameter_values(psa, p, draws, draw) for g in groups for p in g}
    # Small dense problems: one BLAS thread is fastest, and several compete badly on a shared machine.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _evppi_rows(groups, columns, draws, costs, effects, wtps, method, n_samples)


def _fit_check(edf: float, n: int) -> str:
    if edf > MAX_EDF_SHARE * n:
        return f"overfit? {edf:.0f} effective parameters for {n} draws: use more draws"
    return "ok"


def _correlated_normals(
    residuals: np.ndarray, width: int, n_samples: int, rng: np.random.Generator
) -> np.ndarray:
    """Standard normals for each comparator's fit (comparators × width × samples), correlated across
    comparators as their residuals are (columns of ``residuals``)."""
    k = residuals.shape[1]
    z = rng.standard_normal((k, width, n_samples))
    if k == 1:
        return z
    sd = residuals.std(axis=0)
    corr = np.eye(k)
    ok = sd > 0
    if ok.sum() > 1:
        corr[np.ix_(ok, ok)] = np.corrcoef(residuals[:, ok], rowvar=False)
    return np.einsum("kl,lws->kws", _root(corr), z)


def _evppi_rows(groups, columns, draws, costs, effects, wtps, method, n_samples) -> pd.DataFrame:
    n = draws.size
    d_cost = costs[:, 1:] - costs[:, [0]]
    d_effect = effects[:, 1:] - effects[:, [0]]
    rows = []
    for group in groups:
        x, varies = _standardise(np.column_stack([columns[p] for p in group]))
        x = x[:, varies]
        chosen = "none" if x.shape[1] == 0 else ("gam" if method == "gam" or len(group) == 1 else "gp")
        rng = np.random.default_rng(POSTERIOR_SEED)
        for w in wtps:
            inmb = w * d_effect - d_cost
            fits = []  # one regression of the INMB per comparator at this WTP
            for j in range(inmb.shape[1]):
                if chosen == "none":
                    fits.append(_constant_fit(inmb[:, j]))
                elif chosen == "gam":
                    fits.append(_gam_fit(x[:, 0], inmb[:, j]))
                else:
                    fits.append(_gp_fit(x, inmb[:, j]))
            fitted = [f.fitted for f in fits]
            residuals = inmb - np.column_stack(fitted)
            z = _correlated_normals(residuals, max(f.root.shape[1] for f in fits), n_samples, rng)
            sampled = _evppi_of([f.samples(z[j]) for j, f in enumerate(fits)])
            full = np.concatenate([np.zeros((n, 1)), inmb], axis=1)
            edf = max(f.edf for f in fits)
            rows.append(
                {
                    "parameters": " + ".join(group),
                    "n_parameters": len(group),
                    "wtp": float(w),
                    "evppi": float(_evppi_of(fitted)),
                    "se": float(np.std(sampled, ddof=1)),
                    "evpi": float(full.max(axis=1).mean() - full.mean(axis=0).max()),
                    "method": chosen,
                    "r2": min(f.r2 for f in fits),
                    "edf": edf,
                    "fit_check": _fit_check(edf, n),
                    "n_draws": n,
                }
            )
    return pd.DataFrame(rows)


def section_of(path: str) -> str:
    """The section of a scenario that a dotted parameter path belongs to: the first part, or the first two
    for ``treatments.<name>`` and ``economics.<table>`` (each treatment and each economics table apart)."""
    parts = path.split(".")
    if parts[0] in ("treatments", "economics") and len(parts) > 2:
        return ".".join(parts[:2])
    return parts[0]


def section_groups(parameters: Sequence[str]) -> dict[str, list[str]]:
    """Parameters grouped by :func:`section_of`, in first-appearance order; sections of one parameter are
    left out (they equal that parameter's own EVPPI)."""
    groups: dict[str, list[str]] = {}
    for p in parameters:
        groups.setdefault(section_of(p), []).append(p)
    return {name: members for name, members in groups.items() if len(members) > 1}
