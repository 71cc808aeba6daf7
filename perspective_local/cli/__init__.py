"""The ``perspective-local`` command: composes the commands of every sub-package.

Each command is a small function; heavy imports (torch, the model) happen inside the
command that needs them, so ``perspective-local --help`` is instant. Results go to stdout,
diagnostics to stderr. Exit codes: 0 success, 1 unexpected failure, 2 bad usage or bad
input, 3 the server rejected a request, 4 the server is unreachable or overloaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from perspective_local import __version__
from perspective_local.cli.options import (
    EXIT_REJECTED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    ApiKeyOption,
    BackendsOption,
    BatchSizeOption,
    ConfigOption,
    DeviceOption,
    ModelDirOption,
    RouteOption,
    ServerOption,
)
from perspective_local.settings import Settings, SettingsError

if TYPE_CHECKING:
    from perspective_local.models.backend import Backend

app = typer.Typer(
    name="perspective-local",
    help="Score texts for Perspective API attributes on your own machine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)


def load_settings(config: Path | None, **flags: Any) -> Settings:
    try:
        settings = Settings.load(config_file=config, **flags)
    except SettingsError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    from perspective_local.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    return settings


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


@app.command()
def score(
    input: Annotated[
        str, typer.Argument(help="Records to score (JSONL, CSV, Parquet; - for stdin).")
    ],
    output: Annotated[
        str, typer.Option("--output", "-o", help="Where to write scored records (- for stdout).")
    ],
    attributes: Annotated[
        str | None,
        typer.Option(help="Comma-separated attributes  [default: all]", rich_help_panel="Request"),
    ] = None,
    batch_size: BatchSizeOption = None,
    device: DeviceOption = None,
    model_dir: ModelDirOption = None,
    backends: BackendsOption = None,
    route: RouteOption = None,
    input_format: Annotated[
        str | None,
        typer.Option(
            help="jsonl, csv or parquet  [default: from the suffix]", rich_help_panel="Input"
        ),
    ] = None,
    output_format: Annotated[
        str | None,
        typer.Option(
            help="jsonl, csv or parquet  [default: from the suffix]", rich_help_panel="Output"
        ),
    ] = None,
    text_field: Annotated[
        str, typer.Option(help="Field holding the text.", rich_help_panel="Input")
    ] = "text",
    id_field: Annotated[
        str, typer.Option(help="Field holding the record id.", rich_help_panel="Input")
    ] = "id",
    fail_fast: Annotated[
        bool,
        typer.Option(
            "--fail-fast",
            help="Stop at the first bad record instead of skipping it.",
            rich_help_panel="Input",
        ),
    ] = False,
    chunk_size: Annotated[
        int, typer.Option(help="Records scored and written together.", rich_help_panel="Output")
    ] = 256,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Score a file of texts for Perspective attributes, offline.

    Every output record is the input record plus "scores" (attribute -> probability) and
    "model_version". Records without an id get their line number as "id". Re-running with
    the same OUTPUT skips records already written there, so an interrupted run resumes.
    """
    from perspective_local.client.batch import ScoreJob, run_job, total_records
    from perspective_local.client.progress import progress_bar
    from perspective_local.client.records import RecordError, detect_format
    from perspective_local.models.attributes import UnknownAttributeError, resolve_attributes

    settings = load_settings(
        config, device=device, model_dir=model_dir, forward_batch_windows=batch_size,
        backends=backends, routes=",".join(route) if route else None,
    )  # fmt: skip
    if chunk_size < 1:
        raise fail("--chunk-size must be at least 1")
    try:
        job = ScoreJob(
            input=input,
            output=output,
            input_format=detect_format(input, input_format),
            output_format=detect_format(output, output_format),
            attributes=resolve_attributes(attributes) if attributes else None,
            text_field=text_field,
            id_field=id_field,
            on_bad_record="fail" if fail_fast else "skip",
            forward_batch_windows=settings.forward_batch_windows,
            chunk_size=chunk_size,
        )
        total = total_records(job)
    except (RecordError, UnknownAttributeError, ValueError) as exc:
        raise fail(str(exc)) from None

    from perspective_local.errors import NotReady, Overloaded, PerspectiveError

    backend = _score_backend(settings, server, api_key)
    try:
        with progress_bar(total, "scoring", enabled=progress) as advance:
            report = run_job(
                job,
                backend,
                advance=advance,
                # With --fail-fast the bad record is reported once, by the error below.
                on_bad=(lambda bad: None) if fail_fast else _report_skipped,
            )
    except RecordError as exc:  # BadRecordError included
        raise fail(str(exc)) from None
    except (NotReady, Overloaded) as exc:
        raise fail(f"server {server}: {exc}", EXIT_UNAVAILABLE) from None
    except PerspectiveError as exc:
        raise fail(f"server {server} rejected a request: {exc}", EXIT_REJECTED) from None
    err.print(
        f"scored {report.scored} records in {report.seconds:.1f}s "
        f"({report.texts_per_second:.1f} texts/s); {report.already_done} already in "
        f"{output}; {len(report.bad)} bad records skipped",
        highlight=False,
    )


