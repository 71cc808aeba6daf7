"""Result types returned by ``Client`` and ``AsyncClient``: plain frozen dataclasses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format

from perspective_local.proto import commentanalyzer_pb2 as ca
from perspective_local.proto import perspective_local_v1_pb2 as pl


@dataclass(frozen=True)
class SpanScore:
    """A score for ``text[begin:end]`` (UTF-16 code units, end exclusive)."""

    begin: int
    end: int
    score: float


@dataclass(frozen=True)
class AttributeScore:
    """One attribute's summary score and its span scores."""

    summary: float
    spans: tuple[SpanScore, ...] = ()


@dataclass(frozen=True)
class AnalyzeResult:
    """A Perspective AnalyzeComment answer. ``result["TOXICITY"]`` is the summary score."""

    attribute_scores: Mapping[str, AttributeScore]
    languages: tuple[str, ...]
    detected_languages: tuple[str, ...]
    client_token: str
    model_version: str
    #: The response as Perspective's JSON (camelCase keys), for code written against it.
    raw: Mapping[str, Any]

    def __getitem__(self, attribute: str) -> float:
        return self.attribute_scores[attribute].summary

    def scores(self) -> dict[str, float]:
        """Summary score per returned attribute."""
        return {name: score.summary for name, score in self.attribute_scores.items()}

    def to_dict(self) -> dict[str, Any]:
        return dict(self.raw)

    @classmethod
    def from_proto(cls, response: ca.AnalyzeCommentResponse) -> AnalyzeResult:
        scores = {
            name: AttributeScore(
                summary=value.summary_score.value,
                spans=tuple(
                    SpanScore(span.begin, span.end, span.score.value) for span in value.span_scores
                ),
            )
            for name, value in response.attribute_scores.items()
        }
        return cls(
            attribute_scores=scores,
            languages=tuple(response.languages),
            detected_languages=tuple(response.detected_languages),
            client_token=response.client_token,
            model_version=response.model_version,
            raw=json_format.MessageToDict(response),
        )


@dataclass(frozen=True)
class BatchResult:
    """ScoreBatch answer: one ``{attribute: probability}`` per text, in input order."""

    scores: tuple[dict[str, float], ...]
    attributes: tuple[str, ...]
    model_version: str

    def __len__(self) -> int:
        return len(self.scores)

    @classmethod
    def from_proto(cls, response: pl.ScoreBatchResponse) -> BatchResult:
        names = tuple(response.attributes)
        return cls(
            scores=tuple({name: r.scores[name] for name in names} for r in response.results),
            attributes=names,
            model_version=response.model_version,
        )
