"""The REST/JSON transport: Perspective's routes, the discovery document, Google HTTP batch,
our introspection routes, ``/healthz``, ``/metrics`` and the playground page, as a Starlette
app that is thin over the analyzer.

The handlers are plain module functions; they find the analyzer, readiness and API keys in
``request.app.state.rest`` (a ``RestState``), and ``create_app`` only builds the routes.
Timing, counting and error mapping are ``observe.observed``'s, shared with gRPC.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
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

from perspective_local.errors import InvalidRequest, NotFound, PerspectiveError, to_rest
from perspective_local.proto import commentanalyzer_pb2 as ca
from perspective_local.service import playground, validation, wire
from perspective_local.service.analyzer import Analyzer
from perspective_local.service.batcher import Timings, timed
from perspective_local.service.discovery import discovery_document
from perspective_local.service.observe import observed, rest_api_key
from perspective_local.service.validation import check_api_key

#: Google's HTTP batch limit ("up to 100 requests per batch").
MAX_BATCH_PARTS = 100
JSON = "application/json; charset=UTF-8"
TIMING_HEADERS = ("x-tokenization-time", "x-queue-time", "x-inference-time", "x-total-time")


@dataclass
class Readiness:
    """Whether the model has loaded and warmed up; shared with the gRPC health service."""

    ready: bool = False


@dataclass(frozen=True)
class RestState:
    """What the handlers need, kept on ``app.state.rest``."""

    analyzer: Analyzer
    readiness: Readiness
    api_keys: frozenset[str]


#: A Perspective method over REST: (analyzer, JSON body) -> response object.
Method = Callable[[Analyzer, bytes], Awaitable[dict[str, Any]]]


def _state(request: Request) -> RestState:
    state: RestState = request.app.state.rest
    return state


def _pretty(params: Mapping[str, str]) -> bool:
    return params.get("prettyPrint", "true").lower() not in ("false", "0")


def _request_dict(body: bytes) -> Any:
    data = wire.loads(body)
    if isinstance(data, Mapping):
        validation.check_text_types(data)
    return data


async def analyze(analyzer: Analyzer, body: bytes) -> dict[str, Any]:
    request = wire.parse(_request_dict(body), ca.AnalyzeCommentRequest())
    return wire.to_dict(await analyzer.analyze(request))


async def suggest(analyzer: Analyzer, body: bytes) -> dict[str, Any]:
    request = wire.parse(_request_dict(body), ca.SuggestCommentScoreRequest())
    return wire.to_dict(await analyzer.suggest(request))


async def list_attributes(analyzer: Analyzer, body: bytes) -> dict[str, Any]:
    return wire.to_dict(analyzer.list_attributes())


async def model_info(analyzer: Analyzer, body: bytes) -> dict[str, Any]:
    return wire.to_dict(analyzer.model_info())


#: path -> (method name in metrics and logs, method): Perspective's (POST).
METHODS: dict[str, tuple[str, Method]] = {
    "/v1alpha1/comments:analyze": ("analyze", analyze),
    "/v1alpha1/comments:suggestscore": ("suggestscore", suggest),
}
#: Ours (GET): the JSON forms of gRPC's ListAttributes and GetModelInfo, for the playground
#: and for clients that want to know what this server scores.
INTROSPECTION: dict[str, tuple[str, Method]] = {
    "/v1alpha1/attributes": ("attributes", list_attributes),
    "/v1alpha1/model": ("model", model_info),
}


@dataclass(frozen=True)
class Answer:
    """One method's HTTP status, JSON object and where its texts spent their time."""

    status: int
    data: dict[str, Any]
    timings: Timings
    seconds: float


async def call(
    state: RestState,
    path: str,
    body: bytes,
    params: Mapping[str, str],
    headers: Mapping[str, str],
) -> Answer:
    """Run one method (Perspective's or ours) and answer it."""
    name, method = METHODS.get(path) or INTROSPECTION.get(path) or ("unknown", None)
    started = time.perf_counter()
    with observed(state.analyzer.metrics, "rest", name) as outcome, timed() as timings:
        timings.expire_after(_timeout_seconds(headers))
        if method is None:
            raise NotFound()
        check_api_key(rest_api_key(params, headers), state.api_keys)
        result = await method(state.analyzer, body)
        data = wire.select_fields(result, params.get("fields"))
        return Answer(200, data, timings, time.perf_counter() - started)
    assert outcome.error is not None  # observed() only returns here after an error
    return Answer(*to_rest(outcome.error), timings, time.perf_counter() - started)


def _timeout_seconds(headers: Mapping[str, str]) -> float | None:
    """Google's ``X-Server-Timeout`` (seconds): work still queued after it is dropped."""
    value = headers.get("x-server-timeout")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise InvalidRequest(
            f"X-Server-Timeout must be a number of seconds, not {value!r}."
        ) from None
    if not seconds > 0:
        raise InvalidRequest(f"X-Server-Timeout must be positive, not {value!r}.")
    return seconds


