"""What both transports do around every call, written once: time it, count its outcome in
the Prometheus metrics, log unexpected exceptions and turn them into ``InternalError``; and
the API key: where each transport finds it, and the check.

A transport wraps a call in ``observed(...)``, which yields a ``Call``; a ``PerspectiveError``
(or any other exception, as ``InternalError``) raised inside comes out as ``call.error``
for the transport to render its own way (REST envelope, gRPC status). The key is checked
by ``validation.check_api_key``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from perspective_local.errors import InternalError, PerspectiveError
from perspective_local.service.metrics import Metrics

log = logging.getLogger(__name__)

#: Query parameters that may carry the API key over REST, in the order they are read.
KEY_PARAMS = ("key", "access_token", "oauth_token")


@dataclass
class Call:
    """One observed call: ``error`` is set when it failed; ``code`` is what is counted."""

    transport: str
    method: str
    error: PerspectiveError | None = None
    code: str = "OK"


@contextmanager
def observed(
    metrics: Metrics,
    transport: str,
    method: str,
    *,
    reraise: tuple[type[Exception], ...] = (),
) -> Iterator[Call]:
    """Time and count the call made inside; a ``PerspectiveError`` it raises, or any other
    exception (logged, as ``InternalError``), ends up in ``Call.error``. Cancellation and the
    exceptions in ``reraise`` (a transport's own way out) are counted as ``CANCELLED`` and
    propagate."""
    call = Call(transport, method)
    started = time.perf_counter()
    try:
        yield call
    except PerspectiveError as exc:
        call.error, call.code = exc, exc.status
    except asyncio.CancelledError:
        call.code = "CANCELLED"
        raise
    except Exception as exc:
        if isinstance(exc, reraise):
            call.code = "CANCELLED"
            raise
        log.exception("unexpected error", extra={"transport": transport, "method": method})
        call.error, call.code = InternalError(), "INTERNAL"
    finally:
        metrics.requests.labels(transport, method, call.code).inc()
        metrics.request_seconds.labels(transport, method).observe(time.perf_counter() - started)


def rest_api_key(params: Mapping[str, str], headers: Mapping[str, str]) -> str | None:
    """The key a REST caller sent: ``?key=`` (or ``access_token`` / ``oauth_token``),
    ``X-Goog-Api-Key`` or ``Authorization: Bearer ...``; ``headers`` have lower-case names."""
    for name in KEY_PARAMS:
        if params.get(name):
            return params[name]
    if headers.get("x-goog-api-key"):
        return headers["x-goog-api-key"]
    return _bearer(headers.get("authorization", ""))


def grpc_api_key(metadata: Iterable[tuple[str, str | bytes]]) -> str | None:
    """The key a gRPC caller sent: ``x-goog-api-key`` or ``authorization: Bearer ...``."""
    for key, value in metadata:
        text = value.decode() if isinstance(value, bytes) else value
        if key == "x-goog-api-key":
            return text
        if key == "authorization" and (token := _bearer(text)) is not None:
            return token
    return None


def _bearer(value: str) -> str | None:
    return value[7:].strip() if value.lower().startswith("bearer ") else None
