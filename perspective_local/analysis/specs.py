"""The paper's analyses as plain data, their design matrices, and ``fit()`` -> InferenceData.

Each :class:`AnalysisSpec` states one analysis of Kyrychenko et al. (2025) the way the paper
does: a brms formula, a family, its terms and the sampler settings it reports. ``design()``
turns the scored responses table into arrays for that spec and one subset; ``fit()`` hands
them to :mod:`perspective_local.analysis.sampling`, the only module that imports PyMC.

Every model has random intercepts for users, conversations within users and LLMs,
``(1 | user_id/conversation_id) + (1 | model_name)``; PRISM's conversation ids are unique
across users, so ``user_id:conversation_id`` is simply the conversation.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

from perspective_local.analysis.terms import (
    CONVERSATION_TYPES,
    MODERATORS,
    PREDICTORS,
    SUBSETS,
    human,
    moderated,
)

if TYPE_CHECKING:
    import arviz as az
    import pandas as pd

Family = Literal["bernoulli", "gaussian"]
Priors = Literal["paper", "weak"]
Sampler = Literal["auto", "nutpie", "pymc"]

#: brms ``hypothesis()`` with one-sided hypotheses reports the 5% and 95% quantiles, i.e. a
#: 90% equal-tailed interval (the paper's text calls it a 95% CI; its tables are 5-95%).
CI_PROB = 0.90
#: The paper's prior SD on coefficients: Normal(0, 10^6), i.e. flat.
PAPER_PRIOR_SD = 1e6
RANDOM_EFFECTS = ("user", "conversation", "llm")
RANDOM_EFFECTS_FORMULA = "(1 | user_id/conversation_id) + (1 | model_name)"


@dataclass(frozen=True)
class AnalysisSpec:
    """One analysis: what is modelled, how, and with which sampler settings by default."""

    name: str
    label: str
    family: Family
    outcomes: tuple[str, ...]
    terms: tuple[str, ...]
    draws: int
    tune: int = 1000
    chains: int = 4
    #: Terms shown in report tables; the rest are fitted and written to coefficients.csv.
    reported: tuple[str, ...] = ()
    #: Whether a subset's rows need all four moderators answered.
    needs_moderators: bool = False

    @property
    def formula(self) -> str:
        rhs = " + ".join(self.terms)
        lhs = self.outcomes[0] if len(self.outcomes) == 1 else f"mvbind({', '.join(self.outcomes)})"
        return f"{lhs} ~ {rhs} + {RANDOM_EFFECTS_FORMULA}"


_INTERACTION = f"TOXICITY:{human('TOXICITY')}"
_MODERATION_TERMS = (
    *(f"{m}TRUE" for m in MODERATORS),
    *PREDICTORS,
    *(moderated(m, p) for p in PREDICTORS for m in MODERATORS),
)

#: The analyses, by the name the CLI uses. Draw counts are the paper's (per chain).
ANALYSES: Mapping[str, AnalysisSpec] = {
    spec.name: spec
    for spec in (
        AnalysisSpec(
            "choice", "Analysis 1a: scored highest (Bernoulli-logit)", "bernoulli",
            ("highest",), PREDICTORS, draws=1000, reported=PREDICTORS,
        ),
        AnalysisSpec(
            "score", "Analysis 1b: log(score) (Gaussian)", "gaussian",
            ("log_score",), PREDICTORS, draws=1000, reported=PREDICTORS,
        ),
        AnalysisSpec(
            "interaction", "Analysis 1b: prompt x response toxicity (Gaussian)", "gaussian",
            ("log_score",), (*PREDICTORS, human("TOXICITY"), _INTERACTION), draws=1000,
            reported=(_INTERACTION,),
        ),
        AnalysisSpec(
            "moderation", "Analysis 2: moderation of log(score) (Gaussian)", "gaussian",
            ("log_score",), _MODERATION_TERMS, draws=3000,
            reported=tuple(moderated(m, p) for p in PREDICTORS for m in MODERATORS),
            needs_moderators=True,
        ),
        AnalysisSpec(
            "mirroring", "Analysis 3: prompt attributes -> response attributes (Gaussian)",
            "gaussian", PREDICTORS, tuple(human(p) for p in PREDICTORS), draws=3000,
            reported=tuple(human(p) for p in PREDICTORS),
        ),
    )
}  # fmt: skip


def get_analysis(name: str) -> AnalysisSpec:
    """The spec called ``name``; the error lists the valid names."""
    try:
        return ANALYSES[name]
    except KeyError:
        raise ValueError(
            f"'{name}' is not a valid analysis name; valid names: {', '.join(ANALYSES)}"
        ) from None


def check_subset(name: str) -> str:
    if name not in SUBSETS:
        raise ValueError(f"'{name}' is not a valid subset; valid subsets: {', '.join(SUBSETS)}")
    return name


@dataclass(frozen=True)
class SamplerOptions:
    """How to sample: the spec's draws/tune/chains unless overridden, and the prior choice.

    ``priors="paper"`` is the paper's Normal(0, 1e6) on coefficients; ``"weak"`` is
    Normal(0, 2.5 * sd(y) / sd(x)) per coefficient (rstanarm's autoscaled default, with
    sd(y) = 1 for the logit), for when the flat prior makes sampling awkward. Intercept,
    random-effect SD and sigma priors are brms's defaults either way.
    """

    draws: int | None = None
    tune: int | None = None
    chains: int | None = None
    seed: int = 20250305
    sampler: Sampler = "auto"
    priors: Priors = "paper"
    llm_effect: bool = True
    log_likelihood: bool = False
    cores: int | None = None
    progress: bool = False


@dataclass(frozen=True)
class Design:
    """The arrays one fit needs: centred-later predictors, outcomes and group indices."""

    analysis: str
    subset: str
    family: Family
    terms: tuple[str, ...]
    outcomes: tuple[str, ...]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    groups: Mapping[str, NDArray[np.int64]]
    levels: Mapping[str, tuple[str, ...]]
    dropped: Mapping[str, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.x.shape[0])


def _column(table: pd.DataFrame, name: str) -> NDArray[np.float64]:
    if name.endswith("TRUE") and name[: -len("TRUE")] in MODERATORS:
        name = name[: -len("TRUE")]
    return np.asarray(table[name].to_numpy(dtype=float), dtype=np.float64)


def _term(table: pd.DataFrame, term: str) -> NDArray[np.float64]:
    """A term's column: ``A:B`` multiplies, ``xTRUE`` is the moderator ``x`` as 0/1."""
    value = np.ones(len(table))
    for part in term.split(":"):
        value = value * _column(table, part)
    return value


