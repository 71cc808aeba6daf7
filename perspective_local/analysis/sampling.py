"""Build the PyMC model for a :class:`~perspective_local.analysis.specs.Design` and sample it.

The only module that imports PyMC. One builder covers every analysis. Mirroring's seven
outcomes share a design matrix and each gets its own intercept, coefficients, random
intercepts and sigma, which is what seven separate brms models (or an ``mvbind`` model
without residual correlation) estimate.

Parametrisation, chosen for speed and mixing without changing the model:

* predictors are centred, so the intercept is brms's centred ``Intercept`` and its prior
  (``student_t(3, median(y), max(2.5, mad(y)))``, or ``student_t(3, 0, 2.5)`` for the
  logit) is brms's default; coefficients are unchanged by centring;
* coefficients are sampled on the QR decomposition of the centred design (brms's
  ``decomp = "QR"``) and mapped back, their prior applied to ``b`` itself;
* random intercepts of thinly observed groups (conversations) are non-centred,
  ``sd * z``; well-observed ones (LLMs, and users in Gaussian models) are centred;
  random-effect SDs and sigma get brms's ``student_t(3, 0, scale)`` half-prior;
* each random intercept is sampled as its mean plus zero-sum deviations, and the
  intercept through the grand mean (Intercept + those means), the one combination the
  data pin down; ``Intercept`` is derived and keeps its prior (an exact change of
  variables, see :func:`build_model`);
* in Gaussian models the user and conversation random intercepts are integrated out
  exactly (:func:`_nested_intercepts_logp`): a user's rows are jointly normal with a
  nested compound-symmetric covariance whose inverse and determinant have closed forms, so
  some 9,000 parameters leave the sampler at PRISM's size and only the LLM intercepts stay.
  The posterior of everything reported (intercept, coefficients, SDs, sigma) is the same
  model's. For ELPD-LOO, whose unit is the response, the intercepts are drawn afterwards
  from their exact conditional posterior per draw (:func:`_gaussian_log_likelihood`);
* the Bernoulli likelihood is written as ``-softplus(-(2y - 1) * eta)`` (the same
  log-density, one transcendental per row and no parameter checks) unless pointwise
  log-likelihood is wanted, where PyMC's ``Bernoulli`` provides it;
* sampling uses nutpie (compiled with numba) when installed, else PyMC's NUTS.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from perspective_local.analysis.specs import (
    PAPER_PRIOR_SD,
    RANDOM_EFFECTS,
    Design,
    SamplerOptions,
)

if TYPE_CHECKING:
    import arviz as az
    import pymc as pm
    import xarray as xr

#: Random intercepts a Gaussian fit integrates out (nested: conversations within users).
NESTED_EFFECTS = ("user", "conversation")
#: brms's lower bound for default prior scales.
BRMS_MIN_SCALE = 2.5
#: Mean rows per level from which a random effect is sampled centred, by family (a logit
#: row carries less information than a Gaussian one).
CENTRED_MIN_ROWS = {"gaussian": 10.0, "bernoulli": 100.0}


def _mad(y: NDArray[np.float64]) -> NDArray[np.float64]:
    """R's ``mad()``: median absolute deviation scaled to the normal SD."""
    return np.asarray(1.4826 * np.median(np.abs(y - np.median(y, axis=0)), axis=0))


def _prior_location_scale(y: NDArray[np.float64], gaussian: bool) -> tuple[float, float]:
    if gaussian:
        return float(np.median(y)), max(BRMS_MIN_SCALE, float(_mad(y)))
    return 0.0, BRMS_MIN_SCALE


def _coefficient_prior_sd(
    data: Design, y: NDArray[np.float64], options: SamplerOptions
) -> NDArray[np.float64]:
    if options.priors == "paper":
        return np.full(len(data.terms), PAPER_PRIOR_SD)
    x_sd = data.x.std(axis=0)
    y_sd = float(y.std()) if data.family == "gaussian" else 1.0
    return np.asarray(2.5 * y_sd / np.where(x_sd > 0, x_sd, 1.0))


