"""The model commands: ``perspective-local evaluate`` and ``models list / pull / export-onnx``.

``register(app)`` adds them to the root CLI. Heavy imports (torch, onnxruntime) happen
inside the commands.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from perspective_local.cli.options import (
    BackendsOption,
    BatchSizeOption,
    ConfigOption,
    DeviceOption,
    ModelDirOption,
)
from perspective_local.settings import Settings, SettingsError

models_app = typer.Typer(
    name="models",
    help="List, download and export model backends (Detoxify, ONNX).",
    no_args_is_help=True,
)
err = Console(stderr=True)

CacheDirOption = Annotated[
    Path | None,
    typer.Option(help="Cache directory  [default: ~/.cache/perspective-local; env: "
                 "PERSPECTIVE_LOCAL_CACHE_DIR]"),
]  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` and the ``models`` command group to ``app``."""
    app.command("evaluate")(evaluate)
    app.add_typer(models_app)


def _settings(config: Path | None, **flags: Any) -> Settings:
    try:
        return Settings.load(config_file=config, **flags)
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@models_app.command("list")
def list_models(
    cache_dir: CacheDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    config: ConfigOption = None,
) -> None:
    """Detoxify releases that `models pull` knows, and whether each is in the cache."""
    from perspective_local.models.backends.detoxify import SUMS_FILE
    from perspective_local.models.backends.detoxify_releases import RELEASES, release_dir

    settings = _settings(config, cache_dir=cache_dir)
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


@models_app.command()
def pull(
    name: Annotated[str, typer.Argument(help="A Detoxify release, e.g. detoxify-unbiased.")],
    cache_dir: CacheDirOption = None,
    mirror: Annotated[
        str | None,
        typer.Option(
            help="Mirror laid out as MIRROR/host/path  [env: PERSPECTIVE_LOCAL_DOWNLOAD_MIRROR]"
        ),
    ] = None,
    sha256: Annotated[
        str | None,
        typer.Option(
            help="Expected checkpoint sha256, replacing the published one (for a "
            "mirror serving your own checkpoint)."
        ),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
    config: ConfigOption = None,
) -> None:
    """Download a Detoxify checkpoint with its config and tokenizer into the cache.

    The only command that uses the network. An interrupted download resumes when run
    again; a file whose checksum does not match is deleted and the command fails.
    """
    from perspective_local.download import DownloadError
    from perspective_local.models.backends.detoxify_releases import pull as pull_release

    settings = _settings(config, cache_dir=cache_dir, download_mirror=mirror)
    try:
        with _download_bars(progress) as bar:
            directory = pull_release(
                name, settings.cache_dir, mirror=settings.download_mirror,
                checkpoint_sha256=sha256, progress=bar,
            )  # fmt: skip
    except (DownloadError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"pulled {name} to {directory}")


@contextmanager
def _download_bars(enabled: bool) -> Iterator[Callable[[str], Callable[[int, int | None], None]]]:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn())  # fmt: skip
    with Progress(*columns, console=err, disable=not enabled) as bars:

        def bar(file: str) -> Callable[[int, int | None], None]:
            task = bars.add_task(file, total=None)
            return lambda done, total: bars.update(task, completed=done, total=total)

        yield bar


@models_app.command("export-onnx")
def export_onnx(
    out: Annotated[
        Path | None,
        typer.Option(
            help="Directory for the export  [default: CACHE_DIR/onnx/default, "
            "where --backends onnx looks]"
        ),
    ] = None,
    model_dir: Annotated[
        Path | None, typer.Option(help="Model artifact  [default: the packaged model]")
    ] = None,
    int8: Annotated[
        bool, typer.Option("--int8", help="Also write a dynamically quantised int8 graph.")
    ] = False,
    check: Annotated[
        bool, typer.Option(help="Score a few texts with torch and ONNX and print the gap.")
    ] = True,
    config: ConfigOption = None,
) -> None:
    """Export the encoder with every head to one ONNX graph (dynamic batch and length)."""
    from perspective_local.models.backends.heads import HeadsBackend
    from perspective_local.models.backends.onnx_export import export_onnx as export
    from perspective_local.models.routing import onnx_dir

    settings = _settings(config, model_dir=model_dir)
    target = out or onnx_dir(settings)
    scorer = HeadsBackend.load(settings.model_dir, device="cpu")
    info = export(scorer, target, int8=int8)
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


