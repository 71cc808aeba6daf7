"""Evidence of generalisation, measured as an outsider would: per source, with intervals.

Two tables, never pooled across sources (their base rates and label meanings differ):

- **Agreement with Perspective** on every set that carries Perspective's own scores:
  Spearman, mean absolute error on the score scale, and Spearman within the low range
  (texts Perspective scores below 0.3, where most real text lies), each with a bootstrap
  95% interval. A set is either a corpus's test side (never fitted on; in-distribution
  when the model trained on that corpus) or a corpus the model never saw.
- **Human labels**: ROC-AUC (labels binarised at 0.5) per human-labelled set, with interval.

``compare`` scores two backends on the same texts and reports each metric's difference with
a paired bootstrap interval, so "better" is a measured statement. The hand-written seed sets
are not here: they are reported on their own by the suite, never in a headline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from perspective_local.evaluation.metrics import (
    LOW_RANGE,
    Estimate,
    bootstrap,
    bootstrap_difference,
    format_estimate,
    perspective_agreement,
)
from perspective_local.evaluation.suite import score_unique
from perspective_local.models.backend import Backend
from perspective_local.training.corpora import CORPORA, LabelledText, load_corpus, split_of

Kind = Literal["perspective", "human"]
Side = Literal["test", "all"]


@dataclass(frozen=True)
class EvaluationSet:
    """One source of evidence: which corpus, which side of its split, what its labels are."""

    name: str
    corpus: str
    side: Side
    kind: Kind
    description: str


#: The sets behind the headline, one per source.
GENERALISATION_SETS: tuple[EvaluationSet, ...] = (
    EvaluationSet("bluesky", "bluesky", "test", "perspective",
                  "Bluesky, May 2024: test side (Perspective 2024)"),
    EvaluationSet("bluesky_early", "bluesky_early", "all", "perspective",
                  "Bluesky, Feb-Apr 2024: a period never trained on (Perspective 2024)"),
    EvaluationSet("rtp_quark", "rtp_quark", "test", "perspective",
                  "RealToxicityPrompts (Quark sample): test side (Perspective 2020)"),
    EvaluationSet("decodingtrust", "decodingtrust", "test", "perspective",
                  "RealToxicityPrompts (DecodingTrust): test side (Perspective 2020)"),
    EvaluationSet("hatexplain", "hatexplain", "test", "human",
                  "Twitter and Gab, HateXplain: test side"),
    EvaluationSet("kaggle_insults", "kaggle_insults", "test", "human",
                  "News and forum comments, Kaggle insults 2012: test side"),
    EvaluationSet("dynabench_hate", "dynabench_hate", "all", "human",
                  "Adversarial hate statements, Dynabench 2021: never trained on"),
    EvaluationSet("c3", "c3", "test", "human", "Globe and Mail comments, C3: test side"),
    EvaluationSet("ucc", "ucc", "test", "human", "Globe and Mail comments, UCC: test side"),
    EvaluationSet("epitome", "epitome", "test", "human", "Reddit support replies: test side"),
    EvaluationSet("empathic_reactions", "empathic_reactions", "test", "human",
                  "Essays on news, self-reported empathy: test side"),
    EvaluationSet("olid", "olid", "test", "human", "Tweets, OLID: test side"),
    EvaluationSet("davidson", "davidson", "test", "human", "Tweets, Davidson: test side"),
    EvaluationSet("stanford_politeness", "stanford_politeness", "test", "human",
                  "Wikipedia and StackExchange requests: test side"),
    EvaluationSet("ethos", "ethos", "all", "human", "ETHOS (GPL, never trained on)"),
)  # fmt: skip
#: Metrics per kind of set.
PERSPECTIVE_METRICS = ("spearman", "mae", "spearman_low")
HUMAN_METRICS = ("roc_auc",)


def load_sets(
    data_dir: Path, sets: Iterable[EvaluationSet] = GENERALISATION_SETS
) -> dict[str, tuple[EvaluationSet, list[LabelledText]]]:
    """The sets whose files exist under ``data_dir``, each reduced to its side."""
    out: dict[str, tuple[EvaluationSet, list[LabelledText]]] = {}
    for spec in sets:
        try:
            texts = load_corpus(spec.corpus, data_dir)
        except FileNotFoundError:
            continue
        if spec.side == "test":
            share = CORPORA[spec.corpus].test_share
            texts = [t for t in texts if split_of(t.group, share) == "test"]
        if texts:
            out[spec.name] = (spec, texts)
    return out


def metrics_with_intervals(
    kind: Kind, target: np.ndarray, predicted: np.ndarray, resamples: int
) -> dict[str, Estimate]:
    """ROC-AUC for a human-labelled set; Spearman, MAE and low-range Spearman for one
    Perspective scored; each with its bootstrap interval."""
    if kind == "human":
        return {"roc_auc": bootstrap("roc_auc", target, predicted, resamples=resamples)}
    return perspective_agreement(target, predicted, resamples=resamples)


#: Fewest labelled texts for a metric to be reported.
MIN_LABELLED = 20


def _columns(
    texts: Sequence[LabelledText], served: Sequence[str], min_labelled: int
) -> list[tuple[str, np.ndarray, list[str]]]:
    """Per served attribute the set labels: (attribute, labels, texts carrying the label)."""
    out = []
    for attribute in served:
        labelled = [t for t in texts if attribute in t.labels]
        if len(labelled) >= min_labelled:
            target = np.array([t.labels[attribute] for t in labelled])
            out.append((attribute, target, [t.text for t in labelled]))
    return out


def evaluate_generalisation(
    backend: Backend,
    data_dir: Path,
    *,
    resamples: int = 400,
    min_labelled: int = MIN_LABELLED,
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """``{set: {"description", "kind", "n", "attributes": {attribute: {metric: Estimate}}}}``
    (as plain dicts) for every generalisation set present under ``data_dir``."""
    report: dict[str, Any] = {}
    for name, (spec, texts) in load_sets(data_dir).items():
        columns = _columns(texts, backend.attributes, min_labelled)
        if not columns:
            continue
        progress(f"scoring {name}: {len(texts)} texts")
        scores = score_unique(backend, [t.text for t in texts], backend.attributes)
        attributes = {}
        for attribute, target, labelled in columns:
            j = backend.attributes.index(attribute)
            predicted = np.array([scores[text][j] for text in labelled])
            metrics = metrics_with_intervals(spec.kind, target, predicted, resamples)
            attributes[attribute] = {k: asdict(v) for k, v in metrics.items()}
        report[name] = {"description": spec.description, "kind": spec.kind,
                        "n": len(texts), "attributes": attributes}  # fmt: skip
    return report


def compare(
    backend_a: Backend,
    backend_b: Backend,
    data_dir: Path,
    *,
    resamples: int = 400,
    min_labelled: int = MIN_LABELLED,
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, Any]:
    """Per set, attribute and metric: A's value, B's value and B - A with a paired bootstrap
    95% interval, over the attributes both serve. For MAE lower is better; for the others,
    higher."""
    shared = [a for a in backend_a.attributes if a in backend_b.attributes]
    report: dict[str, Any] = {}
    for name, (spec, texts) in load_sets(data_dir).items():
        columns = _columns(texts, shared, min_labelled)
        if not columns:
            continue
        progress(f"scoring {name}: {len(texts)} texts with both models")
        distinct = [t.text for t in texts]
        scores_a = score_unique(backend_a, distinct, shared)
        scores_b = score_unique(backend_b, distinct, shared)
        attributes: dict[str, Any] = {}
        for attribute, target, labelled in columns:
            j = shared.index(attribute)
            a = np.array([scores_a[text][j] for text in labelled])
            b = np.array([scores_b[text][j] for text in labelled])
            attributes[attribute] = _differences(spec.kind, target, a, b, resamples)
        report[name] = {"description": spec.description, "kind": spec.kind,
                        "attributes": attributes}  # fmt: skip
    return report


def _differences(
    kind: Kind, target: np.ndarray, a: np.ndarray, b: np.ndarray, resamples: int
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    subsets: Mapping[str, tuple[str, np.ndarray]] = (
        {"roc_auc": ("roc_auc", np.ones(len(target), bool))}
        if kind == "human"
        else {"spearman": ("spearman", np.ones(len(target), bool)),
              "mae": ("mae", np.ones(len(target), bool)),
              "spearman_low": ("spearman", target < LOW_RANGE)}
    )  # fmt: skip
    for label, (metric, keep) in subsets.items():
        t, pa, pb = target[keep], a[keep], b[keep]
        out[label] = {
            "a": asdict(bootstrap(metric, t, pa, resamples=resamples)),
            "b": asdict(bootstrap(metric, t, pb, resamples=resamples)),
            "difference": asdict(bootstrap_difference(metric, t, pa, pb, resamples=resamples)),
        }
    return out


def agreement_table(report: Mapping[str, Any]) -> list[str]:
    """Markdown: one row per Perspective-scored set and attribute."""
    lines = ["| set | attribute | n | Spearman | MAE | Spearman, Perspective < 0.3 |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for name, entry in report.items():
        if entry["kind"] != "perspective":
            continue
        for attribute, metrics in entry["attributes"].items():
            cells = [format_estimate(metrics[m]) for m in PERSPECTIVE_METRICS]
            n = metrics["spearman"]["n"]
            lines.append(f"| {name} | {attribute} | {n} | " + " | ".join(cells) + " |")
    return lines


def human_table(report: Mapping[str, Any]) -> list[str]:
    """Markdown: one row per human-labelled set and attribute (ROC-AUC)."""
    lines = ["| set | attribute | n | ROC-AUC |", "|---|---|---|---|"]
    for name, entry in report.items():
        if entry["kind"] != "human":
            continue
        for attribute, metrics in entry["attributes"].items():
            lines.append(f"| {name} | {attribute} | {metrics['roc_auc']['n']} | "
                         f"{format_estimate(metrics['roc_auc'])} |")  # fmt: skip
    return lines


def comparison_table(report: Mapping[str, Any]) -> list[str]:
    """Markdown: per set, attribute and metric, A, B and B - A with its interval."""
    lines = ["| set | attribute | metric | A | B | B - A [95% CI] |", "|---|---|---|---|---|---|"]
    for name, entry in report.items():
        for attribute, metrics in entry["attributes"].items():
            for metric, values in metrics.items():
                a, b, d = values["a"], values["b"], values["difference"]
                lines.append(f"| {name} | {attribute} | {metric} | {_fmt(a['value'])} | "
                             f"{_fmt(b['value'])} | {format_estimate(d)} |")  # fmt: skip
    return lines


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
