"""Per-user preference profiles: how much each participant's choices weigh each attribute.

The model is analysis 1a's Bernoulli-logit on "chosen" with user-level random slopes for
the seven attributes, read the way PRISM's data are shaped: every opening turn has exactly
one chosen response, and independent Bernoulli-logit outcomes conditioned on exactly one
success in a conversation are the conditional (multinomial) logit,

    P(response i chosen | conversation c) = softmax_i(x_ci @ w_user + a_llm(i)),

in which the intercept and the user and conversation random intercepts of 1a cancel
exactly. Fitting the unconditional Bernoulli model to one-choice-per-set data instead
inflates slopes (the incidental-parameter bias of logit models with per-set intercepts,
Andersen 1970: twofold for pairs), so per-user weights would not be comparable with the
planted ones. What remains of 1a's random intercepts is the LLM's.

User weights are ``w_user = w + G @ covariates_user + L z_user`` (non-centred; ``L`` the
Cholesky factor of the weights' covariance, an LKJ(2) prior on their correlation and
half-Student-t priors on their SDs). Covariates (optional) are the survey's moderators
(younger, male, white, values-minded), centred at their sample share, missing answers at 0.
Priors are autoscaled by the within-conversation SD of each attribute, the variation that
identifies a conditional-logit weight: ``w ~ Normal(0, 2.5 / sd)``, the random-slope SDs
``half-t(3, 0, 2.5 / sd)``.

``ChoiceSets.from_table`` builds the arrays; ``fit_profiles`` samples (nutpie when
installed); ``user_profiles`` and ``population_summary`` read the posterior;
:mod:`perspective_local.analysis.prediction` scores held-out choices with it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from perspective_local.analysis.specs import SamplerOptions
from perspective_local.analysis.terms import MODERATORS, PREDICTORS

if TYPE_CHECKING:
    import arviz as az
    import pandas as pd
    import pymc as pm

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Interval reported for each user's weights.
PROFILE_CI_PROB = 0.90
#: The logit given to an option a conversation does not have (exp() of it is exactly 0).
ABSENT_LOGIT = -1e4
#: Sampler settings when none are given: enough for stable intervals at PRISM's size.
DEFAULT_DRAWS, DEFAULT_TUNE, DEFAULT_CHAINS = 1000, 1000, 4


@dataclass(frozen=True)
class ChoiceSets:
    """Opening turns as choice sets, padded to the largest set (``available`` marks options).

    ``position`` is a conversation's place among its user's, in the order they ended
    (0 = first); it is what held-out splits and the learning curve use.
    """

    x: FloatArray  # (conversation, option, attribute)
    available: NDArray[np.bool_]  # (conversation, option)
    llm: IntArray  # (conversation, option)
    chosen: IntArray  # (conversation,)
    user: IntArray  # (conversation,)
    position: IntArray  # (conversation,)
    conversations: tuple[str, ...]
    users: tuple[str, ...]
    llms: tuple[str, ...]
    covariates: FloatArray  # (user, covariate), centred; missing answers are 0
    covariate_names: tuple[str, ...] = MODERATORS
    dropped: Mapping[str, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    @classmethod
    def from_table(cls, table: pd.DataFrame, users: pd.DataFrame) -> ChoiceSets:
        """Choice sets from the scored responses table and the users table of ``load_prism``.

        Conversations whose opening turn lost its chosen response (an EMPTY STRING reply
        has no scores) or kept fewer than two options say nothing about a choice; they are
        dropped and counted in ``dropped``.
        """
        import pandas as pd

        missing = [c for c in (*PREDICTORS, "highest", "conversation_id", "user_id",
                               "model_name") if c not in table.columns]  # fmt: skip
        if missing:
            raise ValueError(f"the responses table lacks columns {missing}")
        table = table.dropna(subset=list(PREDICTORS))
        per_conversation = table.groupby("conversation_id", sort=False)
        n_chosen = per_conversation["highest"].transform("sum")
        n_options = per_conversation["highest"].transform("size")
        keep = (n_chosen == 1) & (n_options >= 2)
        dropped = {
            "conversations without exactly one scored chosen response, or with one option": int(
                table.loc[~keep, "conversation_id"].nunique()
            )
        }
        table = table[keep]
        if table.empty:
            raise ValueError("no conversations with a chosen response among two or more options")
        order = _conversation_order(table)
        table = table.assign(_order=table["conversation_id"].map(order)).sort_values(
            "_order", kind="stable"
        )
        conversations = tuple(pd.unique(table["conversation_id"]))
        conv_index = pd.Index(conversations)
        user_levels = tuple(sorted(pd.unique(table["user_id"])))
        llm_levels = tuple(sorted(pd.unique(table["model_name"])))
        rows_conv = conv_index.get_indexer(table["conversation_id"])
        slot = table.groupby("conversation_id", sort=False).cumcount().to_numpy()
        n_conv, width = len(conversations), int(slot.max()) + 1
        x = np.zeros((n_conv, width, len(PREDICTORS)))
        x[rows_conv, slot] = table[list(PREDICTORS)].to_numpy(dtype=float)
        available = np.zeros((n_conv, width), dtype=bool)
        available[rows_conv, slot] = True
        llm = np.zeros((n_conv, width), dtype=np.int64)
        llm[rows_conv, slot] = pd.Index(llm_levels).get_indexer(table["model_name"])
        chosen = np.zeros(n_conv, dtype=np.int64)
        picked = table["highest"].to_numpy(dtype=bool)
        chosen[rows_conv[picked]] = slot[picked]
        first = table.drop_duplicates("conversation_id")
        user = pd.Index(user_levels).get_indexer(first["user_id"]).astype(np.int64)
        position = first.groupby("user_id", sort=False).cumcount().to_numpy(dtype=np.int64)
        return cls(
            x, available, llm, chosen, user, position, conversations, user_levels, llm_levels,
            _covariates(users, user_levels), MODERATORS, dropped,
        )  # fmt: skip

    def subset(self, keep: NDArray[np.bool_]) -> ChoiceSets:
        """The conversations where ``keep`` is true; users left without any are dropped."""
        if not keep.any():
            raise ValueError("the subset has no conversations")
        present = np.unique(self.user[keep])
        remap = np.full(len(self.users), -1, dtype=np.int64)
        remap[present] = np.arange(len(present))
        return replace(
            self,
            x=self.x[keep], available=self.available[keep], llm=self.llm[keep],
            chosen=self.chosen[keep], user=remap[self.user[keep]], position=self.position[keep],
            conversations=tuple(np.asarray(self.conversations)[keep]),
            users=tuple(np.asarray(self.users)[present]),
            covariates=self.covariates[present],
        )  # fmt: skip

    def conversations_per_user(self) -> IntArray:
        return np.bincount(self.user, minlength=len(self.users)).astype(np.int64)

    def within_sd(self) -> FloatArray:
        """Each attribute's SD around its conversation's mean: what identifies a weight."""
        counts = self.available.sum(axis=1, keepdims=True)
        mean = (self.x * self.available[..., None]).sum(axis=1, keepdims=True) / counts[..., None]
        deviation = (self.x - mean)[self.available]
        return np.asarray(np.maximum(np.sqrt((deviation**2).mean(axis=0)), 1e-3))


def _conversation_order(table: pd.DataFrame) -> dict[str, int]:
    """Conversations by when they ended, then by PRISM's id number (``c<i>``, file order)."""
    import pandas as pd

    first = table.drop_duplicates("conversation_id")
    number = pd.to_numeric(
        first["conversation_id"].astype(str).str.extract(r"(\d+)$")[0], errors="coerce"
    )
    finished = (
        pd.to_datetime(first["finished_at"], errors="coerce")
        if "finished_at" in first.columns
        else pd.Series(pd.NaT, index=first.index)
    )
    frame = pd.DataFrame(
        {"id": first["conversation_id"], "finished": finished, "number": number}
    ).sort_values(["finished", "number", "id"], kind="stable", na_position="last")
    return {c: i for i, c in enumerate(frame["id"])}


