"""Service errors and the one table that maps them to the wire (REST envelope, gRPC Status).

The hierarchy::

    PerspectiveError                 anything the service answers with an error
    ├── BadRequest                   400 INVALID_ARGUMENT, with a commentanalyzer Error detail
    │   ├── CommentEmpty             COMMENT_EMPTY
    │   ├── CommentTooLong           COMMENT_TOO_LONG
    │   ├── NoRequestedAttributes    NO_REQUESTED_ATTRIBUTES
    │   ├── LanguageNotSupportedByAttribute   LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE
    │   ├── LanguageDetectionFailed  LANGUAGE_DETECTION_FAILED
    │   └── InvalidRequest           INVALID_REQUEST (unknown attribute, bad score type, ...)
    ├── ApiKeyInvalid                400 INVALID_ARGUMENT, ErrorInfo API_KEY_INVALID
    ├── ApiKeyMissing                403 PERMISSION_DENIED
    ├── NotFound                     404 NOT_FOUND (REST routes only)
    ├── Overloaded                   429 RESOURCE_EXHAUSTED, ErrorInfo RATE_LIMIT_EXCEEDED
    ├── NotReady                     503 UNAVAILABLE (model loading or shutting down)
    ├── DeadlineExceeded             504 DEADLINE_EXCEEDED (client side: the call ran out of time)
    └── InternalError                500 INTERNAL (details are logged, never sent)

Validation and the analyzer raise these; each transport translates exactly once at its
edge with ``to_rest`` / ``to_grpc_status``. The client reads them back with ``from_rest`` /
``from_grpc`` and raises the same classes. This module imports no torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import grpc
from google.protobuf import any_pb2, json_format

# googleapis-common-protos ships .pyi files but no py.typed marker.
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from grpc_status import rpc_status

from perspective_local.proto import commentanalyzer_pb2 as ca

ERROR_TYPE_URL = "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"
#: Service name used in ErrorInfo details, as Google's front end reports it.
SERVICE_DOMAIN = "googleapis.com"
SERVICE_NAME = "commentanalyzer.googleapis.com"


class PerspectiveError(Exception):
    """Base of every error the service answers with."""

    http_status: ClassVar[int] = 500
    grpc_code: ClassVar[grpc.StatusCode] = grpc.StatusCode.INTERNAL
    #: The commentanalyzer ``ErrorType`` name, or ``None`` for errors without that detail.
    error_type: ClassVar[str | None] = None
    default_message: ClassVar[str] = "Internal error encountered."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)

    @property
    def status(self) -> str:
        """Google's status string, e.g. ``INVALID_ARGUMENT``."""
        return self.grpc_code.name

    def details(self) -> list[Any]:
        """Protobuf messages to pack into ``google.rpc.Status.details``."""
        if self.error_type is None:
            return []
        return [ca.Error(error_type=self.error_type)]

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and isinstance(other, PerspectiveError)
            and self.message == other.message
        )

    def __hash__(self) -> int:
        return hash((type(self), self.message))


class BadRequest(PerspectiveError):
    """The request was understood and rejected (HTTP 400, INVALID_ARGUMENT)."""

    http_status = 400
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT
    error_type = "INVALID_REQUEST"
    default_message = "Invalid request."


class CommentEmpty(BadRequest):
    """The comment text is missing or blank."""

    error_type = "COMMENT_EMPTY"
    default_message = "Comment must be non-empty."


class CommentTooLong(BadRequest):
    """The comment text is over the byte limit (20 KB by default)."""

    error_type = "COMMENT_TOO_LONG"
    default_message = "Comment text too long."


class NoRequestedAttributes(BadRequest):
    """``requestedAttributes`` is missing or empty."""

    error_type = "NO_REQUESTED_ATTRIBUTES"
    default_message = "Missing requested_attributes"


