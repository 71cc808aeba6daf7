"""Attach Perspective scores to the PRISM responses table, from a file or scored on the fly.

A scores file is the JSONL that ``perspective-local score`` writes: each record keeps its
input ``text`` and adds ``scores`` (full Perspective names) and ``model_version``. Texts are
joined on exact equality. Without a file, texts are scored in-process or through a running
server (``score_in_process``, ``score_through_server``). ``attach_scores`` adds the study's
columns: the seven predictors for the response and the same seven with the ``_human``
suffix for the opening prompt, with ``REASONING_NUANCE = REASONING x NUANCE``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from perspective_local.analysis.prism import LoadReport, PrismData
from perspective_local.analysis.terms import (
    PERSPECTIVE_SOURCES,
    PREDICTORS,
    REQUIRED_PERSPECTIVE,
    human,
)

if TYPE_CHECKING:
    import pandas as pd

    from perspective_local.settings import Settings

ScoreLookup = Mapping[str, Mapping[str, float]]
#: Examples of unscored texts an error message shows.
MAX_EXAMPLES = 3


class ScoresError(ValueError):
    """A scores file is malformed, or does not cover the texts the analyses need."""


@dataclass(frozen=True)
class Scores:
    """Per-text Perspective probabilities and the model version(s) that produced them."""

    by_text: dict[str, dict[str, float]]
    model_versions: tuple[str, ...]


def texts_to_score(data: PrismData) -> list[str]:
    """The distinct non-empty opening prompts and responses, in first-seen order."""
    responses = data.responses
    prompts = responses.loc[~responses["empty_prompt"], "prompt"]
    replies = responses.loc[~responses["empty_response"], "response"]
    return list(dict.fromkeys([*prompts, *replies]))


def read_scores_file(path: str | Path) -> Scores:
    """Read a ``perspective-local score`` output file; every problem names line and field."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"scores file {path} not found")
    by_text: dict[str, dict[str, float]] = {}
    versions: dict[str, None] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path.name} line {number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ScoresError(f"{where}: not valid JSON ({exc.msg})") from exc
            text = record.get("text") if isinstance(record, dict) else None
            scores = record.get("scores") if isinstance(record, dict) else None
            if not isinstance(text, str):
                raise ScoresError(f"{where}: field 'text': missing or not a string")
            if not isinstance(scores, dict):
                raise ScoresError(f"{where}: field 'scores': missing or not an object")
            clean = check_scores(scores, where)
            if text in by_text and by_text[text] != clean:
                raise ScoresError(f"{where}: text {text[:60]!r} scored twice with different values")
            by_text[text] = clean
            version = record.get("model_version")
            if isinstance(version, str):
                versions[version] = None
    return Scores(by_text, tuple(versions))


def check_scores(scores: Mapping[str, object], where: str) -> dict[str, float]:
    clean: dict[str, float] = {}
    for name in REQUIRED_PERSPECTIVE:
        value = scores.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScoresError(
                f"{where}: field 'scores.{name}': missing or not a number "
                f"(the study needs {', '.join(REQUIRED_PERSPECTIVE)})"
            )
        if math.isnan(value) or not 0.0 <= value <= 1.0:
            raise ScoresError(f"{where}: field 'scores.{name}': {value!r} is not a probability")
        clean[name] = float(value)
    return clean


def score_in_process(texts: Sequence[str], *, settings: Settings | None = None) -> Scores:
    """Score texts in-process with the model ``settings`` configure (default: the packaged
    one), through the client (imports torch lazily)."""
    from perspective_local.client.local import score_texts

    results, version = score_texts(
        texts, list(REQUIRED_PERSPECTIVE), settings=settings, progress=True
    )
    return _checked(texts, results, version)


def score_through_server(
    texts: Sequence[str], target: str, *, api_key: str | None = None
) -> Scores:
    """Score texts through a running ``perspective-local serve`` (gRPC ``ScoreBatch``).

    The server's errors arrive as the service's own classes (``NotReady`` when it cannot
    be reached, ``Overloaded``, ``PerspectiveError``) for the caller to report.
    """
    from perspective_local.client import ServerBackend
    from perspective_local.client.batch import score_in_chunks

    backend = ServerBackend(target, api_key=api_key)
    try:
        results = score_in_chunks(
            backend, texts, REQUIRED_PERSPECTIVE, chunk_size=backend.chunk_size, progress=True
        )
        return _checked(texts, results, backend.model_version)
    finally:
        backend.close()


def _checked(texts: Sequence[str], results: Sequence[Mapping[str, float]], version: str) -> Scores:
    return Scores(
        {
            text: check_scores(r, f"scored text {i}")
            for i, (text, r) in enumerate(zip(texts, results, strict=True))
        },
        (str(version),),
    )


def _study_columns(texts: Iterable[str], lookup: ScoreLookup) -> dict[str, list[float]]:
    columns: dict[str, list[float]] = {term: [] for term in PREDICTORS}
    for text in texts:
        scores = lookup[text]
        for term, sources in PERSPECTIVE_SOURCES.items():
            value = 1.0
            for source in sources:
                value *= scores[source]
            columns[term].append(value)
    return columns


def attach_scores(data: PrismData, scores: Scores, *, allow_missing: bool = False) -> pd.DataFrame:
    """The responses table with study attribute columns for response and opening prompt.

    Rows whose prompt or response is PRISM's ``EMPTY STRING`` cannot be scored and are
    dropped with a count in ``data.report``. A text missing from ``scores`` is an error
    unless ``allow_missing``, in which case its rows are dropped and counted too.
    """
    responses = data.responses
    report: LoadReport = data.report
    empty = responses["empty_prompt"] | responses["empty_response"]
    report.add("responses dropped: prompt or response is EMPTY STRING", int(empty.sum()))
    responses = responses[~empty]

    lookup = scores.by_text
    missing_prompt = ~responses["prompt"].isin(lookup.keys())
    missing_response = ~responses["response"].isin(lookup.keys())
    missing = missing_prompt | missing_response
    if missing.any():
        unscored = list(
            dict.fromkeys(
                [
                    *responses.loc[missing_prompt, "prompt"],
                    *responses.loc[missing_response, "response"],
                ]
            )
        )
        examples = "; ".join(repr(t[:60]) for t in unscored[:MAX_EXAMPLES])
        message = (
            f"{len(unscored)} texts have no scores ({int(missing.sum())} of "
            f"{len(responses)} responses affected), e.g. {examples}"
        )
        if not allow_missing:
            raise ScoresError(message + ". Score them, or pass --allow-missing-scores to skip.")
        report.add("responses dropped: text missing from scores", int(missing.sum()))
        responses = responses[~missing]
    if len(scores.model_versions) > 1:
        report.add(f"scores come from {len(scores.model_versions)} model versions (mixed)")

    responses = responses.copy()
    for term, values in _study_columns(responses["response"], lookup).items():
        responses[term] = values
    for term, values in _study_columns(responses["prompt"], lookup).items():
        responses[human(term)] = values
    responses.attrs["model_versions"] = ",".join(scores.model_versions)
    return responses.reset_index(drop=True)
