"""Write a synthetic PRISM release with planted effects, a matching scores file and the truth.

``synthesize(out, users=N, seed=S)`` writes ``survey.jsonl``, ``conversations.jsonl``,
``utterances.jsonl`` and ``metadata.jsonl`` in the released schema (documented quirks
included: ``EMPTY STRING`` responses, later turns with two chosen rows, score ties, bare
``NaN`` in metadata, "Prefer not to say" answers), ``scores.jsonl`` shaped like the output of
``perspective-local score``, and ``truth.json``.

The data-generating process, in the study's own terms:

* prompt attributes are drawn per conversation; response attributes follow the mirroring
  model (analysis 3): ``DV = a + B @ prompt + user + conversation + LLM + noise``;
* ``log(score)`` follows ``a + b @ response + TOXICITY x TOXICITY_human + moderator terms
  + user + conversation + LLM + noise``; scores are rounded and kept in 1-100; each
  group's score effects are drawn orthogonal to its attribute effects (see ``_orthogonal``);
* the chosen opening response is the highest-scored one, ties broken at random (as PRISM).

With ``profiles=True`` each participant instead chooses by their own attribute weights
(planted per-user slopes, for the preference-profile model): the chosen opening response is
drawn from the conditional logit ``softmax(x @ (w + G @ covariates + u_user) + LLM)``, with
``u_user ~ Normal(0, diag(sd) R diag(sd))``, and the drawn scores are reordered within each
conversation so that the chosen response has the top score (PRISM's rule still holds).
Responses then differ more within a conversation (``PROFILE_SPREAD``), as real LLMs' replies
do. ``truth.json`` gains ``profiles``: every planted weight, SD and correlation. The
score-based analyses' ``expected`` values are left out in this mode, since the reordering
changes what they estimate; mirroring's are kept.

``truth.json`` holds the planted parameters and, per analysis, the ``expected`` coefficient
each analysis should recover. Where an analysis is the generating model (mirroring,
moderation, interaction) that is the planted value; where it leaves a generating term out
(score leaves out the interaction and moderators) it is the best linear approximation of the
generating mean on that analysis's design; for the Bernoulli choice model, whose outcome is
an argmax rather than a Bernoulli draw, it is the logistic fit to many replicate outcomes on
the same design (a Monte-Carlo pseudo-true value).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from perspective_local.analysis.terms import MODERATORS, PREDICTORS, human, mirrored, moderated

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: The 21 PRISM backend LLMs (name, provider), as in the release.
LLMS: tuple[tuple[str, str], ...] = (
    ("command", "cohere"),
    ("command-light", "cohere"),
    ("command-nightly", "cohere"),
    ("claude-instant-1", "anthropic"),
    ("claude-2", "anthropic"),
    ("claude-2.1", "anthropic"),
    ("gpt-3.5-turbo", "openai"),
    ("gpt-4", "openai"),
    ("gpt-4-1106-preview", "openai"),
    ("models/chat-bison-001", "google"),
    ("luminous-extended-control", "aleph"),
    ("luminous-supreme-control", "aleph"),
    ("HuggingFaceH4/zephyr-7b-beta", "huggingface_api"),
    ("meta-llama/Llama-2-7b-chat-hf", "huggingface_api"),
    ("meta-llama/Llama-2-13b-chat-hf", "huggingface_api"),
    ("meta-llama/Llama-2-70b-chat-hf", "huggingface_api"),
    ("mistralai/Mistral-7B-Instruct-v0.1", "huggingface_api"),
    ("google/flan-t5-xxl", "huggingface_api"),
    ("tiiuae/falcon-7b-instruct", "huggingface_api"),
    ("OpenAssistant/oasst-sft-4-pythia-12b-epoch-3.5", "huggingface_api"),
    ("timdettmers/guanaco-33b-merged", "huggingface_api"),
)
TYPES = ("unguided", "values guided", "controversy guided")
#: P(1..7 conversations) per participant: PRISM's range 1-7 and mean of about 5.7.
CONVERSATIONS_PER_USER = (0.03, 0.03, 0.04, 0.05, 0.10, 0.45, 0.30)
TYPE_WEIGHTS = (0.39, 0.305, 0.305)
AGES = (
    "18-24 years old",
    "25-34 years old",
    "35-44 years old",
    "45-54 years old",
    "55-64 years old",
    "65+ years old",
)
ETHNICITIES = ("White", "Black", "Hispanic", "Asian", "Mixed", "Other")
ETHNICITY_WEIGHTS = (0.55, 0.12, 0.1, 0.12, 0.06, 0.05)
#: Share of answers replaced by "Prefer not to say" (at random, so dropping them is harmless).
PREFER_NOT_RATE = 0.03
#: Share of opening responses whose text is PRISM's EMPTY STRING (chosen at random).
EMPTY_RATE = 0.005
#: Share of survey participants who never reached the conversations (PRISM: 104 of 1,500).
SURVEY_ONLY_RATE = 0.07
MODEL_VERSION = "synthetic-prism-v1"
WORDS = (
    "why how should could people family work money health climate history faith music food "
    "travel friends school city law vote science art sport love time future war peace"
).split()

# ---- planted parameters -------------------------------------------------------------------

#: Prompt attribute distributions (Beta a, b); REASONING and NUANCE are correlated, as in the
#: paper (r about 0.9), and enter the models only through their product.
PROMPT_BETA = {
    "TOXICITY": (1.2, 3.0),
    "AFFINITY": (2.0, 5.0),
    "COMPASSION": (2.0, 5.0),
    "CURIOSITY": (2.0, 3.0),
    "REASONING": (2.0, 3.0),
    "PERSONAL_STORY": (1.5, 5.0),
    "RESPECT": (2.0, 5.0),
}
#: Mirroring (analysis 3): response DV rows x prompt predictor columns, in PREDICTORS order.
MIRROR_B = np.array(
    [
        # TOX_h  AFF_h  COMP_h  CUR_h  RN_h   PS_h   RESP_h
        [0.30, 0.00, -0.05, 0.02, 0.05, -0.03, -0.02],  # TOXICITY
        [0.10, 0.55, 0.20, -0.05, -0.10, -0.20, -0.10],  # AFFINITY
        [0.25, 0.05, 0.60, 0.05, -0.30, 0.05, -0.30],  # COMPASSION
        [0.00, 0.15, 0.05, -0.10, -0.10, 0.05, 0.10],  # CURIOSITY
        [0.10, -0.10, 0.10, 0.15, 0.55, 0.05, -0.15],  # REASONING_NUANCE
        [0.05, -0.15, 0.05, -0.05, -0.30, 0.30, 0.25],  # PERSONAL_STORY
        [0.10, 0.15, 0.15, -0.05, -0.10, -0.10, 0.35],  # RESPECT
    ]
)
MIRROR_INTERCEPT = np.array([0.13, 0.25, 0.27, 0.3, 0.21, 0.29, 0.3])
MIRROR_SD = {
    "user": np.array([0.01, 0.03, 0.03, 0.03, 0.03, 0.02, 0.03]),
    "conversation": np.array([0.01, 0.03, 0.03, 0.03, 0.03, 0.03, 0.03]),
    "llm": np.array([0.02, 0.04, 0.05, 0.05, 0.06, 0.04, 0.04]),
    "residual": np.array([0.03, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05]),
}
#: log(score) on the seven response attributes (analysis 1b), in PREDICTORS order.
SCORE_B = np.array([-1.0, 0.0, 0.6, -0.5, 1.2, -0.8, 0.0])
SCORE_INTERCEPT = 3.1
#: (TOXICITY - its mean) x (TOXICITY_human - its mean): users who prompt toxically mind toxic
#: replies less. Centring both keeps the term nearly orthogonal to the analyses that omit it.
SCORE_TOX_INTERACTION = 1.5
#: Moderator main effects (user level) and moderator x predictor interactions (analysis 2).
#: Moderators enter centred at their share, so averaging over users leaves SCORE_B intact.
#: To the analyses without moderators they are user-level random slopes, which those models
#: do not have; kept moderate (slope SD <= 0.35) so their intervals are not overconfident.
MODERATOR_MAIN = np.array([0.05, -0.03, 0.02, 0.04])
MODERATOR_B = np.array(
    [
        # TOX   AFF   COMP  CUR   RN    PS    RESP
        [-0.6, 0.0, 0.15, 0.2, 0.1, -0.4, 0.0],  # younger
        [0.0, 0.1, -0.1, 0.0, 0.15, -0.1, -0.1],  # male
        [-0.3, 0.0, 0.0, -0.1, 0.3, -0.15, 0.05],  # white
        [0.2, 0.25, 0.0, 0.25, -0.3, -0.1, -0.1],  # high_values
    ]
)
MODERATOR_SHARE = np.array([0.6, 0.5, 0.55, 0.5])
SCORE_SD = {"user": 0.1, "conversation": 0.1, "llm": 0.15, "residual": 0.25}
#: Replicate outcome draws used for the choice model's pseudo-true coefficients.
CHOICE_REPLICATES = 40

# ---- planted preference profiles (profiles=True) ----------------------------------------

#: Population attribute weights of the choice (logit per unit of attribute), PREDICTORS order.
PROFILE_WEIGHTS = np.array([-4.0, 0.0, -1.0, 2.0, 4.0, -2.0, 0.5])
#: SDs of the per-user deviations from the population weights.
PROFILE_SD = np.array([3.0, 2.0, 3.0, 4.5, 4.5, 3.5, 2.0])
#: Their correlation: users who weigh reasoning more weigh curiosity less (the paper's
#: values-vs-reasoning contrast), and affinity travels with compassion.
PROFILE_CORRELATIONS = {
    ("REASONING_NUANCE", "CURIOSITY"): -0.5,
    ("AFFINITY", "COMPASSION"): 0.4,
    ("TOXICITY", "RESPECT"): -0.3,
}
#: How covariates (the moderators, centred at their share) shift a user's weights:
#: moderator rows x attribute columns. Users who want AI to reflect their values weigh
#: reasoning less and curiosity more (the paper's finding 2).
PROFILE_COVARIATES = np.array(
    [
        # TOX   AFF   COMP  CUR   RN    PS    RESP
        [3.0, 0.0, 0.0, 0.0, 0.0, -3.0, 0.0],  # younger
        [0.0, 0.0, -3.0, 0.0, 0.0, 0.0, 0.0],  # male
        [0.0, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0],  # white
        [0.0, 0.0, 0.0, 4.0, -5.0, 0.0, 0.0],  # high_values
    ]
)
#: LLM effects on the choice (the conditional logit's random intercepts).
PROFILE_LLM_SD = 0.3
#: Multiplier on the within-conversation spread of response attributes in this mode.
PROFILE_SPREAD = 3.0


@dataclass
class _World:
    """Everything drawn for the opening turns, as arrays over users, conversations, rows."""

    n_users: int
    conv_user: IntArray
    conv_type: IntArray
    row_conv: IntArray
    row_llm: IntArray
    prompt_raw: dict[str, FloatArray]
    prompt_x: FloatArray  # (conversation, predictor)
    response_x: FloatArray  # (row, predictor)
    reasoning: FloatArray
    nuance: FloatArray
    moderators: FloatArray  # (user, moderator) as 0/1
    llm_effect: FloatArray
    clipped_attributes: int
    attribute_effects: dict[str, FloatArray]

    @property
    def response_tox_mean(self) -> float:
        return float(self.response_x[:, PREDICTORS.index("TOXICITY")].mean())


def _predictors_from_raw(raw: dict[str, FloatArray]) -> FloatArray:
    columns = {k: v for k, v in raw.items() if k not in ("REASONING", "NUANCE")}
    columns["REASONING_NUANCE"] = raw["REASONING"] * raw["NUANCE"]
    return np.column_stack([columns[t] for t in PREDICTORS])


def _draw_world(n_users: int, rng: np.random.Generator, spread: float = 1.0) -> _World:
    conversations_per_user = rng.choice(np.arange(1, 8), size=n_users, p=CONVERSATIONS_PER_USER)
    conv_user = np.repeat(np.arange(n_users), conversations_per_user)
    n_conv = len(conv_user)
    conv_type = rng.choice(3, size=n_conv, p=TYPE_WEIGHTS)
    # PRISM: 4 responses is typical, fewer occur.
    options = rng.choice([2, 3, 4], size=n_conv, p=[0.02, 0.03, 0.95])
    row_conv = np.repeat(np.arange(n_conv), options)
    row_llm = np.concatenate(
        [rng.choice(len(LLMS), size=k, replace=False) for k in options]
    ).astype(np.int64)

    raw = {name: rng.beta(a, b, n_conv) for name, (a, b) in PROMPT_BETA.items()}
    raw["NUANCE"] = np.clip(raw["REASONING"] + rng.normal(0, 0.08, n_conv), 0.001, 0.999)
    prompt_x = _predictors_from_raw(raw)

    n_rows = len(row_conv)
    user_of_row = conv_user[row_conv]
    attribute_effects = {
        "user": rng.normal(0, MIRROR_SD["user"], (n_users, 7)),
        "conversation": rng.normal(0, MIRROR_SD["conversation"], (n_conv, 7)),
        "llm": rng.normal(0, MIRROR_SD["llm"], (len(LLMS), 7)),
    }
    mean = (
        MIRROR_INTERCEPT
        + prompt_x[row_conv] @ MIRROR_B.T
        + attribute_effects["user"][user_of_row]
        + attribute_effects["conversation"][row_conv]
        + attribute_effects["llm"][row_llm]
        + rng.normal(0, spread * MIRROR_SD["residual"], (n_rows, 7))
    )
    # Perspective scores are probabilities; the parameters keep clipping rare (counted).
    response_x = np.clip(mean, 0.001, 0.999)
    clipped = int((response_x != mean).sum())
    root = np.sqrt(response_x[:, PREDICTORS.index("REASONING_NUANCE")])
    tilt = rng.uniform(-0.15, 0.15, n_rows)
    reasoning, nuance = root ** (1 - tilt), root ** (1 + tilt)

    moderators = (rng.random((n_users, len(MODERATORS))) < MODERATOR_SHARE).astype(float)
    llm_effect = _orthogonal(rng.normal(0, 1, len(LLMS)), attribute_effects["llm"], SCORE_SD["llm"])
    return _World(
        n_users, conv_user, conv_type, row_conv, row_llm, raw, prompt_x, response_x,
        reasoning, nuance, moderators, llm_effect, clipped, attribute_effects,
    )  # fmt: skip


def _orthogonal(effects: FloatArray, against: FloatArray, sd: float) -> FloatArray:
    """``effects`` with its sample correlation to ``against`` removed, rescaled to ``sd``.

    With only 21 LLMs (or a few hundred users), independently drawn score and attribute
    effects of the same group correlate by chance, and that chance confounding moves the
    fixed effects away from the planted ones by more than their posterior SD. Removing it
    keeps the planted coefficients the values a correct model should recover.
    """
    design = np.column_stack([np.ones(len(against)), against])
    coef, *_ = np.linalg.lstsq(design, effects, rcond=None)
    residual = effects - design @ coef
    return np.asarray(residual / residual.std() * sd)


def _score_mean(world: _World) -> FloatArray:
    """The fixed (noise-free, random-effect-free) part of log(score) per opening response."""
    x = world.response_x
    tox_h = world.prompt_x[world.row_conv, PREDICTORS.index("TOXICITY")]
    mods = world.moderators[world.conv_user[world.row_conv]] - MODERATOR_SHARE
    tox = x[:, PREDICTORS.index("TOXICITY")]
    return np.asarray(
        SCORE_INTERCEPT
        + x @ SCORE_B
        + SCORE_TOX_INTERACTION * (tox - world.response_tox_mean) * (tox_h - _TOX_H_MEAN)
        + mods @ MODERATOR_MAIN
        + np.einsum("rm,mk,rk->r", mods, MODERATOR_B, x)
    )


_TOX_H_MEAN = PROMPT_BETA["TOXICITY"][0] / sum(PROMPT_BETA["TOXICITY"])


def _draw_scores(world: _World, mean: FloatArray, rng: np.random.Generator) -> IntArray:
    n_conv = len(world.conv_user)
    user = _orthogonal(
        rng.normal(0, 1, world.n_users), world.attribute_effects["user"], SCORE_SD["user"]
    )
    conversation = _orthogonal(
        rng.normal(0, 1, n_conv), world.attribute_effects["conversation"], SCORE_SD["conversation"]
    )
    latent = (
        mean
        + user[world.conv_user[world.row_conv]]
        + conversation[world.row_conv]
        + world.llm_effect[world.row_llm]
        + rng.normal(0, SCORE_SD["residual"], len(mean))
    )
    return np.clip(np.rint(np.exp(latent)), 1, 100).astype(np.int64)


def _choose(world: _World, scores: IntArray, rng: np.random.Generator) -> NDArray[np.bool_]:
    """PRISM's rule: the top-scored response is chosen, ties broken at random."""
    jitter = rng.random(len(scores))
    order = np.lexsort((jitter, scores, world.row_conv))
    last_of_conv = np.r_[world.row_conv[order][1:] != world.row_conv[order][:-1], True]
    chosen = np.zeros(len(scores), dtype=bool)
    chosen[order[last_of_conv]] = True
    return chosen


