"""Measure a scoring backend against labelled text: the numbers behind ``evaluate`` and the card.

Three kinds of evidence:

- **Labelled sets**: per attribute, ROC-AUC, Spearman, mean absolute error, calibration error
  and a reliability curve (``metrics.attribute_metrics``). The built-in suite takes, from every
  corpus the model was trained on, only its *test* split (``corpora.split_of``, never fitted
  on), and every other corpus whole; your own JSONL files are added as further sets.
- **Identity-term bias** (Borkan et al. 2019) on Jigsaw's sentence templates: per identity,
  subgroup AUC, BPSN AUC (background positive, subgroup negative) and BNSP AUC.
- **HateCheck** (Röttger et al. 2021): per functional test, the share of cases on the right side
  of 0.5.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from perspective_local.evaluation.metrics import attribute_metrics, roc_auc
from perspective_local.models.attributes import ATTRIBUTE_NAMES, get_attribute
from perspective_local.models.backend import Backend
from perspective_local.settings import Settings
from perspective_local.training.corpora import (
    CORPORA,
    LabelledText,
    drop_labels,
    load_corpus,
    split_of,
)

#: Corpora in the built-in suite: every training and diagnostic corpus, and the chat domain set.
SUITE_CORPORA: tuple[str, ...] = tuple(CORPORA)
#: Sets of comments labelled by people (not by Perspective, not synthetic), pooled for TOXICITY.
HUMAN_COMMENT_SETS: tuple[str, ...] = (
    "c3",
    "ucc",
    "olid",
    "davidson",
    "ethos",
    "jigsaw_wikipedia",
)
#: Held-out parts of the training corpora and seed sets, pooled per attribute.
POOLED_SET = "pooled_test"
HUMAN_COMMENTS_SET = "human_comments"
#: Attributes measured on the identity templates and HateCheck.
BIAS_ATTRIBUTES: tuple[str, ...] = ("TOXICITY", "IDENTITY_ATTACK")
#: The generalised mean of per-identity AUCs, with a strong pull towards the worst identity.
POWER_MEAN_P = -5.0


@dataclass
class Evaluation:
    """Everything one ``evaluate`` run measured, JSON-ready."""

    model_version: str
    #: Set name -> attribute -> metrics.
    sets: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    #: What each set is: its source, how much of it was used.
    set_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Attribute -> identity -> {subgroup_auc, bpsn_auc, bnsp_auc, n}; plus "summary".
    identity_bias: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    #: Attribute -> functionality -> {accuracy, n, gold}.
    hatecheck: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, sort_keys=False)

    @classmethod
    def from_json(cls, text: str) -> Evaluation:
        return cls(**json.loads(text))


# --------------------------------------------------------------------------- labelled sets


class EvaluationDataError(ValueError):
    """An evaluation file that is not ``{"text", "labels": {ATTRIBUTE: value}}`` per line."""


def load_labelled_jsonl(path: Path) -> list[LabelledText]:
    """Read ``{"text": ..., "labels": {ATTRIBUTE: value in [0, 1]}}`` records, one per line."""
    records = []
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvaluationDataError(f"{where}: not JSON ({exc.msg}).") from None
            text, labels = _record_fields(record, where)
            records.append(LabelledText(text, labels, path.stem, f"{path.stem}:{number}"))
    if not records:
        raise EvaluationDataError(f"{path}: no records.")
    return records


def _record_fields(record: Any, where: str) -> tuple[str, dict[str, float]]:
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise EvaluationDataError(f'{where}: a record needs a string "text".')
    labels = record.get("labels")
    if not isinstance(labels, dict) or not labels:
        raise EvaluationDataError(f'{where}: "labels" must be a non-empty object.')
    clean = {}
    for name, value in labels.items():
        try:
            attribute = get_attribute(str(name).upper()).name
        except ValueError as exc:
            raise EvaluationDataError(f"{where}: {exc}") from None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise EvaluationDataError(f"{where}: label {name} must be a number in [0, 1].")
        clean[attribute] = float(value)
    return record["text"], clean


def suite_sets(
    data_dir: Path,
    trained_on: Iterable[str],
    ignored_labels: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, list[LabelledText]]:
    """The built-in evaluation sets: test splits of trained-on corpora, other corpora whole.

    ``ignored_labels`` (corpus -> attributes, from the model's training provenance) are labels
    the model was deliberately not taught, because they measure something else; they are
    left out here too. Corpora whose files are missing under ``data_dir`` are skipped (the
    seed sets and the chat domain set ship with the package, so they are always there).
    """
    trained = set(trained_on)
    ignored = {name: set(labels) for name, labels in (ignored_labels or {}).items()}
    sets: dict[str, list[LabelledText]] = {}
    for name in SUITE_CORPORA:
        try:
            texts = load_corpus(name, data_dir)
        except FileNotFoundError:
            continue
        if ignored.get(name):
            texts = drop_labels(texts, frozenset(ignored[name]))
        if name in trained:
            share = CORPORA[name].test_share
            texts = [t for t in texts if split_of(t.group, share) == "test"]
        sets[name] = texts
    wikipedia = data_dir / "jigsaw_unintended_bias" / "toxicity_nonfuzzed_testset.csv"
    if wikipedia.is_file():
        sets["jigsaw_wikipedia"] = _jigsaw_wikipedia(wikipedia)
    sets[HUMAN_COMMENTS_SET] = [
        LabelledText(t.text, {"TOXICITY": t.labels["TOXICITY"]}, t.source, t.group)
        for name in HUMAN_COMMENT_SETS
        for t in sets.get(name, [])
        if "TOXICITY" in t.labels
    ]
    sets[POOLED_SET] = [
        t
        for name, texts in sets.items()
        if name in trained or name.startswith("seed_")
        for t in texts
    ]
    return {name: texts for name, texts in sets.items() if texts}


def _jigsaw_wikipedia(path: Path) -> list[LabelledText]:
    """Jigsaw's identity-focused Wikipedia talk test set: TOXICITY <- the ``toxic`` column."""
    with open(path, encoding="utf-8", newline="") as stream:
        return [
            LabelledText(
                row["comment"].strip(),
                {"TOXICITY": float(row["toxic"] == "True")},
                "jigsaw_wikipedia",
                f"jigsaw_wikipedia:{row['rev_id']}",
            )
            for row in csv.DictReader(stream)
            if row["comment"].strip()
        ]


def score_unique(
    backend: Backend,
    texts: Sequence[str],
    attributes: Sequence[str],
    *,
    chunk: int = 512,
    progress: Callable[[int], None] = lambda done: None,
) -> dict[str, np.ndarray]:
    """Scores for every distinct text, each scored once, ``chunk`` texts per call."""
    distinct = list(dict.fromkeys(texts))
    out: dict[str, np.ndarray] = {}
    for start in range(0, len(distinct), chunk):
        batch = distinct[start : start + chunk]
        values = backend.score(batch, list(attributes)).values
        out.update(zip(batch, values, strict=True))
        progress(len(batch))
    return out


def set_metrics(
    texts: Sequence[LabelledText], scores: Mapping[str, np.ndarray], attributes: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Per attribute, the metrics over the texts of the set that carry that label."""
    report = {}
    for column, attribute in enumerate(attributes):
        labelled = [t for t in texts if attribute in t.labels]
        if len(labelled) < 2:
            continue
        target = np.array([t.labels[attribute] for t in labelled])
        predicted = np.array([scores[t.text][column] for t in labelled])
        report[attribute] = attribute_metrics(target, predicted)
    return report


# --------------------------------------------------------------------------- identity bias


@dataclass(frozen=True)
class TemplateText:
    text: str
    toxic: bool
    #: The identity term the sentence mentions, or ``None`` (occupation templates).
    identity: str | None


def load_identity_templates(
    data_dir: Path, sample: int | None = None, seed: int = 0
) -> list[TemplateText]:
    """Jigsaw's English sentence templates with the identity term each one mentions.

    The identity vocabulary is the object of the ``verb_adj`` template ("hug lesbian"); each
    sentence is assigned the longest term it contains ("african american" over "african").
    ``sample`` keeps a seeded random subset.
    """
    path = data_dir / "jigsaw_unintended_bias" / "en_sentence_templates.csv"
    if not path.is_file():
        raise FileNotFoundError(f"Identity templates not found: {path}")
    with open(path, encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    objects = {r["phrase"].split(" ", 1)[1].lower() for r in rows if r["template"] == "verb_adj"}
    terms = sorted(objects, key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, terms)) + r")\b")
    if sample is not None and sample < len(rows):
        keep = np.random.default_rng(seed).choice(len(rows), size=sample, replace=False)
        rows = [rows[i] for i in np.sort(keep)]
    out = []
    for row in rows:
        found = pattern.search(row["phrase"].lower())
        out.append(
            TemplateText(
                row["phrase"], row["toxicity"] == "toxic", found.group(1) if found else None
            )
        )
    return out


def identity_bias(
    templates: Sequence[TemplateText], predicted: np.ndarray
) -> dict[str, dict[str, Any]]:
    """Subgroup, BPSN and BNSP AUCs per identity, and their power means (``summary``).

    Subgroup AUC ranks within sentences that mention the identity; BPSN mixes the subgroup's
    non-toxic sentences with the other identities' toxic ones (low = the model calls benign
    mentions of the identity toxic); BNSP the reverse (low = it misses toxicity against them).
    """
    toxic = np.array([t.toxic for t in templates])
    identity = np.array([t.identity or "" for t in templates])
    report: dict[str, dict[str, Any]] = {}
    for term in sorted(set(identity) - {""}):
        member = identity == term
        background = ~member
        bpsn = (member & ~toxic) | (background & toxic)
        bnsp = (member & toxic) | (background & ~toxic)
        report[term] = {
            "n": int(member.sum()),
            "subgroup_auc": roc_auc(toxic[member], predicted[member]),
            "bpsn_auc": roc_auc(toxic[bpsn], predicted[bpsn]),
            "bnsp_auc": roc_auc(toxic[bnsp], predicted[bnsp]),
        }
    summary: dict[str, Any] = {
        "overall_auc": roc_auc(toxic, predicted),
        "power_mean_p": POWER_MEAN_P,
    }
    for metric in ("subgroup_auc", "bpsn_auc", "bnsp_auc"):
        scored = {k: r[metric] for k, r in report.items() if r[metric] is not None}
        summary[f"{metric}_power_mean"] = _power_mean(list(scored.values()))
        summary[f"{metric}_worst"] = min(scored, key=scored.__getitem__) if scored else None
    report["summary"] = summary
    return report


def _power_mean(values: list[float], p: float = POWER_MEAN_P) -> float | None:
    if not values:
        return None
    if min(values) == 0.0:  # the limit of the mean as one AUC goes to 0 (p < 0)
        return 0.0
    return float(np.mean(np.array(values) ** p) ** (1 / p))


# --------------------------------------------------------------------------- HateCheck


@dataclass(frozen=True)
class HateCheckCase:
    text: str
    functionality: str
    hateful: bool


def load_hatecheck(data_dir: Path) -> list[HateCheckCase]:
    path = data_dir / "hatecheck" / "test_suite_cases.csv"
    if not path.is_file():
        raise FileNotFoundError(f"HateCheck cases not found: {path}")
    with open(path, encoding="utf-8", newline="") as stream:
        return [
            HateCheckCase(
                row["test_case"].strip(),
                row["functionality"],
                row["label_gold"].strip() == "hateful",
            )
            for row in csv.DictReader(stream)
        ]


def hatecheck_accuracy(
    cases: Sequence[HateCheckCase], predicted: np.ndarray, threshold: float = 0.5
) -> dict[str, dict[str, Any]]:
    """Per functionality: the share of cases scored on the gold side of ``threshold``."""
    by_functionality: dict[str, list[bool]] = defaultdict(list)
    gold: dict[str, bool] = {}
    for case, score in zip(cases, predicted, strict=True):
        by_functionality[case.functionality].append((score >= threshold) == case.hateful)
        gold[case.functionality] = case.hateful
    report: dict[str, dict[str, Any]] = {
        name: {
            "accuracy": float(np.mean(hits)),
            "n": len(hits),
            "gold": "hateful" if gold[name] else "non-hateful",
        }
        for name, hits in sorted(by_functionality.items())
    }
    right = np.array([(s >= threshold) == c.hateful for c, s in zip(cases, predicted, strict=True)])
    hateful = np.array([c.hateful for c in cases])
    report["summary"] = {
        "accuracy": float(right.mean()),
        "accuracy_hateful": float(right[hateful].mean()) if hateful.any() else None,
        "accuracy_non_hateful": float(right[~hateful].mean()) if (~hateful).any() else None,
        "threshold": threshold,
    }
    return report


# --------------------------------------------------------------------------- the whole run


def evaluate(
    backend: Backend,
    sets: Mapping[str, Sequence[LabelledText]],
    *,
    data_dir: Path | None = None,
    bias_sample: int | None = 20_000,
    progress: Callable[[str, int, int], None] = lambda stage, done, total: None,
) -> Evaluation:
    """Score every set (and, given ``data_dir``, the bias templates and HateCheck)."""
    attributes = tuple(a for a in ATTRIBUTE_NAMES if a in backend.attributes)
    result = Evaluation(model_version=backend.model_version)
    texts = [t.text for rows in sets.values() for t in rows]
    scores = _score_with_progress(backend, texts, attributes, "labelled sets", progress)
    for name, rows in sets.items():
        result.sets[name] = set_metrics(rows, scores, attributes)
        result.set_info[name] = _describe_set(name, rows)
    if data_dir is None:
        return result
    bias_attributes = [a for a in BIAS_ATTRIBUTES if a in attributes]
    try:
        templates = load_identity_templates(data_dir, bias_sample)
    except FileNotFoundError:
        templates = []
    if templates and bias_attributes:
        columns = _columns(backend, [t.text for t in templates], attributes, bias_attributes,
                           "identity templates", progress)  # fmt: skip
        for attribute, column in columns.items():
            result.identity_bias[attribute] = identity_bias(templates, column)
    try:
        cases = load_hatecheck(data_dir)
    except FileNotFoundError:
        cases = []
    if cases and bias_attributes:
        columns = _columns(backend, [c.text for c in cases], attributes, bias_attributes,
                           "HateCheck", progress)  # fmt: skip
        for attribute, column in columns.items():
            result.hatecheck[attribute] = hatecheck_accuracy(cases, column)
    return result


def _columns(
    backend: Backend,
    texts: Sequence[str],
    attributes: Sequence[str],
    wanted: Sequence[str],
    stage: str,
    progress: Callable[[str, int, int], None],
) -> dict[str, np.ndarray]:
    """Scores of ``texts`` (in order, repeats included) for each ``wanted`` attribute."""
    scores = _score_with_progress(backend, texts, attributes, stage, progress)
    values = np.stack([scores[text] for text in texts])
    return {attribute: values[:, list(attributes).index(attribute)] for attribute in wanted}


def _score_with_progress(
    backend: Backend,
    texts: Sequence[str],
    attributes: Sequence[str],
    stage: str,
    progress: Callable[[str, int, int], None],
) -> dict[str, np.ndarray]:
    total = len(set(texts))
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        progress(stage, done, total)

    return score_unique(backend, texts, attributes, progress=advance)


def _describe_set(name: str, rows: Sequence[LabelledText]) -> dict[str, Any]:
    corpus = CORPORA.get(name)
    info: dict[str, Any] = {"texts": len(rows)}
    if corpus is not None:
        info.update(
            licence=corpus.licence, flags=list(corpus.flags), description=corpus.description
        )
    return info


# --------------------------------------------------------------------------- plots


def reliability_plot(name: str, report: Mapping[str, Mapping[str, Any]], path: Path) -> Path:
    """One panel per attribute: mean label against mean prediction per probability bin."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    attributes = list(report)
    columns = min(4, len(attributes))
    rows = -(-len(attributes) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.0 * rows), squeeze=False)
    for ax in axes.flat[len(attributes) :]:
        ax.set_visible(False)
    for ax, attribute in zip(axes.flat, attributes, strict=False):
        bins = report[attribute]["reliability"]
        ax.plot([0, 1], [0, 1], color="0.7", linewidth=1)
        ax.plot(
            [b["mean_predicted"] for b in bins], [b["mean_label"] for b in bins], "o-", markersize=3
        )
        ax.set_title(
            f"{attribute.removesuffix('_EXPERIMENTAL')}\n"
            f"ECE {report[attribute]['ece']:.3f}, n={report[attribute]['n']}",
            fontsize=8,
        )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.tick_params(labelsize=7)
    figure.suptitle(f"Reliability: {name}", fontsize=10)
    figure.supxlabel("mean predicted probability", fontsize=8)
    figure.supylabel("mean label (share of raters)", fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


# --------------------------------------------------------------------------- one evaluate run


def run(
    settings: Settings,
    data_files: Sequence[Path] = (),
    *,
    suite: bool = True,
    out: Path = Path("evaluation"),
    bias_sample: int | None = 20_000,
    model_card: Path | None = None,
    loco: bool = False,
    command: str = "perspective-local evaluate",
    progress: Callable[[str, int, int], None] = lambda stage, done, total: None,
    say: Callable[[str], None] = lambda line: None,
) -> Evaluation:
    """What ``perspective-local evaluate`` does: measure the backend ``settings`` configure
    on ``data_files`` (labelled JSONL) and, with ``suite``, the built-in suite and the
    per-source generalisation report (``generalisation.py``) under ``settings.data_dir``, and
    with ``loco`` the leave-one-corpus-out runs (``loco.py``); write ``out/metrics.json``,
    ``out/generalisation.json``, ``out/loco.json``, ``out/reliability/SET.png`` and, given
    ``model_card``, the model card there.

    Every file is read before the model loads, so a bad one fails fast
    (``EvaluationDataError``, or ``OSError`` for one that cannot be read); a model that
    cannot load raises ``ValueError`` or ``FileNotFoundError``.
    """
    import os

    from perspective_local.models.artifact import DEFAULT_MODEL_DIR, load_manifest
    from perspective_local.models.routing import load_backend

    if not data_files and not suite:
        raise EvaluationDataError("nothing to evaluate: give DATA files or leave --suite on.")
    manifest = load_manifest(settings.model_dir or DEFAULT_MODEL_DIR)
    sets: dict[str, list[LabelledText]] = {
        path.stem: load_labelled_jsonl(path) for path in data_files
    }
    if suite:
        ignored = manifest.provenance.get("ignored_labels", {})
        sets.update(suite_sets(settings.data_dir, manifest.training_data, ignored))
    backend = load_backend(settings)
    say(
        f"model {backend.model_version} on {backend.device}; "
        f"{sum(len(v) for v in sets.values())} labelled texts in {len(sets)} sets"
    )
    result = evaluate(
        backend,
        sets,
        data_dir=settings.data_dir if suite else None,
        bias_sample=bias_sample,
        progress=progress,
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(result.to_json(), encoding="utf-8")
    generalisation: dict[str, Any] = {}
    loco_report: dict[str, Any] | None = None
    if suite:
        from perspective_local.evaluation.generalisation import evaluate_generalisation

        generalisation = evaluate_generalisation(backend, settings.data_dir, progress=say)
        _write_json(out / "generalisation.json", generalisation)
    if loco:
        loco_report = _leave_corpora_out(settings, manifest.training_data, say)
        _write_json(out / "loco.json", loco_report)
    for name, report in result.sets.items():
        if report:
            reliability_plot(name, report, out / "reliability" / f"{name}.png")
    if model_card is not None:
        from perspective_local.evaluation.model_card import render_model_card

        model_card.parent.mkdir(parents=True, exist_ok=True)
        plots = os.path.relpath(out / "reliability", model_card.parent)
        card = render_model_card(manifest, result, command=command, plots=plots,
                                 generalisation=generalisation, loco=loco_report)  # fmt: skip
        model_card.write_text(card, encoding="utf-8")
    return result


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _leave_corpora_out(
    settings: Settings, trained_on: Iterable[str], say: Callable[[str], None]
) -> dict[str, Any]:
    """Leave each trained-on corpus (but the hand-written seed sets) out of the frozen recipe."""
    from perspective_local.evaluation.loco import leave_one_corpus_out
    from perspective_local.training.train import TrainConfig

    corpora = tuple(trained_on)
    config = TrainConfig(data_dir=settings.data_dir, out_dir=Path("."), corpora=corpora,
                         cache_dir=settings.cache_dir, device=settings.device)  # fmt: skip
    held_out = [name for name in corpora if not name.startswith("seed_")]
    return leave_one_corpus_out(config, held_out, progress=say)