def build_model(data: Design, options: SamplerOptions, outcome: int = 0) -> pm.Model:
    """The PyMC model of one outcome of ``data``.

    The outcome and its prior location/scale are ``pm.Data``, so one compiled model serves
    every outcome of a several-outcome design (see :func:`sample`).
    """
    import pymc as pm
    import pytensor.tensor as pt

    q, r_inverse = _qr(data)
    y = data.y[:, outcome]
    gaussian = data.family == "gaussian"
    location, scale = _prior_location_scale(y, gaussian)
    effects = [e for e in RANDOM_EFFECTS if options.llm_effect or e != "llm"]
    integrated = NESTED_EFFECTS if gaussian else ()
    coords = {"outcome": [data.outcomes[outcome]], "term": list(data.terms)}
    coords.update({e: list(data.levels[e]) for e in effects})
    with pm.Model(coords=coords) as model:
        y_obs = pm.Data("y_obs", y)
        y_location = pm.Data("y_location", np.array(location))
        y_scale = pm.Data("y_scale", np.array(scale))
        b_sd = pm.Data("b_sd", _coefficient_prior_sd(data, y, options))
        # The data pin down only the grand mean, Intercept + the mean of every random
        # intercept; sampled as Intercept itself it lies on a ridge with those means (R-hat
        # 1.3 at PRISM's size). So the grand mean is sampled, each random intercept as its
        # own mean (prior-only) plus zero-sum deviations, and Intercept is derived. This
        # is an exact change of variables (unit Jacobian; iid normal effects split into
        # independent mean and zero-sum parts), so brms's prior still applies to Intercept.
        grand_mean = pm.Flat("grand_mean", dims="outcome")
        # Coefficients are sampled on the orthogonal columns of the design's QR
        # decomposition (brms's and rstanarm's QR option): collinear terms, such as a
        # moderator's main effect and its seven interactions, otherwise form ridges that
        # NUTS crosses slowly. b = R^-1 theta is linear, so its prior applies unchanged.
        theta = pm.Flat("b_qr", dims=("term", "outcome"))
        b = pm.Deterministic("b", pm.math.dot(r_inverse, theta), dims=("term", "outcome"))
        pm.Potential("b_prior", pm.logp(pm.Normal.dist(0.0, b_sd[:, None]), b).sum())
        # 1-D throughout: the compiled gradient of 1-D gathers is several times faster
        # than the same model written with 2-D (row, outcome) arrays.
        eta = grand_mean[0] + pm.math.dot(q, theta[:, 0])
        effect_means = 0.0
        integrated_sd = {}
        for e in effects:
            sd = pm.HalfStudentT(f"sd_{e}", nu=3, sigma=y_scale, dims="outcome")
            if e in integrated:
                integrated_sd[e] = sd[0]
                continue
            levels = len(data.levels[e])
            mean = pm.Normal(f"mean_z_{e}", 0.0, 1.0 / np.sqrt(levels))
            effect_means = effect_means + sd[0] * mean
            if e in _centred(data):
                z = pm.ZeroSumNormal(f"z_{e}", sigma=sd[0], dims=e)
                eta = eta + z[data.groups[e]]
            else:
                z = pm.ZeroSumNormal(f"z_{e}", sigma=1.0, dims=e)
                eta = eta + sd[0] * z[data.groups[e]]
        intercept = pm.Deterministic("Intercept", grand_mean - effect_means, dims="outcome")
        pm.Potential(
            "Intercept_prior",
            pm.logp(pm.StudentT.dist(nu=3, mu=y_location, sigma=y_scale), intercept).sum(),
        )
        if gaussian:
            sigma = pm.HalfStudentT("sigma", nu=3, sigma=y_scale, dims="outcome")
            if integrated:
                # Kept for the pointwise log-likelihood (never stored in the trace).
                pm.Deterministic("eta", eta)
                pm.Potential(
                    "y",
                    _nested_intercepts_logp(
                        y_obs - eta, sigma[0], integrated_sd["user"],
                        integrated_sd["conversation"], data,
                    ),
                )  # fmt: skip
            else:
                pm.Normal("y", mu=eta, sigma=sigma[0], observed=y_obs)
        elif options.log_likelihood:
            pm.Bernoulli("y", logit_p=eta, observed=y_obs)
        else:
            sign = 2.0 * y_obs - 1.0
            pm.Potential("y", -pm.math.sum(pt.softplus(-sign * eta)))
    return model


