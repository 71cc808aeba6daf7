"""``perspective-local attributes`` and ``version``: what this installation can score."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from perspective_local import __version__


def register(app: typer.Typer) -> None:
    """Add ``attributes`` and ``version`` to ``app``."""
    app.command("attributes")(attributes)
    app.command("version")(version)


def attributes(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the attributes this installation can score."""
    from perspective_local.models.attributes import ATTRIBUTES

    if as_json:
        rows = [
            {
                "name": a.name,
                "group": a.group,
                "languages": list(a.languages),
                "backend": a.backend,
                "definition": a.definition,
            }
            for a in ATTRIBUTES.values()
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("name", "group", "languages", "backend", "definition", show_lines=False)
    for a in ATTRIBUTES.values():
        table.add_row(a.name, a.group, ",".join(a.languages), a.backend, a.definition)
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
