"""The playground page at ``/``: type a text, watch the attributes move.

The page is three static files in ``static/`` (HTML, CSS, plain JavaScript; no build step,
nothing fetched from elsewhere) that call this server's own ``comments:analyze`` and
``/v1alpha1/attributes``. Its Content-Security-Policy lets it reach only the server it came
from. ``perspective-local serve --no-ui`` leaves these routes out.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

#: The files the page is made of, with their media types; nothing else is served.
ASSETS: dict[str, str] = {
    "playground.css": "text/css; charset=utf-8",
    "playground.js": "text/javascript; charset=utf-8",
}
#: Only this server: scripts, styles and calls. Images are data: URIs (the favicon).
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The page is the package's; a new version must not be hidden by a cached one.
    "Cache-Control": "no-cache",
}
#: Placeholder in index.html that tells the page whether to ask for an API key.
KEY_REQUIRED = "{{key_required}}"


@cache
def _read(name: str) -> str:
    return resources.files("perspective_local.service").joinpath("static", name).read_text("utf-8")


def routes(*, key_required: bool) -> list[Route]:
    """``GET /`` (the page) and ``GET /static/<asset>``."""
    page = _read("index.html").replace(KEY_REQUIRED, "true" if key_required else "false")

    async def index(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=HEADERS)

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            raise HTTPException(404)  # answered like any unknown URL
        return Response(_read(name), media_type=ASSETS[name], headers=HEADERS)

    return [
        Route("/", index, methods=["GET"]),
        Route("/static/{name}", asset, methods=["GET"]),
    ]
