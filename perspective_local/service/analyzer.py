"""The use cases both transports share: AnalyzeComment, SuggestCommentScore, ScoreBatch and
introspection. Transports parse, call one method here, and render the result or the error.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from perspective_local.models.attributes import ATTRIBUTES
from perspective_local.proto import commentanalyzer_pb2 as ca
from perspective_local.proto import perspective_local_v1_pb2 as pl
from perspective_local.service import validation
from perspective_local.service.batcher import Batcher
from perspective_local.service.spans import sentences, utf16_length

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelDescription:
    """What the server says about its model."""

    model_version: str
    encoder: str
    device: str
    #: Attributes served, in registry order (the columns the batcher returns).
    attributes: tuple[str, ...]
    #: attribute -> the backend kind that scores it.
    routes: Mapping[str, str] = field(default_factory=dict)
    #: Each loaded backend: kind, model version, device, attributes it could serve.
    backends: tuple[pl.BackendInfo, ...] = ()


class Analyzer:
    """Validates requests, scores them through the batcher and builds the responses."""

    def __init__(
        self, batcher: Batcher, model: ModelDescription, *, max_comment_bytes: int
    ) -> None:
        self.batcher = batcher
        #: The server's Prometheus metrics (the batcher's), for the transports to count calls.
        self.metrics = batcher.metrics
        self.model = model
        self.limits = validation.Limits(max_comment_bytes, model.attributes)
        self._column = {name: i for i, name in enumerate(model.attributes)}

    @property
    def model_version(self) -> str:
        return self.model.model_version

    async def analyze(self, request: ca.AnalyzeCommentRequest) -> ca.AnalyzeCommentResponse:
        plan = validation.plan_analyze(request, self.limits)
        texts = [plan.text]
        spans = sentences(plan.text) if plan.spans else []
        # One batch entry holds the comment and its sentences; a one-sentence comment is
        # scored once.
        span_rows = []
        for span in spans:
            if span.text == plan.text:
                span_rows.append(0)
            else:
                span_rows.append(len(texts))
                texts.append(span.text)
        scores = await self.batcher.submit(texts) if plan.attributes else np.zeros((1, 0))
        log.debug(
            "analyze",
            extra={
                "bytes": len(plan.text.encode("utf-8")),
                "attributes": len(plan.attributes),
                "spans": len(spans),
                "do_not_store": request.do_not_store,
            },
        )
        response = ca.AnalyzeCommentResponse(
            languages=plan.languages,
            detected_languages=plan.detected,
            client_token=request.client_token,
            model_version=self.model_version,
        )
        whole = utf16_length(plan.text)
        for item in plan.attributes:
            column = self._column[item.attribute.name]
            summary = float(scores[0, column])
            if item.threshold is not None and summary < item.threshold:
                continue  # Perspective drops the whole attribute below its threshold.
            result = response.attribute_scores[item.key]
            result.summary_score.value = summary
            result.summary_score.type = ca.PROBABILITY
            if not plan.spans:
                # Many clients read spanScores[0] as the comment's score: one whole-text span.
                _add_span(result, 0, whole, summary)
            elif item.attribute.supports_spans:
                for span, row in zip(spans, span_rows, strict=True):
                    value = float(scores[row, column])
                    if item.threshold is None or value >= item.threshold:
                        _add_span(result, span.begin, span.end, value)
        return response

    async def suggest(
        self, request: ca.SuggestCommentScoreRequest
    ) -> ca.SuggestCommentScoreResponse:
        # Suggestions are acknowledged, never stored: nothing here trains on user data.
        detected = validation.plan_suggest(request, self.limits)
        return ca.SuggestCommentScoreResponse(
            detected_languages=detected,
            requested_languages=request.languages,
            client_token=request.client_token,
            model_version=self.model_version,
        )

    async def score_batch(
        self, texts: Sequence[str], attributes: Sequence[str] = (), *, name_index: bool = True
    ) -> pl.ScoreBatchResponse:
        names = validation.plan_batch(texts, attributes, self.limits, name_index=name_index)
        scores = await self.batcher.submit(list(texts))
        columns = [self._column[name] for name in names]
        response = pl.ScoreBatchResponse(attributes=names, model_version=self.model_version)
        for row in scores[:, columns] if len(texts) else []:
            response.results.add().scores.update(
                {name: float(v) for name, v in zip(names, row, strict=True)}
            )
        return response

    def list_attributes(self) -> pl.ListAttributesResponse:
        return pl.ListAttributesResponse(
            attributes=[
                pl.AttributeInfo(
                    name=a.name,
                    definition=a.definition,
                    group=a.group,
                    languages=a.languages,
                    supports_spans=a.supports_spans,
                    backend=self.model.routes.get(a.name, ""),
                )
                for a in (ATTRIBUTES[name] for name in self.model.attributes)
            ],
            model_version=self.model_version,
        )

    def model_info(self) -> pl.ModelInfo:
        return pl.ModelInfo(
            model_version=self.model_version,
            encoder=self.model.encoder,
            device=self.model.device,
            attributes=self.model.attributes,
            # The wire names predate the settings' renaming and stay for compatibility.
            max_batch_size=self.batcher.max_batch_texts or 0,
            max_batch_tokens=self.batcher.max_batch_tokens,
            max_queue=self.batcher.max_admitted_texts,
            max_comment_bytes=self.limits.max_comment_bytes,
            backends=self.model.backends,
            attribute_backends=self.model.routes,
        )


def _add_span(result: ca.AttributeScores, begin: int, end: int, value: float) -> None:
    span = result.span_scores.add(begin=begin, end=end)
    span.score.value = value
    span.score.type = ca.PROBABILITY
