"""The sampled parametrisation is a change of variables, not a different model.

``sampling.build_model`` samples the grand mean, zero-sum random intercepts and QR-rotated
coefficients. On a small data set where the priors still matter, its posterior must match
the textbook parametrisation of the same model (``Intercept ~ StudentT``, ``b ~ Normal``,
random intercepts ``Normal(0, sd)``), sampled by the same sampler.
"""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pytest

from perspective_local.analysis import sampling
from perspective_local.analysis.specs import RANDOM_EFFECTS, Design, SamplerOptions

DRAWS = 1000
CHAINS = 4


def _design(rng: np.random.Generator, constant_column: bool = False) -> Design:
    users, per_user, per_conversation, llms = 12, 5, 4, 5
    user = np.repeat(np.arange(users), per_user * per_conversation)
    conversation = np.repeat(np.arange(users * per_user), per_conversation)
    llm = rng.integers(0, llms, len(user))
    n = len(user)
    base = rng.normal(size=n)
    # Two strongly correlated terms, as the moderation analysis has.
    x = np.column_stack([base, base + 0.3 * rng.normal(size=n)])
    if constant_column:
        x = np.column_stack([x, np.ones(n)])
    y = (
        1.0
        + x[:, :2] @ np.array([0.5, -0.3])
        + rng.normal(0, 0.4, users)[user]
        + rng.normal(0, 0.3, users * per_user)[conversation]
        + rng.normal(0, 0.5, llms)[llm]
        + rng.normal(0, 1.0, n)
    )
    groups = {"user": user, "conversation": conversation, "llm": llm}
    terms = ("A", "B", "C")[: x.shape[1]]
    return Design(
        "score", "all", "gaussian", terms, ("log_score",), x, y[:, None],
        {e: np.asarray(groups[e], dtype=np.int64) for e in RANDOM_EFFECTS},
        {e: tuple(str(i) for i in range(int(groups[e].max()) + 1)) for e in RANDOM_EFFECTS},
    )  # fmt: skip


def _direct_model(data: Design, options: SamplerOptions):  # type: ignore[no-untyped-def]
    """The same model written the obvious way (conversations non-centred, as brms does)."""
    import pymc as pm

    y = data.y[:, 0]
    x = data.x - data.x.mean(axis=0)
    location, scale = sampling._prior_location_scale(y, gaussian=True)
    b_sd = sampling._coefficient_prior_sd(data, y, options)
    with pm.Model() as model:
        intercept = pm.StudentT("Intercept", nu=3, mu=location, sigma=scale)
        b = pm.Normal("b", 0.0, b_sd, shape=len(data.terms))
        eta = intercept + pm.math.dot(x, b)
        for e in RANDOM_EFFECTS:
            sd = pm.HalfStudentT(f"sd_{e}", nu=3, sigma=scale)
            z = pm.Normal(f"z_{e}", 0.0, 1.0, shape=len(data.levels[e]))
            eta = eta + sd * z[data.groups[e]]
        sigma = pm.HalfStudentT("sigma", nu=3, sigma=scale)
        pm.Normal("y", eta, sigma, observed=y)
    return model


def test_reparametrised_model_has_the_direct_models_posterior() -> None:
    import nutpie

    data = _design(np.random.default_rng(3))
    options = SamplerOptions(draws=DRAWS, tune=DRAWS, chains=CHAINS, seed=1, priors="weak")
    ours = sampling.sample(data, options).posterior
    compiled = nutpie.compile_pymc_model(_direct_model(data, options))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = nutpie.sample(
            compiled, draws=DRAWS, tune=DRAWS, chains=CHAINS, seed=2, progress_bar=False
        ).posterior

    pairs = {
        "Intercept": (ours["Intercept"].isel(outcome=0), direct["Intercept"]),
        "b[A]": (ours["b"].sel(term="A").isel(outcome=0), direct["b"].isel(b_dim_0=0)),
        "b[B]": (ours["b"].sel(term="B").isel(outcome=0), direct["b"].isel(b_dim_0=1)),
        "sigma": (ours["sigma"].isel(outcome=0), direct["sigma"]),
        **{f"sd_{e}": (ours[f"sd_{e}"].isel(outcome=0), direct[f"sd_{e}"]) for e in RANDOM_EFFECTS},
    }
    for name, (a, b) in pairs.items():
        mcse = np.hypot(float(az.mcse(a).to_array()[0]), float(az.mcse(b).to_array()[0]))
        difference = abs(float(a.mean()) - float(b.mean()))
        # Five Monte Carlo standard errors: a real difference between the models (a lost
        # prior, a wrong Jacobian, a mis-scaled Q) moves a mean by far more.
        assert difference < 5 * mcse, (name, float(a.mean()), float(b.mean()), mcse)
        # Spread by the interquartile range: the SDs of the random-effect scales have heavy
        # tails, which the direct parametrisation (funnel, divergences) under-samples.
        assert _iqr(a) == pytest.approx(_iqr(b), rel=0.12), name


