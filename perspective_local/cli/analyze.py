"""The ``analyze``, ``profiles``, ``rank`` and ``prism synth | download | texts`` commands,
added to the root CLI by ``register(app)``.

Heavy imports (pandas, PyMC, ArviZ, matplotlib) happen inside the commands, so
``perspective-local --help`` stays fast. Results go to files; progress goes to stderr.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from perspective_local.cli.common import (
    ExitCode,
    command_boundary,
    download_bars,
    err,
    fail,
    load_settings,
    require,
)
from perspective_local.cli.options import (
    ApiKeyOption,
    BackendsOption,
    BatchSizeOption,
    ConfigOption,
    DeviceOption,
    Highest,
    MirrorOption,
    ModelDirOption,
    OnnxPrecisionOption,
    Priors,
    ProgressOption,
    RouteOption,
    Sampler,
    ServerOption,
)


def _say(message: str) -> None:
    err.print(f"[dim]analysis[/dim] {escape(message)}", highlight=False)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@command_boundary("analyze", extra="analysis")
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
            help="Folder for coefficients.csv, report.md, report.html, figures/.",
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
        Sampler,
        typer.Option(help="auto (nutpie if installed), nutpie or pymc.", rich_help_panel="Sampler"),
    ] = Sampler.auto,
    priors: Annotated[
        Priors,
        typer.Option(
            help="paper: Normal(0, 1e6) on coefficients; weak: Normal(0, 2.5 sd(y)/sd(x)).",
            rich_help_panel="Sampler",
        ),
    ] = Priors.paper,
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
        Highest,
        typer.Option(
            help="chosen: PRISM's if_chosen; max: every response tied for the top score.",
            rich_help_panel="Analyses",
        ),
    ] = Highest.chosen,
    figures: Annotated[
        bool,
        typer.Option(
            help="Write figures/*.png (report.html embeds the figures either way).",
            rich_help_panel="Output",
        ),
    ] = True,
    device: DeviceOption = None,
    model_dir: ModelDirOption = None,
    backends: BackendsOption = None,
    route: RouteOption = None,
    onnx_precision: OnnxPrecisionOption = None,
    batch_size: BatchSizeOption = None,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Fit the constructive-interactions analyses on PRISM and write tables, report and figures.

    Without --scores and --server, texts are scored in this process by the model the
    settings configure (--model-dir, --backends, --route, --device, --batch-size, --config).
    """
    from perspective_local.analysis.specs import SamplerOptions
    from perspective_local.analysis.study import run_study

    settings = load_settings(
        config, device=device, model_dir=model_dir, backends=backends,
        routes=",".join(route) if route else None, forward_batch_windows=batch_size,
        onnx_precision=onnx_precision.value if onnx_precision else None,
    )  # fmt: skip
    options = SamplerOptions(
        draws=draws, tune=tune, chains=chains, seed=seed,
        sampler=sampler.value, priors=priors.value,  # type: ignore[arg-type]
        progress=err.is_terminal,
    )  # fmt: skip
    with _study_errors(server):
        run_study(
            prism_dir, out, scores_file=scores, analyses=_split(analyses), subsets=_split(subsets),
            options=options, loo=loo, allow_missing_scores=allow_missing_scores, say=_say,
            highest=highest.value,  # type: ignore[arg-type]
            figures=figures, settings=settings, server=server, api_key=api_key,
        )  # fmt: skip


@command_boundary("prism synth", extra="analysis")
def synth(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the synthetic release into.")],
    users: Annotated[
        int, typer.Option(help="Participants with conversations (about 7% survey-only are added).")
    ] = 300,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    profiles: Annotated[
        bool,
        typer.Option(
            help="Plant per-user choice weights (for `profiles`); truth.json records them."
        ),
    ] = False,
) -> None:
    """Write a synthetic PRISM release with planted effects, a scores file and truth.json."""
    from perspective_local.analysis.synth import synthesize

    truth = synthesize(out, users=users, seed=seed, profiles=profiles, progress=_say)
    _say(
        f"wrote {truth['conversations']:,} conversations and {truth['opening_responses']:,} "
        f"opening responses to {out} (scores.jsonl, truth.json included)"
    )


@command_boundary("prism texts", extra="analysis")
def texts(
    prism_dir: Annotated[
        Path,
        typer.Option(
            "--prism-dir", help="Folder with PRISM's conversations.jsonl and survey.jsonl."
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write JSONL here [default: stdout].")
    ] = None,
) -> None:
    """Write the texts the analyses score (each distinct opening prompt and response once)
    as JSONL {"text": ...}, ready for `perspective-local score`."""
    import json

    from perspective_local.analysis.prism import PrismSchemaError, load_prism
    from perspective_local.analysis.scores import texts_to_score

    try:
        found = texts_to_score(load_prism(prism_dir))
    except (FileNotFoundError, PrismSchemaError) as exc:
        raise fail(str(exc)) from exc
    lines = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in found)
    if output is None:
        typer.echo(lines, nl=False)
    else:
        output.write_text(lines, encoding="utf-8")
        _say(f"wrote {len(found):,} texts to {output}")