def _report_skipped(bad: object) -> None:
    err.print(f"[yellow]skipped[/yellow] {bad}", highlight=False)


def _score_backend(settings: Settings, server: str | None, api_key: str | None) -> Backend:
    """The in-process model, or a client of the server at ``server``; exits on failure."""
    from perspective_local.errors import NotReady, PerspectiveError

    if server:
        from perspective_local.client._client import ServerBackend

        try:
            remote = ServerBackend(server, api_key=api_key)
            err.print(f"model {remote.model_version} on {remote.device}", highlight=False)
        except NotReady as exc:
            raise fail(f"server {server} is unreachable: {exc}", EXIT_UNAVAILABLE) from None
        except PerspectiveError as exc:
            raise fail(f"server {server}: {exc}", EXIT_REJECTED) from None
        return remote
    from perspective_local.client.local import load_local_backend

    try:
        backend = load_local_backend(settings)
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    err.print(f"model {backend.model_version} on {backend.device}", highlight=False)
    return backend


@app.command()
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


@app.command()
def version() -> None:
    """Print the package version and the default model's version."""
    from perspective_local.models.artifact import DEFAULT_MODEL_DIR, ArtifactError, load_manifest

    typer.echo(f"perspective-local {__version__}")
    try:
        manifest = load_manifest(DEFAULT_MODEL_DIR)
        typer.echo(f"default model {manifest.model_version} (encoder {manifest.encoder.id})")
    except ArtifactError as exc:
        typer.echo(f"default model: unavailable ({exc})")