def design(
    spec: AnalysisSpec, table: pd.DataFrame, users: pd.DataFrame, subset: str = "all"
) -> Design:
    """Arrays for ``spec`` on ``subset`` of the scored responses ``table``.

    Rows are dropped only for a stated reason, counted in ``Design.dropped``: the subset
    filter, and for moderation the participants who answered "Prefer not to say".
    """
    check_subset(subset)
    dropped: dict[str, int] = {}
    if subset != "all":
        unknown = set(table["subset"].dropna()) - set(CONVERSATION_TYPES.values())
        if unknown:
            raise ValueError(f"unknown conversation subsets in the data: {sorted(unknown)}")
        table = table[table["subset"] == subset]
    if spec.needs_moderators:
        table = table.merge(users[["user_id", *MODERATORS]], on="user_id", how="left")
        missing = table[list(MODERATORS)].isna().any(axis=1)
        dropped["responses of participants with a 'Prefer not to say' moderator"] = int(
            missing.sum()
        )
        table = table[~missing]
    if table.empty:
        raise ValueError(f"no responses left for analysis '{spec.name}' on subset '{subset}'")

    if spec.outcomes == ("highest",):
        y = table["highest"].to_numpy(dtype=float)[:, None]
    elif spec.outcomes == ("log_score",):
        y = np.log(table["score"].to_numpy(dtype=float))[:, None]
    else:
        y = np.column_stack([table[o].to_numpy(dtype=float) for o in spec.outcomes])
    x = np.column_stack([_term(table, t) for t in spec.terms])

    groups: dict[str, NDArray[np.int64]] = {}
    levels: dict[str, tuple[str, ...]] = {}
    for name, column in zip(
        RANDOM_EFFECTS, ("user_id", "conversation_id", "model_name"), strict=True
    ):
        codes, uniques = table[column].factorize(sort=True)
        groups[name] = np.asarray(codes, dtype=np.int64)
        levels[name] = tuple(str(u) for u in uniques)
    return Design(
        spec.name, subset, spec.family, spec.terms, spec.outcomes,
        np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64), groups, levels, dropped,
    )  # fmt: skip


def seed_for(base: int, *parts: str) -> int:
    """A fixed seed per (analysis, subset, variant), stable across runs and platforms."""
    return (base + zlib.crc32("/".join(parts).encode())) % (2**31)


def fit(
    spec: AnalysisSpec,
    data: Design,
    options: SamplerOptions | None = None,
    *,
    provenance: Mapping[str, str] | None = None,
) -> az.InferenceData:
    """Sample the posterior of ``spec`` on ``data``; groups are stamped with provenance."""
    from perspective_local import __version__
    from perspective_local.analysis import sampling

    options = options or SamplerOptions()
    options = replace(
        options,
        draws=options.draws or spec.draws,
        tune=options.tune if options.tune is not None else spec.tune,
        chains=options.chains or spec.chains,
        seed=seed_for(options.seed, spec.name, data.subset, str(options.llm_effect)),
    )
    idata = sampling.sample(data, options)
    attrs = {
        "perspective_local_version": __version__,
        "analysis": spec.name,
        "subset": data.subset,
        "formula": spec.formula
        if options.llm_effect
        else spec.formula.replace(" + (1 | model_name)", ""),
        "family": spec.family,
        "priors": options.priors,
        "seed": str(options.seed),
        **(provenance or {}),
    }
    for group in idata.groups():
        idata[group].attrs.update(attrs)
    return idata


def compare_llm_effect(
    spec: AnalysisSpec,
    data: Design,
    options: SamplerOptions | None = None,
    *,
    with_llm: az.InferenceData | None = None,
) -> pd.DataFrame:
    """ELPD-LOO of the model with vs without ``(1 | model_name)`` (the paper: 504.9, SE 30.5)."""
    import arviz as az

    options = replace(options or SamplerOptions(), log_likelihood=True)
    if with_llm is None or "log_likelihood" not in with_llm.groups():
        with_llm = fit(spec, data, options)
    without = fit(spec, data, replace(options, llm_effect=False))
    return az.compare({"with LLM effect": with_llm, "without LLM effect": without}, ic="loo")


def subsets_for(names: Sequence[str]) -> list[str]:
    return [check_subset(n) for n in names]