def _nested_intercepts_logp(
    residual: Any, sigma: Any, sd_user: Any, sd_conversation: Any, data: Design
) -> Any:
    """log N(residual | 0, V) with users' and their conversations' random intercepts
    integrated out.

    Within a user, ``V = D + sd_user^2 11'`` with ``D`` block-diagonal over conversations,
    ``D_c = sigma^2 I + sd_conversation^2 11'``. Sherman-Morrison twice gives, with
    ``S_c`` the residual sum of conversation ``c`` (``n_c`` rows), ``a_c = sigma^2 +
    n_c sd_c^2``, ``A_u = sum_c n_c / a_c`` and ``B_u = sum_c S_c / a_c``:
    ``r'V^-1 r = (sum r^2 - sd_c^2 sum_c S_c^2 / a_c) / sigma^2 - sd_u^2 B_u^2 / (1 +
    sd_u^2 A_u)`` and ``log|V| = sum_c [(n_c - 1) log sigma^2 + log a_c] + log(1 +
    sd_u^2 A_u)``.
    """
    import pytensor.tensor as pt

    conversation = data.groups["conversation"]
    n_conversations = len(data.levels["conversation"])
    rows = np.bincount(conversation, minlength=n_conversations).astype(np.float64)
    user_of = np.zeros(n_conversations, dtype=np.int64)
    user_of[conversation] = data.groups["user"]
    n_users = len(data.levels["user"])
    variance, user_var, conversation_var = sigma**2, sd_user**2, sd_conversation**2
    sums = pt.zeros(n_conversations)[conversation].inc(residual)
    a = variance + rows * conversation_var
    within = ((residual**2).sum() - conversation_var * (sums**2 / a).sum()) / variance
    user_a = pt.zeros(n_users)[user_of].inc(rows / a)
    user_b = pt.zeros(n_users)[user_of].inc(sums / a)
    shrink = 1.0 + user_var * user_a
    quadratic = within - user_var * (user_b**2 / shrink).sum()
    log_det = (data.n - n_conversations) * pt.log(variance) + pt.log(a).sum() + pt.log(shrink).sum()
    return -0.5 * (data.n * np.log(2 * np.pi) + log_det + quadratic)


