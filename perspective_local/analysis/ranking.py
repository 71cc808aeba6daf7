"""Rerank candidate responses for a user by their fitted preference profile.

A profile's expected preference for a response is its expected utility under the user's
posterior weights, ``x @ E[w_user]`` (utility is linear in the weights, so the posterior
mean is exact for the expectation); an unknown user, or none, gets the population weights.
Within a group of candidates (one prompt), ``probability`` is the conditional-logit choice
probability at those weights, the model's own answer to "which would this user pick".
LLM effects are left out: they describe PRISM's 21 models, not new candidates.

``load_profiles(dir)`` reads what ``perspective-local profiles`` wrote; ``rank()`` takes
candidate records (``text``, optional ``group``, optional ``scores`` with Perspective's
attribute names) and returns them ranked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from perspective_local.analysis.scores import ScoresError, check_scores
from perspective_local.analysis.terms import PERSPECTIVE_SOURCES, PREDICTORS

PROFILES_FILE = "user_profiles.parquet"
POPULATION_FILE = "population.json"
#: Scores a list of texts: returns Perspective attribute -> probability per text.
Scorer = Callable[[Sequence[str]], Sequence[Mapping[str, float]]]


class ProfileError(ValueError):
    """A missing or malformed profile folder, or a user without a profile."""


@dataclass(frozen=True)
class ProfileBook:
    """Posterior-mean weights per user, and the population's."""

    users: Mapping[str, NDArray[np.float64]]
    population: NDArray[np.float64]
    source: Path

    def weights_for(self, user_id: str | None, *, strict: bool = True) -> NDArray[np.float64]:
        """The user's weights; ``None`` (or an unknown user when not ``strict``) gets the
        population's."""
        if user_id is None:
            return self.population
        if user_id in self.users:
            return self.users[user_id]
        if strict:
            examples = ", ".join(sorted(self.users)[:3])
            raise ProfileError(
                f"user {user_id!r} has no profile in {self.source} ({len(self.users)} users, "
                f"e.g. {examples}); omit the user to rank by the population's weights"
            )
        return self.population


def load_profiles(directory: str | Path) -> ProfileBook:
    """Read ``user_profiles.parquet`` and ``population.json`` from a profiles output folder."""
    import pandas as pd

    directory = Path(directory)
    table_path, population_path = directory / PROFILES_FILE, directory / POPULATION_FILE
    for path in (table_path, population_path):
        if not path.is_file():
            raise ProfileError(
                f"{path} not found; write a profile with `perspective-local profiles --out "
                f"{directory}`"
            )
    try:
        table = pd.read_parquet(table_path)
        population = json.loads(population_path.read_text(encoding="utf-8"))
        weights = np.array(population["weight"]["mean"], dtype=float)
        attributes = population["attributes"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProfileError(f"{directory}: not a readable profile ({exc})") from None
    if list(attributes) != list(PREDICTORS) or weights.shape != (len(PREDICTORS),):
        raise ProfileError(f"{population_path}: attributes {attributes} are not {PREDICTORS}")
    missing = {"user_id", "attribute", "mean"} - set(table.columns)
    if missing:
        raise ProfileError(f"{table_path}: missing columns {sorted(missing)}")
    wide = table.pivot(index="user_id", columns="attribute", values="mean")
    wide = wide.reindex(columns=list(PREDICTORS))
    if wide.isna().any().any():
        raise ProfileError(f"{table_path}: some users lack a weight for every attribute")
    users = {str(u): row.to_numpy(dtype=float) for u, row in wide.iterrows()}
    return ProfileBook(users, weights, directory)


def study_attributes(scores: Mapping[str, float]) -> NDArray[np.float64]:
    """The seven study attributes of one text from its Perspective probabilities."""
    values = []
    for term in PREDICTORS:
        value = 1.0
        for source in PERSPECTIVE_SOURCES[term]:
            value *= scores[source]
        values.append(value)
    return np.array(values)


def _checked_candidates(candidates: Sequence[Mapping[str, Any]]) -> None:
    if not candidates:
        raise ProfileError("no candidates to rank")
    for number, record in enumerate(candidates, start=1):
        if not isinstance(record, Mapping):
            raise ProfileError(f"candidate {number}: expected an object")
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ProfileError(f"candidate {number}: field 'text': missing, empty or not a string")
        group = record.get("group")
        if group is not None and not isinstance(group, str | int):
            raise ProfileError(f"candidate {number}: field 'group': expected a string")
        scores = record.get("scores")
        if scores is not None and not isinstance(scores, Mapping):
            raise ProfileError(f"candidate {number}: field 'scores': expected an object")


def rank(
    book: ProfileBook,
    candidates: Sequence[Mapping[str, Any]],
    *,
    user_id: str | None = None,
    scorer: Scorer | None = None,
    strict: bool = True,
) -> list[dict[str, Any]]:
    """Candidates with ``utility``, ``probability`` and ``rank`` (1 = best) within their
    (user, ``group``), best first, groups in first-seen order.

    A candidate's ``user_id`` overrides ``user_id``. Candidates without ``scores`` are
    scored by ``scorer`` (the CLI passes the local model); without one they are an error.
    """
    _checked_candidates(candidates)
    # Users first: an unknown user fails before any text is scored.
    users = [candidate.get("user_id", user_id) for candidate in candidates]
    weights_of = [book.weights_for(None if u is None else str(u), strict=strict) for u in users]
    unscored = [i for i, c in enumerate(candidates) if c.get("scores") is None]
    fresh: dict[int, Mapping[str, float]] = {}
    if unscored:
        if scorer is None:
            raise ProfileError(
                f"{len(unscored)} candidates have no 'scores' (first: candidate "
                f"{unscored[0] + 1}) and no scorer was given"
            )
        results = scorer([str(candidates[i]["text"]) for i in unscored])
        fresh = dict(zip(unscored, results, strict=True))
    ranked: list[dict[str, Any]] = []
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for i, record in enumerate(candidates):
        try:
            scores = check_scores(fresh.get(i) or record["scores"], f"candidate {i + 1}")
        except ScoresError as exc:
            raise ProfileError(str(exc)) from None
        user = users[i]
        utility = float(study_attributes(scores) @ weights_of[i])
        item = {**record, "scores": scores, "utility": utility}
        if user is not None:
            item["user_id"] = str(user)
        groups.setdefault((str(user), str(record.get("group", ""))), []).append(item)
    for items in groups.values():
        utilities = np.array([item["utility"] for item in items])
        probabilities = np.exp(utilities - utilities.max())
        probabilities /= probabilities.sum()
        for item, probability in zip(items, probabilities, strict=True):
            item["probability"] = float(probability)
        items.sort(key=lambda item: -float(item["utility"]))
        for position, item in enumerate(items, start=1):
            item["rank"] = position
        ranked.extend(items)
    return ranked