def profile_correlation() -> FloatArray:
    """The planted 7x7 correlation of the per-user weight deviations."""
    matrix = np.eye(len(PREDICTORS))
    for (first, second), r in PROFILE_CORRELATIONS.items():
        i, j = PREDICTORS.index(first), PREDICTORS.index(second)
        matrix[i, j] = matrix[j, i] = r
    return matrix


@dataclass(frozen=True)
class _Profiles:
    """Planted choice weights: per user (population + covariate shift + deviation), per LLM."""

    weights: FloatArray  # (user, predictor)
    llm: FloatArray  # (llm,)


def _plant_profiles(world: _World, rng: np.random.Generator) -> _Profiles:
    covariance = profile_correlation() * np.outer(PROFILE_SD, PROFILE_SD)
    deviations = rng.multivariate_normal(np.zeros(len(PREDICTORS)), covariance, world.n_users)
    shift = (world.moderators - MODERATOR_SHARE) @ PROFILE_COVARIATES
    llm = rng.normal(0, PROFILE_LLM_SD, len(LLMS))
    return _Profiles(PROFILE_WEIGHTS + shift + deviations, llm - llm.mean())


def _choose_by_profile(
    world: _World, profiles: _Profiles, rng: np.random.Generator
) -> NDArray[np.bool_]:
    """Each user picks by their own weights: argmax of utility + Gumbel noise, which is an
    exact draw from the conditional logit (softmax of the utilities within a conversation)."""
    user_of_row = world.conv_user[world.row_conv]
    utility = np.einsum("rk,rk->r", world.response_x, profiles.weights[user_of_row])
    utility = utility + profiles.llm[world.row_llm] + rng.gumbel(size=len(utility))
    order = np.lexsort((utility, world.row_conv))
    last_of_conv = np.r_[world.row_conv[order][1:] != world.row_conv[order][:-1], True]
    chosen = np.zeros(len(utility), dtype=bool)
    chosen[order[last_of_conv]] = True
    return chosen


