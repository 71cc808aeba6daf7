"""brms-style one-sided hypotheses and convergence checks, as tidy tables from InferenceData.

For every coefficient ``b`` and a direction (``>`` or ``<`` 0), over the N posterior draws:
``estimate`` (mean), ``est_error`` (SD), ``ci_lower``/``ci_upper`` (the 5% and 95%
quantiles), ``evid_ratio`` = k/(N-k) with k the draws that satisfy the hypothesis (``inf``
when all do), ``post_prob`` = k/N, and the paper's ``star``: ``*`` when the evidence ratio
exceeds 100, ``†`` when it exceeds 10.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np

from perspective_local.analysis.specs import CI_PROB
from perspective_local.analysis.terms import mirrored

if TYPE_CHECKING:
    import pandas as pd

Direction = Literal[">", "<"]
COLUMNS = (
    "term", "direction", "estimate", "est_error", "ci_lower", "ci_upper",
    "evid_ratio", "post_prob", "star",
)  # fmt: skip
#: Thresholds on the evidence ratio for ``*`` (extreme evidence) and ``†``.
STAR_RATIO = 100.0
DAGGER_RATIO = 10.0
#: Convergence warnings fire beyond these (the usual Stan/ArviZ guidance).
MAX_RHAT = 1.01
MIN_ESS = 400


class ConvergenceWarning(UserWarning):
    """A fit's R-hat, effective sample size or divergences are outside the usual limits."""


def star(evid_ratio: float) -> str:
    """The paper's marker for an evidence ratio."""
    if evid_ratio > STAR_RATIO:
        return "*"
    if evid_ratio > DAGGER_RATIO:
        return "†"
    return ""


def coefficient_draws(idata: Any) -> dict[str, np.ndarray]:
    """Flat draws per coefficient, named as in the paper's tables (``DV ~ X`` for several DVs)."""
    import arviz as az

    posterior = az.convert_to_dataset(idata, group="posterior")  # type: ignore[no-untyped-call]
    b = posterior["b"]
    outcomes = [str(o) for o in b.coords["outcome"].values]
    terms = [str(t) for t in b.coords["term"].values]
    values = b.transpose("chain", "draw", "outcome", "term").values
    flat = values.reshape(-1, len(outcomes), len(terms))
    draws: dict[str, np.ndarray] = {}
    for i, outcome in enumerate(outcomes):
        for j, term in enumerate(terms):
            name = term if len(outcomes) == 1 else mirrored(outcome, term)
            draws[name] = flat[:, i, j]
    return draws


def hypothesis(draws: np.ndarray, direction: Direction) -> dict[str, Any]:
    """One row of brms ``hypothesis()`` output for ``b direction 0``."""
    alpha = (1 - CI_PROB) / 2
    n = draws.size
    k = int(np.sum(draws > 0) if direction == ">" else np.sum(draws < 0))
    ratio = float("inf") if k == n else k / (n - k)
    return {
        "direction": direction,
        "estimate": float(draws.mean()),
        "est_error": float(draws.std(ddof=1)),
        "ci_lower": float(np.quantile(draws, alpha)),
        "ci_upper": float(np.quantile(draws, 1 - alpha)),
        "evid_ratio": ratio,
        "post_prob": k / n,
        "star": star(ratio),
    }


def hypothesis_table(idata: Any, directions: Mapping[str, Direction] | None = None) -> pd.DataFrame:
    """One row per coefficient. A term missing from ``directions`` is tested in the
    direction of its posterior mean (the paper fixes directions per predictor; pass its
    directions to reproduce its tables)."""
    import pandas as pd

    rows = []
    for term, draws in coefficient_draws(idata).items():
        direction = (directions or {}).get(term) or (">" if draws.mean() >= 0 else "<")
        rows.append({"term": term, **hypothesis(draws, direction)})
    return pd.DataFrame(rows, columns=list(COLUMNS))


def convergence(idata: Any) -> pd.DataFrame:
    """R-hat, bulk and tail ESS per scalar parameter, plus the number of divergences."""
    import arviz as az

    summary = cast("pd.DataFrame", az.summary(idata, kind="diagnostics", round_to="none"))
    table = summary[["r_hat", "ess_bulk", "ess_tail"]].reset_index(names="parameter")
    divergences = 0
    if "sample_stats" in idata.groups() and "diverging" in idata.sample_stats:
        divergences = int(idata.sample_stats["diverging"].sum())
    table.attrs["divergences"] = divergences
    return table


def convergence_problems(table: pd.DataFrame) -> list[str]:
    """Plain-language problems in a :func:`convergence` table (empty when all is well)."""
    problems = []
    bad_rhat = table[table["r_hat"] > MAX_RHAT]
    if len(bad_rhat):
        worst = bad_rhat.sort_values("r_hat").iloc[-1]
        problems.append(
            f"{len(bad_rhat)} parameters with R-hat > {MAX_RHAT} "
            f"(worst {worst['parameter']}: {worst['r_hat']:.3f})"
        )
    for column in ("ess_bulk", "ess_tail"):
        low = table[table[column] < MIN_ESS]
        if len(low):
            worst = low.sort_values(column).iloc[0]
            problems.append(
                f"{len(low)} parameters with {column} < {MIN_ESS} "
                f"(worst {worst['parameter']}: {worst[column]:.0f})"
            )
    divergences = int(table.attrs.get("divergences", 0))
    if divergences:
        problems.append(f"{divergences} divergent transitions")
    return problems


def warn_on_problems(label: str, table: pd.DataFrame) -> list[str]:
    """Issue a :class:`ConvergenceWarning` per problem and return them."""
    problems = convergence_problems(table)
    for problem in problems:
        warnings.warn(f"{label}: {problem}", ConvergenceWarning, stacklevel=2)
    return problems
