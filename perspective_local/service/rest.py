"""The REST/JSON transport: Perspective's routes, the discovery document, Google HTTP batch,
``/healthz`` and ``/metrics``, as a Starlette app that is thin over the analyzer.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from perspective_local.errors import (
    InternalError,
    InvalidRequest,
    NotFound,
    PerspectiveError,
    to_rest,
)
from perspective_local.proto import commentanalyzer_pb2 as ca
from perspective_local.service import validation, wire
from perspective_local.service.analyzer import Analyzer
from perspective_local.service.discovery import discovery_document

log = logging.getLogger(__name__)

#: Google's HTTP batch limit ("up to 100 requests per batch").
MAX_BATCH_PARTS = 100
JSON = "application/json; charset=UTF-8"


@dataclass
class Readiness:
    """Whether the model has loaded and warmed up; shared with the gRPC health service."""

    ready: bool = False


#: A Perspective method over REST: (JSON body, query parameters) -> response object.
Handler = Callable[[bytes, Mapping[str, str]], Awaitable[dict[str, Any]]]


def _api_key(params: Mapping[str, str], headers: Mapping[str, str]) -> str | None:
    for name in ("key", "access_token", "oauth_token"):
        if params.get(name):
            return params[name]
    if headers.get("x-goog-api-key"):
        return headers["x-goog-api-key"]
    auth = headers.get("authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


def _pretty(params: Mapping[str, str]) -> bool:
    return params.get("prettyPrint", "true").lower() not in ("false", "0")


def create_app(analyzer: Analyzer, readiness: Readiness, *, api_keys: frozenset[str]) -> Starlette:
    """The ASGI app; ``readiness`` is flipped by the composition root once the model is warm."""
    metrics = analyzer.batcher.metrics

    async def analyze(body: bytes, params: Mapping[str, str]) -> dict[str, Any]:
        data = wire.loads(body)
        if isinstance(data, Mapping):
            validation.check_text_types(data)
        request = wire.parse(data, ca.AnalyzeCommentRequest())
        return wire.to_dict(await analyzer.analyze(request))

    async def suggest(body: bytes, params: Mapping[str, str]) -> dict[str, Any]:
        data = wire.loads(body)
        if isinstance(data, Mapping):
            validation.check_text_types(data)
        request = wire.parse(data, ca.SuggestCommentScoreRequest())
        return wire.to_dict(await analyzer.suggest(request))

    methods: dict[str, tuple[str, Handler]] = {
        "/v1alpha1/comments:analyze": ("analyze", analyze),
        "/v1alpha1/comments:suggestscore": ("suggestscore", suggest),
    }

    async def call(
        path: str, body: bytes, params: Mapping[str, str], headers: Mapping[str, str]
    ) -> tuple[int, dict[str, Any]]:
        """Run one Perspective method; returns the HTTP status and the JSON object."""
        started = time.perf_counter()
        name, handler = methods.get(path, ("unknown", None))  # type: ignore[assignment]
        code = "OK"
        try:
            if handler is None:
                raise NotFound()
            validation.check_api_key(_api_key(params, headers), api_keys)
            result = wire.select_fields(await handler(body, params), params.get("fields"))
            return 200, result
        except PerspectiveError as exc:
            code = exc.status
            return to_rest(exc)
        except Exception:
            log.exception("unexpected error", extra={"method": name})
            code = "INTERNAL"
            return to_rest(InternalError())
        finally:
            metrics.requests.labels("rest", name, code).inc()
            metrics.request_seconds.labels("rest", name).observe(time.perf_counter() - started)

    def respond(status: int, data: dict[str, Any], params: Mapping[str, str]) -> Response:
        return Response(
            wire.dumps(data, pretty=_pretty(params)),
            status_code=status,
            media_type=JSON,
            headers={"X-Model-Version": analyzer.model_version},
        )

    async def method_route(request: Request) -> Response:
        params = dict(request.query_params)
        status, data = await call(
            request.url.path, await request.body(), params, dict(request.headers)
        )
        return respond(status, data, params)

    async def discovery(request: Request) -> Response:
        version = request.query_params.get("version", request.path_params.get("version"))
        if version not in (None, "v1alpha1"):
            status, data = to_rest(NotFound(f"No discovery document for version {version}."))
            return respond(status, data, request.query_params)
        root = str(request.base_url)
        return respond(200, discovery_document(root), request.query_params)

    async def batch(request: Request) -> Response:
        body = await request.body()
        try:
            parts = parse_batch(request.headers.get("content-type", ""), body)
        except PerspectiveError as exc:
            status, data = to_rest(exc)
            return respond(status, data, request.query_params)

        async def run(part: BatchPart) -> tuple[str, int, dict[str, Any]]:
            url = urlsplit(part.target)
            params = {k: v[-1] for k, v in parse_qs(url.query).items()}
            status, data = await call(url.path, part.body, params, part.headers)
            return part.content_id, status, data

        results = await asyncio.gather(*(run(p) for p in parts))
        boundary = "batch_" + uuid.uuid4().hex
        return Response(
            render_batch(boundary, results),
            media_type=f"multipart/mixed; boundary={boundary}",
        )

    async def healthz(request: Request) -> Response:
        status = 200 if readiness.ready else 503
        body = {
            "status": "SERVING" if readiness.ready else "NOT_SERVING",
            "modelVersion": analyzer.model_version,
            "device": analyzer.model.device,
        }
        return JSONResponse(body, status_code=status)

    async def metrics_route(request: Request) -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def not_found(request: Request, exc: Exception) -> Response:
        # Google answers a wrong HTTP method on a known path as an unknown URL.
        status, data = to_rest(NotFound())
        return respond(status, data, request.query_params)

    routes = [
        *(Route(path, method_route, methods=["POST"]) for path in methods),
        Route("/$discovery/rest", discovery, methods=["GET"]),
        Route("/discovery/v1/apis/commentanalyzer/{version}/rest", discovery, methods=["GET"]),
        Route("/batch", batch, methods=["POST"]),
        Route("/batch/commentanalyzer/v1alpha1", batch, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_route, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={404: not_found, 405: not_found},
        # Browser (gapi) clients call from other origins.
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=["*"],
                allow_headers=["*"],
                expose_headers=["X-Model-Version"],
            )
        ],
    )


@dataclass(frozen=True)
class BatchPart:
    """One inner HTTP request of a multipart/mixed batch."""

    content_id: str
    target: str
    headers: dict[str, str]
    body: bytes


def parse_batch(content_type: str, body: bytes) -> list[BatchPart]:
    """Split a Google HTTP batch (``multipart/mixed`` of ``application/http`` parts)."""
    if not content_type.lower().startswith("multipart/"):
        raise InvalidRequest("Batch requests must be multipart/mixed.")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise InvalidRequest("Batch requests must be multipart/mixed.")
    parts: list[BatchPart] = []
    for index, part in enumerate(message.iter_parts(), start=1):  # type: ignore[attr-defined]
        payload = part.get_payload(decode=True)
        raw = payload if isinstance(payload, bytes) else b""
        head, _, inner_body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
        lines = head.decode("latin-1").split("\n")
        request_line = lines[0].split()
        if len(request_line) < 2:
            raise InvalidRequest(f"Batch part {index} is not an HTTP request.")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        content_id = str(part.get("Content-ID", f"<{index}>")).strip()
        parts.append(BatchPart(content_id, request_line[1], headers, inner_body.strip()))
    if len(parts) > MAX_BATCH_PARTS:
        raise InvalidRequest(f"A batch may hold at most {MAX_BATCH_PARTS} requests.")
    return parts


def render_batch(boundary: str, results: list[tuple[str, int, dict[str, Any]]]) -> bytes:
    """The multipart/mixed answer; each part's Content-ID is ``<response-`` + the request's."""
    from http import HTTPStatus

    chunks: list[bytes] = []
    for content_id, status, data in results:
        inner = content_id.strip("<>")
        payload = wire.dumps(data, pretty=True)
        chunks.append(
            (
                f"--{boundary}\r\n"
                "Content-Type: application/http\r\n"
                f"Content-ID: <response-{inner}>\r\n\r\n"
                f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
                f"Content-Type: {JSON}\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n"
            ).encode("latin-1")
            + payload
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode("latin-1"))
    return b"".join(chunks)