def _top_score_to_chosen(world: _World, scores: IntArray, chosen: NDArray[np.bool_]) -> IntArray:
    """Swap scores within each conversation so the chosen response holds the top score."""
    scores = scores.copy()
    for rows in np.split(np.arange(len(scores)), np.flatnonzero(np.diff(world.row_conv)) + 1):
        pick = rows[chosen[rows]][0]
        top = rows[np.argmax(scores[rows])]
        scores[pick], scores[top] = scores[top], scores[pick]
    return scores


def _profiles_truth(world: _World, profiles: _Profiles) -> dict[str, Any]:
    def named(values: FloatArray) -> dict[str, float]:
        return {p: float(v) for p, v in zip(PREDICTORS, values, strict=True)}

    return {
        "population": named(PROFILE_WEIGHTS),
        "sd": named(PROFILE_SD),
        "correlation": profile_correlation().tolist(),
        "covariates": {m: named(PROFILE_COVARIATES[i]) for i, m in enumerate(MODERATORS)},
        "covariate_centres": dict(zip(MODERATORS, MODERATOR_SHARE.tolist(), strict=True)),
        "llm": {LLMS[i][0]: float(v) for i, v in enumerate(profiles.llm)},
        "users": {f"user{u}": named(profiles.weights[u]) for u in range(world.n_users)},
    }


