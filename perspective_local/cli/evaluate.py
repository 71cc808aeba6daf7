"""The ``perspective-local evaluate`` command; ``register(app)`` adds it to the root CLI.

The work is ``perspective_local.evaluation.suite.run``; this module parses options, loads
the settings, shows progress and prints the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from perspective_local.cli.common import command_boundary, err, fail, load_settings
from perspective_local.cli.options import (
    BackendsOption,
    BatchSizeOption,
    ConfigOption,
    DataDirOption,
    DeviceOption,
    ModelDirOption,
    OnnxPrecisionOption,
    RouteOption,
)

if TYPE_CHECKING:
    from perspective_local.evaluation.suite import Evaluation


def register(app: typer.Typer) -> None:
    """Add the ``evaluate`` command to ``app``."""
    app.command("evaluate")(evaluate)


@command_boundary("evaluate", extra="train")
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
    data_dir: DataDirOption = None,
    bias_sample: Annotated[
        int, typer.Option(help="Identity-template sentences to score (seeded); 0 = all 76,564.")
    ] = 20_000,
    model_card: Annotated[
        Path | None, typer.Option(help="Also write the model card (Markdown) here.")
    ] = None,
    loco: Annotated[
        bool,
        typer.Option(
            help="Also leave each training corpus out of the frozen recipe and measure on it "
            "(embeds every training text once; cached)."
        ),
    ] = False,
    compare: Annotated[
        tuple[Path, Path] | None,
        typer.Option(
            metavar="DIR_A DIR_B",
            help="Instead: score the generalisation sets with two model directories and "
            "print each metric's difference (B - A) with a paired bootstrap 95% interval.",
        ),
    ] = None,
    model_dir: ModelDirOption = None,
    backends: BackendsOption = None,
    route: RouteOption = None,
    onnx_precision: OnnxPrecisionOption = None,
    device: DeviceOption = None,
    batch_size: BatchSizeOption = None,
    config: ConfigOption = None,
) -> None:
    """Measure the model on labelled data: ROC-AUC, Spearman, MAE, calibration error per
    attribute and set, reliability plots, identity-term bias and HateCheck accuracy.

    From each corpus the model was trained on, only its test split is used (never fitted
    on); every other corpus is used whole.
    """
    import sys

    from perspective_local.evaluation.suite import run

    if compare is not None:
        base = load_settings(config, device=device, data_dir=data_dir)
        _compare(*compare, out=out, device=base.device, data_dir=base.data_dir)
        return
    settings = load_settings(
        config, model_dir=model_dir, backends=backends, device=device,
        forward_batch_windows=batch_size, data_dir=data_dir,
        routes=",".join(route) if route else None,
        onnx_precision=onnx_precision.value if onnx_precision else None,
    )  # fmt: skip
    try:
        with _stage_bars() as progress:
            result = run(
                settings,
                data or [],
                suite=suite,
                out=out,
                bias_sample=bias_sample or None,
                model_card=model_card,
                loco=loco,
                command="perspective-local " + " ".join(sys.argv[1:]),
                progress=progress,
                say=lambda line: err.print(line, highlight=False, markup=False),
            )
    except (OSError, ValueError) as exc:  # bad files, a model that cannot load
        raise fail(str(exc)) from None
    _print_evaluation(result)
    typer.echo(f"wrote {out / 'metrics.json'} and {len(result.sets)} reliability plots")
    if model_card:
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


def _print_evaluation(result: Evaluation) -> None:
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
    for attribute, bias in result.identity_bias.items():
        s = bias["summary"]
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
    for attribute, cases in result.hatecheck.items():
        table.add_row(
            "HateCheck",
            attribute,
            "",
            "",
            f"acc {_cell(cases['summary']['accuracy'])}",
            "",
            "",
            "",
        )
    Console(width=140).print(table)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _compare(dir_a: Path, dir_b: Path, *, out: Path, device: str, data_dir: Path) -> None:
    import json

    from perspective_local.evaluation.generalisation import compare, comparison_table
    from perspective_local.models.backends.heads import HeadsBackend

    try:
        a = HeadsBackend.load(dir_a, device=device)
        b = HeadsBackend.load(dir_b, device=device)
    except (OSError, ValueError) as exc:
        raise fail(str(exc)) from None
    report = compare(a, b, data_dir, progress=lambda line: err.print(line, highlight=False))
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    typer.echo(f"A = {a.model_version} ({dir_a}), B = {b.model_version} ({dir_b})")
    typer.echo("\n".join(comparison_table(report)))
    typer.echo(f"wrote {out / 'compare.json'}")