def timing_headers(answer: Answer) -> dict[str, str]:
    """Where the call's time went, in milliseconds: text-embeddings-inference's ``x-*-time``
    headers and the W3C ``Server-Timing`` header (which browsers' developer tools show)."""
    parts = answer.timings.milliseconds(answer.seconds)
    headers = {f"x-{name}-time": f"{ms:.3f}" for name, ms in parts.items()}
    headers["Server-Timing"] = ", ".join(f"{name};dur={ms:.1f}" for name, ms in parts.items())
    return headers


def respond(
    request: Request,
    status: int,
    data: dict[str, Any],
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The JSON answer with Google's pretty-printing rule and the model version header."""
    return Response(
        wire.dumps(data, pretty=_pretty(request.query_params if params is None else params)),
        status_code=status,
        media_type=JSON,
        headers={"X-Model-Version": _state(request).analyzer.model_version, **(headers or {})},
    )


async def method_route(request: Request) -> Response:
    params = dict(request.query_params)
    body = await request.body()
    state = _state(request)
    work = asyncio.ensure_future(call(state, request.url.path, body, params, request.headers))
    gone = asyncio.ensure_future(_disconnected(request))
    await asyncio.wait((work, gone), return_when=asyncio.FIRST_COMPLETED)
    if not work.done():
        # The client has gone: cancelling drops its texts before their batch runs.
        work.cancel()
        state.analyzer.metrics.requests.labels("rest", "disconnected", "499").inc()
        return Response(status_code=499)
    gone.cancel()
    answer = work.result()
    return respond(request, answer.status, answer.data, params, timing_headers(answer))


async def _disconnected(request: Request) -> None:
    """Return once the client closes the connection (the body has been read already, so the
    next ASGI message is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def discovery(request: Request) -> Response:
    version = request.query_params.get("version", request.path_params.get("version"))
    if version not in (None, "v1alpha1"):
        return respond(request, *to_rest(NotFound(f"No discovery document for version {version}.")))
    return respond(request, 200, discovery_document(str(request.base_url)))


async def batch(request: Request) -> Response:
    try:
        parts = parse_batch(request.headers.get("content-type", ""), await request.body())
    except PerspectiveError as exc:
        return respond(request, *to_rest(exc))
    state = _state(request)

    async def run(part: BatchPart) -> tuple[str, int, dict[str, Any]]:
        url = urlsplit(part.target)
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        answer = await call(state, url.path, part.body, params, part.headers)
        return part.content_id, answer.status, answer.data

    results = await asyncio.gather(*(run(p) for p in parts))
    boundary = "batch_" + uuid.uuid4().hex
    return Response(
        render_batch(boundary, results), media_type=f"multipart/mixed; boundary={boundary}"
    )


async def healthz(request: Request) -> Response:
    state = _state(request)
    ready = state.readiness.ready
    body = {
        "status": "SERVING" if ready else "NOT_SERVING",
        "modelVersion": state.analyzer.model_version,
        "device": state.analyzer.model.device,
    }
    return JSONResponse(body, status_code=200 if ready else 503)


async def metrics_route(request: Request) -> Response:
    rendered = _state(request).analyzer.metrics.render()
    return Response(rendered, media_type="text/plain; version=0.0.4; charset=utf-8")


async def not_found(request: Request, exc: Exception) -> Response:
    # Google answers a wrong HTTP method on a known path as an unknown URL.
    return respond(request, *to_rest(NotFound()))


def create_app(
    analyzer: Analyzer, readiness: Readiness, *, api_keys: frozenset[str], ui: bool = True
) -> Starlette:
    """The ASGI app; ``readiness`` is flipped by the composition root once the model is warm.
    ``ui`` serves the playground page at ``/``."""
    routes = [
        *(Route(path, method_route, methods=["POST"]) for path in METHODS),
        *(Route(path, method_route, methods=["GET"]) for path in INTROSPECTION),
        Route("/$discovery/rest", discovery, methods=["GET"]),
        Route("/discovery/v1/apis/commentanalyzer/{version}/rest", discovery, methods=["GET"]),
        Route("/batch", batch, methods=["POST"]),
        Route("/batch/commentanalyzer/v1alpha1", batch, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_route, methods=["GET"]),
        *(playground.routes(key_required=bool(api_keys)) if ui else []),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={404: not_found, 405: not_found},
        # Browser (gapi) clients call from other origins.
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=["*"],
                allow_headers=["*"],
                expose_headers=["X-Model-Version", "Server-Timing", *TIMING_HEADERS],
            )
        ],
    )
    app.state.rest = RestState(analyzer, readiness, api_keys)
    return app


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
