"""``Client`` and ``AsyncClient``: the Perspective API over gRPC, with deadlines and retries.

``BaseClient`` builds requests and decides retries; the two subclasses differ only in I/O.
A call has one deadline (``timeout``) covering all its attempts. UNAVAILABLE and
RESOURCE_EXHAUSTED are retried with exponential backoff and jitter; every other failure
is raised at once as the service's own error class (``CommentEmpty``, ``Overloaded``, ...).
``ServerBackend`` is a scoring ``Backend`` (``perspective_local.models.backend``) over a
``Client``: the batch job and the analysis score through it as through an in-process model.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import grpc
import numpy as np

from perspective_local.client import _config
from perspective_local.client._models import AnalyzeResult, BatchResult
from perspective_local.errors import DeadlineExceeded, from_grpc
from perspective_local.models.attributes import resolve_attributes
from perspective_local.models.backend import Scores, as_text_list
from perspective_local.proto import commentanalyzer_pb2 as ca
from perspective_local.proto import commentanalyzer_pb2_grpc as ca_grpc
from perspective_local.proto import perspective_local_v1_pb2 as pl
from perspective_local.proto import perspective_local_v1_pb2_grpc as pl_grpc

R = TypeVar("R")
AttributesArg = str | Sequence[str]


class BaseClient:
    """Request building, metadata and the retry policy shared by both clients."""

    def __init__(
        self,
        target: str = _config.DEFAULT_TARGET,
        *,
        api_key: str | None = None,
        timeout: float = _config.DEFAULT_TIMEOUT,
        max_retries: int = _config.DEFAULT_MAX_RETRIES,
        backoff: float = _config.DEFAULT_BACKOFF,
        max_backoff: float = _config.DEFAULT_MAX_BACKOFF,
    ) -> None:
        if timeout <= 0 or max_retries < 0 or backoff < 0:
            raise ValueError("timeout must be positive; max_retries and backoff non-negative")
        self.target = target
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._metadata: tuple[tuple[str, str], ...] = (
            (("x-goog-api-key", api_key),) if api_key else ()
        )
        self._closed = False

    @staticmethod
    def analyze_request(
        text: str,
        attributes: AttributesArg = ("TOXICITY",),
        *,
        languages: Sequence[str] = (),
        span_annotations: bool = False,
        do_not_store: bool = False,
        client_token: str = "",
    ) -> ca.AnalyzeCommentRequest:
        """The Perspective request for ``text`` and ``attributes`` (names or comma list)."""
        names = attributes.split(",") if isinstance(attributes, str) else attributes
        return ca.AnalyzeCommentRequest(
            comment=ca.TextEntry(text=text),
            requested_attributes={name.strip(): ca.AttributeParameters() for name in names},
            languages=languages,
            span_annotations=span_annotations,
            do_not_store=do_not_store,
            client_token=client_token,
        )

    def _delay(self, attempt: int) -> float:
        # Equal jitter (half the cap fixed, half random) keeps many clients that were refused
        # together from retrying together, while every client still waits at least cap / 2.
        cap = min(self.max_backoff, self.backoff * 2**attempt)
        return random.uniform(cap / 2, cap)

    def _retry_after(self, error: grpc.RpcError, attempt: int, remaining: float) -> float | None:
        """Seconds to wait before retrying ``error``, or ``None`` to raise it."""
        code = error.code() if isinstance(error, grpc.Call) else None
        if code not in _config.RETRYABLE or attempt >= self.max_retries:
            return None
        delay = self._delay(attempt)
        return delay if delay < remaining else None

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("This client has been closed.")


class Client(BaseClient):
    """A blocking client. Use as a context manager, or call ``close()``."""

    def __init__(self, target: str = _config.DEFAULT_TARGET, **kwargs: Any) -> None:
        super().__init__(target, **kwargs)
        self._channel = grpc.insecure_channel(target, options=_config.CHANNEL_OPTIONS)
        # Generated gRPC stubs are untyped.
        self._analyzer = ca_grpc.CommentAnalyzerStub(self._channel)  # type: ignore[no-untyped-call]
        self._local = pl_grpc.PerspectiveLocalStub(self._channel)  # type: ignore[no-untyped-call]

    def _call(self, method: Callable[..., R], request: Any) -> R:
        self._check_open()
        deadline = time.monotonic() + self.timeout
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeadlineExceeded()
            try:
                return method(request, timeout=remaining, metadata=self._metadata)
            except grpc.RpcError as error:
                delay = self._retry_after(error, attempt, deadline - time.monotonic())
                if delay is None:
                    raise from_grpc(error) from None
                time.sleep(delay)
                attempt += 1

    def analyze(
        self, text: str, attributes: AttributesArg = ("TOXICITY",), **options: Any
    ) -> AnalyzeResult:
        """Score one comment, Perspective-style (options: languages, span_annotations, ...)."""
        request = self.analyze_request(text, attributes, **options)
        return AnalyzeResult.from_proto(self._call(self._analyzer.AnalyzeComment, request))

    def analyze_request_raw(self, request: ca.AnalyzeCommentRequest) -> ca.AnalyzeCommentResponse:
        """Send a hand-built AnalyzeCommentRequest; returns the protobuf response."""
        response: ca.AnalyzeCommentResponse = self._call(self._analyzer.AnalyzeComment, request)
        return response

    def score_batch(self, texts: Sequence[str], attributes: Sequence[str] = ()) -> BatchResult:
        """Score many texts in one call; no attributes means all the server serves."""
        request = pl.ScoreBatchRequest(texts=texts, attributes=attributes)
        return BatchResult.from_proto(self._call(self._local.ScoreBatch, request))

    def list_attributes(self) -> pl.ListAttributesResponse:
        response: pl.ListAttributesResponse = self._call(
            self._local.ListAttributes, pl.ListAttributesRequest()
        )
        return response

    def model_info(self) -> pl.ModelInfo:
        response: pl.ModelInfo = self._call(self._local.GetModelInfo, pl.GetModelInfoRequest())
        return response

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient(BaseClient):
    """An asyncio client. Use as ``async with``, or await ``close()``."""

    def __init__(self, target: str = _config.DEFAULT_TARGET, **kwargs: Any) -> None:
        super().__init__(target, **kwargs)
        self._channel = grpc.aio.insecure_channel(target, options=_config.CHANNEL_OPTIONS)
        # Generated gRPC stubs are untyped.
        self._analyzer = ca_grpc.CommentAnalyzerStub(self._channel)  # type: ignore[no-untyped-call]
        self._local = pl_grpc.PerspectiveLocalStub(self._channel)  # type: ignore[no-untyped-call]

    async def _call(self, method: Callable[..., Awaitable[R]], request: Any) -> R:
        self._check_open()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        attempt = 0
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise DeadlineExceeded()
            try:
                return await method(request, timeout=remaining, metadata=self._metadata)
            except grpc.RpcError as error:
                delay = self._retry_after(error, attempt, deadline - loop.time())
                if delay is None:
                    raise from_grpc(error) from None
                await asyncio.sleep(delay)
                attempt += 1

    async def analyze(
        self, text: str, attributes: AttributesArg = ("TOXICITY",), **options: Any
    ) -> AnalyzeResult:
        """Score one comment, Perspective-style (options: languages, span_annotations, ...)."""
        request = self.analyze_request(text, attributes, **options)
        return AnalyzeResult.from_proto(await self._call(self._analyzer.AnalyzeComment, request))

    async def score_batch(
        self, texts: Sequence[str], attributes: Sequence[str] = ()
    ) -> BatchResult:
        """Score many texts in one call; no attributes means all the server serves."""
        request = pl.ScoreBatchRequest(texts=texts, attributes=attributes)
        return BatchResult.from_proto(await self._call(self._local.ScoreBatch, request))

    async def list_attributes(self) -> pl.ListAttributesResponse:
        response: pl.ListAttributesResponse = await self._call(
            self._local.ListAttributes, pl.ListAttributesRequest()
        )
        return response

    async def model_info(self) -> pl.ModelInfo:
        response: pl.ModelInfo = await self._call(
            self._local.GetModelInfo, pl.GetModelInfoRequest()
        )
        return response

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class ServerBackend:
    """A scoring ``Backend`` over a running server (``perspective-local score --server``)."""

    kind = "server"

    def __init__(
        self,
        target: str = _config.DEFAULT_TARGET,
        *,
        api_key: str | None = None,
        chunk_size: int = _config.DEFAULT_CHUNK_SIZE,
        timeout: float = 300.0,
    ) -> None:
        self.client = Client(target, api_key=api_key, timeout=timeout)
        self.chunk_size = chunk_size
        self._info: pl.ModelInfo | None = None
        self._model_version: str | None = None

    def _model_info(self) -> pl.ModelInfo:
        if self._info is None:
            self._info = self.client.model_info()
        return self._info

    @property
    def model_version(self) -> str:
        if self._model_version is None:
            self._model_version = self._model_info().model_version
        return self._model_version

    @property
    def attributes(self) -> tuple[str, ...]:
        return tuple(self._model_info().attributes)

    @property
    def description(self) -> str:
        return f"server {self.client.target}: {self._model_info().encoder}"

    @property
    def device(self) -> str:
        return f"server {self.client.target} ({self._model_info().device})"

    def score(
        self,
        texts: str | Sequence[str],
        attributes: str | Sequence[str] | None = None,
        *,
        batch_size: int | None = None,
    ) -> Scores:
        """Score through ``ScoreBatch`` calls of ``chunk_size`` texts. ``batch_size`` (windows
        per forward pass) is the server's own setting and is not sent."""
        texts = as_text_list(texts)
        names = self.attributes if attributes is None else resolve_attributes(attributes)
        values = np.zeros((len(texts), len(names)), dtype=np.float32)
        for start in range(0, len(texts), self.chunk_size):
            batch = self.client.score_batch(texts[start : start + self.chunk_size], names)
            self._model_version = batch.model_version
            for row, scores in enumerate(batch.scores, start):
                values[row] = [scores[name] for name in names]
        return Scores(names, values, self.model_version)

    def close(self) -> None:
        self.client.close()