class LanguageDetectionFailed(BadRequest):
    """No language was given and none could be detected."""

    error_type = "LANGUAGE_DETECTION_FAILED"
    default_message = "Unable to detect language"


class InvalidRequest(BadRequest):
    """Any other malformed request: unknown attribute, bad score type, HTML, bad JSON."""


class LanguageNotSupportedByAttribute(BadRequest):
    """An attribute does not serve one of the request's effective languages."""

    error_type = "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"

    def __init__(
        self,
        attribute: str,
        languages: Sequence[str],
        *,
        detected_languages: Sequence[str] = (),
        requested_languages: Sequence[str] = (),
        message: str | None = None,
    ) -> None:
        self.attribute = attribute
        self.languages = tuple(languages)
        self.detected_languages = tuple(detected_languages)
        self.requested_languages = tuple(requested_languages)
        super().__init__(
            message
            or f"Attribute {attribute} does not support request languages: "
            f"{', '.join(self.languages)}"
        )

    def details(self) -> list[Any]:
        return [
            ca.Error(
                error_type=ca.LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE,
                language_not_supported_by_attribute_error=ca.LanguageNotSupportedByAttributeError(
                    detected_languages=self.detected_languages,
                    requested_languages=self.requested_languages,
                    attribute=self.attribute,
                ),
            )
        ]


def _error_info(reason: str) -> Any:
    """A ``google.rpc.ErrorInfo`` detail as Google's front end sends it."""
    return error_details_pb2.ErrorInfo(
        reason=reason, domain=SERVICE_DOMAIN, metadata={"service": SERVICE_NAME}
    )


class ApiKeyInvalid(PerspectiveError):
    """A key was sent and is not one of the configured keys."""

    http_status = 400
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT
    default_message = "API key not valid. Please pass a valid API key."

    def details(self) -> list[Any]:
        return [_error_info("API_KEY_INVALID")]


class ApiKeyMissing(PerspectiveError):
    """Keys are configured and the request carried none."""

    http_status = 403
    grpc_code = grpc.StatusCode.PERMISSION_DENIED
    default_message = "The request is missing a valid API key."


class NotFound(PerspectiveError):
    """No such REST route."""

    http_status = 404
    grpc_code = grpc.StatusCode.NOT_FOUND
    default_message = "The requested URL was not found on this server."


class Overloaded(PerspectiveError):
    """The request queue is full; retry with backoff."""

    http_status = 429
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED
    default_message = "The server is overloaded: the scoring queue is full. Retry later."

    def details(self) -> list[Any]:
        return [_error_info("RATE_LIMIT_EXCEEDED")]


class NotReady(PerspectiveError):
    """The model is still loading, or the server is shutting down."""

    http_status = 503
    grpc_code = grpc.StatusCode.UNAVAILABLE
    default_message = "The service is currently unavailable."


class DeadlineExceeded(PerspectiveError):
    """The call did not finish before its deadline."""

    http_status = 504
    grpc_code = grpc.StatusCode.DEADLINE_EXCEEDED
    default_message = "Deadline exceeded."


class InternalError(PerspectiveError):
    """Anything unexpected; the traceback is logged, the client gets a generic message."""