def _covariates(users: pd.DataFrame, levels: tuple[str, ...]) -> FloatArray:
    """Moderators as 0/1 centred at their share among these users; unanswered -> 0."""
    table = users.set_index("user_id").reindex(list(levels))
    values = np.column_stack(
        [table[m].astype("Float64").to_numpy(dtype=float, na_value=np.nan) for m in MODERATORS]
    )
    centred = values - np.nanmean(values, axis=0)
    return np.asarray(np.nan_to_num(centred, nan=0.0))


# ---- the model ---------------------------------------------------------------------------


def build_model(sets: ChoiceSets, *, slopes: bool = True, covariates: bool = False) -> pm.Model:
    """The conditional-logit choice model; ``slopes=False`` is the population-only model."""
    import pymc as pm
    import pytensor.tensor as pt

    scale = 2.5 / sets.within_sd()
    coords = {
        "attribute": list(PREDICTORS),
        "attribute_bis": list(PREDICTORS),
        "user": list(sets.users),
        "llm": list(sets.llms),
        "covariate": list(sets.covariate_names),
    }
    with pm.Model(coords=coords) as model:
        weight = pm.Normal("weight", 0.0, scale, dims="attribute")
        sd_llm = pm.HalfStudentT("sd_llm", nu=3, sigma=2.5)
        llm = pm.ZeroSumNormal("llm_effect", sigma=sd_llm, dims="llm")
        user_weight: Any = pt.broadcast_to(weight, (len(sets.users), len(PREDICTORS)))
        if covariates:
            gamma = pm.Normal(
                "covariate_weight", 0.0, scale[None, :], dims=("covariate", "attribute")
            )
            user_weight = user_weight + pm.math.dot(sets.covariates, gamma)
        if slopes:
            chol, correlation, sd = pm.LKJCholeskyCov(
                "chol", n=len(PREDICTORS), eta=2.0, compute_corr=True,
                sd_dist=pm.HalfStudentT.dist(nu=3, sigma=scale, shape=len(PREDICTORS)),
            )  # fmt: skip
            pm.Deterministic("sd", sd, dims="attribute")
            pm.Deterministic("correlation", correlation, dims=("attribute", "attribute_bis"))
            z = pm.Normal("z", 0.0, 1.0, dims=("user", "attribute"))
            user_weight = user_weight + pm.math.dot(z, chol.T)
        if slopes or covariates:
            user_weight = pm.Deterministic("user_weight", user_weight, dims=("user", "attribute"))
        utility = (sets.x * user_weight[sets.user][:, None, :]).sum(axis=-1) + llm[sets.llm]
        logits = pm.math.where(sets.available, utility, ABSENT_LOGIT)
        pm.Categorical("chosen", logit_p=logits, observed=sets.chosen)
    return model