@command_boundary("prism download", extra="analysis")
def download(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the release (default: CACHE_DIR/prism)."),
    ] = None,
    mirror: MirrorOption = None,
    progress: ProgressOption = True,
    config: ConfigOption = None,
) -> None:
    """Download the released PRISM files from the Hugging Face Hub and check their schema.

    Fetches conversations, survey, utterances and metadata (.jsonl) from the dataset
    HannahRoseKirk/prism-alignment. An interrupted transfer resumes when run again, files
    already complete are not fetched again, and each file's size and sha256 are recorded in
    SHA256SUMS and download.json, against which later runs check the files.
    """
    # The schema check needs pandas: a missing [analysis] extra fails here, before any
    # of the 220 MB is fetched.
    require("pandas")
    from perspective_local.analysis.release import (
        MANIFEST_FILE,
        SUMS_FILE,
        ReleaseError,
        default_dir,
        download_prism,
    )
    from perspective_local.download import DownloadError

    settings = load_settings(config, download_mirror=mirror)
    directory = out if out is not None else default_dir(settings.cache_dir)
    try:
        with download_bars(progress) as bar:
            result = download_prism(
                directory, mirror=settings.download_mirror, progress=bar, say=_say
            )
    except (DownloadError, ReleaseError) as exc:
        raise fail(str(exc), ExitCode.FAILED) from None
    except OSError as exc:  # The folder itself: not a directory, not writable, disk full.
        raise fail(f"cannot write the release to {directory}: {exc}", ExitCode.FAILED) from None
    size = f"{len(result.files)} files, {result.size_bytes / 1e6:.1f} MB"
    if not result.checked:
        typer.echo(f"PRISM release in {directory} ({size}) matches {SUMS_FILE}; nothing to do")
        return
    fetched = f"{len(result.transferred)} downloaded" if result.transferred else "all were here"
    typer.echo(
        f"PRISM release in {directory} ({size}; {fetched}): checked against the schema, "
        f"sizes and sha256 recorded in {SUMS_FILE} and {MANIFEST_FILE}"
    )


