"""Client defaults: where the server is, how long a call may take, how retries back off."""

from __future__ import annotations

import grpc

DEFAULT_TARGET = "127.0.0.1:50051"
#: Seconds a call may take in all, retries included.
DEFAULT_TIMEOUT = 30.0
#: Retries after the first attempt, for the codes below only.
DEFAULT_MAX_RETRIES = 4
#: First backoff in seconds; it doubles per retry up to ``DEFAULT_MAX_BACKOFF``, with jitter.
DEFAULT_BACKOFF = 0.05
DEFAULT_MAX_BACKOFF = 2.0
#: Codes that mean "try again later": the server is starting, stopping or full.
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})
#: Texts per ScoreBatch call made by ``ServerBackend``.
DEFAULT_CHUNK_SIZE = 256
#: Room for ScoreBatch calls of many 20 KB comments.
CHANNEL_OPTIONS = (
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
    ("grpc.max_send_message_length", 64 * 1024 * 1024),
)