# ---- expected coefficients ---------------------------------------------------------------


def _projection(design: FloatArray, target: FloatArray, groups: dict[str, IntArray]) -> FloatArray:
    """The coefficients a Gaussian mixed model converges to when ``target`` is its mean.

    The model's estimator of the fixed effects is generalised least squares under its
    random intercepts (users, conversations, LLMs); with the planted variance components
    that is linear in the outcome, so its expectation is the same estimator applied to
    the noise-free mean. When ``target`` is not exactly linear in ``design`` (an analysis
    that leaves a generating term out) the weighting matters, so it is solved exactly,
    through Henderson's mixed-model equations, rather than approximated.
    """
    from scipy import sparse
    from scipy.sparse.linalg import spsolve

    n = len(target)
    x = np.column_stack([np.ones(n), design])
    indicators = [
        sparse.csr_matrix((np.ones(n), (np.arange(n), codes)), shape=(n, codes.max() + 1))
        for codes in groups.values()
    ]
    z = sparse.hstack(indicators).tocsr()
    shrinkage = np.concatenate(
        [
            np.full(block.shape[1], (SCORE_SD["residual"] / SCORE_SD[name]) ** 2)
            for name, block in zip(groups, indicators, strict=True)
        ]
    )
    zx = sparse.csr_matrix(z.T @ x)
    equations = sparse.bmat(
        [[sparse.csr_matrix(x.T @ x), zx.T], [zx, z.T @ z + sparse.diags(shrinkage)]]
    ).tocsc()
    solution = spsolve(equations, np.concatenate([x.T @ target, z.T @ target]))
    return np.asarray(solution[1 : x.shape[1]])