@dataclass(frozen=True)
class ProfileFit:
    """A fitted choice model: its posterior (summary variables only) and the data it saw."""

    idata: az.InferenceData
    sets: ChoiceSets
    slopes: bool
    covariates: bool

    def draws(self, name: str) -> FloatArray:
        """``name``'s draws with chains and draws flattened into one leading axis."""
        values = self.idata["posterior"][name].to_numpy()
        return np.asarray(values.reshape(-1, *values.shape[2:]), dtype=np.float64)

    def user_weight_draws(self) -> FloatArray:
        """(draw, user, attribute) weights; the population weights for every user if the
        model has neither slopes nor covariates."""
        if "user_weight" in self.idata["posterior"]:
            return self.draws("user_weight")
        weight = self.draws("weight")
        return np.repeat(weight[:, None, :], len(self.sets.users), axis=1)

    def covariance_draws(self) -> FloatArray:
        """(draw, attribute, attribute) covariance of the per-user deviations (0 without)."""
        if not self.slopes:
            return np.zeros((self.draws("weight").shape[0], len(PREDICTORS), len(PREDICTORS)))
        sd = self.draws("sd")
        return np.asarray(self.draws("correlation") * sd[:, :, None] * sd[:, None, :])


def fit_profiles(
    sets: ChoiceSets,
    options: SamplerOptions | None = None,
    *,
    slopes: bool = True,
    covariates: bool = False,
) -> ProfileFit:
    """Sample the choice model; ``options`` as for the paper's analyses (draws, chains...)."""
    import pymc as pm

    options = options or SamplerOptions()
    draws = options.draws or DEFAULT_DRAWS
    tune = options.tune if options.tune is not None else DEFAULT_TUNE
    chains = options.chains or DEFAULT_CHAINS
    cores = options.cores or min(chains, os.cpu_count() or 1)
    model = build_model(sets, slopes=slopes, covariates=covariates)
    keep = [
        name
        for name in (
            "weight",
            "sd_llm",
            "llm_effect",
            "covariate_weight",
            "sd",
            "correlation",
            "user_weight",
        )
        if name in model.named_vars
    ]
    if _use_nutpie(options):
        import nutpie

        compiled = nutpie.compile_pymc_model(model, var_names=keep)
        idata = nutpie.sample(
            compiled, draws=draws, tune=tune, chains=chains, cores=cores, seed=options.seed,
            save_warmup=False, progress_bar=options.progress,
        )  # fmt: skip
        sampler = "nutpie"
    else:
        idata = pm.sample(
            model=model, var_names=keep, draws=draws, tune=tune, chains=chains, cores=cores,
            random_seed=options.seed, progressbar=options.progress,
            compute_convergence_checks=False,
        )  # fmt: skip
        sampler = "pymc"
    idata.posterior = idata.posterior[keep]
    fit = ProfileFit(idata, sets, slopes, covariates)
    idata.add_groups({"log_likelihood": _log_likelihood(fit)})
    for group in idata.groups():
        idata[group].attrs.update(
            sampler=sampler, slopes=str(slopes), covariates=str(covariates), seed=options.seed
        )
    return fit