def evaluate(
    data: Annotated[
        list[Path] | None,
        typer.Argument(help='JSONL files of {"text", "labels": {ATTRIBUTE: value}} records.'),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Directory for metrics.json and reliability plots.")
    ] = Path("evaluation"),
    suite: Annotated[
        bool,
        typer.Option(
            help="Also run the built-in suite: held-out splits of the corpora under "
            "--data-dir, the seed and chat-domain sets, identity bias, HateCheck."
        ),
    ] = True,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Labelled corpora  [default: ../shared/data; env: PERSPECTIVE_LOCAL_DATA_DIR]"
        ),
    ] = None,
    bias_sample: Annotated[
        int, typer.Option(help="Identity-template sentences to score (seeded); 0 = all 76,564.")
    ] = 20_000,
    model_card: Annotated[
        Path | None, typer.Option(help="Also write the model card (Markdown) here.")
    ] = None,
    model_dir: ModelDirOption = None,
    backends: BackendsOption = None,
    device: DeviceOption = None,
    batch_size: BatchSizeOption = None,
    config: ConfigOption = None,
) -> None:
    """Measure the model on labelled data: ROC-AUC, Spearman, MAE, calibration error per
    attribute and set, reliability plots, identity-term bias and HateCheck accuracy.

    From each corpus the model was trained on, only its test split is used (never fitted
    on); every other corpus is used whole.
    """
    import os
    import sys

    from perspective_local.evaluation.suite import (
        EvaluationDataError,
        load_labelled_jsonl,
        reliability_plot,
        suite_sets,
    )
    from perspective_local.evaluation.suite import evaluate as run_evaluation
    from perspective_local.models.artifact import DEFAULT_MODEL_DIR, load_manifest
    from perspective_local.models.routing import load_backend

    settings = _settings(
        config,
        model_dir=model_dir,
        backends=backends,
        device=device,
        forward_batch_windows=batch_size,
        data_dir=data_dir,
    )
    if not data and not suite:
        typer.echo("error: nothing to evaluate: give DATA files or leave --suite on.", err=True)
        raise typer.Exit(2)
    manifest = load_manifest(settings.model_dir or DEFAULT_MODEL_DIR)
    sets = {}
    try:
        for path in data or []:
            sets[path.stem] = load_labelled_jsonl(path)
    except (OSError, EvaluationDataError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if suite:
        ignored = manifest.provenance.get("ignored_labels", {})
        sets.update(suite_sets(settings.data_dir, manifest.training_data, ignored))
    try:
        backend = load_backend(settings)
    except (ValueError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    err.print(
        f"model {backend.model_version} on {backend.device}; "
        f"{sum(len(v) for v in sets.values())} labelled texts in {len(sets)} sets",
        highlight=False,
    )
    with _stage_bars() as progress:
        result = run_evaluation(
            backend,
            sets,
            data_dir=settings.data_dir if suite else None,
            bias_sample=bias_sample or None,
            progress=progress,
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(result.to_json(), encoding="utf-8")
    for name, report in result.sets.items():
        if report:
            reliability_plot(name, report, out / "reliability" / f"{name}.png")
    _print_evaluation(result)
    typer.echo(f"wrote {out / 'metrics.json'} and {len(result.sets)} reliability plots")
    if model_card:
        from perspective_local.evaluation.model_card import render_model_card

        command = "perspective-local " + " ".join(sys.argv[1:])
        model_card.parent.mkdir(parents=True, exist_ok=True)
        plots = os.path.relpath(out / "reliability", model_card.parent)
        card = render_model_card(manifest, result, command=command, plots=plots)
        model_card.write_text(card, encoding="utf-8")
        typer.echo(f"wrote {model_card}")


@contextmanager
def _stage_bars() -> Iterator[Callable[[str, int, int], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err
    ) as bars:
        tasks: dict[str, Any] = {}

        def advance(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done)

        yield advance


def _print_evaluation(result: Any) -> None:
    from rich.table import Table

    table = Table("set", "attribute", "n", "pos", "AUC", "Spearman", "MAE", "ECE")
    for name, report in result.sets.items():
        for attribute, m in report.items():
            table.add_row(
                name,
                attribute.removesuffix("_EXPERIMENTAL"),
                str(m["n"]),
                str(m["n_positive"]),
                *(_cell(m[k]) for k in ("roc_auc", "spearman", "mae", "ece")),
            )
    for attribute, report in result.identity_bias.items():
        s = report["summary"]
        table.add_row(
            "identity bias",
            attribute,
            "",
            "",
            _cell(s["overall_auc"]),
            f"BPSN {_cell(s['bpsn_auc_power_mean'])}",
            f"BNSP {_cell(s['bnsp_auc_power_mean'])}",
            "",
        )
    for attribute, report in result.hatecheck.items():
        table.add_row(
            "HateCheck",
            attribute,
            "",
            "",
            f"acc {_cell(report['summary']['accuracy'])}",
            "",
            "",
            "",
        )
    Console(width=140).print(table)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