def _logistic(design: FloatArray, y: FloatArray, iterations: int = 50) -> FloatArray:
    """Maximum-likelihood logistic regression by Newton's method (design has an intercept)."""
    beta = np.zeros(design.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(design @ beta)))
        gradient = design.T @ (y - p)
        hessian = (design * (p * (1 - p))[:, None]).T @ design
        step = np.linalg.solve(hessian, gradient)
        beta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def _expected(world: _World, keep: NDArray[np.bool_], rng: np.random.Generator) -> dict[str, Any]:
    """Per analysis, the coefficient each should recover on the rows it will use."""
    x = world.response_x[keep]
    mean = _score_mean(world)
    tox = PREDICTORS.index("TOXICITY")
    tox_h = world.prompt_x[world.row_conv, tox][keep]
    mods = world.moderators[world.conv_user[world.row_conv]][keep]
    interactions = np.column_stack([mods[:, m] * x[:, k] for m in range(4) for k in range(7)])

    groups = {
        "user": world.conv_user[world.row_conv][keep],
        "conversation": world.row_conv[keep],
        "llm": world.row_llm[keep],
    }
    expected: dict[str, dict[str, float]] = {}
    expected["score"] = dict(zip(PREDICTORS, _projection(x, mean[keep], groups), strict=True))
    inter = _projection(np.column_stack([x, tox_h, x[:, tox] * tox_h]), mean[keep], groups)
    inter_names = [*PREDICTORS, human("TOXICITY"), f"TOXICITY:{human('TOXICITY')}"]
    expected["interaction"] = dict(zip(inter_names, inter, strict=True))
    # Moderation drops users with any "Prefer not to say"; the truth is the same on any rows.
    moderation = _projection(np.column_stack([mods, x, interactions]), mean[keep], groups)
    names = [
        *(moderated(m, "").rstrip(":") for m in MODERATORS),
        *PREDICTORS,
        *(moderated(m, k) for m in MODERATORS for k in PREDICTORS),
    ]
    expected["moderation"] = dict(zip(names, moderation, strict=True))
    expected["mirroring"] = _expected_mirroring()
    expected["choice"] = _choice_pseudo_truth(world, keep, mean, rng)
    return {a: {k: float(v) for k, v in terms.items()} for a, terms in expected.items()}


def _expected_mirroring() -> dict[str, float]:
    return {
        mirrored(dv, human(p)): float(MIRROR_B[i, j])
        for i, dv in enumerate(PREDICTORS)
        for j, p in enumerate(PREDICTORS)
    }