@app.command()
def train(
    out: Annotated[Path, typer.Option("--out", help="Directory for the new model artifact.")],
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Labelled corpora  [default: ../shared/data; env: PERSPECTIVE_LOCAL_DATA_DIR]"
        ),
    ] = None,
    corpora: Annotated[
        str | None, typer.Option(help="Comma-separated corpora  [default: the default set]")
    ] = None,
    max_texts_per_corpus: Annotated[
        int, typer.Option(help="Seeded sample per corpus; 0 keeps all.")
    ] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed for sampling and fitting.")] = 0,
    source_weighting: Annotated[
        str, typer.Option(help="Weigh corpora by size: none, sqrt or equal.")
    ] = "none",
    cache: Annotated[bool, typer.Option(help="Cache embeddings under the cache directory.")] = True,
    device: DeviceOption = None,
    batch_size: Annotated[int | None, typer.Option(help="Texts per forward pass.")] = None,
    finetune: Annotated[
        bool,
        typer.Option(
            "--finetune/--frozen",
            help="Also train LoRA adapters on the encoder (minutes on a GPU, about an hour on "
            "2 CPU cores), then refit the heads on the adapted embeddings.",
            rich_help_panel="Fine-tuning",
        ),
    ] = False,
    finetune_texts: Annotated[
        int, typer.Option(help="Train-split texts to fine-tune on.", rich_help_panel="Fine-tuning")
    ] = 8000,
    finetune_epochs: Annotated[
        int, typer.Option(help="Passes over those texts.", rich_help_panel="Fine-tuning")
    ] = 1,
    finetune_max_length: Annotated[
        int, typer.Option(help="Tokens per text while fine-tuning.", rich_help_panel="Fine-tuning")
    ] = 128,
    finetune_refit: Annotated[
        str,
        typer.Option(
            help="Refit the heads on every train-split text (all) or only on the "
            "fine-tuning sample (sample, faster).",
            rich_help_panel="Fine-tuning",
        ),
    ] = "all",
    lora_rank: Annotated[
        int, typer.Option(help="Rank of the LoRA adapters.", rich_help_panel="Fine-tuning")
    ] = 8,
    config: ConfigOption = None,
) -> None:
    """Train the attribute heads on labelled corpora and write a model artifact.

    Each attribute gets a logistic head fitted on soft labels on the train split of a
    split by article, thread or topic; regularisation and Platt calibration are chosen on
    the validation split; the test split is left for `evaluate`. With --finetune the
    encoder learns too, through LoRA adapters stored beside the heads.
    """
    import sys

    from perspective_local.training.corpora import CORPORA
    from perspective_local.training.finetune import FinetuneConfig
    from perspective_local.training.train import DEFAULT_CORPORA, TrainConfig
    from perspective_local.training.train import train as train_heads

    settings = load_settings(
        config, device=device, data_dir=data_dir, forward_batch_windows=batch_size
    )
    names = tuple(c.strip() for c in corpora.split(",")) if corpora else DEFAULT_CORPORA
    if source_weighting not in ("none", "sqrt", "equal"):
        raise fail(f"--source-weighting must be none, sqrt or equal, not {source_weighting!r}")
    if finetune_refit not in ("all", "sample"):
        raise fail(f"--finetune-refit must be all or sample, not {finetune_refit!r}")
    unknown = [n for n in names if n not in CORPORA]
    if unknown:
        raise fail(f"Unknown corpora {', '.join(unknown)}; known: {', '.join(CORPORA)}.")
    train_config = TrainConfig(
        data_dir=settings.data_dir,
        out_dir=out,
        corpora=names,
        cache_dir=settings.cache_dir if cache else None,
        max_texts_per_corpus=max_texts_per_corpus or None,
        seed=seed,
        source_weighting=source_weighting,  # type: ignore[arg-type]
        device=settings.device,
        batch_size=settings.forward_batch_windows or TrainConfig.batch_size,
        command="perspective-local " + " ".join(sys.argv[1:]),
        # The name is stamped on every score: a fine-tuned encoder must not pass for the plain one.
        name="minilm-l6-lora" if finetune else TrainConfig.name,
        finetune=FinetuneConfig(
            rank=lora_rank, epochs=finetune_epochs, max_length=finetune_max_length,
            max_texts=finetune_texts, seed=seed,
            refit=finetune_refit,  # type: ignore[arg-type]
        ) if finetune else None,
    )  # fmt: skip
    try:
        manifest = train_heads(train_config, progress=lambda line: err.print(line, highlight=False))
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    typer.echo(f"wrote {manifest.model_version} to {out}")


def _register_subcommands() -> None:
    # Each sub-package owns its commands; registering imports only their CLI modules.
    from perspective_local.cli.analyze import register as register_analysis
    from perspective_local.cli.models import register as register_models
    from perspective_local.cli.serve import register as register_serve

    register_serve(app)
    register_models(app)
    register_analysis(app)


_register_subcommands()


def main() -> None:
    app()
