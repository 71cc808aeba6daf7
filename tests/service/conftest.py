"""Fixtures for the service tests: HTTP and gRPC connections to the shared server."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import httpx
import pytest

from tests.servers import ServerHandle


@pytest.fixture
def http(server: ServerHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture
def channel(server: ServerHandle) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.target) as chan:
        yield chan