def _choice_pseudo_truth(
    world: _World, keep: NDArray[np.bool_], mean: FloatArray, rng: np.random.Generator
) -> dict[str, float]:
    """Logistic coefficients of "scored highest" over replicate outcomes on this design.

    LLMs enter as fixed effects (21 levels with many rows each behave like the model's
    random effect); users and conversations are redrawn each replicate.
    """
    llm_dummies = np.eye(len(LLMS))[world.row_llm][:, 1:]
    design = np.column_stack([np.ones(len(mean)), world.response_x, llm_dummies])[keep]
    outcomes = [
        _choose(world, _draw_scores(world, mean, rng), rng)[keep].astype(float)
        for _ in range(CHOICE_REPLICATES)
    ]
    beta = _logistic(np.tile(design, (CHOICE_REPLICATES, 1)), np.concatenate(outcomes))
    return dict(zip(PREDICTORS, beta[1 : 1 + len(PREDICTORS)], strict=True))


# ---- writing the release -----------------------------------------------------------------


def _sentence(rng: np.random.Generator, n: int) -> str:
    return " ".join(rng.choice(WORDS, size=n))


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            # allow_nan: PRISM's metadata carries bare NaN tokens, and so do we.
            handle.write(json.dumps(record, allow_nan=True) + "\n")


def _survey_record(user: int, moderators: FloatArray, rng: np.random.Generator) -> dict[str, Any]:
    younger, male, white, high_values = (bool(v) for v in moderators)
    age = str(rng.choice(AGES[:3] if younger else AGES[3:]))
    gender = (
        "Male" if male else str(rng.choice(["Female", "Non-binary / third gender"], p=[0.97, 0.03]))
    )
    ethnicity = "White" if white else str(rng.choice(ETHNICITIES[1:]))
    values = int(rng.integers(51, 101) if high_values else rng.integers(0, 51))
    if rng.random() < PREFER_NOT_RATE:
        age = "Prefer not to say"
    if rng.random() < PREFER_NOT_RATE:
        gender = "Prefer not to say"
    if rng.random() < PREFER_NOT_RATE:
        ethnicity = "Prefer not to say"
    prefs = {k: int(rng.integers(0, 101)) for k in (
        "values", "creativity", "fluency", "factuality", "diversity", "safety",
        "personalisation", "helpfulness", "other")}  # fmt: skip
    prefs["values"] = values
    duration = int(rng.integers(160, 5000))
    return {
        "user_id": f"user{user}",
        "survey_only": False,
        "num_completed_conversations": 0,
        "consent": "Yes, I consent to take part",
        "consent_age": "I certify that I am 18 years of age or over",
        "lm_familiarity": "Somewhat familiar",
        "lm_indirect_use": "Yes",
        "lm_direct_use": "Yes",
        "lm_frequency_use": "Every week",
        "self_description": _sentence(rng, 12),
        "system_string": _sentence(rng, 10),
        "age": age,
        "gender": gender,
        "employment_status": "Working full-time",
        "education": "University Bachelors Degree",
        "marital_status": "Never been married",
        "english_proficiency": "Native speaker",
        "study_id": "synthetic",
        "study_locale": "uk",
        "religion": {
            "self_described": "none",
            "categorised": "Non-religious",
            "simplified": "No Affiliation",
        },
        "ethnicity": {
            "self_described": ethnicity.lower(),
            "categorised": ethnicity,
            "simplified": ethnicity,
        },
        "location": {
            k: "United Kingdom"
            for k in (
                "birth_country",
                "birth_countryISO",
                "birth_region",
                "birth_subregion",
                "reside_country",
                "reside_region",
                "reside_subregion",
                "reside_countryISO",
                "same_birth_reside_country",
                "special_region",
            )
        },
        "lm_usecases": {"research": 1, "other": 0, "other_text": None},
        "stated_prefs": {**prefs, "other_text": None},
        "order_lm_usecases": {"research": 1, "other": 19},
        "order_stated_prefs": {k: i + 1 for i, k in enumerate(prefs)},
        "generated_datetime": "2023-12-01 10:00:00",
        "timing_duration_s": duration,
        "timing_duration_mins": round(duration / 60, 2),
        "included_in_US_REP": False,
        "included_in_UK_REP": False,
        "included_in_balanced_subset": False,
    }


def _other_scores(rng: np.random.Generator) -> dict[str, float]:
    """The attributes the study does not model: low and inter-correlated, as in the paper."""
    base = float(rng.beta(1, 30))
    return {
        name: round(min(1.0, base * float(rng.uniform(0.5, 1.5))), 6)
        for name in ("SEVERE_TOXICITY", "IDENTITY_ATTACK", "INSULT", "PROFANITY", "THREAT")
    }


def _scores_record(text: str, values: dict[str, float], rng: np.random.Generator) -> dict[str, Any]:
    scores = {
        "TOXICITY": values["TOXICITY"],
        **_other_scores(rng),
        "AFFINITY_EXPERIMENTAL": values["AFFINITY"],
        "COMPASSION_EXPERIMENTAL": values["COMPASSION"],
        "CURIOSITY_EXPERIMENTAL": values["CURIOSITY"],
        "NUANCE_EXPERIMENTAL": values["NUANCE"],
        "PERSONAL_STORY_EXPERIMENTAL": values["PERSONAL_STORY"],
        "REASONING_EXPERIMENTAL": values["REASONING"],
        "RESPECT_EXPERIMENTAL": values["RESPECT"],
    }
    return {"text": text, "scores": {k: float(v) for k, v in scores.items()},
            "model_version": MODEL_VERSION}  # fmt: skip


