"""Leave one corpus out: train without a corpus, measure on it, beside training with it.

For each corpus, the heads are fitted twice by the training recipe (``training.train``):
once on every training corpus ("in-corpus") and once on all but that corpus ("left out"),
both on the same encoder's embeddings, and both are measured on the corpus's test side,
so the two figures cover the same texts. The in-corpus fit is made once per attribute and
chooses the regularisation and auxiliary weight; the left-out fits reuse those two numbers
(one fit each instead of a grid), so the left-out run is not tuned on the corpus's own
texts beyond them. The gap between them is how much of a corpus's
in-corpus figure came from having trained on that very corpus; the left-out figure is the
evidence of generalisation to a new source.

Lexicon features are offered to the heads exactly as training offers them (``config.lexicon``).
The encoder is the frozen one (``Encoder()``), so the left-out run is exactly the recipe
without the corpus. A fine-tuned encoder's adapters were trained with every corpus, so
refitting only its heads would not leave the corpus out; the shipped model's own figure on
the test side is reported beside these by ``generalisation``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from perspective_local.evaluation.generalisation import Kind, metrics_with_intervals
from perspective_local.evaluation.metrics import format_estimate
from perspective_local.models.encoder import DEFAULT_ENCODER_ID, Encoder
from perspective_local.training.corpora import CORPORA, split_of
from perspective_local.training.train import (
    TrainConfig,
    embed_corpora,
    examples_by_attribute,
    load_training_corpora,
    predict,
    train_attribute,
    training_lexicon,
)


def leave_one_corpus_out(
    config: TrainConfig,
    held_out: Sequence[str],
    *,
    resamples: int = 400,
    min_labelled: int = 20,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """``{corpus: {attribute: {"kind", "n", "in_corpus": {metric: Estimate},
    "left_out": {...}}}}`` for every corpus in ``held_out`` that ``config`` trains on."""
    corpora = load_training_corpora(config, progress)
    encoder = Encoder(device=config.device)
    lexicon = training_lexicon(config, encoder)
    columns = lexicon.width if lexicon else 0
    vectors = embed_corpora(corpora, encoder, DEFAULT_ENCODER_ID, config, progress, lexicon)
    everything = examples_by_attribute(corpora, vectors)
    within: dict[str, tuple[np.ndarray, float, dict[str, Any]]] = {}
    report: dict[str, Any] = {}
    for corpus in held_out:
        if corpus not in corpora:
            continue
        share = CORPORA[corpus].test_share
        test = [t for t in corpora[corpus] if split_of(t.group, share) == "test"]
        rest = examples_by_attribute({k: v for k, v in corpora.items() if k != corpus}, vectors)
        kind: Kind = "perspective" if corpus in config.distilled else "human"
        entry: dict[str, Any] = {}
        for attribute in CORPORA[corpus].attributes:
            labelled = [t for t in test if attribute in t.labels]
            if len(labelled) < min_labelled or not rest.get(attribute):
                continue
            x = np.stack([vectors[t.text] for t in labelled])
            target = np.array([t.labels[attribute] for t in labelled])
            if attribute not in within:
                within[attribute] = train_attribute(
                    attribute, everything[attribute], config.seed, config.source_weighting,
                    config.distilled, lexicon_columns=columns,
                )  # fmt: skip
            weight, bias, chosen = within[attribute]
            runs = {"in_corpus": _metrics(kind, target, predict(x, weight, bias), resamples)}
            weight, bias, _ = train_attribute(
                attribute, rest[attribute], config.seed, config.source_weighting,
                config.distilled, c_grid=(chosen["C"],), aux_weights=(chosen["aux_weight"],),
                lexicon_columns=columns,
            )  # fmt: skip
            runs["left_out"] = _metrics(kind, target, predict(x, weight, bias), resamples)
            entry[attribute] = {"kind": kind, "n": len(labelled), **runs}
            with_it, without = _headline(runs["in_corpus"]), _headline(runs["left_out"])
            progress(f"{corpus} {attribute}: in-corpus {with_it}, left out {without}")
        report[corpus] = entry
    return report


def _metrics(
    kind: Kind, target: np.ndarray, predicted: np.ndarray, resamples: int
) -> dict[str, Any]:
    estimates = metrics_with_intervals(kind, target, predicted, resamples)
    return {name: asdict(estimate) for name, estimate in estimates.items()}


def _headline(metrics: dict[str, Any]) -> str:
    name = "roc_auc" if "roc_auc" in metrics else "spearman"
    value = metrics[name]["value"]
    return f"{name} {'-' if value is None else f'{value:.3f}'}"


def loco_table(report: dict[str, Any]) -> list[str]:
    """Markdown: per corpus and attribute, the headline metric trained with and without it."""
    lines = [
        "| corpus (test side) | attribute | n | metric | trained with it | left out | gap |",
        "|---|---|---|---|---|---|---|",
    ]
    for corpus, entry in report.items():
        for attribute, row in entry.items():
            metric = "roc_auc" if row["kind"] == "human" else "spearman"
            within, without = row["in_corpus"][metric], row["left_out"][metric]
            gap = (
                "-"
                if within["value"] is None or without["value"] is None
                else f"{within['value'] - without['value']:+.3f}"
            )
            cells = f"{format_estimate(within)} | {format_estimate(without)}"
            lines.append(f"| {corpus} | {attribute} | {row['n']} | {metric} | {cells} | {gap} |")
    return lines
