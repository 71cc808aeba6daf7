"""The ``perspective-local train`` command; ``register(app)`` adds it to the root CLI.

The work is ``perspective_local.training.train.train``; this module parses options, loads
the settings and reports.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from perspective_local.cli.common import command_boundary, err, fail, load_settings
from perspective_local.cli.options import (
    BatchSizeOption,
    ConfigOption,
    DataDirOption,
    DeviceOption,
    Refit,
    SourceWeighting,
)

_FINETUNE = "Fine-tuning"


def register(app: typer.Typer) -> None:
    """Add the ``train`` command to ``app``."""
    app.command("train")(train)


@command_boundary("train", extra="train")
def train(
    out: Annotated[Path, typer.Option("--out", help="Directory for the new model artifact.")],
    data_dir: DataDirOption = None,
    corpora: Annotated[
        str | None, typer.Option(help="Comma-separated corpora  [default: the default set]")
    ] = None,
    max_texts_per_corpus: Annotated[
        int | None,
        typer.Option(
            help="Seeded sample per auxiliary corpus (Perspective-scored corpora are kept "
            "whole); 0 keeps all  [default: 3000]"
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed for sampling and fitting.")] = 0,
    source_weighting: Annotated[
        SourceWeighting, typer.Option(help="Weigh corpora by size.")
    ] = SourceWeighting.none,
    cache: Annotated[bool, typer.Option(help="Cache embeddings under the cache directory.")] = True,
    lexicon: Annotated[
        bool,
        typer.Option(
            help="Offer each head the counts of Surge AI profanity terms beside the embedding "
            "(kept per head only where they improve agreement with Perspective on validation)."
        ),
    ] = True,
    device: DeviceOption = None,
    batch_size: BatchSizeOption = None,
    finetune: Annotated[
        bool,
        typer.Option(
            "--finetune/--frozen",
            help="Also train LoRA adapters on the encoder (distilling Perspective's scores), "
            "then refit the heads on the adapted embeddings: minutes on a GPU, about an hour "
            "on 2 CPU cores. Each epoch ends with a checkpoint under the cache directory; "
            "running the same command again resumes from it.",
            rich_help_panel=_FINETUNE,
        ),
    ] = False,
    finetune_texts: Annotated[
        int | None,
        typer.Option(
            help="Train-split texts to fine-tune on, Perspective-scored first  [default: 8000]",
            rich_help_panel=_FINETUNE,
        ),
    ] = None,
    finetune_epochs: Annotated[
        int | None,
        typer.Option(help="Passes over those texts  [default: 2]", rich_help_panel=_FINETUNE),
    ] = None,
    finetune_max_length: Annotated[
        int | None,
        typer.Option(
            help="Tokens per text while fine-tuning  [default: 128]", rich_help_panel=_FINETUNE
        ),
    ] = None,
    finetune_aux_weight: Annotated[
        float | None,
        typer.Option(
            help="Loss weight of a text that is not Perspective-scored  [default: 0.3]",
            rich_help_panel=_FINETUNE,
        ),
    ] = None,
    finetune_refit: Annotated[
        Refit,
        typer.Option(
            help="Refit the heads on every train-split text (all) or only on the "
            "fine-tuning sample (sample, faster).",
            rich_help_panel=_FINETUNE,
        ),
    ] = Refit.all,
    finetune_repeat: Annotated[
        list[str] | None,
        typer.Option(
            help="CORPUS=TIMES: that corpus's sampled texts appear TIMES times per epoch "
            "(repeatable), e.g. bluesky=3 for the only corpus with bridging-attribute targets.",
            rich_help_panel=_FINETUNE,
        ),
    ] = None,
    lora_rank: Annotated[
        int | None,
        typer.Option(help="Rank of the LoRA adapters  [default: 8]", rich_help_panel=_FINETUNE),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Train the attribute heads on labelled corpora and write a model artifact.

    Where a corpus has Perspective's own scores, they are the targets; other corpora are
    auxiliary. Each attribute gets a logistic head fitted on soft labels on the train split
    of a split by article, thread, post or record; regularisation, the auxiliary weight and
    Platt calibration are chosen by agreement with Perspective on the validation split; the
    test split is left for `evaluate`. With --finetune the encoder learns too, through LoRA
    adapters stored beside the heads (see docs/models.md for the time it takes).
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
    unknown = [n for n in names if n not in CORPORA]
    if unknown:
        raise fail(f"Unknown corpora {', '.join(unknown)}; known: {', '.join(CORPORA)}.")
    overrides: dict[str, Any] = {"repeat": _repeats(finetune_repeat or [], names)}
    overrides |= {
        key: value
        for key, value in (
            ("rank", lora_rank), ("epochs", finetune_epochs), ("max_length", finetune_max_length),
            ("max_texts", finetune_texts), ("aux_weight", finetune_aux_weight),
        )
        if value is not None
    }  # fmt: skip
    finetune_config = replace(FinetuneConfig(seed=seed, refit=finetune_refit.value), **overrides)
    train_config = TrainConfig(
        data_dir=settings.data_dir,
        out_dir=out,
        corpora=names,
        cache_dir=settings.cache_dir if cache else None,
        max_texts_per_corpus=(
            TrainConfig.max_texts_per_corpus
            if max_texts_per_corpus is None
            else max_texts_per_corpus or None
        ),
        seed=seed,
        source_weighting=source_weighting.value,
        device=settings.device,
        batch_size=settings.forward_batch_windows or TrainConfig.batch_size,
        command="perspective-local " + " ".join(sys.argv[1:]),
        # The name is stamped on every score: a fine-tuned encoder must not pass for the plain one.
        name=f"{TrainConfig.name}-lora" if finetune else TrainConfig.name,
        finetune=finetune_config if finetune else None,
        lexicon=lexicon,
    )  # fmt: skip
    try:
        manifest = train_heads(
            train_config, progress=lambda line: err.print(line, highlight=False, markup=False)
        )
    except (FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    typer.echo(f"wrote {manifest.model_version} to {out}")


def _repeats(values: list[str], corpora: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """``--finetune-repeat`` values as (corpus, times) pairs, each checked."""
    pairs: dict[str, int] = {}
    for value in values:
        name, _, times = value.partition("=")
        if name not in corpora:
            raise fail(
                f"--finetune-repeat {value!r}: {name!r} is not a training corpus; "
                f"they are {', '.join(corpora)}."
            )
        if not times.isdigit() or int(times) < 1:
            raise fail(f"--finetune-repeat {value!r}: TIMES must be a whole number of 1 or more.")
        pairs[name] = int(times)
    return tuple(sorted(pairs.items()))