#: The one table: wire status -> class to raise when no detail says more.
_BY_GRPC_CODE: Mapping[grpc.StatusCode, type[PerspectiveError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidRequest,
    grpc.StatusCode.PERMISSION_DENIED: ApiKeyMissing,
    grpc.StatusCode.UNAUTHENTICATED: ApiKeyMissing,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.RESOURCE_EXHAUSTED: Overloaded,
    grpc.StatusCode.UNAVAILABLE: NotReady,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.INTERNAL: InternalError,
}
#: commentanalyzer ErrorType name -> class.
_BY_ERROR_TYPE: Mapping[str, type[BadRequest]] = {
    cls.error_type: cls
    for cls in (
        CommentEmpty,
        CommentTooLong,
        NoRequestedAttributes,
        LanguageDetectionFailed,
        InvalidRequest,
        LanguageNotSupportedByAttribute,
    )
    if cls.error_type is not None
}
#: ErrorInfo reason -> class.
_BY_REASON: Mapping[str, type[PerspectiveError]] = {
    "API_KEY_INVALID": ApiKeyInvalid,
    "RATE_LIMIT_EXCEEDED": Overloaded,
}


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def to_status_proto(exc: PerspectiveError) -> status_pb2.Status:
    """The ``google.rpc.Status`` for ``exc``; both transports render this one object."""
    return status_pb2.Status(
        code=exc.grpc_code.value[0],
        message=exc.message,
        details=[_pack(detail) for detail in exc.details()],
    )


def to_grpc_status(exc: PerspectiveError) -> grpc.Status:
    """A status for ``context.abort_with_status``: code, message and packed details."""
    return rpc_status.to_status(to_status_proto(exc))


def to_rest(exc: PerspectiveError) -> tuple[int, dict[str, Any]]:
    """The HTTP status and Google's JSON error envelope for ``exc``."""
    error: dict[str, Any] = {"code": exc.http_status, "message": exc.message, "status": exc.status}
    details = [json_format.MessageToDict(_pack(d)) for d in exc.details()]
    if details:
        error["details"] = details
    return exc.http_status, {"error": error}


def from_status_proto(status: status_pb2.Status) -> PerspectiveError:
    """The exception a ``google.rpc.Status`` stands for (the reverse of ``to_status_proto``)."""
    code = _code_from_int(status.code)
    for packed in status.details:
        if packed.Is(ca.Error.DESCRIPTOR):
            detail = ca.Error()
            packed.Unpack(detail)
            return _from_error_detail(detail, status.message)
        if packed.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            packed.Unpack(info)
            if info.reason in _BY_REASON:
                return _BY_REASON[info.reason](status.message)
    cls = _BY_GRPC_CODE.get(code, InternalError)
    return cls(status.message)


def from_grpc(error: grpc.RpcError) -> PerspectiveError:
    """The exception a failed gRPC call stands for, details included."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is not None:
        return from_status_proto(status)
    code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
    message = error.details() if isinstance(error, grpc.Call) else str(error)
    return _BY_GRPC_CODE.get(code, InternalError)(message or None)


def from_rest(body: Mapping[str, Any]) -> PerspectiveError:
    """The exception a Google JSON error envelope stands for."""
    error = body.get("error", {})
    status = status_pb2.Status(
        code=grpc.StatusCode[error.get("status", "INTERNAL")].value[0],
        message=error.get("message", ""),
    )
    for detail in error.get("details", []):
        status.details.append(json_format.ParseDict(detail, any_pb2.Any()))
    return from_status_proto(status)


def _from_error_detail(detail: ca.Error, message: str) -> PerspectiveError:
    name = ca.ErrorType.Name(detail.error_type)
    if name == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE":
        info = detail.language_not_supported_by_attribute_error
        languages = message.rpartition(": ")[2].split(", ") if ": " in message else []
        return LanguageNotSupportedByAttribute(
            info.attribute,
            languages,
            detected_languages=info.detected_languages,
            requested_languages=info.requested_languages,
            message=message,
        )
    return _BY_ERROR_TYPE.get(name, InvalidRequest)(message)


def _code_from_int(value: int) -> grpc.StatusCode:
    for code in grpc.StatusCode:
        if code.value[0] == value:
            return code
    return grpc.StatusCode.UNKNOWN


#: Every concrete error class, for tests that walk the table.
ERROR_CLASSES: tuple[type[PerspectiveError], ...] = (
    CommentEmpty,
    CommentTooLong,
    NoRequestedAttributes,
    LanguageDetectionFailed,
    InvalidRequest,
    ApiKeyInvalid,
    ApiKeyMissing,
    NotFound,
    Overloaded,
    NotReady,
    DeadlineExceeded,
    InternalError,
)
