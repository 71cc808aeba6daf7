"""The wire table: every error class survives REST and gRPC round trips field by field."""

from __future__ import annotations

import json

import grpc
import pytest

from perspective_local import errors
from perspective_local.errors import (
    ERROR_CLASSES,
    LanguageNotSupportedByAttribute,
    PerspectiveError,
    from_rest,
    from_status_proto,
    to_rest,
    to_status_proto,
)

INSTANCES: list[PerspectiveError] = [cls() for cls in ERROR_CLASSES] + [
    LanguageNotSupportedByAttribute("TOXICITY", ["de", "fr"], requested_languages=["de", "fr"]),
    LanguageNotSupportedByAttribute("SEXUALLY_EXPLICIT", ["om"], detected_languages=["om"]),
]


@pytest.mark.parametrize("exc", INSTANCES, ids=lambda e: type(e).__name__ + ":" + e.message[:20])
def test_round_trip(exc: PerspectiveError) -> None:
    status, body = to_rest(exc)
    assert status == exc.http_status
    assert json.loads(json.dumps(body)) == body
    assert from_rest(body) == exc
    assert from_status_proto(to_status_proto(exc)) == exc
    grpc_status = errors.to_grpc_status(exc)
    assert grpc_status.code == exc.grpc_code
    assert grpc_status.details == exc.message


def test_comment_empty_envelope_is_exactly_perspectives() -> None:
    status, body = to_rest(errors.CommentEmpty())
    assert status == 400
    assert body == {
        "error": {
            "code": 400,
            "message": "Comment must be non-empty.",
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.commentanalyzer.v1alpha1.Error",
                    "errorType": "COMMENT_EMPTY",
                }
            ],
        }
    }


def test_language_detail_keeps_its_fields() -> None:
    exc = LanguageNotSupportedByAttribute("SEXUALLY_EXPLICIT", ["om"], detected_languages=["om"])
    _, body = to_rest(exc)
    assert body["error"]["message"] == (
        "Attribute SEXUALLY_EXPLICIT does not support request languages: om"
    )
    assert body["error"]["details"] == [
        {
            "@type": "type.googleapis.com/google.commentanalyzer.v1alpha1.Error",
            "errorType": "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
            "languageNotSupportedByAttributeError": {
                "detectedLanguages": ["om"],
                "attribute": "SEXUALLY_EXPLICIT",
            },
        }
    ]
    back = from_rest(body)
    assert isinstance(back, LanguageNotSupportedByAttribute)
    assert (back.attribute, back.languages, back.detected_languages) == (
        "SEXUALLY_EXPLICIT", ("om",), ("om",),
    )  # fmt: skip


def test_status_codes_follow_the_table() -> None:
    assert errors.Overloaded().grpc_code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert to_rest(errors.Overloaded())[0] == 429
    assert to_rest(errors.NotReady())[0] == 503
    assert to_rest(errors.InternalError())[1]["error"]["status"] == "INTERNAL"
