"""The client side: talk to a perspective-local server over gRPC, score in-process, and
score whole files.

Importing this package loads neither torch nor the model (``load_local_backend`` loads them
when called); errors are the service's own classes, read back from the wire.
"""

from perspective_local.client._client import AsyncClient, Client, ServerBackend
from perspective_local.client._models import AnalyzeResult, AttributeScore, BatchResult, SpanScore
from perspective_local.client.local import load_local_backend, score_texts
from perspective_local.errors import (
    ApiKeyInvalid,
    ApiKeyMissing,
    CommentEmpty,
    CommentTooLong,
    DeadlineExceeded,
    InternalError,
    InvalidRequest,
    LanguageDetectionFailed,
    LanguageNotSupportedByAttribute,
    NoRequestedAttributes,
    NotReady,
    Overloaded,
    PerspectiveError,
)

__all__ = [
    "AnalyzeResult",
    "ApiKeyInvalid",
    "ApiKeyMissing",
    "AsyncClient",
    "AttributeScore",
    "BatchResult",
    "Client",
    "CommentEmpty",
    "CommentTooLong",
    "DeadlineExceeded",
    "InternalError",
    "InvalidRequest",
    "LanguageDetectionFailed",
    "LanguageNotSupportedByAttribute",
    "NoRequestedAttributes",
    "NotReady",
    "Overloaded",
    "PerspectiveError",
    "ServerBackend",
    "SpanScore",
    "load_local_backend",
    "score_texts",
]
