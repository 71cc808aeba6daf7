"""The ``perspective-local score`` command; ``register(app)`` adds it to the root CLI.

The work is the client's ``run_job``; this module parses options, loads the settings,
builds the backend (in-process or a server) and reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from perspective_local.cli.common import ExitCode, command_boundary, err, fail, load_settings
from perspective_local.cli.options import (
    ApiKeyOption,
    AttributesOption,
    BackendsOption,
    BatchSizeOption,
    ConfigOption,
    DeviceOption,
    ModelDirOption,
    OnnxPrecisionOption,
    ProgressOption,
    RecordFormat,
    RouteOption,
    ServerOption,
)

if TYPE_CHECKING:
    from perspective_local.models.backend import Backend
    from perspective_local.settings import Settings


def register(app: typer.Typer) -> None:
    """Add the ``score`` command to ``app``."""
    app.command("score")(score)


@command_boundary("score", extra="server")
def score(
    input: Annotated[
        str, typer.Argument(help="Records to score (JSONL, CSV, Parquet; - for stdin).")
    ],
    output: Annotated[
        str, typer.Option("--output", "-o", help="Where to write scored records (- for stdout).")
    ],
    attributes: AttributesOption = None,
    batch_size: BatchSizeOption = None,
    device: DeviceOption = None,
    model_dir: ModelDirOption = None,
    backends: BackendsOption = None,
    route: RouteOption = None,
    onnx_precision: OnnxPrecisionOption = None,
    input_format: Annotated[
        RecordFormat | None,
        typer.Option(help="Input format  [default: from the suffix]", rich_help_panel="Input"),
    ] = None,
    output_format: Annotated[
        RecordFormat | None,
        typer.Option(help="Output format  [default: from the suffix]", rich_help_panel="Output"),
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
    progress: ProgressOption = True,
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
        onnx_precision=onnx_precision.value if onnx_precision else None,
    )  # fmt: skip
    if chunk_size < 1:
        raise fail("--chunk-size must be at least 1")
    try:
        job = ScoreJob(
            input=input,
            output=output,
            input_format=detect_format(input, input_format.value if input_format else None),
            output_format=detect_format(output, output_format.value if output_format else None),
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
        raise fail(f"server {server}: {exc}", ExitCode.UNREACHABLE) from None
    except PerspectiveError as exc:
        raise fail(f"server {server} rejected a request: {exc}", ExitCode.REJECTED) from None
    err.print(
        f"scored {report.scored} records in {report.seconds:.1f}s "
        f"({report.texts_per_second:.1f} texts/s); {report.already_done} already in "
        f"{output}; {len(report.bad)} bad records skipped",
        highlight=False,
        markup=False,
    )


def _report_skipped(bad: object) -> None:
    err.print(f"[yellow]skipped[/yellow] {escape(str(bad))}", highlight=False)


def _score_backend(settings: Settings, server: str | None, api_key: str | None) -> Backend:
    """The in-process model, or a client of the server at ``server``; exits on failure."""
    from perspective_local.errors import NotReady, PerspectiveError

    if server:
        from perspective_local.client._client import ServerBackend

        try:
            remote = ServerBackend(server, api_key=api_key)
            err.print(f"model {remote.model_version} on {remote.device}", highlight=False)
        except NotReady as exc:
            raise fail(f"server {server} is unreachable: {exc}", ExitCode.UNREACHABLE) from None
        except PerspectiveError as exc:
            raise fail(f"server {server}: {exc}", ExitCode.REJECTED) from None
        return remote
    from perspective_local.client.local import load_local_backend

    try:
        backend = load_local_backend(settings)
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    err.print(f"model {backend.model_version} on {backend.device}", highlight=False)
    return backend
