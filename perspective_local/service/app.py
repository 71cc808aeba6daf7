"""Composition root: settings -> scorer -> batcher -> analyzer -> gRPC and REST, in one
process and one event loop, with a graceful stop on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import uvicorn

from perspective_local.proto import perspective_local_v1_pb2 as pl
from perspective_local.service import languages
from perspective_local.service.analyzer import Analyzer, ModelDescription
from perspective_local.service.batcher import Batcher
from perspective_local.service.grpc_server import create_server, set_serving
from perspective_local.service.metrics import Metrics
from perspective_local.service.rest import Readiness, create_app
from perspective_local.settings import Settings

if TYPE_CHECKING:
    from perspective_local.models.backend import Backend, Pipeline

log = logging.getLogger(__name__)

#: Seconds running calls get to finish after a stop is requested.
GRACE_SECONDS = 5.0
WARMUP_TEXT = "Warming up the model before the first request."


class _HttpServer(uvicorn.Server):
    """uvicorn without its signal handlers: the composition root owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass(frozen=True)
class Running:
    """Where a started server listens."""

    host: str
    grpc_port: int
    http_port: int
    analyzer: Analyzer


def _pipeline(scorer: Backend) -> Pipeline:
    """The backend as the batcher's pipeline: every in-process backend, or a router of them."""
    from perspective_local.models.backend import Pipeline

    if not isinstance(scorer, Pipeline):
        raise TypeError(f"A {type(scorer).__name__} cannot be served: it is not in-process.")
    return scorer


def describe(scorer: Backend) -> ModelDescription:
    from perspective_local.models.routing import describe_routes, loaded_backends

    return ModelDescription(
        model_version=scorer.model_version,
        encoder=scorer.description,
        device=scorer.device,
        attributes=scorer.attributes,
        routes=describe_routes(scorer),
        backends=tuple(
            pl.BackendInfo(kind=b.kind, model_version=b.model_version, device=b.device,
                           attributes=b.attributes)
            for b in loaded_backends(scorer)
        ),
    )  # fmt: skip


@asynccontextmanager
async def running(settings: Settings, scorer: Backend | None = None) -> AsyncIterator[Running]:
    """Start both transports over one batcher; stop them gracefully on exit."""
    # The language detector loads its models (seconds) beside the model, not on a request.
    detector = asyncio.create_task(asyncio.to_thread(languages.warm_up), name="languages")
    try:
        if scorer is None:
            from perspective_local.models.routing import load_backend

            scorer = await asyncio.to_thread(load_backend, settings)
    finally:
        await detector
    metrics = Metrics()
    batcher = Batcher(
        _pipeline(scorer),
        max_batch_tokens=settings.max_batch_tokens,
        max_batch_texts=settings.max_batch_texts,
        forward_batch_windows=settings.forward_batch_windows,
        max_wait_ms=settings.max_wait_ms,
        max_admitted_texts=settings.max_admitted_texts,
        metrics=metrics,
    )
    analyzer = Analyzer(batcher, describe(scorer), max_comment_bytes=settings.max_comment_bytes)
    keys = frozenset(settings.api_keys)
    readiness = Readiness()

    grpc_server, grpc_port, health = create_server(
        analyzer, f"{settings.host}:{settings.grpc_port}", api_keys=keys
    )
    await set_serving(health, False)
    # Bind the HTTP socket ourselves so port 0 yields a known port before serving starts.
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets created with it, and
    # without it every answer on a kept-alive connection waits ~40 ms for a delayed ACK.
    http_socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    http_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    http_socket.bind((settings.host, settings.http_port))
    http_port = http_socket.getsockname()[1]
    config = uvicorn.Config(
        create_app(analyzer, readiness, api_keys=keys, ui=settings.ui),
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=int(GRACE_SECONDS),
    )
    http_server = _HttpServer(config)

    batcher.start()
    await grpc_server.start()
    http_task = asyncio.create_task(http_server.serve(sockets=[http_socket]), name="http")
    try:
        await batcher.submit([WARMUP_TEXT])
        readiness.ready = True
        await set_serving(health, True)
        log.info(
            "serving",
            extra={
                "host": settings.host,
                "grpc_port": grpc_port,
                "http_port": http_port,
                "model_version": scorer.model_version,
                "device": scorer.device,
            },
        )
        yield Running(settings.host, grpc_port, http_port, analyzer)
    finally:
        readiness.ready = False
        await health.enter_graceful_shutdown()
        http_server.should_exit = True
        await grpc_server.stop(GRACE_SECONDS)
        await http_task
        await batcher.close()
        http_socket.close()


async def serve(settings: Settings, scorer: Backend | None = None) -> None:
    """Serve until SIGTERM or SIGINT, then drain and stop."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    async with running(settings, scorer) as server:
        print(
            f"perspective-local serving model {server.analyzer.model_version}: "
            f"gRPC {server.host}:{server.grpc_port}, HTTP http://{server.host}:{server.http_port}",
            flush=True,
        )
        await stop.wait()
        log.info("stopping")