def _iqr(draws) -> float:  # type: ignore[no-untyped-def]
    low, high = np.quantile(np.asarray(draws).ravel(), [0.25, 0.75])
    return float(high - low)


def test_constant_or_collinear_terms_are_named() -> None:
    data = _design(np.random.default_rng(4), constant_column=True)
    with pytest.raises(ValueError, match=r"terms \['C'\] are constant or collinear"):
        sampling.build_model(data, SamplerOptions())


def test_pymc_sampler_fits_the_same_model_and_keeps_the_log_likelihood() -> None:
    """The fallback when nutpie is missing: PyMC's NUTS on the same compiled model."""
    data = _design(np.random.default_rng(3))
    options = SamplerOptions(
        draws=300, tune=300, chains=2, cores=1, seed=5, sampler="pymc", log_likelihood=True
    )
    idata = sampling.sample(data, options)
    assert idata.posterior.attrs["sampler"] == "pymc"
    assert set(idata.posterior.data_vars) == {
        "Intercept", "b", "sigma", "sd_user", "sd_conversation", "sd_llm",
    }  # fmt: skip
    assert idata.log_likelihood["y"].shape == (2, 300, data.n)
    b = idata.posterior["b"].isel(outcome=0)
    for term, planted in (("A", 0.5), ("B", -0.3)):
        draws = b.sel(term=term)
        assert abs(float(draws.mean()) - planted) < 3 * float(draws.std()), term


def test_integrated_intercepts_are_the_exact_multivariate_normal_density() -> None:
    """The closed form behind Gaussian fits equals log N(r | 0, V) with V built in full."""
    import pytensor.tensor as pt
    from scipy.stats import multivariate_normal

    data = _design(np.random.default_rng(8))
    residual = np.random.default_rng(9).normal(size=data.n)
    sigma, sd_user, sd_conversation = 0.7, 0.5, 0.3
    user, conversation = data.groups["user"], data.groups["conversation"]
    covariance = (
        sigma**2 * np.eye(data.n)
        + sd_conversation**2 * (conversation[:, None] == conversation[None, :])
        + sd_user**2 * (user[:, None] == user[None, :])
    )
    expected = multivariate_normal(np.zeros(data.n), covariance).logpdf(residual)
    value = sampling._nested_intercepts_logp(
        pt.as_tensor(residual), pt.as_tensor(sigma), pt.as_tensor(sd_user),
        pt.as_tensor(sd_conversation), data,
    ).eval()  # fmt: skip
    assert float(value) == pytest.approx(expected, rel=1e-10)


def test_gaussian_fits_integrate_intercepts_out_and_keep_a_pointwise_loo() -> None:
    """ELPD-LOO of the integrated model (intercepts drawn afterwards from their conditional
    posterior) matches the textbook model that samples the intercepts."""
    import nutpie
    import pymc as pm

    data = _design(np.random.default_rng(3))
    model = sampling.build_model(data, SamplerOptions(log_likelihood=True))
    names = {v.name for v in model.free_RVs}
    assert {"z_user", "z_conversation"} & names == set()
    assert {"sd_user", "sd_conversation", "z_llm"} <= names
    options = SamplerOptions(draws=DRAWS, tune=DRAWS, chains=CHAINS, seed=1, priors="weak",
                             log_likelihood=True)  # fmt: skip
    ours = sampling.sample(data, options)
    assert "eta" not in ours.posterior
    assert ours.log_likelihood["y"].shape == (CHAINS, DRAWS, data.n)
    direct_model = _direct_model(data, options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = nutpie.sample(
            nutpie.compile_pymc_model(direct_model), draws=DRAWS, tune=DRAWS, chains=CHAINS,
            seed=2, progress_bar=False,
        )  # fmt: skip
        pm.compute_log_likelihood(direct, model=direct_model, progressbar=False)
        ours_loo = az.loo(ours.assign_coords(y_dim_0=np.arange(data.n)))
        direct_loo = az.loo(direct)
    # Both are Monte Carlo estimates of the same ELPD (about -350 here, SE about 10).
    assert abs(ours_loo.elpd_loo - direct_loo.elpd_loo) < 1.5, (ours_loo, direct_loo)
    assert abs(ours_loo.p_loo - direct_loo.p_loo) < 1.5


def test_bernoulli_softplus_likelihood_is_pymcs_bernoulli() -> None:
    from dataclasses import replace

    data = _design(np.random.default_rng(3))
    rng = np.random.default_rng(10)
    data = replace(data, family="bernoulli", y=(rng.random((data.n, 1)) < 0.3).astype(float))
    fast = sampling.build_model(data, SamplerOptions())
    reference = sampling.build_model(data, SamplerOptions(log_likelihood=True))
    point = reference.initial_point()
    point = {k: v + rng.normal(0, 0.3, np.shape(v)) for k, v in point.items()}
    assert fast.compile_logp()(point) == pytest.approx(reference.compile_logp()(point), rel=1e-9)