def synthesize(
    out: str | Path,
    *,
    users: int = 300,
    seed: int = 0,
    profiles: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write a synthetic PRISM release to ``out`` and return the truth that ``truth.json`` holds.

    ``users`` is the number of participants with conversations; about 7% more survey-only
    participants are added, as in PRISM. ``profiles`` plants per-user choice weights (see
    the module docstring).
    """
    if users < 10:
        raise ValueError(f"users must be at least 10, got {users}")
    say = progress or (lambda _message: None)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    world = _draw_world(users, rng, PROFILE_SPREAD if profiles else 1.0)
    mean = _score_mean(world)
    scores = _draw_scores(world, mean, rng)
    planted: _Profiles | None = None
    if profiles:
        planted = _plant_profiles(world, rng)
        chosen = _choose_by_profile(world, planted, rng)
        scores = _top_score_to_chosen(world, scores, chosen)
    else:
        chosen = _choose(world, scores, rng)
    empty = rng.random(len(scores)) < EMPTY_RATE
    say(f"drew {users} users, {len(world.conv_user)} conversations, {len(scores)} responses")

    survey = [_survey_record(u, world.moderators[u], rng) for u in range(users)]
    n_survey_only = round(users * SURVEY_ONLY_RATE)
    for u in range(users, users + n_survey_only):
        record = _survey_record(u, (rng.random(4) < MODERATOR_SHARE).astype(float), rng)
        record["survey_only"] = True
        survey.append(record)
    conversations, utterances, metadata, score_records = _conversation_records(
        world, scores, chosen, empty, survey, rng
    )
    _write_jsonl(out / "survey.jsonl", survey)
    _write_jsonl(out / "conversations.jsonl", conversations)
    _write_jsonl(out / "utterances.jsonl", utterances)
    _write_jsonl(out / "metadata.jsonl", metadata)
    _write_jsonl(out / "scores.jsonl", score_records)
    if planted is None:
        say("computing the expected coefficients (choice: logistic fit to replicate outcomes)")
        expected = _expected(world, ~empty, rng)
    else:
        expected = {"mirroring": _expected_mirroring()}
    truth: dict[str, Any] = {
        "seed": seed,
        "users": users,
        "conversations": len(world.conv_user),
        "opening_responses": len(scores),
        "clipped_attribute_values": world.clipped_attributes,
        "scores_at_bounds": int(((scores == 1) | (scores == 100)).sum()),
        "planted": {
            "score": dict(zip(PREDICTORS, SCORE_B.tolist(), strict=True)),
            "score_intercept": SCORE_INTERCEPT,
            "toxicity_interaction": SCORE_TOX_INTERACTION,
            "moderator_main": dict(zip(MODERATORS, MODERATOR_MAIN.tolist(), strict=True)),
            "moderation": {
                moderated(m, k): float(MODERATOR_B[i, j])
                for i, m in enumerate(MODERATORS)
                for j, k in enumerate(PREDICTORS)
            },
            "score_sd": SCORE_SD,
            "mirroring_sd": {k: v.tolist() for k, v in MIRROR_SD.items()},
        },
        "expected": expected,
    }
    if planted is not None:
        truth["profiles"] = _profiles_truth(world, planted)
    (out / "truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    return truth


def _conversation_records(
    world: _World,
    scores: IntArray,
    chosen: NDArray[np.bool_],
    empty: NDArray[np.bool_],
    survey: list[dict[str, Any]],
    rng: np.random.Generator,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    conversations: list[dict[str, Any]] = []
    utterances: list[dict[str, Any]] = []
    score_records: list[dict[str, Any]] = []
    rows_of = np.split(np.arange(len(world.row_conv)), np.flatnonzero(np.diff(world.row_conv)) + 1)
    for c, rows in enumerate(rows_of):
        conversation_id, user = f"c{c}", int(world.conv_user[c])
        survey[user]["num_completed_conversations"] += 1
        kind = TYPES[int(world.conv_type[c])]
        prompt = f"Prompt {c}: {_sentence(rng, 8)}?"
        raw = {k: float(v[c]) for k, v in world.prompt_raw.items()}
        score_records.append(_scores_record(prompt, raw, rng))
        history: list[dict[str, Any]] = [{"turn": 0, "role": "user", "content": prompt}]
        for within, r in enumerate(rng.permutation(rows)):
            name, provider = LLMS[int(world.row_llm[r])]
            text = (
                "EMPTY STRING"
                if empty[r]
                else f"Reply {c}.{within} from {name}: {_sentence(rng, 12)}"
            )
            if not empty[r]:
                values = dict(zip(PREDICTORS, world.response_x[r].tolist(), strict=True))
                values.update(REASONING=float(world.reasoning[r]), NUANCE=float(world.nuance[r]))
                score_records.append(_scores_record(text, values, rng))
            history.append(
                {
                    "turn": 0,
                    "role": "model",
                    "content": text,
                    "model_provider": provider,
                    "model_name": name,
                    "score": int(scores[r]),
                    "if_chosen": bool(chosen[r]),
                    "within_turn_id": within,
                }
            )
        top = LLMS[int(world.row_llm[rows[np.argmax(chosen[rows])]])]
        turns = 1 + int(rng.integers(1, 3))
        for turn in range(1, turns):
            history.append({"turn": turn, "role": "user", "content": f"Follow-up {c}.{turn}"})
            texts = [f"Answer {c}.{turn}.{k}: {_sentence(rng, 10)}" for k in range(2)]
            if rng.random() < 0.05:  # identical A/B samples: both count as chosen in PRISM
                texts[1] = texts[0]
            pair = rng.integers(1, 101, 2)
            for k in range(2):
                picked = texts[k] == texts[int(np.argmax(pair))]
                history.append({"turn": turn, "role": "model", "content": texts[k],
                                "model_provider": top[1], "model_name": top[0],
                                "score": int(pair[k]), "if_chosen": bool(picked),
                                "within_turn_id": k})  # fmt: skip
        conversations.append(
            {
                "conversation_id": conversation_id,
                "user_id": f"user{user}",
                "conversation_type": kind,
                "opening_prompt": prompt,
                "conversation_turns": turns,
                "conversation_history": history,
                "performance_attributes": {
                    "values": 70,
                    "fluency": 90,
                    "factuality": None,
                    "safety": 80,
                    "diversity": 60,
                    "creativity": 50,
                    "helpfulness": 85,
                },
                "choice_attributes": {
                    "values": 60,
                    "fluency": 75,
                    "factuality": 80,
                    "safety": None,
                    "diversity": 50,
                    "creativity": 30,
                    "helpfulness": 90,
                },
                "open_feedback": _sentence(rng, 10),
                "generated_datetime": _finished_at(c),
                "timing_duration_s": 312.48,
                "timing_duration_mins": 5.21,
                "included_in_balanced_subset": False,
            }
        )
        utterances.extend(_utterance_rows(conversations[-1]))
    for record in survey:
        record["survey_only"] = record["num_completed_conversations"] == 0
    metadata = _metadata_rows(conversations, utterances)
    return conversations, utterances, metadata, score_records


def _finished_at(conversation: int) -> str:
    """When a conversation ended: conversations are in id order (so a user's are too),
    five minutes apart from PRISM's first day."""
    import datetime

    moment = datetime.datetime(2023, 11, 22, 16, 0) + datetime.timedelta(minutes=5 * conversation)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _utterance_rows(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    prompt_of_turn = {
        item["turn"]: item["content"]
        for item in conversation["conversation_history"]
        if item["role"] == "user"
    }
    for item in conversation["conversation_history"]:
        if item["role"] != "model":
            continue
        rows.append({
            "utterance_id": None, "interaction_id": None,
            "conversation_id": conversation["conversation_id"], "user_id": conversation["user_id"],
            "turn": item["turn"], "within_turn_id": item["within_turn_id"],
            "conversation_type": conversation["conversation_type"],
            "user_prompt": prompt_of_turn[item["turn"]], "model_response": item["content"],
            "model_name": item["model_name"], "model_provider": item["model_provider"],
            "score": item["score"], "if_chosen": item["if_chosen"],
            "included_in_balanced_subset": conversation["included_in_balanced_subset"],
        })  # fmt: skip
    return rows


def _metadata_rows(
    conversations: list[dict[str, Any]], utterances: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Number utterances and interactions as PRISM does; one metadata row per prompt/response."""
    keys = sorted({(u["conversation_id"], u["turn"]) for u in utterances})  # string sort, as PRISM
    interaction = {key: f"int{i}" for i, key in enumerate(keys)}
    for k, row in enumerate(utterances):
        row["utterance_id"] = f"ut{k}"
        row["interaction_id"] = interaction[(row["conversation_id"], row["turn"])]
    flags = {"flagged": False, "categories": {}, "category_scores": {}}
    base = {"pii_flag": False, "pii_manual_flag": float("nan"), "language_flag": "en",
            "en_flag": True, "moderation_flag": flags}  # fmt: skip
    metadata: list[dict[str, Any]] = []
    users_of = {x["conversation_id"]: x["user_id"] for x in conversations}
    for (c, _turn), i in interaction.items():
        metadata.append({"column_id": "user_prompt", "user_id": users_of[c], "conversation_id": c,
                         "interaction_id": i, "utterance_id": None, **base})  # fmt: skip
    for row in utterances:
        metadata.append({"column_id": "model_response", "user_id": row["user_id"],
                         "conversation_id": row["conversation_id"],
                         "interaction_id": row["interaction_id"],
                         "utterance_id": row["utterance_id"], **base})  # fmt: skip
    return metadata
