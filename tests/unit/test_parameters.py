"""Parameters: point values, PSA distributions, their consistency and the domain (kind) of each field."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.scenario.parameters import (
    _SPREAD_KEYS,
    AGE_KIND,
    NON_NEGATIVE_KIND,
    POSITIVE_KIND,
    PROBABILITY_KIND,
    UTILITY_KIND,
    Param,
    frozen_distribution,
    sample,
    support,
)


def param(**kw) -> Param:
    return Param(source="test", **kw)


# --------------------------------------------------------------------------- distributions given by sd


@pytest.mark.parametrize(
    ("dist", "value", "sd"),
    [
        ("beta", 0.3, 0.05),
        ("beta", 0.9, 0.2),
        ("gamma", 2.5, 0.7),
        ("gamma", 0.02, 0.01),
        ("lognormal", 0.0215, 0.004),
    ],
)
def test_distribution_given_by_sd_has_value_as_mean_and_sd_as_sd(dist: str, value: float, sd: float) -> None:
    """A beta, gamma or log-normal written as ``value`` and ``sd`` has exactly that mean and SD."""
    frozen = frozen_distribution(param(value=value, dist=dist, sd=sd))
    assert frozen.mean() == pytest.approx(value, rel=1e-9)
    assert frozen.std() == pytest.approx(sd, rel=1e-9)


def test_normal_given_by_sd_is_centred_on_value() -> None:
    """A normal parameter is centred on its value with the given SD."""
    frozen = frozen_distribution(param(value=62.6, dist="normal", sd=0.8))
    assert (frozen.mean(), frozen.std()) == pytest.approx((62.6, 0.8))


def test_beta_given_by_alpha_beta_is_that_beta() -> None:
    """``alpha``/``beta`` give scipy's beta with those shapes."""
    frozen = frozen_distribution(param(value=0.315, dist="beta", alpha=29, beta=63))
    assert frozen.mean() == pytest.approx(29 / 92)
    assert frozen.cdf(0.3) == pytest.approx(stats.beta(29, 63).cdf(0.3))


def test_lognormal_given_by_mu_sigma_has_the_log_scale_parameters() -> None:
    """``mu``/``sigma`` are the mean and SD of the logarithm."""
    mu, sigma = math.log(2.0), 0.3
    frozen = frozen_distribution(
        param(value=2.0 * math.exp(sigma**2 / 2), dist="lognormal", mu=mu, sigma=sigma)
    )
    assert frozen.median() == pytest.approx(2.0)
    assert np.log(frozen.ppf([0.2, 0.8])) == pytest.approx(stats.norm(mu, sigma).ppf([0.2, 0.8]))


def test_gamma_given_by_shape_scale() -> None:
    """``shape``/``scale`` give scipy's gamma with those parameters."""
    frozen = frozen_distribution(param(value=6.0, dist="gamma", shape=3.0, scale=2.0))
    assert (frozen.mean(), frozen.var()) == pytest.approx((6.0, 12.0))


# --------------------------------------------------------------------------- mean consistency


def test_value_within_five_percent_of_the_distribution_mean_is_accepted() -> None:
    """A value 4% above the mean of the written distribution is accepted (tolerance 5%)."""
    mean = 29 / 92
    assert param(value=mean * 1.04, dist="beta", alpha=29, beta=63).value == pytest.approx(mean * 1.04)


@pytest.mark.parametrize(
    "kw",
    [
        {"value": 29 / 92 * 1.06, "dist": "beta", "alpha": 29, "beta": 63},
        {"value": 0.8, "dist": "beta", "alpha": 1, "beta": 1},
        {"value": 10.0, "dist": "gamma", "shape": 2.0, "scale": 1.0},
        {"value": 1.0, "dist": "lognormal", "mu": 1.0, "sigma": 0.5},
        {"value": 0.5, "dist": "uniform", "low": 0.2, "high": 1.0},
    ],
)
def test_value_that_disagrees_with_the_distribution_mean_is_rejected(kw: dict) -> None:
    """A distribution whose mean is more than 5% away from the value describes another belief: an error."""
    with pytest.raises(ValueError, match="disagrees with the mean"):
        param(**kw)


