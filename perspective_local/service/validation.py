"""Request rules (size, type, context, attributes, score types, languages) -> typed errors.

Each ``plan_*`` function turns a parsed request into a plan the analyzer can execute, or
raises the error Perspective gives for the first rule the request breaks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from perspective_local.errors import (
    ApiKeyInvalid,
    ApiKeyMissing,
    CommentEmpty,
    CommentTooLong,
    InvalidRequest,
    LanguageDetectionFailed,
    LanguageNotSupportedByAttribute,
    NoRequestedAttributes,
)
from perspective_local.models.attributes import ATTRIBUTES, Attribute, UnknownAttributeError
from perspective_local.models.attributes import get_attribute as registry_lookup
from perspective_local.proto import commentanalyzer_pb2 as ca
from perspective_local.service.languages import detect_languages


@dataclass(frozen=True)
class Limits:
    """What the loaded model and the settings allow."""

    max_comment_bytes: int
    #: Attributes the model has heads for, in head order.
    served: tuple[str, ...]


@dataclass(frozen=True)
class Requested:
    """One requested attribute: the key as the caller spelled it and the registry entry."""

    key: str
    attribute: Attribute
    threshold: float | None


@dataclass(frozen=True)
class AnalyzePlan:
    text: str
    attributes: tuple[Requested, ...]
    #: Effective languages: the request's, else the first detected one.
    languages: tuple[str, ...]
    detected: tuple[str, ...]
    spans: bool


def check_api_key(key: str | None, accepted: frozenset[str]) -> None:
    """Raise unless ``key`` is accepted; with no keys configured, every call is accepted."""
    if not accepted:
        return
    if not key:
        raise ApiKeyMissing()
    if key not in accepted:
        raise ApiKeyInvalid()


def check_text_types(data: Mapping[str, Any]) -> None:
    """Reject an unknown ``comment.type`` with Perspective's message, before proto parsing
    turns it into a generic JSON error."""
    comment = data.get("comment")
    kind = comment.get("type") if isinstance(comment, Mapping) else None
    if kind is None:
        return
    if isinstance(kind, str):
        valid = kind in ca.TextType.keys()  # noqa: SIM118 - an enum wrapper, not a dict
    else:
        # proto3 JSON allows an enum's number; a bool is not one.
        valid = type(kind) is int and kind in ca.TextType.values()
    if not valid:
        raise InvalidRequest("Unknown text type")


def check_comment(comment: ca.TextEntry, limits: Limits, *, where: str = "") -> str:
    """The comment's text, if it is non-empty, plain text and within the byte limit."""
    text = comment.text
    if not text.strip():
        raise CommentEmpty(where + CommentEmpty.default_message if where else None)
    if len(text.encode("utf-8")) > limits.max_comment_bytes:
        raise CommentTooLong(where + CommentTooLong.default_message if where else None)
    if comment.type == ca.HTML:
        raise InvalidRequest("Currently, only 'PLAIN_TEXT' comments are supported")
    return text


def check_context(context: ca.Context) -> None:
    if context.entries and context.HasField("article_and_parent_comment"):
        raise InvalidRequest(
            "Context can have either entries or article_and_parent_comment, but both fields "
            "were populated."
        )


def lookup(key: str, limits: Limits) -> Attribute:
    """The attribute a request key names (case-insensitive), if this model serves it."""
    try:
        attribute = registry_lookup(key.strip().upper())
    except UnknownAttributeError:
        raise InvalidRequest(f"Unknown requested attribute: {key}") from None
    if attribute.name not in limits.served:
        # Perspective's message first (clients match on it), then why and what would serve it.
        raise InvalidRequest(
            f"Unknown requested attribute: {key}. No loaded backend serves it; the "
            f"{attribute.backend} backend can (settings: backends)."
        )
    return attribute


def supports(attribute: Attribute, language: str) -> bool:
    """Whether ``attribute`` serves a BCP-47 ``language`` (``en-US`` counts as ``en``)."""
    served = {lang.lower() for lang in attribute.languages}
    tag = language.strip().lower().replace("_", "-")
    return tag in served or tag.split("-", 1)[0] in served


def plan_analyze(request: ca.AnalyzeCommentRequest, limits: Limits) -> AnalyzePlan:
    """Validate an AnalyzeCommentRequest; the order of checks follows the request's fields."""
    text = check_comment(request.comment, limits)
    check_context(request.context)
    if not request.requested_attributes:
        raise NoRequestedAttributes()
    requested: list[Requested] = []
    for key, params in request.requested_attributes.items():
        attribute = lookup(key, limits)
        if params.score_type not in (ca.SCORE_TYPE_UNSPECIFIED, ca.PROBABILITY):
            raise InvalidRequest(
                f"Requested score type {ca.ScoreType.Name(params.score_type)} is not "
                f"supported by attribute {attribute.name}"
            )
        threshold = params.score_threshold.value if params.HasField("score_threshold") else None
        requested.append(Requested(key, attribute, threshold))

    detected = tuple(detect_languages(text))
    given = tuple(request.languages)
    if given:
        languages = given
    elif detected:
        languages = (detected[0],)
    else:
        raise LanguageDetectionFailed()
    kept: list[Requested] = []
    for item in requested:
        unsupported = [lang for lang in languages if not supports(item.attribute, lang)]
        if not unsupported:
            kept.append(item)
        elif not request.drop_unsupported_attributes:
            raise LanguageNotSupportedByAttribute(
                item.attribute.name,
                languages,
                detected_languages=() if given else detected,
                requested_languages=given,
            )
    return AnalyzePlan(text, tuple(kept), languages, detected, request.span_annotations)


def plan_suggest(request: ca.SuggestCommentScoreRequest, limits: Limits) -> tuple[str, ...]:
    """Validate a SuggestCommentScoreRequest; returns the detected languages."""
    text = check_comment(request.comment, limits)
    check_context(request.context)
    if not request.attribute_scores:
        raise InvalidRequest("Missing attribute_scores")
    for key, scores in request.attribute_scores.items():
        lookup(key, limits)
        for span in scores.span_scores:
            if not (span.HasField("begin") and span.HasField("end")):
                raise InvalidRequest(f"Span scores of attribute {key} must have begin and end")
        values = [s.score for s in scores.span_scores] + (
            [scores.summary_score] if scores.HasField("summary_score") else []
        )
        for score in values:
            if score.type not in (ca.SCORE_TYPE_UNSPECIFIED, ca.PROBABILITY):
                raise InvalidRequest(
                    f"Requested score type {ca.ScoreType.Name(score.type)} is not supported "
                    f"by attribute {key}"
                )
            if score.HasField("value") and not 0.0 <= score.value <= 1.0:
                raise InvalidRequest(f"Score of attribute {key} must lie in [0, 1]")
    return tuple(detect_languages(text))


def plan_batch(
    texts: Sequence[str], attributes: Sequence[str], limits: Limits, *, name_index: bool = True
) -> tuple[str, ...]:
    """Validate a ScoreBatch; returns the attribute names (all served ones when none given).
    With ``name_index``, a bad text's error message starts with its index (``texts[3]: ``)."""
    for i, text in enumerate(texts):
        where = f"texts[{i}]: " if name_index else ""
        check_comment(ca.TextEntry(text=text), limits, where=where)
    if not attributes:
        return limits.served
    names = {lookup(key, limits).name for key in attributes}
    return tuple(name for name in limits.served if name in names)


def all_served(limits: Limits) -> list[Attribute]:
    return [ATTRIBUTES[name] for name in limits.served]