@command_boundary("profiles", extra="analysis")
def profiles_command(
    prism_dir: Annotated[
        Path,
        typer.Option(
            "--prism-dir", help="Folder with PRISM's conversations.jsonl and survey.jsonl."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Folder for user_profiles.parquet, population.json, loo.csv, profiles.md.",
        ),
    ],
    scores: Annotated[
        Path | None,
        typer.Option("--scores", help="JSONL from `perspective-local score`, joined on text."),
    ] = None,
    covariates: Annotated[
        bool,
        typer.Option(
            help="Let the survey's moderators (age, gender, ethnicity, values) shift "
            "users' weights."
        ),
    ] = True,
    evaluate: Annotated[
        bool,
        typer.Option(
            help="Run the held-out prediction protocol (one more fit, two with covariates)."
        ),
    ] = True,
    holdout_last: Annotated[
        int, typer.Option(help="Conversations held out at the end of each user's sequence.")
    ] = 1,
    cold_share: Annotated[
        float, typer.Option(help="Share of users held out whole (cold start).")
    ] = 0.2,
    draws: Annotated[int | None, typer.Option(help="Draws per chain [default: 1,000].")] = None,
    tune: Annotated[
        int | None, typer.Option(help="Warm-up draws per chain [default: 1,000].")
    ] = None,
    chains: Annotated[int | None, typer.Option(help="Chains [default: 4].")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sampler and the split.")] = 20250305,
    sampler: Annotated[
        Sampler, typer.Option(help="auto (nutpie if installed), nutpie or pymc.")
    ] = Sampler.auto,
    figures: Annotated[bool, typer.Option(help="Write figures/*.png.")] = True,
    allow_missing_scores: Annotated[
        bool, typer.Option(help="Drop (and count) responses whose texts are not in --scores.")
    ] = False,
    device: DeviceOption = None,
    model_dir: ModelDirOption = None,
    server: ServerOption = None,
    api_key: ApiKeyOption = None,
    config: ConfigOption = None,
) -> None:
    """Fit per-user preference profiles (random slopes on the choice) and test them on
    held-out choices: population, per-user, covariate-shrunk and covariate-only predictions,
    warm and cold start, and a learning curve."""
    from perspective_local.analysis.profile_study import run_profiles
    from perspective_local.analysis.specs import SamplerOptions

    if holdout_last < 1:
        raise fail(f"--holdout-last must be at least 1, got {holdout_last}")
    if not 0 <= cold_share < 1:
        raise fail(f"--cold-share must be in [0, 1), got {cold_share}")
    settings = load_settings(config, device=device, model_dir=model_dir)
    options = SamplerOptions(
        draws=draws, tune=tune, chains=chains, seed=seed,
        sampler=sampler.value,  # type: ignore[arg-type]
        progress=err.is_terminal,
    )  # fmt: skip
    with _study_errors(server):
        run_profiles(
            prism_dir, out, scores_file=scores, covariates=covariates, evaluate=evaluate,
            last=holdout_last, cold_share=cold_share, options=options, figures=figures,
            allow_missing_scores=allow_missing_scores, settings=settings, server=server,
            api_key=api_key, say=_say,
        )  # fmt: skip


@command_boundary("rank", extra="analysis")
def rank_command(
    candidates: Annotated[
        Path,
        typer.Argument(
            help="JSONL, one candidate per line: text, optional group, user_id, scores."
        ),
    ],
    profiles: Annotated[
        Path, typer.Option("--profiles", help="Folder written by `perspective-local profiles`.")
    ],
    user: Annotated[
        str | None,
        typer.Option("--user", help="Rank for this user_id [default: the population]."),
    ] = None,
    unknown_as_population: Annotated[
        bool,
        typer.Option(help="Rank users without a profile by the population instead of failing."),
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write JSONL here [default: stdout].")
    ] = None,
    device: DeviceOption = None,
    model_dir: ModelDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Rerank candidate responses by a user's expected preference under their profile.

    Candidates without `scores` are scored by the local model (--model-dir, --device).
    Output: each candidate with utility, probability (within its group) and rank.
    """
    import json

    from perspective_local.analysis.ranking import ProfileError, load_profiles, rank
    from perspective_local.analysis.scores import score_in_process

    settings = load_settings(config, device=device, model_dir=model_dir)
    try:
        book = load_profiles(profiles)
        records = _read_candidates(candidates)

        def scorer(texts: list[str]) -> list[dict[str, float]]:
            scored = score_in_process(texts, settings=settings)
            return [scored.by_text[t] for t in texts]

        ranked = rank(book, records, user_id=user, scorer=scorer,  # type: ignore[arg-type]
                      strict=not unknown_as_population)  # fmt: skip
    except ProfileError as exc:
        raise fail(str(exc)) from exc
    lines = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in ranked)
    if output is None:
        typer.echo(lines, nl=False)
    else:
        output.write_text(lines, encoding="utf-8")
        _say(f"wrote {len(ranked):,} ranked candidates to {output}")


def _read_candidates(path: Path) -> list[dict[str, object]]:
    """Candidate records from JSONL, CSV or Parquet (or - for stdin), by the client's readers."""
    from perspective_local.analysis.ranking import ProfileError
    from perspective_local.client.records import RecordError, detect_format, read_records

    records: list[dict[str, object]] = []
    try:
        for record in read_records(str(path), detect_format(str(path), None)):
            if record.fields is None:
                raise ProfileError(f"{path.name} line {record.position}: {record.error}")
            records.append(record.fields)
    except RecordError as exc:
        raise ProfileError(str(exc)) from None
    return records


@contextmanager
def _study_errors(server: str | None) -> Iterator[None]:
    """Input problems exit 2; an unreachable or overloaded server 4; a rejection 3."""
    from perspective_local.analysis.prism import PrismSchemaError
    from perspective_local.analysis.scores import ScoresError
    from perspective_local.client import NotReady, Overloaded, PerspectiveError

    try:
        yield
    except (FileNotFoundError, PrismSchemaError, ScoresError, ValueError) as exc:
        raise fail(str(exc)) from exc
    except (NotReady, Overloaded) as exc:
        raise fail(f"server {server}: {exc}", ExitCode.UNREACHABLE) from exc
    except PerspectiveError as exc:
        raise fail(f"server {server} rejected a request: {exc}", ExitCode.REJECTED) from exc


def register(app: typer.Typer) -> None:
    """Add ``analyze`` and the ``prism`` sub-app (``synth``, ``download``) to the root
    command."""
    app.command("analyze")(analyze)
    app.command("profiles")(profiles_command)
    app.command("rank")(rank_command)
    prism_app = typer.Typer(help="Work with PRISM-shaped data.", no_args_is_help=True)
    prism_app.command("synth")(synth)
    prism_app.command("download")(download)
    prism_app.command("texts")(texts)
    app.add_typer(prism_app, name="prism")
