"""The gRPC transport: CommentAnalyzer and PerspectiveLocal servicers, health and reflection.

Every servicer method runs inside ``wire_errors``: the API key is checked, the call is
timed and counted by ``observe.observed`` (shared with REST), and service errors become a
``google.rpc.Status`` with packed details.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from perspective_local.errors import PerspectiveError, to_grpc_status, to_status_proto
from perspective_local.proto import commentanalyzer_pb2 as ca
from perspective_local.proto import commentanalyzer_pb2_grpc as ca_grpc
from perspective_local.proto import perspective_local_v1_pb2 as pl
from perspective_local.proto import perspective_local_v1_pb2_grpc as pl_grpc
from perspective_local.service.analyzer import Analyzer
from perspective_local.service.batcher import timed
from perspective_local.service.observe import grpc_api_key, observed
from perspective_local.service.validation import check_api_key

COMMENT_ANALYZER = ca.DESCRIPTOR.services_by_name["CommentAnalyzer"].full_name
PERSPECTIVE_LOCAL = pl.DESCRIPTOR.services_by_name["PerspectiveLocal"].full_name
#: Services whose health follows the model (NOT_SERVING until it has warmed up).
MODEL_SERVICES = (COMMENT_ANALYZER, PERSPECTIVE_LOCAL)


class _Base:
    def __init__(self, analyzer: Analyzer, api_keys: frozenset[str]) -> None:
        self.analyzer = analyzer
        self.api_keys = api_keys

    @asynccontextmanager
    async def wire_errors(
        self, context: grpc.aio.ServicerContext[Any, Any], method: str
    ) -> AsyncIterator[None]:
        """Check the key, count and time the call, drop its queued work past the call's
        deadline, and turn service errors into rich gRPC statuses. The trailing metadata
        says where the time went (``x-*-time``, milliseconds, as REST's headers)."""
        started = time.perf_counter()
        with observed(
            self.analyzer.metrics, "grpc", method, reraise=(grpc.aio.AbortError,)
        ) as outcome, timed(context.time_remaining()) as timings:  # fmt: skip
            check_api_key(grpc_api_key(context.invocation_metadata() or ()), self.api_keys)
            yield
        if outcome.error is not None:
            await context.abort_with_status(to_grpc_status(outcome.error))
        parts = timings.milliseconds(time.perf_counter() - started)
        context.set_trailing_metadata(
            (("x-model-version", self.analyzer.model_version),
             *((f"x-{name}-time", f"{ms:.3f}") for name, ms in parts.items()))
        )  # fmt: skip


class CommentAnalyzerServicer(_Base, ca_grpc.CommentAnalyzerServicer):
    """``google.commentanalyzer.v1alpha1.CommentAnalyzer``."""

    async def AnalyzeComment(
        self,
        request: ca.AnalyzeCommentRequest,
        context: grpc.aio.ServicerContext[ca.AnalyzeCommentRequest, ca.AnalyzeCommentResponse],
    ) -> ca.AnalyzeCommentResponse:
        async with self.wire_errors(context, "AnalyzeComment"):
            return await self.analyzer.analyze(request)
        raise AssertionError("unreachable")  # wire_errors aborts or returns

    async def SuggestCommentScore(
        self,
        request: ca.SuggestCommentScoreRequest,
        context: grpc.aio.ServicerContext[
            ca.SuggestCommentScoreRequest, ca.SuggestCommentScoreResponse
        ],
    ) -> ca.SuggestCommentScoreResponse:
        async with self.wire_errors(context, "SuggestCommentScore"):
            return await self.analyzer.suggest(request)
        raise AssertionError("unreachable")


class PerspectiveLocalServicer(_Base, pl_grpc.PerspectiveLocalServicer):
    """``perspective_local.v1.PerspectiveLocal``: bulk, streaming and introspection."""

    async def ScoreBatch(
        self,
        request: pl.ScoreBatchRequest,
        context: grpc.aio.ServicerContext[pl.ScoreBatchRequest, pl.ScoreBatchResponse],
    ) -> pl.ScoreBatchResponse:
        async with self.wire_errors(context, "ScoreBatch"):
            return await self.analyzer.score_batch(request.texts, request.attributes)
        raise AssertionError("unreachable")

    async def StreamScore(
        self,
        request_iterator: AsyncIterator[pl.ScoreRequest],
        context: grpc.aio.ServicerContext[pl.ScoreRequest, pl.ScoreResponse],
    ) -> AsyncIterator[pl.ScoreResponse]:
        async with self.wire_errors(context, "StreamScore"):
            # Each text is scored as soon as it arrives, so a stream keeps the batcher fed;
            # answers are yielded as they complete.
            answers: asyncio.Queue[pl.ScoreResponse | None] = asyncio.Queue()
            pending: set[asyncio.Task[None]] = set()

            async def score_one(item: pl.ScoreRequest) -> None:
                try:
                    batch = await self.analyzer.score_batch(
                        [item.text], item.attributes, name_index=False
                    )
                    answer = pl.ScoreResponse(
                        id=item.id,
                        scores=batch.results[0].scores,
                        model_version=batch.model_version,
                    )
                except PerspectiveError as exc:
                    answer = pl.ScoreResponse(id=item.id, error=to_status_proto(exc))
                await answers.put(answer)

            async def read_all() -> None:
                async for item in request_iterator:
                    task = asyncio.create_task(score_one(item))
                    pending.add(task)
                    task.add_done_callback(pending.discard)
                while pending:
                    await asyncio.gather(*list(pending))
                await answers.put(None)

            reader = asyncio.create_task(read_all())
            try:
                while (answer := await answers.get()) is not None:
                    yield answer
                await reader
            finally:
                reader.cancel()
                for task in list(pending):
                    task.cancel()

    async def ListAttributes(
        self,
        request: pl.ListAttributesRequest,
        context: grpc.aio.ServicerContext[pl.ListAttributesRequest, pl.ListAttributesResponse],
    ) -> pl.ListAttributesResponse:
        async with self.wire_errors(context, "ListAttributes"):
            return self.analyzer.list_attributes()
        raise AssertionError("unreachable")

    async def GetModelInfo(
        self,
        request: pl.GetModelInfoRequest,
        context: grpc.aio.ServicerContext[pl.GetModelInfoRequest, pl.ModelInfo],
    ) -> pl.ModelInfo:
        async with self.wire_errors(context, "GetModelInfo"):
            return self.analyzer.model_info()
        raise AssertionError("unreachable")


def create_server(
    analyzer: Analyzer,
    address: str,
    *,
    api_keys: Iterable[str] = (),
    health: HealthServicer | None = None,
) -> tuple[grpc.aio.Server, int, HealthServicer]:
    """Build (not start) the gRPC server bound to ``address``; returns it, its port and the
    health servicer (model services start NOT_SERVING; the caller flips them when ready)."""
    server = grpc.aio.server(
        options=[
            # Room for a ScoreBatch of many 20 KB comments.
            ("grpc.max_receive_message_length", 64 * 1024 * 1024),
            ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ]
    )
    keys = frozenset(api_keys)
    # The generated registration functions are untyped.
    ca_grpc.add_CommentAnalyzerServicer_to_server(  # type: ignore[no-untyped-call]
        CommentAnalyzerServicer(analyzer, keys), server
    )
    pl_grpc.add_PerspectiveLocalServicer_to_server(  # type: ignore[no-untyped-call]
        PerspectiveLocalServicer(analyzer, keys), server
    )
    health = health or HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    names = (
        *MODEL_SERVICES,
        health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
        reflection.SERVICE_NAME,
    )
    reflection.enable_server_reflection(names, server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"Could not bind gRPC to {address}")
    return server, port, health


async def set_serving(health: HealthServicer, serving: bool) -> None:
    """Mark the overall server and the model services SERVING or NOT_SERVING."""
    status = (
        health_pb2.HealthCheckResponse.SERVING
        if serving
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    for name in MODEL_SERVICES:
        await health.set(name, status)