def _qr(data: Design) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``Q`` and ``R^-1`` of the centred design, scaled as in Stan's guide (Q * sqrt(n - 1)).

    A term that is constant, or a combination of others, on the rows of this subset has
    no estimate; that is reported rather than sampled as a flat, unidentified direction.
    """
    x = data.x - data.x.mean(axis=0)
    q, r = np.linalg.qr(x)
    diagonal = np.abs(np.diag(r))
    tolerance = max(x.shape) * np.finfo(float).eps * max(float(diagonal.max(initial=0.0)), 1.0)
    if np.any(diagonal <= tolerance):
        dependent = [t for t, d in zip(data.terms, diagonal, strict=True) if d <= tolerance]
        raise ValueError(
            f"analysis '{data.analysis}' on subset '{data.subset}': terms {dependent} are "
            "constant or collinear with earlier terms on these rows, so they cannot be estimated"
        )
    scale = np.sqrt(max(data.n - 1, 1))
    return q * scale, np.linalg.inv(r / scale)


def _centred(data: Design) -> set[str]:
    """Random effects whose levels have enough rows to be well identified by the data.

    Those sample better centred (``a ~ Normal(0, sd)``); thinly observed ones (a
    conversation's 2-4 responses, a user's choices) sample better non-centred.
    """
    rows_per_level = {e: data.n / max(1, len(data.levels[e])) for e in RANDOM_EFFECTS}
    threshold = CENTRED_MIN_ROWS[data.family]
    return {e for e, rows in rows_per_level.items() if rows >= threshold}


def _use_nutpie(options: SamplerOptions) -> bool:
    if options.sampler == "pymc":
        return False
    try:
        import nutpie  # noqa: F401
    except ImportError:
        if options.sampler == "nutpie":
            raise ImportError("sampler 'nutpie' requested but nutpie is not installed") from None
        return False
    return True


def _outcome_data(
    data: Design, outcome: int, options: SamplerOptions
) -> dict[str, NDArray[np.float64]]:
    y = data.y[:, outcome]
    location, scale = _prior_location_scale(y, data.family == "gaussian")
    return {
        "y_obs": y,
        "y_location": np.array(location),
        "y_scale": np.array(scale),
        "b_sd": _coefficient_prior_sd(data, y, options),
    }


def sample(data: Design, options: SamplerOptions) -> az.InferenceData:
    """Sample ``data``'s model; draws/tune/chains must be set (``specs.fit`` fills them).

    Several outcomes (mirroring) share no parameters, so each is sampled on its own from
    one compiled model with the outcome swapped in, and the posteriors are joined along
    ``outcome``: the same posterior as one joint model, one compile, and a trace that never
    holds more than one outcome's random effects.
    """
    import pymc as pm

    assert options.draws and options.chains is not None and options.tune is not None
    model = build_model(data, options)
    cores = options.cores or min(options.chains, os.cpu_count() or 1)
    use_nutpie = _use_nutpie(options)
    stored = _stored_vars(model, options)
    compiled: Any = None
    if use_nutpie:
        import nutpie

        compiled = nutpie.compile_pymc_model(model, freeze_model=False, var_names=stored)
    parts = []
    for j, outcome in enumerate(data.outcomes):
        values = _outcome_data(data, j, options)
        seed = options.seed + j
        if use_nutpie:
            import nutpie

            idata = nutpie.sample(
                compiled.with_data(**values),
                draws=options.draws,
                tune=options.tune,
                chains=options.chains,
                cores=cores,
                seed=seed,
                save_warmup=False,
                progress_bar=options.progress,
            )
        else:
            with model:
                pm.set_data(values)
            idata = pm.sample(
                model=model,
                var_names=stored,
                draws=options.draws,
                tune=options.tune,
                chains=options.chains,
                cores=cores,
                random_seed=seed,
                progressbar=options.progress,
                compute_convergence_checks=False,
            )
        if options.log_likelihood and data.family == "gaussian":
            idata.add_groups({"log_likelihood": _gaussian_log_likelihood(idata, model, data, values,
                                                                          seed)})  # fmt: skip
        elif options.log_likelihood:
            with model:
                pm.set_data(values)
            pm.compute_log_likelihood(idata, model=model, progressbar=False)
        # The random intercepts' draws are large and say nothing the SDs do not.
        idata.posterior = idata.posterior[_summary_vars(model)].assign_coords(outcome=[outcome])
        parts.append(idata)
    joined = parts[0] if len(parts) == 1 else _concat_outcomes(parts, data)
    for group in ("observed_data", "constant_data"):
        if group in joined.groups():
            del joined[group]
    joined.add_groups(
        {"observed_data": _observed_data(data), "constant_data": _constant_data(data)}
    )
    for group in joined.groups():
        joined[group].attrs["sampler"] = "nutpie" if use_nutpie else "pymc"
    return joined


def _gaussian_log_likelihood(
    idata: Any, model: pm.Model, data: Design, values: dict[str, NDArray[np.float64]], seed: int
) -> xr.Dataset:
    """Pointwise log N(y | eta + user + conversation, sigma) for a fit whose user and
    conversation intercepts were integrated out.

    For each draw the intercepts are drawn from their exact conditional posterior given the
    sampled parameters (a user's, integrating their conversations', then each
    conversation's given its user's), so (parameters, intercepts) are draws from the joint
    posterior of the model that samples the intercepts, and PSIS-LOO's unit stays the
    response.
    """
    import pymc as pm
    import xarray as xr

    posterior = idata.posterior
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    with model:
        pm.set_data(values)
    from pytensor.compile.function import function

    free = [v.name for v in model.free_RVs]
    # eta as a function of the random variables themselves (the graph is cut there), so
    # the stored draws go in as they are, on their natural scale.
    eta_of = function(model.free_RVs, model["eta"], on_unused_input="ignore")
    flat = {n: posterior[n].to_numpy().reshape(chains * draws, *posterior[n].shape[2:])
            for n in free}  # fmt: skip
    y = values["y_obs"]
    conversation, user = data.groups["conversation"], data.groups["user"]
    n_conversations, n_users = len(data.levels["conversation"]), len(data.levels["user"])
    rows = np.bincount(conversation, minlength=n_conversations).astype(np.float64)
    user_of = np.zeros(n_conversations, dtype=np.int64)
    user_of[conversation] = user
    rng = np.random.default_rng(seed)
    out = np.empty((chains * draws, data.n))
    for d in range(chains * draws):
        eta = np.asarray(eta_of(*(flat[name][d] for name in free)))
        sigma = float(flat["sigma"][d][0])
        tau_u, tau_c = float(flat["sd_user"][d][0]), float(flat["sd_conversation"][d][0])
        residual = y - eta
        sums = np.bincount(conversation, weights=residual, minlength=n_conversations)
        a = sigma**2 + rows * tau_c**2
        precision_u = 1 / tau_u**2 + np.bincount(user_of, weights=rows / a, minlength=n_users)
        mean_u = np.bincount(user_of, weights=sums / a, minlength=n_users) / precision_u
        u = mean_u + rng.standard_normal(n_users) / np.sqrt(precision_u)
        shifted = sums - rows * u[user_of]
        precision_c = a / (tau_c**2 * sigma**2)
        c = tau_c**2 * shifted / a + rng.standard_normal(n_conversations) / np.sqrt(precision_c)
        error = residual - u[user] - c[conversation]
        out[d] = -0.5 * (np.log(2 * np.pi * sigma**2) + (error / sigma) ** 2)
    return xr.Dataset({"y": (("chain", "draw", "y_dim_0"), out.reshape(chains, draws, data.n))})


def _concat_outcomes(parts: list[Any], data: Design) -> az.InferenceData:
    import arviz as az
    import xarray as xr

    outcome = xr.DataArray(list(data.outcomes), dims="outcome", name="outcome")
    groups: dict[str, Any] = {"posterior": xr.concat([p.posterior for p in parts], dim="outcome")}
    for group in ("sample_stats", "log_likelihood"):
        if group in parts[0].groups():
            groups[group] = xr.concat([p[group] for p in parts], dim=outcome)
    return az.InferenceData(**groups)


def _stored_vars(model: pm.Model, options: SamplerOptions) -> list[str]:
    """What the trace keeps: the summary variables, plus every free variable when the
    log-likelihood has to be computed from the draws (ELPD-LOO). The random intercepts'
    draws (tens of thousands of values per draw at PRISM's size) are otherwise dropped."""
    summary = _summary_vars(model)
    if not options.log_likelihood:
        return summary
    return [*summary, *(v.name for v in model.free_RVs if v.name not in summary)]


def _summary_vars(model: pm.Model) -> list[str]:
    """Intercepts, coefficients, random-effect SDs and sigma: what reports and checks use.

    The random intercepts themselves (``z_*``, large and summarised by their SDs) and the
    variables of the change of variables (grand mean, effect means) are left out.
    """
    names = [v.name for v in (*model.free_RVs, *model.deterministics)]
    helpers = ("z_", "mean_z_", "grand_mean", "b_qr", "eta")
    return [n for n in names if not n.startswith(helpers)]


def _observed_data(data: Design) -> xr.Dataset:
    import xarray as xr

    return xr.Dataset({"y": (("obs", "outcome"), data.y)}, coords={"outcome": list(data.outcomes)})


def _constant_data(data: Design) -> xr.Dataset:
    """Covariates and group indices travel with the trace, never in side dictionaries."""
    import xarray as xr

    variables: dict[str, tuple[tuple[str, ...], NDArray[Any]]] = {"x": (("obs", "term"), data.x)}
    variables.update({f"{e}_index": (("obs",), data.groups[e]) for e in RANDOM_EFFECTS})
    return xr.Dataset(variables, coords={"term": list(data.terms)})