def _use_nutpie(options: SamplerOptions) -> bool:
    from perspective_local.analysis import sampling

    return sampling._use_nutpie(options)


def choice_log_probabilities(
    x: FloatArray,
    available: NDArray[np.bool_],
    llm_effect: FloatArray,
    weights: FloatArray,
) -> FloatArray:
    """log P(option) per (draw, conversation, option) for per-draw, per-conversation weights.

    ``x`` (conversation, option, attribute); ``llm_effect`` (draw, conversation, option);
    ``weights`` (draw, conversation, attribute).
    """
    utility = np.einsum("cka,sca->sck", x, weights) + llm_effect
    utility = np.where(available[None], utility, -np.inf)
    top = utility.max(axis=-1, keepdims=True)
    log_total = top + np.log(np.exp(utility - top).sum(axis=-1, keepdims=True))
    return np.asarray(utility - log_total)


def _log_likelihood(fit: ProfileFit, chunk: int = 256) -> Any:
    """Per-conversation log-likelihood draws (for ELPD-LOO), computed from the stored draws
    so the trace need not keep the 7 x users standard-normal deviations."""
    import xarray as xr

    sets = fit.sets
    weights = fit.user_weight_draws()
    llm = fit.draws("llm_effect")
    chains, draws = fit.idata["posterior"].sizes["chain"], fit.idata["posterior"].sizes["draw"]
    out = np.empty((weights.shape[0], sets.n))
    for start in range(0, sets.n, chunk):
        c = slice(start, start + chunk)
        log_p = choice_log_probabilities(
            sets.x[c], sets.available[c], llm[:, sets.llm[c]], weights[:, sets.user[c]]
        )
        out[:, c] = np.take_along_axis(log_p, sets.chosen[c][None, :, None], axis=-1)[..., 0]
    return xr.Dataset(
        {"chosen": (("chain", "draw", "conversation"), out.reshape(chains, draws, sets.n))},
        coords={"conversation": list(sets.conversations)},
    )


# ---- reading the posterior ---------------------------------------------------------------


def user_profiles(fit: ProfileFit, prob: float = PROFILE_CI_PROB) -> pd.DataFrame:
    """One row per (user, attribute): posterior mean, SD and equal-tailed interval, and how
    many conversations informed it."""
    import pandas as pd

    draws = fit.user_weight_draws()
    tail = (1 - prob) / 2
    lower, upper = np.quantile(draws, [tail, 1 - tail], axis=0)
    counts = fit.sets.conversations_per_user()
    n_users, n_attributes = draws.shape[1:]
    return pd.DataFrame(
        {
            "user_id": np.repeat(np.asarray(fit.sets.users), n_attributes),
            "attribute": np.tile(np.asarray(PREDICTORS), n_users),
            "mean": draws.mean(axis=0).ravel(),
            "sd": draws.std(axis=0).ravel(),
            "lower": lower.ravel(),
            "upper": upper.ravel(),
            "conversations": np.repeat(counts, n_attributes),
        }
    )


def population_summary(fit: ProfileFit, prob: float = PROFILE_CI_PROB) -> dict[str, Any]:
    """Population weights, random-slope SDs and correlations (mean and interval), JSON-ready."""
    tail = (1 - prob) / 2

    def summary(values: FloatArray) -> dict[str, Any]:
        lower, upper = np.quantile(values, [tail, 1 - tail], axis=0)
        return {"mean": values.mean(axis=0).tolist(), "lower": lower.tolist(),
                "upper": upper.tolist()}  # fmt: skip

    result: dict[str, Any] = {
        "attributes": list(PREDICTORS),
        "interval": prob,
        "weight": summary(fit.draws("weight")),
        "sd_llm": summary(fit.draws("sd_llm")),
        "llm": dict(zip(fit.sets.llms, fit.draws("llm_effect").mean(axis=0).tolist(), strict=True)),
        "users": len(fit.sets.users),
        "conversations": fit.sets.n,
    }
    if fit.slopes:
        result["sd"] = summary(fit.draws("sd"))
        result["correlation"] = summary(fit.draws("correlation"))
    if fit.covariates:
        result["covariates"] = list(fit.sets.covariate_names)
        result["covariate_weight"] = summary(fit.draws("covariate_weight"))
    return result


def compare_loo(fits: Mapping[str, ProfileFit]) -> pd.DataFrame:
    """ELPD-LOO of several fits on the same conversations (``arviz.compare``)."""
    import arviz as az

    return az.compare({name: fit.idata for name, fit in fits.items()}, ic="loo")
