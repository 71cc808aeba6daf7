"""The real server (both transports, one batcher) in a background thread on loopback ports."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from perspective_local.settings import Settings

HOST = "127.0.0.1"


@dataclass
class ServerHandle:
    """A server running in a background thread with its own event loop."""

    grpc_port: int
    http_port: int
    running: Any
    stop: Callable[[], None]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    @property
    def target(self) -> str:
        return f"{HOST}:{self.grpc_port}"

    @property
    def metrics(self) -> Any:
        return self.running.analyzer.metrics


def start_server(scorer: Any, **overrides: Any) -> ServerHandle:
    """Start ``running(settings, scorer)`` in a thread; returns once the model is warm."""
    from perspective_local.service.app import running

    values: dict[str, Any] = {"host": HOST, "grpc_port": 0, "http_port": 0, **overrides}
    settings = Settings.load(environ={}, **values)
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        stop = asyncio.Event()
        box["loop"], box["stop"] = asyncio.get_running_loop(), stop
        async with running(settings, scorer) as server:
            box["running"] = server
            ready.set()
            await stop.wait()

    def thread() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced to the test below
            box["error"] = exc
            ready.set()

    worker = threading.Thread(target=thread, name="test-server", daemon=True)
    worker.start()
    assert ready.wait(60), "server did not start within 60 s"
    if "error" in box:
        raise box["error"]

    def stop() -> None:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        worker.join(30)
        assert not worker.is_alive(), "server did not stop within 30 s"

    server = box["running"]
    return ServerHandle(server.grpc_port, server.http_port, server, stop)