# --------------------------------------------------------------------------- incomplete or ill-posed


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"value": 0.5, "dist": "beta", "shape": 2.0}, r"dist = 'beta' needs \{alpha, beta\} or \{sd\}"),
        ({"value": 0.5, "dist": "beta", "alpha": 2.0}, "needs"),
        ({"value": 0.5, "dist": "beta", "alpha": 2.0, "beta": 2.0, "sd": 0.1}, "needs"),
        ({"value": 0.5, "sd": 0.1}, "dist = 'fixed' needs nothing"),
        ({"value": 0.5, "dist": "normal"}, r"needs \{sd\}"),
        ({"value": 0.5, "dist": "gamma", "alpha": 1.0, "beta": 2.0}, r"\{scale, shape\} or \{sd\}"),
        ({"value": 0.5, "dist": "uniform", "sd": 0.1}, r"\{high, low\}"),
        ({"value": 0.5, "dist": "uniform", "low": 0.7, "high": 0.3}, "low < high"),
        ({"value": 0.5, "dist": "uniform", "low": 0.5, "high": 0.5}, "low < high"),
        ({"value": 0.9, "dist": "uniform", "low": 0.0, "high": 0.5}, "outside its uniform range|disagrees"),
        ({"value": 0.5, "dist": "beta", "sd": 0.5}, "impossible"),
        ({"value": 1.0, "dist": "beta", "sd": 0.1}, "impossible"),
        ({"value": 0.0, "dist": "gamma", "sd": 0.1}, "gamma needs value > 0"),
        ({"value": -1.0, "dist": "lognormal", "sd": 0.1}, "lognormal needs value > 0"),
        ({"value": 0.5, "dist": "weibull", "sd": 0.1}, "dist"),
        ({"value": 0.5, "dist": "beta", "sd": 0.0}, "greater than 0"),
        ({"value": 0.5, "dist": "beta", "sd": -0.1}, "greater than 0"),
        ({"value": 1.0, "dist": "gamma", "shape": -1.0, "scale": 1.0}, "greater than 0"),
        ({"value": float("nan")}, "finite"),
        ({"value": float("inf")}, "finite"),
        ({"value": 1.0, "dist": "normal", "sd": float("inf")}, "finite"),
        ({"value": 0.5, "sorce": "typo"}, "sorce"),
    ],
)
def test_ill_posed_distribution_is_rejected_with_the_reason(kw: dict, message: str) -> None:
    """Missing, surplus or impossible distribution parameters are errors that say what is needed."""
    with pytest.raises(ValueError, match=message):
        param(**kw)


def test_a_parameter_needs_a_source() -> None:
    """Every parameter carries its source: a parameter without one (or with an empty one) is rejected."""
    with pytest.raises(ValueError, match="source"):
        Param(value=0.5)
    with pytest.raises(ValueError, match="at least 1 character"):
        Param(value=0.5, source="")


# --------------------------------------------------------------------------- support and sampling


@pytest.mark.parametrize("key", sorted(_SPREAD_KEYS))
def test_a_fixed_parameter_with_any_spread_key_is_rejected(key: str) -> None:
    """Each spread key is an error on a fixed value (the validator's quick check of fixed values names
    every one of them)."""
    with pytest.raises(ValueError, match="dist = 'fixed' needs nothing"):
        param(value=0.5, **{key: 0.1})


def test_fixed_parameter_has_no_uncertainty() -> None:
    """A fixed parameter's support is its value, and every PSA draw equals it."""
    p = param(value=0.25)
    assert not p.uncertain
    assert frozen_distribution(p) is None
    assert support(p) == (0.25, 0.25)
    assert np.all(sample(p, np.array([0.0, 0.3, 0.999])) == 0.25)


def test_sample_inverts_the_distribution_and_is_monotone() -> None:
    """PSA values are the inverse CDF at the given uniforms, so larger uniforms give larger values."""
    p = param(value=0.3, dist="beta", sd=0.05)
    u = np.array([0.01, 0.2, 0.5, 0.8, 0.99])
    draws = sample(p, u)
    assert draws == pytest.approx(frozen_distribution(p).ppf(u))
    assert np.all(np.diff(draws) > 0)


