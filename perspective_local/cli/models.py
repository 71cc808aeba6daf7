"""The model commands: ``perspective-local models list / pull / export-onnx``.

``register(app)`` adds them to the root CLI. Heavy imports (torch, onnxruntime) happen
inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from perspective_local.cli.common import (
    ExitCode,
    command_boundary,
    download_bars,
    fail,
    load_settings,
    require,
)
from perspective_local.cli.options import (
    CacheDirOption,
    ConfigOption,
    MirrorOption,
    ModelDirOption,
    ProgressOption,
)

models_app = typer.Typer(
    name="models",
    help="List, download and export model backends (Detoxify, ONNX).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the ``models`` command group to ``app``."""
    app.add_typer(models_app)


@models_app.command("list")
@command_boundary("models list", extra="server")
def list_models(
    cache_dir: CacheDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    config: ConfigOption = None,
) -> None:
    """Detoxify releases that `models pull` knows, and whether each is in the cache."""
    from perspective_local.models.backends.detoxify import SUMS_FILE
    from perspective_local.models.backends.detoxify_releases import RELEASES, release_dir

    settings = load_settings(config, cache_dir=cache_dir)
    rows = [
        {"name": r.name, "description": r.description, "base_model": r.base_repo,
         "pulled": (release_dir(r.name, settings.cache_dir) / SUMS_FILE).exists(),
         "directory": str(release_dir(r.name, settings.cache_dir))}
        for r in RELEASES.values()
    ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        mark = "pulled " if row["pulled"] else "       "
        typer.echo(f"{mark} {row['name']:<26} {row['description']}")


@models_app.command("pull")
@command_boundary("models pull", extra="server")
def pull(
    name: Annotated[str, typer.Argument(help="A Detoxify release, e.g. detoxify-unbiased.")],
    cache_dir: CacheDirOption = None,
    mirror: MirrorOption = None,
    sha256: Annotated[
        str | None,
        typer.Option(
            help="Expected checkpoint sha256, replacing the published one (for a "
            "mirror serving your own checkpoint)."
        ),
    ] = None,
    progress: ProgressOption = True,
    config: ConfigOption = None,
) -> None:
    """Download a Detoxify checkpoint with its config and tokenizer into the cache.

    One of the two commands that use the network (with `prism download`). An interrupted
    download resumes when run again; a file whose checksum does not match is deleted and
    the command fails.
    """
    from perspective_local.download import DownloadError
    from perspective_local.models.backends.detoxify_releases import pull as pull_release

    settings = load_settings(config, cache_dir=cache_dir, download_mirror=mirror)
    try:
        with download_bars(progress) as bar:
            directory = pull_release(
                name, settings.cache_dir, mirror=settings.download_mirror,
                checkpoint_sha256=sha256, progress=bar,
            )  # fmt: skip
    except (DownloadError, ValueError) as exc:
        raise fail(str(exc), ExitCode.FAILED) from None
    typer.echo(f"pulled {name} to {directory}")


@models_app.command("export-onnx")
@command_boundary("models export-onnx", extra="onnx")
def export_onnx(
    out: Annotated[
        Path | None,
        typer.Option(
            help="Directory for the export  [default: the cache's export of the model, "
            "CACHE_DIR/onnx/NAME-KEY, where the onnx backend looks]"
        ),
    ] = None,
    model_dir: ModelDirOption = None,
    int8: Annotated[
        bool, typer.Option("--int8", help="Also write a dynamically quantised int8 graph.")
    ] = False,
    check: Annotated[
        bool, typer.Option(help="Score a few texts with torch and ONNX and print the gap.")
    ] = True,
    config: ConfigOption = None,
) -> None:
    """Export the encoder with every head to one ONNX graph (dynamic batch and length).

    The onnx backend makes the fp32 export in the cache by itself on first use; this
    command adds the int8 graph (--int8) or writes an export elsewhere (--out)."""
    # A missing [onnx] extra fails here, in one line, not after loading and tracing the model.
    require("onnx", "onnxruntime")
    from perspective_local.models.backends.heads import HeadsBackend
    from perspective_local.models.backends.onnx_cache import source_fingerprint, write_export
    from perspective_local.models.backends.onnx_export import export_onnx as export
    from perspective_local.models.routing import onnx_dir

    settings = load_settings(config, model_dir=model_dir)
    scorer = HeadsBackend.load(settings.model_dir, device="cpu")
    target = out or onnx_dir(settings)
    if out is None and settings.onnx_dir is None:
        # The cache's export: replaced whole, once the new one is complete.
        info = write_export(settings.model_dir, target, int8=int8, scorer=scorer)
    else:  # a directory of the user's: written in place
        info = export(scorer, target, int8=int8, source=source_fingerprint(settings.model_dir))
    typer.echo(f"exported {info.model_version} to {target}: {', '.join(info.files.values())}")
    if check:
        from perspective_local.models.backends.onnx import OnnxBackend

        texts = [_CHECK_TEXT, "Thank you for explaining; I had not thought of it that way."]
        reference = scorer.score(texts).values
        for precision in info.files:
            gap = abs(OnnxBackend(target, precision=precision, device="cpu").score(texts).values
                      - reference).max()  # fmt: skip
            typer.echo(f"{precision}: largest difference from torch {gap:.2e}")


_CHECK_TEXT = "You are a complete idiot and everyone here knows it."
