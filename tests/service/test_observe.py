"""The call observation both transports share: counting, timing, error mapping, API keys."""

from __future__ import annotations

import asyncio
import logging

import pytest

from perspective_local.errors import CommentEmpty, InternalError
from perspective_local.service.metrics import Metrics
from perspective_local.service.observe import grpc_api_key, observed, rest_api_key


def count(metrics: Metrics, method: str, code: str) -> float:
    value = metrics.registry.get_sample_value(
        "perspective_requests_total", {"transport": "t", "method": method, "code": code}
    )
    return value or 0.0


def test_outcomes_are_counted_and_errors_kept() -> None:
    metrics = Metrics()
    with observed(metrics, "t", "m") as ok:
        pass
    assert ok.error is None and count(metrics, "m", "OK") == 1
    with observed(metrics, "t", "m") as bad:
        raise CommentEmpty()
    assert bad.error == CommentEmpty() and count(metrics, "m", "INVALID_ARGUMENT") == 1
    samples = metrics.registry.get_sample_value(
        "perspective_request_duration_seconds_count", {"transport": "t", "method": "m"}
    )
    assert samples == 2


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_unexpected_exceptions_become_internal_errors_and_are_logged() -> None:
    # configure_logging() stops propagation at "perspective_local", so listen on the logger.
    handler = Records()
    logger = logging.getLogger("perspective_local.service.observe")
    logger.addHandler(handler)
    try:
        metrics = Metrics()
        with observed(metrics, "t", "m") as call:
            raise RuntimeError("secret detail")
    finally:
        logger.removeHandler(handler)
    assert call.error == InternalError()
    assert "secret detail" not in call.error.message
    assert count(metrics, "m", "INTERNAL") == 1
    assert any(r.getMessage() == "unexpected error" and r.exc_info for r in handler.records)


def test_cancellation_and_listed_exceptions_propagate() -> None:
    metrics = Metrics()
    with pytest.raises(asyncio.CancelledError), observed(metrics, "t", "m"):
        raise asyncio.CancelledError()
    with pytest.raises(KeyError), observed(metrics, "t", "m", reraise=(KeyError,)):
        raise KeyError("out")
    assert count(metrics, "m", "CANCELLED") == 2


def test_api_key_extraction() -> None:
    assert rest_api_key({"key": "a"}, {"x-goog-api-key": "b"}) == "a"
    assert rest_api_key({"access_token": "t"}, {}) == "t"
    assert rest_api_key({}, {"x-goog-api-key": "b"}) == "b"
    assert rest_api_key({}, {"authorization": "Bearer  c "}) == "c"
    assert rest_api_key({}, {"authorization": "Basic zzz"}) is None
    assert grpc_api_key([("x-goog-api-key", b"k")]) == "k"
    assert grpc_api_key([("other", "x"), ("authorization", "bearer g")]) == "g"
    assert grpc_api_key([("authorization", "Basic zzz")]) is None