def test_sample_means_match_the_point_value() -> None:
    """The mean of many PSA draws of an sd-parameterised gamma is its value (C23, within 3 SE)."""
    p = param(value=0.0214, dist="gamma", sd=0.003)
    draws = sample(p, np.random.default_rng(3).random(20_000))
    se = 0.003 / math.sqrt(draws.size)
    assert abs(draws.mean() - 0.0214) < 3 * se


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        ({"value": 0.3, "dist": "beta", "sd": 0.05}, (0.0, 1.0)),
        ({"value": 2.0, "dist": "gamma", "sd": 0.5}, (0.0, math.inf)),
        ({"value": 2.0, "dist": "uniform", "low": 1.0, "high": 3.0}, (1.0, 3.0)),
    ],
)
def test_support_is_the_range_of_psa_draws(kw: dict, expected: tuple[float, float]) -> None:
    """The support of a distribution is where its PSA draws can fall."""
    assert support(param(**kw)) == expected


# --------------------------------------------------------------------------- kinds (domains of fields)


def test_probability_kind_accepts_its_range_and_bounded_distributions() -> None:
    """A probability may be 0, 1, a beta or a uniform inside [0, 1]."""
    for p in (
        param(value=0.0),
        param(value=1.0),
        param(value=0.3, dist="beta", sd=0.05),
        param(value=0.5, dist="uniform", low=0.25, high=0.75),
    ):
        assert PROBABILITY_KIND(p) is p


@pytest.mark.parametrize(
    ("kind", "kw", "message"),
    [
        (PROBABILITY_KIND, {"value": 1.2}, r"value 1.2 is outside the allowed range \[0, 1\]"),
        (PROBABILITY_KIND, {"value": -0.1}, r"value -0.1 is outside the allowed range \[0, 1\]"),
        (PROBABILITY_KIND, {"value": 0.5, "dist": "gamma", "sd": 0.1}, "cannot have dist = 'gamma'"),
        (PROBABILITY_KIND, {"value": 0.5, "dist": "normal", "sd": 0.01}, "cannot have dist = 'normal'"),
        (PROBABILITY_KIND, {"value": 0.9, "dist": "uniform", "low": 0.7, "high": 1.1}, r"\[0.7, 1.1\]"),
        (NON_NEGATIVE_KIND, {"value": -0.01}, r"outside the allowed range \[0, inf\)"),
        (NON_NEGATIVE_KIND, {"value": 0.5, "dist": "beta", "sd": 0.1}, "cannot have dist = 'beta'"),
        (POSITIVE_KIND, {"value": 0.0}, r"outside the allowed range \(0, inf\)"),
        (POSITIVE_KIND, {"value": 1.0, "dist": "uniform", "low": -1.0, "high": 3.0}, r"\[-1, 3\]"),
        (AGE_KIND, {"value": 111.0}, r"\[0, 110\]"),
        (AGE_KIND, {"value": 62.0, "dist": "normal", "sd": 20.0}, "within 6 sd"),
        (UTILITY_KIND, {"value": 1.5}, r"\[-1, 1\]"),
    ],
)
def test_kind_rejects_values_and_distributions_outside_its_domain(kind, kw: dict, message: str) -> None:
    """A field's kind rejects a value or PSA distribution that can leave its domain, quoting the range."""
    with pytest.raises(ValueError, match=message):
        kind(param(**kw))


def test_non_negative_accepts_zero_but_positive_does_not() -> None:
    """0 is a valid non-negative quantity (e.g. a rate) but not a valid positive one (e.g. a median)."""
    assert NON_NEGATIVE_KIND.contains(0.0)
    assert not POSITIVE_KIND.contains(0.0)
    assert POSITIVE_KIND.contains(1e-300)


def test_normal_age_within_six_sd_of_the_bounds_is_accepted() -> None:
    """A normal age whose ±6 SD stay within [0, 110] is accepted."""
    p = param(value=62.6, dist="normal", sd=0.8)
    assert AGE_KIND(p) is p


def test_kind_descriptions_show_open_and_closed_bounds() -> None:
    """The allowed range is written with brackets for closed and parentheses for open bounds."""
    assert PROBABILITY_KIND.describe() == "[0, 1]"
    assert NON_NEGATIVE_KIND.describe() == "[0, inf)"
    assert POSITIVE_KIND.describe() == "(0, inf)"
