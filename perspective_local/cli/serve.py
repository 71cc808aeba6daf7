"""The ``perspective-local serve`` command; ``register(app)`` adds it to the root CLI.

Only typer is imported at module level: the server (torch, grpc, uvicorn) is imported
inside the command, so ``perspective-local --help`` stays instant.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from perspective_local.cli.options import BackendsOption, BatchSizeOption, RouteOption

_SERVER = "Server"
_BATCHING = "Batching"
_MODEL = "Model"


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to ``app``."""
    app.command()(serve)


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
    max_batch_texts: Annotated[
        int | None,
        typer.Option(help="Most texts per model call  [default: 128]", rich_help_panel=_BATCHING),
    ] = None,
    batch_size: BatchSizeOption = None,
    max_wait_ms: Annotated[
        float | None,
        typer.Option(
            help="Wait for a batch to fill, in ms  [default: 2]", rich_help_panel=_BATCHING
        ),
    ] = None,
    max_admitted_texts: Annotated[
        int | None,
        typer.Option(
            help="Texts admitted at once; beyond it requests get 429  [default: 1024]",
            rich_help_panel=_BATCHING,
        ),
    ] = None,
    device: Annotated[
        str | None,
        typer.Option(
            help="auto, cpu, cuda or cuda:N  [default: auto; env: PERSPECTIVE_LOCAL_DEVICE]",
            rich_help_panel=_MODEL,
        ),
    ] = None,
    model_dir: Annotated[
        Path | None,
        typer.Option(
            help="Model directory  [default: the packaged model; env: PERSPECTIVE_LOCAL_MODEL_DIR]",
            rich_help_panel=_MODEL,
        ),
    ] = None,
    backends: BackendsOption = None,
    route: RouteOption = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML settings file.",
            envvar="PERSPECTIVE_LOCAL_CONFIG",
            show_envvar=True,
        ),
    ] = None,
    show_settings: Annotated[
        bool, typer.Option("--show-settings", help="Print the resolved settings and exit.")
    ] = False,
) -> None:
    """Serve the Perspective API (REST and gRPC) from one process.

    One model and one dynamic batcher serve both transports. Point existing Perspective
    clients at http://HOST:HTTP_PORT (googleapiclient: discoveryServiceUrl=
    http://HOST:HTTP_PORT/$discovery/rest?version=v1alpha1). Stops gracefully on SIGTERM.
    """
    from perspective_local.logs import configure_logging
    from perspective_local.settings import Settings, SettingsError

    try:
        settings = Settings.load(
            config_file=config,
            host=host,
            grpc_port=grpc_port,
            http_port=http_port,
            api_keys=api_keys,
            max_comment_bytes=max_comment_bytes,
            max_batch_texts=max_batch_texts,
            forward_batch_windows=batch_size,
            max_wait_ms=max_wait_ms,
            max_admitted_texts=max_admitted_texts,
            device=device,
            model_dir=model_dir,
            backends=backends,
            routes=",".join(route) if route else None,
        )
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if show_settings:
        typer.echo(json.dumps(settings.as_dict(), indent=2))
        return
    configure_logging(settings.log_level, settings.log_format)

    import asyncio

    from perspective_local.service.app import serve as run_server

    try:
        asyncio.run(run_server(settings))
    except (OSError, ValueError) as exc:  # FileNotFoundError and ArtifactError included
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
