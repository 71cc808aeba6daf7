"""``perspective-local attributes`` and ``version``: what this installation can score."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from perspective_local import __version__
from perspective_local.cli.common import load_settings
from perspective_local.cli.options import ConfigOption


def register(app: typer.Typer) -> None:
    """Add ``attributes`` and ``version`` to ``app``."""
    app.command("attributes")(attributes)
    app.command("version")(version)


def attributes(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    config: ConfigOption = None,
) -> None:
    """List the attributes this installation can score, and the backend that serves each
    under the settings (a route, else the encoder + heads as the backends setting resolves
    them: heads on torch, or onnx)."""
    from perspective_local.models.attributes import ATTRIBUTES, HEADS_BACKEND
    from perspective_local.models.routing import resolve_backends

    settings = load_settings(config)
    kinds = resolve_backends(settings)
    heads = next((k for k in kinds if k in (HEADS_BACKEND, "onnx")), HEADS_BACKEND)

    def backend(name: str, default: str) -> str:
        return settings.routes.get(name) or (heads if default == HEADS_BACKEND else default)

    if as_json:
        rows = [
            {
                "name": a.name,
                "group": a.group,
                "languages": list(a.languages),
                "backend": backend(a.name, a.backend),
                "definition": a.definition,
            }
            for a in ATTRIBUTES.values()
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("name", "group", "languages", "backend", "definition", show_lines=False)
    for a in ATTRIBUTES.values():
        table.add_row(a.name, a.group, ",".join(a.languages), backend(a.name, a.backend),
                      a.definition)  # fmt: skip
    Console(width=200).print(table)


def version() -> None:
    """Print the package version and the default model's version."""
    from perspective_local.models.artifact import DEFAULT_MODEL_DIR, ArtifactError, load_manifest

    typer.echo(f"perspective-local {__version__}")
    try:
        manifest = load_manifest(DEFAULT_MODEL_DIR)
        typer.echo(f"default model {manifest.model_version} (encoder {manifest.encoder.id})")
    except ArtifactError as exc:
        typer.echo(f"default model: unavailable ({exc})")
