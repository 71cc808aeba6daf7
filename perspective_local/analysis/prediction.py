"""Held-out choice prediction with preference profiles: splits, predictors, metrics, curve.

The protocol (see docs/analysis.md):

* ``holdout_split`` sets aside whole users (cold start) and, for every other user with at
  least two conversations, their last conversation(s) by end time (warm start);
* a profile model is fitted on what is left, and each held-out conversation's chosen
  response is predicted by ``predict``: ``population`` (the population weights, averaged
  over a new user's possible deviations), ``user`` (the user's own posterior weights),
  ``covariates`` (population + covariate shift, averaged over the remaining deviations);
  fitted with covariates, ``user`` is per-user weights shrunk toward the covariate
  prediction;
* ``score_predictions`` gives accuracy, log-loss and Brier score with bootstrap intervals
  that resample users (a user's conversations are not independent);
* ``learning_curve`` re-derives each user's weights from only their first n conversations
  (0, 1, 2, 4, all), holding the population posterior fixed, by importance sampling from the
  population distribution; ``oracle_predict`` does the same from known (planted)
  hyper-parameters, which is the gain that a data set's heterogeneity makes available.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

from perspective_local.analysis.profiles import ChoiceSets, ProfileFit, choice_log_probabilities

if TYPE_CHECKING:
    import pandas as pd

FloatArray = NDArray[np.float64]
Method = Literal["population", "user", "covariates"]
METHODS: tuple[Method, ...] = ("population", "user", "covariates")
#: Posterior draws used for predictions (thinned evenly); more changes the third decimal.
PREDICTION_DRAWS = 400
#: Prior samples per posterior draw in the importance-sampling update of a user's weights.
UPDATE_SAMPLES = 64
CURVE_LEVELS: tuple[int | None, ...] = (0, 1, 2, 4, None)  # None: all but the held-out
BOOTSTRAP_RESAMPLES = 1000
CI_LEVEL = 0.95


@dataclass(frozen=True)
class Split:
    """Training conversations, warm-start test (users seen in training) and cold-start test."""

    train: ChoiceSets
    warm: ChoiceSets
    cold: ChoiceSets | None


def holdout_split(
    sets: ChoiceSets, *, last: int = 1, cold_share: float = 0.2, seed: int = 0
) -> Split:
    """Hold out ``cold_share`` of users entirely and the ``last`` conversations of the rest
    (users with more than ``last`` conversations; the others stay whole in training)."""
    if last < 1:
        raise ValueError(f"last must be at least 1, got {last}")
    if not 0 <= cold_share < 1:
        raise ValueError(f"cold_share must be in [0, 1), got {cold_share}")
    rng = np.random.default_rng(seed)
    n_users = len(sets.users)
    cold_users = rng.permutation(n_users)[: round(cold_share * n_users)]
    is_cold = np.isin(sets.user, cold_users)
    counts = sets.conversations_per_user()[sets.user]
    is_warm_test = ~is_cold & (counts > last) & (sets.position >= counts - last)
    if not is_warm_test.any():
        raise ValueError(f"no user has more than {last} conversations to hold out")
    train = sets.subset(~is_cold & ~is_warm_test)
    return Split(train, sets.subset(is_warm_test), sets.subset(is_cold) if is_cold.any() else None)


def _thin(n_draws: int, keep: int) -> NDArray[np.int64]:
    return np.unique(np.linspace(0, n_draws - 1, min(keep, n_draws)).round().astype(np.int64))


def _llm_effects(effects: FloatArray, fitted: tuple[str, ...], target: ChoiceSets) -> FloatArray:
    """(draw, conversation, option) LLM effects from (draw, llm) ``effects`` over the
    ``fitted`` LLM names; an LLM the fit never saw gets 0 (the mean of the zero-sum
    effects)."""
    index = {name: i for i, name in enumerate(fitted)}
    mapped = np.array([index.get(name, -1) for name in target.llms], dtype=np.int64)
    padded = np.concatenate([effects, np.zeros((effects.shape[0], 1))], axis=1)
    return np.asarray(padded[:, mapped[target.llm]])


def _user_index(fit: ProfileFit, target: ChoiceSets) -> NDArray[np.int64]:
    index = {name: i for i, name in enumerate(fit.sets.users)}
    names = np.asarray(target.users)[target.user]
    unknown = sorted({str(n) for n in names if n not in index})
    if unknown:
        raise ValueError(
            f"{len(unknown)} users have no fitted profile (e.g. {unknown[:3]}); predict them "
            "with the population or covariates method"
        )
    return np.array([index[n] for n in names], dtype=np.int64)


def _population_weights(
    fit: ProfileFit, target: ChoiceSets, draws: NDArray[np.int64], covariates: bool
) -> FloatArray:
    """(draw, conversation, attribute): population (+ covariate) weights + a fresh deviation."""
    rng = np.random.default_rng(0)
    weight = fit.draws("weight")[draws][:, None, :]
    if covariates:
        gamma = fit.draws("covariate_weight")[draws]
        weight = weight + np.einsum("cm,sma->sca", target.covariates[target.user], gamma)
    covariance = fit.covariance_draws()[draws]
    deviation = np.stack(
        [rng.multivariate_normal(np.zeros(len(c)), c, target.n, method="cholesky")
         for c in covariance]
    ) if fit.slopes else 0.0  # fmt: skip
    return np.asarray(weight + deviation)


def predict(fit: ProfileFit, target: ChoiceSets, method: Method) -> FloatArray:
    """P(option chosen) per (conversation, option) of ``target``, averaged over the posterior."""
    if method == "covariates" and not fit.covariates:
        raise ValueError("the covariates method needs a profile fitted with covariates")
    if method == "user" and not (fit.slopes or fit.covariates):
        raise ValueError("the user method needs a profile fitted with random slopes")
    draws = _thin(fit.draws("weight").shape[0], PREDICTION_DRAWS)
    if method == "user":
        weights = fit.user_weight_draws()[draws][:, _user_index(fit, target)]
    else:
        weights = _population_weights(fit, target, draws, covariates=method == "covariates")
    log_p = choice_log_probabilities(
        target.x,
        target.available,
        _llm_effects(fit.draws("llm_effect")[draws], fit.sets.llms, target),
        weights,
    )
    return np.asarray(np.exp(log_p).mean(axis=0))


# ---- the importance-sampling update (learning curve, oracle) -----------------------------


@dataclass(frozen=True)
class Hyper:
    """Population parameters per draw: weights, deviation covariance, LLM effects by name."""

    weight: FloatArray  # (draw, attribute)
    covariance: FloatArray  # (draw, attribute, attribute)
    llm: FloatArray  # (draw, llm)
    llms: tuple[str, ...]
    covariate_weight: FloatArray | None = None  # (draw, covariate, attribute)

    @classmethod
    def from_fit(cls, fit: ProfileFit, keep: int = PREDICTION_DRAWS // 4) -> Hyper:
        draws = _thin(fit.draws("weight").shape[0], keep)
        return cls(
            fit.draws("weight")[draws], fit.covariance_draws()[draws],
            fit.draws("llm_effect")[draws], fit.sets.llms,
            fit.draws("covariate_weight")[draws] if fit.covariates else None,
        )  # fmt: skip

    def llm_effects(self, target: ChoiceSets) -> FloatArray:
        return _llm_effects(self.llm, self.llms, target)


def updated_predict(
    hyper: Hyper,
    observed: ChoiceSets,
    target: ChoiceSets,
    *,
    samples: int = UPDATE_SAMPLES,
    seed: int = 0,
) -> FloatArray:
    """P(option chosen) for ``target`` after updating each user's weights on their
    conversations in ``observed`` (none: the population prediction).

    For each population draw, ``samples`` deviations are drawn from the population
    distribution and weighted by the likelihood of the user's observed choices (importance
    sampling with the prior as proposal, normalised within each draw, so the population
    posterior is held fixed); the prediction averages the weighted choice probabilities.
    """
    rng = np.random.default_rng(seed)
    n_draws, n_attr = hyper.weight.shape
    target_names = np.asarray(target.users)[target.user]
    observed_names = np.asarray(observed.users)[observed.user]
    llm_target = hyper.llm_effects(target)
    llm_observed = hyper.llm_effects(observed)
    out = np.zeros(target.available.shape)
    chol = np.linalg.cholesky(hyper.covariance + 1e-12 * np.eye(n_attr))
    for name in np.unique(target_names):
        rows_t = np.flatnonzero(target_names == name)
        rows_o = np.flatnonzero(observed_names == name)
        z = rng.standard_normal((n_draws, samples, n_attr))
        weights = hyper.weight[:, None, :] + np.einsum("sab,smb->sma", chol, z)
        if hyper.covariate_weight is not None:
            covariates = target.covariates[target.user[rows_t[0]]]
            weights = (
                weights + np.einsum("m,sma->sa", covariates, hyper.covariate_weight)[:, None, :]
            )
        flat = weights.reshape(n_draws * samples, n_attr)
        log_w = np.zeros(n_draws * samples)
        if len(rows_o):
            log_p = choice_log_probabilities(
                observed.x[rows_o], observed.available[rows_o],
                np.repeat(llm_observed[:, rows_o], samples, axis=0),
                np.repeat(flat[:, None, :], len(rows_o), axis=1),
            )  # fmt: skip
            chosen = observed.chosen[rows_o]
            log_w = log_p[:, np.arange(len(rows_o)), chosen].sum(axis=1)
        log_w = log_w.reshape(n_draws, samples)
        importance = np.exp(log_w - log_w.max(axis=1, keepdims=True))
        importance /= importance.sum(axis=1, keepdims=True) * n_draws
        log_p = choice_log_probabilities(
            target.x[rows_t], target.available[rows_t],
            np.repeat(llm_target[:, rows_t], samples, axis=0),
            np.repeat(flat[:, None, :], len(rows_t), axis=1),
        )  # fmt: skip
        out[rows_t] = np.einsum("d,dck->ck", importance.ravel(), np.exp(log_p))
    return out


def oracle_hyper(truth: Mapping[str, object], sets: ChoiceSets) -> Hyper:
    """A one-draw :class:`Hyper` from ``truth.json``'s planted profiles: the planted
    population weights, deviation covariance, covariate weights and LLM effects."""
    from perspective_local.analysis.terms import PREDICTORS

    profiles = truth["profiles"]
    assert isinstance(profiles, dict)
    weight = np.array([profiles["population"][a] for a in PREDICTORS])
    sd = np.array([profiles["sd"][a] for a in PREDICTORS])
    covariance = np.array(profiles["correlation"]) * np.outer(sd, sd)
    gamma = np.array([[profiles["covariates"][m][a] for a in PREDICTORS]
                      for m in sets.covariate_names])  # fmt: skip
    llms = tuple(profiles["llm"])
    return Hyper(
        weight[None], covariance[None], np.array([[profiles["llm"][n] for n in llms]]), llms,
        gamma[None],
    )  # fmt: skip


# ---- metrics -----------------------------------------------------------------------------


def _per_conversation(probabilities: FloatArray, target: ChoiceSets) -> dict[str, FloatArray]:
    p = np.where(target.available, probabilities, 0.0)
    p = p / p.sum(axis=1, keepdims=True)
    chosen = target.chosen
    p_chosen = p[np.arange(target.n), chosen]
    # Ties (equal probabilities) count as the share of the tie that is right.
    top = np.isclose(p, p.max(axis=1, keepdims=True)) & target.available
    correct = top[np.arange(target.n), chosen] / top.sum(axis=1)
    truth = np.zeros_like(p)
    truth[np.arange(target.n), chosen] = 1.0
    return {
        "accuracy": np.asarray(correct, dtype=np.float64),
        "log_loss": -np.log(np.maximum(p_chosen, 1e-300)),
        "brier": ((p - truth) ** 2 * target.available).sum(axis=1),
    }


def _bootstrap(
    values: FloatArray, groups: NDArray[np.int64], resamples: int, seed: int
) -> tuple[float, float]:
    """Percentile interval of the mean, resampling whole groups (users)."""
    rng = np.random.default_rng(seed)
    _, codes = np.unique(groups, return_inverse=True)
    n_groups = codes.max() + 1
    sums = np.bincount(codes, weights=values, minlength=n_groups)
    counts = np.bincount(codes, minlength=n_groups).astype(float)
    picks = rng.integers(0, n_groups, (resamples, n_groups))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    tail = (1 - CI_LEVEL) / 2
    lower, upper = np.quantile(means, [tail, 1 - tail])
    return float(lower), float(upper)


def score_predictions(
    predictions: Mapping[str, FloatArray],
    target: ChoiceSets,
    *,
    baseline: str | None = "population",
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> pd.DataFrame:
    """Accuracy, log-loss and Brier score per predictor, with user-bootstrap intervals, and
    each predictor's paired difference from ``baseline`` (negative log-loss difference and
    Brier difference mean better; positive accuracy difference means better)."""
    import pandas as pd

    per = {name: _per_conversation(p, target) for name, p in predictions.items()}
    chance = float((1 / target.available.sum(axis=1)).mean())
    rows = []
    for name, metrics in per.items():
        for metric, values in metrics.items():
            lower, upper = _bootstrap(values, target.user, resamples, seed)
            row = {"predictor": name, "metric": metric, "value": float(values.mean()),
                   "ci_lower": lower, "ci_upper": upper, "conversations": target.n,
                   "users": len(np.unique(target.user)), "chance_accuracy": chance}  # fmt: skip
            if baseline is not None and baseline in per and name != baseline:
                difference = values - per[baseline][metric]
                d_lower, d_upper = _bootstrap(difference, target.user, resamples, seed)
                row.update(difference=float(difference.mean()), difference_lower=d_lower,
                           difference_upper=d_upper)  # fmt: skip
            rows.append(row)
    return pd.DataFrame(rows)


def learning_curve(
    hyper: Hyper,
    train: ChoiceSets,
    warm: ChoiceSets,
    *,
    levels: Sequence[int | None] = CURVE_LEVELS,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> pd.DataFrame:
    """Held-out accuracy and log-loss when only each user's first n training conversations
    are observed, on the users who have at least the largest finite n (same users at every
    level, so the curve compares like with like)."""
    import pandas as pd

    finite = [n for n in levels if n is not None]
    needed = max(finite, default=0)
    counts = dict(zip(train.users, train.conversations_per_user(), strict=True))
    target_names = np.asarray(warm.users)[warm.user]
    eligible = np.array([counts.get(str(n), 0) >= needed for n in target_names])
    if not eligible.any():
        raise ValueError(f"no held-out user has {needed} training conversations")
    target = warm.subset(eligible)
    rows = []
    for n in levels:
        if n is None:
            observed = train
        elif n == 0:
            observed = _empty_like(train)
        else:
            observed = train.subset(train.position < n)
        probabilities = updated_predict(hyper, observed, target, seed=seed)
        metrics = _per_conversation(probabilities, target)
        for metric in ("accuracy", "log_loss"):
            lower, upper = _bootstrap(metrics[metric], target.user, resamples, seed)
            rows.append({"observed": "all" if n is None else n, "metric": metric,
                         "value": float(metrics[metric].mean()), "ci_lower": lower,
                         "ci_upper": upper, "users": len(target.users),
                         "conversations": target.n})  # fmt: skip
    return pd.DataFrame(rows)


def _empty_like(sets: ChoiceSets) -> ChoiceSets:
    """A ChoiceSets with no conversations (the population prediction's 'observed')."""
    from dataclasses import replace

    none = np.zeros(sets.n, dtype=bool)
    return replace(
        sets, x=sets.x[none], available=sets.available[none], llm=sets.llm[none],
        chosen=sets.chosen[none], user=sets.user[none], position=sets.position[none],
        conversations=(),
    )  # fmt: skip
