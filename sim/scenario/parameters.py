"""Parameters: a point value, a distribution for the probabilistic sensitivity analysis, and a source.

A scenario writes each parameter once, e.g.::

    p_male = { value = 0.78, dist = "beta", alpha = 104, beta = 29, source = "aotsuka2024" }
    rate = { value = 0.02, dist = "gamma", sd = 0.005, source = "kyle2003" }

``dist`` is one of ``fixed`` (no uncertainty), ``beta``, ``gamma``, ``lognormal``, ``normal``, ``uniform``.
A distribution is given either by its own parameters (``alpha``/``beta``, ``shape``/``scale``,
``mu``/``sigma``, ``low``/``high``) or by ``sd`` around ``value`` (method of moments), in which case its mean
is exactly ``value``. When given by its own parameters its mean must agree with ``value`` within 5%, so that
the deterministic run and the PSA describe the same belief.

Each field of a scenario has a *kind* (probability, non-negative, positive, real) with bounds; the kind fixes
which distributions are allowed, so that no PSA draw can leave the field's domain.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from scipy import stats

Distribution = Literal["fixed", "beta", "gamma", "lognormal", "normal", "uniform"]
MEAN_TOLERANCE = 0.05
#: Method-of-moments spreads (``sd``) relative to ``|value|``: below the lower bound the distribution is a
#: point (use ``fixed``), above the upper one its shape parameters overflow double precision.
MIN_RELATIVE_SD = 1e-9
MAX_RELATIVE_SD = 1e6


class Section(BaseModel):
    """A table of a scenario file: unknown keys are errors, values are immutable, types are strict (no
    silent coercion of ``true`` or ``"0.5"`` to numbers)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Param(BaseModel):
    """One model parameter: point value, PSA distribution, source."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    value: float = Field(allow_inf_nan=False)
    source: str = Field(min_length=1, description="a key of docs/references.md or a short citation")
    dist: Distribution = "fixed"
    sd: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    alpha: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    beta: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    shape: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    scale: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    mu: float | None = Field(default=None, allow_inf_nan=False)
    sigma: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    low: float | None = Field(default=None, allow_inf_nan=False)
    high: float | None = Field(default=None, allow_inf_nan=False)
    note: str | None = None

    @model_validator(mode="after")
    def _distribution_is_complete(self) -> Param:
        # Raises ValueError with the reason. A fixed value has nothing to freeze: only its keys are checked,
        # without the cache's hashing of every field (most parameters of a PSA draw's check are fixed).
        if self.dist == "fixed":
            if not _all_spread_keys_absent(self):
                _frozen_distribution(self)  # names the keys a fixed value may not have
        else:
            frozen_distribution(self)
        return self

    @property
    def uncertain(self) -> bool:
        return self.dist != "fixed"


_ALLOWED_KEYS: dict[str, tuple[set[str], ...]] = {
    "fixed": (set(),),
    "beta": ({"alpha", "beta"}, {"sd"}),
    "gamma": ({"shape", "scale"}, {"sd"}),
    "lognormal": ({"mu", "sigma"}, {"sd"}),
    "normal": ({"sd"},),
    "uniform": ({"low", "high"},),
}
_SPREAD_KEYS = {"sd", "alpha", "beta", "shape", "scale", "mu", "sigma", "low", "high"}


def _all_spread_keys_absent(p: Param) -> bool:
    """No key of :data:`_SPREAD_KEYS` is given (written out: every PSA draw's check validates a couple of
    hundred fixed parameters)."""
    return (
        p.sd is None
        and p.alpha is None
        and p.beta is None
        and p.shape is None
        and p.scale is None
        and p.mu is None
        and p.sigma is None
        and p.low is None
        and p.high is None
    )


@functools.lru_cache(maxsize=4096)
def frozen_distribution(p: Param):
    """The scipy distribution of a parameter (``None`` for ``fixed``); raises ``ValueError`` if ill-posed.

    Extreme spreads (``sd = 1e300``, ``sd = 5e-324``) overflow or vanish in the method of moments; they are
    reported as ill-posed instead of escaping as arithmetic errors.

    Cached by the parameter's fields (a :class:`Param` is immutable and hashable): freezing a scipy
    distribution costs about a millisecond, and every validation of a scenario freezes each of its couple of
    hundred parameters twice, so that re-validating a scenario with one value changed (``with_updates``, the
    Hypothesis strategies, PSA draws) would otherwise cost a third of a second. The frozen distribution is
    only read (``ppf``, ``mean``, ``support``), never sampled with its own random state: sharing it is safe.
    """
    try:
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            dist = _frozen_distribution(p)
    except (OverflowError, ZeroDivisionError, FloatingPointError):
        raise ValueError(_extreme_message(p)) from None
    if dist is not None and not all(math.isfinite(x) and x > 0 for x in _shape_values(dist)):
        raise ValueError(_extreme_message(p))
    return dist


def _extreme_message(p: Param) -> str:
    spread = ", ".join(f"{k} = {getattr(p, k)!r}" for k in sorted(_SPREAD_KEYS) if getattr(p, k) is not None)
    return (
        f"the {p.dist} distribution with value {p.value!r} and {spread} cannot be computed (numbers too "
        f"large or too small); give a spread between {MIN_RELATIVE_SD:g} and {MAX_RELATIVE_SD:g} times the "
        "value, or dist = 'fixed'"
    )


def _shape_values(dist) -> list[float]:
    """The shape and scale numbers of a frozen scipy distribution (all must be finite and > 0)."""
    values = [float(a) for a in dist.args] + [float(v) for k, v in dist.kwds.items() if k != "loc"]
    return values


def _frozen_distribution(p: Param):
    given = {k for k in _SPREAD_KEYS if getattr(p, k) is not None}
    options = _ALLOWED_KEYS[p.dist]
    if given not in options:
        wanted = " or ".join("{" + ", ".join(sorted(o)) + "}" if o else "nothing" for o in options)
        raise ValueError(
            f"dist = '{p.dist}' needs {wanted} besides value and source; got {sorted(given) or 'nothing'}"
        )
    v = p.value
    if p.dist == "fixed":
        return None
    if p.sd is not None and v != 0 and not MIN_RELATIVE_SD * abs(v) <= p.sd <= MAX_RELATIVE_SD * abs(v):
        raise ValueError(
            f"sd = {p.sd!r} is out of proportion to value = {v!r}: give an sd between "
            f"{MIN_RELATIVE_SD:g} and {MAX_RELATIVE_SD:g} times |value| (or dist = 'fixed' for none)"
        )
    if p.dist == "normal":
        return stats.norm(loc=v, scale=p.sd)
    if p.dist == "uniform":
        if not p.low < p.high:
            raise ValueError(f"uniform needs low < high, got low={p.low}, high={p.high}")
        if not p.low <= v <= p.high:
            raise ValueError(f"value {v} lies outside its uniform range [{p.low}, {p.high}]")
        dist = stats.uniform(loc=p.low, scale=p.high - p.low)
    elif p.dist == "beta":
        if p.sd is not None:
            if not 0 < v < 1 or p.sd**2 >= v * (1 - v):
                raise ValueError(
                    f"beta with value {v} and sd {p.sd} is impossible: need 0 < value < 1 and "
                    f"sd < sqrt(value*(1-value)) = {math.sqrt(max(v * (1 - v), 0)):.4g}"
                )
            common = v * (1 - v) / p.sd**2 - 1
            return stats.beta(v * common, (1 - v) * common)
        dist = stats.beta(p.alpha, p.beta)
    elif p.dist == "gamma":
        if p.sd is not None:
            if v <= 0:
                raise ValueError(f"gamma needs value > 0, got {v}")
            return stats.gamma(a=(v / p.sd) ** 2, scale=p.sd**2 / v)
        dist = stats.gamma(a=p.shape, scale=p.scale)
    else:  # lognormal
        if p.sd is not None:
            if v <= 0:
                raise ValueError(f"lognormal needs value > 0, got {v}")
            s2 = math.log1p((p.sd / v) ** 2)
            return stats.lognorm(s=math.sqrt(s2), scale=math.exp(math.log(v) - s2 / 2))
        dist = stats.lognorm(s=p.sigma, scale=math.exp(p.mu))
    mean = float(dist.mean())
    if abs(mean - v) > MEAN_TOLERANCE * max(abs(v), 1e-12):
        raise ValueError(
            f"value {v} disagrees with the mean {mean:.4g} of its {p.dist} distribution (more than 5%); "
            "give the mean as value, or use sd = ... to centre the distribution on value"
        )
    return dist


@functools.lru_cache(maxsize=4096)
def support(p: Param) -> tuple[float, float]:
    """The range a parameter can take in the PSA (its point value when fixed); cached as
    :func:`frozen_distribution` is (scipy's ``support`` costs a quarter of a millisecond)."""
    dist = frozen_distribution(p)
    if dist is None:
        return (p.value, p.value)
    lo, hi = dist.support()
    return (float(lo), float(hi))


def sample(p: Param, uniforms: np.ndarray) -> np.ndarray:
    """PSA values of ``p`` by inversion of its distribution at ``uniforms``.

    Inversion is monotone, so draws are coupled across parameters' values (common random numbers).
    """
    dist = frozen_distribution(p)
    if dist is None:
        return np.full(np.shape(uniforms), p.value)
    return dist.ppf(uniforms)


@dataclass(frozen=True)
class Kind:
    """The domain of a field: bounds and the distributions that keep every draw inside them."""

    name: str
    low: float
    high: float
    low_open: bool
    high_open: bool
    dists: frozenset[str]
    reason: str = ""  # why the bounds are what they are, when it is not obvious from the name

    def describe(self) -> str:
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"{left}{self.low:g}, {self.high:g}{right}"

    def contains(self, x: float) -> bool:
        above = x > self.low if self.low_open else x >= self.low
        below = x < self.high if self.high_open else x <= self.high
        return above and below

    def __call__(self, p: Param) -> Param:
        if p.dist not in self.dists:
            raise ValueError(
                f"this field (a {self.name}) cannot have dist = '{p.dist}'; "
                f"allowed: {', '.join(sorted(self.dists))}"
            )
        if not self.contains(p.value):
            why = f": {self.reason}" if self.reason else ""
            raise ValueError(
                f"value {p.value} is outside the allowed range {self.describe()} (a {self.name}){why}"
            )
        if p.dist == "normal":
            lo, hi = p.value - 6 * p.sd, p.value + 6 * p.sd  # draws are clipped to the bounds
            if lo < self.low or hi > self.high:
                raise ValueError(
                    f"normal({p.value:g}, sd={p.sd:g}) reaches beyond the allowed range {self.describe()} "
                    f"of a {self.name} within 6 sd; use a smaller sd or another distribution"
                )
        elif p.dist != "fixed":
            lo, hi = support(p)
            # A uniform range must lie inside an open bound too (gamma and log-normal only touch it).
            at_open_bound = p.dist == "uniform" and (
                (self.low_open and lo <= self.low) or (self.high_open and hi >= self.high)
            )
            if lo < self.low or hi > self.high or at_open_bound:
                raise ValueError(
                    f"the {p.dist} distribution can take values in [{lo:g}, {hi:g}], outside the allowed "
                    f"range {self.describe()} of a {self.name}"
                )
        return p


_BOUNDED = frozenset({"fixed", "beta", "uniform"})
_POSITIVE = frozenset({"fixed", "gamma", "lognormal", "uniform"})

PROBABILITY_KIND = Kind("probability", 0.0, 1.0, False, False, _BOUNDED)
NON_NEGATIVE_KIND = Kind("non-negative quantity", 0.0, math.inf, False, True, _POSITIVE)
POSITIVE_KIND = Kind("positive quantity", 0.0, math.inf, True, True, _POSITIVE)
REAL_KIND = Kind("real number", -math.inf, math.inf, True, True, frozenset({"fixed", "normal", "uniform"}))
AGE_KIND = Kind("age in years", 0.0, 110.0, False, False, frozenset({"fixed", "normal", "uniform"}))
UTILITY_KIND = Kind("utility", -1.0, 1.0, False, False, frozenset({"fixed", "uniform"}))

# Domain limits of the parameters that set an interval between recurring events: with no lower bound a
# single value (``replacement_years = 1e-300``) makes one patient generate events without end. Each bound is
# far outside clinical practice, so that it never constrains a real scenario; the distributions allowed
# (fixed, uniform) cannot draw past it.
_INTERVAL_DISTS = frozenset({"fixed", "uniform"})
DEVICE_RENEWAL_KIND = Kind(
    "device renewal interval in years",
    0.25,
    200.0,
    False,
    False,
    _INTERVAL_DISTS,
    "no walking aid, orthosis or wheelchair is renewed more often than four times a year, and a shorter "
    "interval would make renewals run on without end",
)
INFUSION_INTERVAL_KIND = Kind(
    "interval between infusions in weeks",
    1.0,
    520.0,
    False,
    False,
    _INTERVAL_DISTS,
    "maintenance immunoglobulin is not given more often than weekly, and a shorter interval multiplies the "
    "infusions without bound",
)
TREATMENT_YEARS_KIND = Kind(
    "duration of a course in years",
    0.0,
    200.0,
    True,
    False,
    _INTERVAL_DISTS,
    "a course cannot outlast the longest horizon (200 years)",
)

LOG_SD_KIND = Kind(
    "log-scale standard deviation",
    0.0,
    3.0,
    True,
    False,
    _INTERVAL_DISTS,
    "a log-normal spread above 3 (a factor of 20 per standard deviation) makes the extreme patients' rates "
    "or delays overflow to infinity or collapse to zero; the shipped spreads are 0.2 to 1.4",
)

RATE_RATIO_PER_DECADE_KIND = Kind(
    "rate ratio per decade",
    0.1,
    10.0,
    False,
    False,
    _INTERVAL_DISTS,
    "the ratio is raised to the power of the decades between a patient's onset age and 60, so a ratio of "
    "1e6 overflows the progression rate of the oldest onsets and one of 1e-200 that of the youngest; no "
    "cohort shows a tenfold change per decade (the shipped range is 1.0 to 1.2)",
)

Probability = Annotated[Param, AfterValidator(PROBABILITY_KIND)]
NonNegative = Annotated[Param, AfterValidator(NON_NEGATIVE_KIND)]
Positive = Annotated[Param, AfterValidator(POSITIVE_KIND)]
Real = Annotated[Param, AfterValidator(REAL_KIND)]
Age = Annotated[Param, AfterValidator(AGE_KIND)]
Utility = Annotated[Param, AfterValidator(UTILITY_KIND)]
DeviceRenewalYears = Annotated[Param, AfterValidator(DEVICE_RENEWAL_KIND)]
InfusionIntervalWeeks = Annotated[Param, AfterValidator(INFUSION_INTERVAL_KIND)]
TreatmentYears = Annotated[Param, AfterValidator(TREATMENT_YEARS_KIND)]
LogSD = Annotated[Param, AfterValidator(LOG_SD_KIND)]
RateRatioPerDecade = Annotated[Param, AfterValidator(RATE_RATIO_PER_DECADE_KIND)]
