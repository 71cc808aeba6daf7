"""The ``perspective-local serve`` command; ``register(app)`` adds it to the root CLI.

Only typer is imported at module level: the server (torch, grpc, uvicorn) is imported
inside the command, so ``perspective-local --help`` stays instant.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from perspective_local.cli.common import ExitCode, command_boundary, fail, load_settings
from perspective_local.cli.options import (
    BackendsOption,
    BatchSizeOption,
    ConfigOption,
    DeviceOption,
    ModelDirOption,
    OnnxPrecisionOption,
    RouteOption,
)

_SERVER = "Server"
_BATCHING = "Batching"


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to ``app``."""
    app.command("serve")(serve)


@command_boundary("serve", extra="server")
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            help="Interface to bind  [default: 127.0.0.1; env: PERSPECTIVE_LOCAL_HOST]",
            rich_help_panel=_SERVER,
        ),
    ] = None,
    grpc_port: Annotated[
        int | None,
        typer.Option(
            help="gRPC port, 0 for any free one  [default: 50051; env: "
            "PERSPECTIVE_LOCAL_GRPC_PORT]",
            rich_help_panel=_SERVER,
        ),
    ] = None,
    http_port: Annotated[
        int | None,
        typer.Option(
            help="REST port, 0 for any free one  [default: 8080; env: PERSPECTIVE_LOCAL_HTTP_PORT]",
            rich_help_panel=_SERVER,
        ),
    ] = None,
    api_keys: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated accepted API keys  [default: none, keys not checked; env: "
            "PERSPECTIVE_LOCAL_API_KEYS]",
            rich_help_panel=_SERVER,
        ),
    ] = None,
    max_comment_bytes: Annotated[
        int | None,
        typer.Option(
            help="Largest comment in UTF-8 bytes  [default: 20480]", rich_help_panel=_SERVER
        ),
    ] = None,
    ui: Annotated[
        bool | None,
        typer.Option(
            "--ui/--no-ui",
            help="Serve the playground page at http://HOST:HTTP_PORT/  [default: ui; env: "
            "PERSPECTIVE_LOCAL_UI]",
            rich_help_panel=_SERVER,
        ),
    ] = None,
    max_batch_tokens: Annotated[
        int | None,
        typer.Option(
            "--max-batch-tokens",
            help="Most padded tokens per model batch  [default: 8192]",
            rich_help_panel=_BATCHING,
        ),
    ] = None,
    max_batch_texts: Annotated[
        int | None,
        typer.Option(
            "--max-batch-texts",
            "--max-batch-size",
            help="Most texts per model batch as well (--max-batch-size: the old name)  "
            "[default: no limit]",
            rich_help_panel=_BATCHING,
        ),
    ] = None,
    batch_size: BatchSizeOption = None,
    max_wait_ms: Annotated[
        float | None,
        typer.Option(
            help="How long an idle model waits for a batch to fill, in ms  [default: 0]",
            rich_help_panel=_BATCHING,
        ),
    ] = None,
    max_admitted_texts: Annotated[
        int | None,
        typer.Option(
            "--max-admitted-texts",
            "--max-queue",
            help="Texts admitted at once; beyond it requests get 429 (--max-queue: the old "
            "name)  [default: 1024]",
            rich_help_panel=_BATCHING,
        ),
    ] = None,
    device: DeviceOption = None,
    model_dir: ModelDirOption = None,
    backends: BackendsOption = None,
    route: RouteOption = None,
    onnx_precision: OnnxPrecisionOption = None,
    config: ConfigOption = None,
    show_settings: Annotated[
        bool, typer.Option("--show-settings", help="Print the resolved settings and exit.")
    ] = False,
) -> None:
    """Serve the Perspective API (REST and gRPC) from one process.

    One model and one dynamic batcher serve both transports. Point existing Perspective
    clients at http://HOST:HTTP_PORT (googleapiclient: discoveryServiceUrl=
    http://HOST:HTTP_PORT/$discovery/rest?version=v1alpha1). Stops gracefully on SIGTERM.
    """
    settings = load_settings(
        config,
        host=host,
        grpc_port=grpc_port,
        http_port=http_port,
        api_keys=api_keys,
        max_comment_bytes=max_comment_bytes,
        ui=ui,
        max_batch_tokens=max_batch_tokens,
        max_batch_texts=max_batch_texts,
        forward_batch_windows=batch_size,
        max_wait_ms=max_wait_ms,
        max_admitted_texts=max_admitted_texts,
        device=device,
        model_dir=model_dir,
        backends=backends,
        routes=",".join(route) if route else None,
        onnx_precision=onnx_precision.value if onnx_precision else None,
    )
    if show_settings:
        typer.echo(json.dumps(settings.as_dict(), indent=2))
        return

    import asyncio

    from perspective_local.service.app import serve as run_server

    try:
        asyncio.run(run_server(settings))
    except (OSError, ValueError) as exc:  # FileNotFoundError and ArtifactError included
        raise fail(str(exc), ExitCode.FAILED) from None
