"""The ``analyze`` and ``prism synth`` commands, added to the root CLI by ``register(app)``.

Heavy imports (pandas, PyMC, ArviZ, matplotlib) happen inside the commands, so
``perspective-local --help`` stays fast. Results go to files; progress goes to stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from perspective_local.cli.options import (
    EXIT_REJECTED,
    EXIT_UNAVAILABLE,
    ApiKeyOption,
    ServerOption,
)
from perspective_local.cli.options import EXIT_USAGE as EXIT_BAD_INPUT

_err = Console(stderr=True)


def _say(message: str) -> None:
    _err.print(f"[dim]analysis[/dim] {message}", highlight=False)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def analyze(
    prism_dir: Annotated[
        Path,
        typer.Option(
            "--prism-dir",
            help="Folder with PRISM's conversations.jsonl and survey.jsonl.",
            rich_help_panel="Input",
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Folder for coefficients.csv, report.md, figures/.",
            rich_help_panel="Output",
        ),
    ],
    scores: Annotated[
        Path | None,
        typer.Option(
            "--scores",
            help=(
                "JSONL from `perspective-local score`, joined on exact text. "
                "Without it, texts are scored through --server, or in-process."
            ),
            rich_help_panel="Input",
        ),
    ] = None,
    analyses: Annotated[
        str,
        typer.Option(
            help="Comma-separated: choice, score, interaction, moderation, mirroring.",
            rich_help_panel="Analyses",
        ),
    ] = "choice,score,interaction,moderation,mirroring",
    subsets: Annotated[
        str,
        typer.Option(
            help="Comma-separated: all, unguided, values, controversy.", rich_help_panel="Analyses"
        ),
    ] = "all,unguided,values,controversy",
    draws: Annotated[
        int | None,
        typer.Option(
            help="Draws per chain [default: the paper's, 1,000 or 3,000].",
            rich_help_panel="Sampler",
        ),
    ] = None,
    tune: Annotated[
        int | None,
        typer.Option(help="Warm-up draws per chain [default: 1,000].", rich_help_panel="Sampler"),
    ] = None,
    chains: Annotated[
        int | None, typer.Option(help="Chains [default: 4].", rich_help_panel="Sampler")
    ] = None,
    seed: Annotated[
        int,
        typer.Option(
            help="Base seed; each fit derives its own from it.", rich_help_panel="Sampler"
        ),
    ] = 20250305,
    sampler: Annotated[
        str,
        typer.Option(help="auto (nutpie if installed), nutpie or pymc.", rich_help_panel="Sampler"),
    ] = "auto",
    priors: Annotated[
        str,
        typer.Option(
            help="paper: Normal(0, 1e6) on coefficients; weak: Normal(0, 2.5 sd(y)/sd(x)).",
            rich_help_panel="Sampler",
        ),
    ] = "paper",
    loo: Annotated[
        bool,
        typer.Option(
            help=(
                "Compare ELPD-LOO with and without the LLM random effect "
                "(choice and score, all data)."
            ),
            rich_help_panel="Analyses",
        ),
    ] = True,
    allow_missing_scores: Annotated[
        bool,
        typer.Option(
            help="Drop (and count) responses whose texts are not in --scores instead of failing.",
            rich_help_panel="Input",
        ),
    ] = False,
    highest: Annotated[
        str,
        typer.Option(
            help="chosen: PRISM's if_chosen; max: every response tied for the top score.",
            rich_help_panel="Analyses",
        ),
    ] = "chosen",
    figures: Annotated[
        bool, typer.Option(help="Write figures/*.png.", rich_help_panel="Output")
    ] = True,
    device: Annotated[
        str | None,
        typer.Option(help="Device for in-process scoring (cpu, cuda).", rich_help_panel="Input"),
    ] = None,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Fit the constructive-interactions analyses on PRISM and write tables, report and figures."""
    from perspective_local.analysis.prism import PrismSchemaError
    from perspective_local.analysis.scores import ScoresError
    from perspective_local.analysis.specs import SamplerOptions
    from perspective_local.analysis.study import run_study
    from perspective_local.client import NotReady, Overloaded, PerspectiveError
    from perspective_local.settings import Settings

    if sampler not in ("auto", "nutpie", "pymc"):
        raise typer.BadParameter(
            f"'{sampler}' is not a sampler; valid: auto, nutpie, pymc", param_hint="--sampler"
        )
    if priors not in ("paper", "weak"):
        raise typer.BadParameter(
            f"'{priors}' is not a prior choice; valid: paper, weak", param_hint="--priors"
        )
    if highest not in ("chosen", "max"):
        raise typer.BadParameter(
            f"'{highest}' is not a rule; valid: chosen, max", param_hint="--highest"
        )
    options = SamplerOptions(
        draws=draws, tune=tune, chains=chains, seed=seed,
        sampler=sampler, priors=priors, progress=_err.is_terminal,  # type: ignore[arg-type]
    )  # fmt: skip
    try:
        run_study(
            prism_dir, out, scores_file=scores, analyses=_split(analyses), subsets=_split(subsets),
            options=options, loo=loo, allow_missing_scores=allow_missing_scores, say=_say,
            highest=highest,  # type: ignore[arg-type]
            figures=figures, settings=Settings.load(device=device), server=server,
            api_key=api_key,
        )  # fmt: skip
    except (FileNotFoundError, PrismSchemaError, ScoresError, ValueError) as exc:
        _fail(str(exc), EXIT_BAD_INPUT, exc)
    except (NotReady, Overloaded) as exc:
        _fail(f"server {server}: {exc}", EXIT_UNAVAILABLE, exc)
    except PerspectiveError as exc:
        _fail(f"server {server} rejected a request: {exc}", EXIT_REJECTED, exc)


def _fail(message: str, code: int, cause: Exception) -> NoReturn:
    _err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code=code) from cause


def synth(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the synthetic release into.")],
    users: Annotated[
        int, typer.Option(help="Participants with conversations (about 7% survey-only are added).")
    ] = 300,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Write a synthetic PRISM release with planted effects, a scores file and truth.json."""
    from perspective_local.analysis.synth import synthesize

    truth = synthesize(out, users=users, seed=seed, progress=_say)
    _say(
        f"wrote {truth['conversations']:,} conversations and {truth['opening_responses']:,} "
        f"opening responses to {out} (scores.jsonl, truth.json included)"
    )


def register(app: typer.Typer) -> None:
    """Add ``analyze`` and the ``prism`` sub-app (with ``synth``) to the root command."""
    app.command("analyze")(analyze)
    prism_app = typer.Typer(help="Work with PRISM-shaped data.", no_args_is_help=True)
    prism_app.command("synth")(synth)
    app.add_typer(prism_app, name="prism")
