"""Train the attribute heads: encoder embeddings in, a model artifact out.

The recipe distils Perspective itself:
1. load the labelled corpora (``training.corpora``), soft labels in [0, 1]. Where a corpus
   holds Perspective's own scores (``DISTILLED``: Bluesky 2024, RealToxicityPrompts 2020),
   those scores are the targets; human-labelled and proxy corpora are auxiliary;
2. embed every distinct text once, through an on-disk cache, so re-training takes seconds;
3. per attribute, fit an L2-regularised logistic regression on the soft labels (each text
   counts as a positive with weight p and a negative with weight 1 - p: the soft
   cross-entropy against Perspective's score), with auxiliary texts down-weighted. The
   regularisation and the auxiliary weight are chosen together by the cross-entropy against
   Perspective's scores on the validation side of the distilled corpora, so a proxy corpus
   only counts as far as it helps agreement with Perspective on other text. Splits are made
   by *group* (article, thread, post, record), so one discussion never sits on both sides;
4. Platt-calibrate on the same Perspective-scored validation texts (so a score reads on
   Perspective's scale; MAE before and after is recorded), report held-out metrics on the
   test side (never fitted on), and write the artifact with a manifest naming every corpus
   and licence used. Heads are fitted on the train side only.

With ``finetune``, LoRA adapters are trained first (``finetune.py``) and the heads are then
fitted as above on the adapted encoder's embeddings.

With ``lexicon`` (the default), counts of the Surge AI profanity terms in a text
(``models.lexicon``) are offered to every head beside the embedding: each head is fitted once
more with them, at its chosen regularisation and auxiliary weight, and keeps them only when
they lower the validation cross-entropy against Perspective by at least 0.1%.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import platform
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from perspective_local import __version__
from perspective_local.evaluation.metrics import attribute_metrics, log_loss
from perspective_local.models.artifact import EncoderSpec, Manifest, TrainedAdapters, save_artifact
from perspective_local.models.attributes import HEADS_ATTRIBUTES
from perspective_local.models.encoder import DEFAULT_ENCODER_ID, Encoder
from perspective_local.models.lexicon import Lexicon
from perspective_local.training.corpora import (
    CORPORA,
    VALIDATION_SHARE,
    LabelledText,
    Split,
    drop_labels,
    load_corpus,
    load_surge_lexicon,
    split_of,
)
from perspective_local.training.finetune import FinetuneConfig

log = logging.getLogger(__name__)

#: Corpora whose labels are Perspective's own scores: the distillation targets.
DISTILLED: frozenset[str] = frozenset({"bluesky", "rtp_quark", "decodingtrust"})
#: Corpora the default model trains on: the distilled ones, then auxiliary human-labelled
#: and proxy corpora. ETHOS (GPL) and the diagnostic sets (HateCheck, the Jigsaw IBM sample,
#: Dynabench, the early Bluesky period) are left out; evaluation uses them. The hand-written
#: seed sets are auxiliary; the hand-written chat-domain set is for evaluation only.
DEFAULT_CORPORA: tuple[str, ...] = (
    "bluesky", "rtp_quark", "decodingtrust",
    "c3", "ucc", "epitome", "davidson", "olid", "stanford_politeness", "ukpconvarg1",
    "ukpconvarg2", "hatexplain", "kaggle_insults", "empathic_reactions",
    "seed_affinity", "seed_compassion", "seed_curiosity", "seed_nuance",
    "seed_personal_story", "seed_reasoning", "seed_respect", "seed_threat",
)  # fmt: skip
#: Weights tried for auxiliary (not Perspective-scored) texts relative to distilled ones.
AUX_WEIGHTS: tuple[float, ...] = (0.0, 0.2, 1.0)
#: Labels of the default corpora that the default model does not learn from, with why:
#: they measure the *absence* of a problem, which is not the attribute.
DEFAULT_IGNORED_LABELS: dict[str, frozenset[str]] = {
    # 1 - no_respect / 1 - max(condescending, dismissive, hostile) is ~1 for any neutral
    # comment; RESPECT means *showing* deference or appreciation (politeness data does).
    "c3": frozenset({"RESPECT_EXPERIMENTAL"}),
    # 1 - generalisation is ~1 for almost every comment; NUANCE needs several viewpoints.
    "ucc": frozenset({"RESPECT_EXPERIMENTAL", "NUANCE_EXPERIMENTAL"}),
}
#: The least relative drop in validation cross-entropy for which a head keeps the lexicon
#: features: below it the gain is fitting noise (a pure-noise column gains about 1e-6).
LEXICON_MIN_GAIN = 1e-3
#: Inverse regularisation strengths tried per attribute.
C_GRID: tuple[float, ...] = (0.3, 1.0, 3.0, 10.0, 30.0)
SourceWeighting = Literal["none", "sqrt", "equal"]


@dataclass(frozen=True)
class Example:
    """One (text, attribute) training pair: the text's embedding and its soft target."""

    vector: np.ndarray
    target: float
    source: str
    split: Split


@dataclass(frozen=True)
class TrainConfig:
    data_dir: Path
    out_dir: Path
    corpora: tuple[str, ...] = DEFAULT_CORPORA
    cache_dir: Path | None = None
    #: At most this many texts per auxiliary corpus (a seeded random sample); ``None`` keeps
    #: all. Distilled corpora are always kept whole.
    max_texts_per_corpus: int | None = 3_000
    #: Corpora whose labels are Perspective's scores (the targets); the rest are auxiliary.
    distilled: frozenset[str] = DISTILLED
    #: How corpora of different sizes are weighed against each other (see source_weights).
    #: On ../shared/data, "none", "sqrt" and "equal" gave per-corpus held-out AUCs within
    #: 0.01 of each other, so the default keeps every text at weight 1.
    source_weighting: SourceWeighting = "none"
    #: Per corpus, attribute labels to leave out of training.
    ignored_labels: dict[str, frozenset[str]] = field(
        default_factory=lambda: dict(DEFAULT_IGNORED_LABELS)
    )
    seed: int = 0
    device: str | None = None
    batch_size: int = 64
    name: str = "minilm-l6-distilled"
    version: str = __version__
    #: The command line that produced the artifact, recorded in its manifest.
    command: str = ""
    #: Fine-tune the encoder with LoRA adapters after fitting frozen heads; ``None``: frozen.
    finetune: FinetuneConfig | None = None
    #: Corpora never trained on whose texts (with the validation side of the distilled
    #: corpora) choose the fine-tuning epoch: the early Bluesky period is another period.
    selection_corpora: tuple[str, ...] = ("bluesky_early",)
    #: Where fine-tuning keeps its end-of-epoch checkpoint (resumed when present);
    #: ``None``: ``CACHE_DIR/checkpoints``, or no checkpoints without a cache.
    checkpoint_dir: Path | None = None
    #: Offer the heads lexicon features (Surge AI profanity counts) beside the embedding.
    lexicon: bool = True


class EmbeddingCache:
    """Embeddings of texts on disk, keyed by the text's SHA-1, one file per encoder."""

    def __init__(self, directory: Path | None, encoder_id: str) -> None:
        key = hashlib.sha1(encoder_id.encode()).hexdigest()[:12]
        self.path = directory / f"embeddings-{key}.npz" if directory else None
        self.rows: dict[bytes, np.ndarray] = {}
        if self.path and self.path.exists():
            with np.load(self.path) as stored:
                self.rows = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))

    @staticmethod
    def key(text: str) -> bytes:
        return hashlib.sha1(text.encode("utf-8")).digest()

    def embed(
        self,
        texts: Sequence[str],
        embed: Callable[[list[str]], np.ndarray],
        *,
        chunk: int = 2048,
        progress: Callable[[int, int], None] = lambda done, total: None,
    ) -> np.ndarray:
        """Vectors for ``texts``, embedding only those not cached, ``chunk`` at a time.

        The cache is saved after every chunk, so an interrupted run loses at most one chunk.
        """
        missing = list(dict.fromkeys(t for t in texts if self.key(t) not in self.rows))
        for start in range(0, len(missing), chunk):
            batch = missing[start : start + chunk]
            for text, vector in zip(batch, embed(batch), strict=True):
                self.rows[self.key(text)] = vector
            self.save()
            progress(start + len(batch), len(missing))
        return np.stack([self.rows[self.key(t)] for t in texts])

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self.rows), dtype="S20")
        vectors = np.stack(list(self.rows.values())).astype(np.float32)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=keys, vectors=vectors)
        tmp.replace(self.path)


def sample_corpus(texts: list[LabelledText], limit: int | None, seed: int) -> list[LabelledText]:
    if limit is None or len(texts) <= limit:
        return texts
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(len(texts), size=limit, replace=False))
    return [texts[i] for i in keep]


def source_weights(sources: np.ndarray, scheme: SourceWeighting) -> np.ndarray:
    """Per-example weights (mean 1) that stop one large corpus from setting the decision.

    ``equal``: every corpus carries the same total weight; ``sqrt``: a corpus's total weight
    grows with the square root of its size; ``none``: every text counts once.
    """
    _, index, counts = np.unique(sources, return_inverse=True, return_counts=True)
    power = {"none": 0.0, "sqrt": 0.5, "equal": 1.0}[scheme]
    weights = 1.0 / counts[index].astype(np.float64) ** power
    normalised: np.ndarray = weights / weights.mean()
    return normalised


def fit_logistic(
    x: np.ndarray,
    target: np.ndarray,
    c: float,
    seed: int,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Logistic regression on soft targets, by duplicating rows with weights p and 1 - p."""
    from sklearn.linear_model import LogisticRegression

    weights = np.ones(len(x)) if weights is None else weights
    xx = np.concatenate([x, x])
    yy = np.concatenate([np.ones(len(x)), np.zeros(len(x))])
    ww = np.concatenate([target * weights, (1.0 - target) * weights])
    keep = ww > 0
    model = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    model.fit(xx[keep], yy[keep], sample_weight=ww[keep])
    return model.coef_[0].astype(np.float32), float(model.intercept_[0])


def predict(x: np.ndarray, weight: np.ndarray, bias: float) -> np.ndarray:
    probabilities: np.ndarray = 1.0 / (1.0 + np.exp(-(x @ weight + bias)))
    return probabilities


def held_out_metrics(
    target: np.ndarray, predicted: np.ndarray, weights: np.ndarray | None = None
) -> dict[str, float | int | None]:
    """ROC-AUC (labels binarised at 0.5), Spearman, mean absolute and calibration error against
    the soft labels, and the (weighted) log-loss."""
    report = attribute_metrics(target, predicted)
    report.pop("reliability")
    report["log_loss"] = log_loss(target, predicted, weights)
    return report  # type: ignore[return-value]


def fit_platt(logits: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Platt scaling on held-out logits: ``p = sigmoid(slope * logit + intercept)``.

    Fitted on soft labels with almost no regularisation; since the heads are logistic, the
    result folds into their weights, so a calibrated artifact has the same shape.
    """
    weight, bias = fit_logistic(logits.reshape(-1, 1), target, c=1e4, seed=0)
    return float(weight[0]), bias


def train_attribute(
    attribute: str,
    examples: list[Example],
    seed: int,
    weighting: SourceWeighting = "none",
    distilled: frozenset[str] = DISTILLED,
    *,
    c_grid: Sequence[float] = C_GRID,
    aux_weights: Sequence[float] = AUX_WEIGHTS,
    lexicon_columns: int = 0,
) -> tuple[np.ndarray, float, dict[str, Any]]:
    """Fit on the train split, choose C and the auxiliary weight and calibrate on validation,
    report on test.

    The last ``lexicon_columns`` columns of the vectors are lexicon features: the grid is
    searched without them, then one fit with them at the chosen C and auxiliary weight
    replaces the head when its validation loss is lower by ``LEXICON_MIN_GAIN`` (else their
    weights stay 0).

    When some validation texts carry Perspective's scores (``distilled`` sources), choosing
    and calibrating use only those, so the head is tuned to agree with Perspective; otherwise
    every validation text counts. The test split (``corpora.split_of``) is never fitted on, so
    ``perspective-local evaluate`` can measure the artifact on it honestly.
    """
    x = np.stack([e.vector for e in examples])
    y = np.array([e.target for e in examples], dtype=np.float64)
    sources = np.array([e.source for e in examples])
    split = np.array([e.split for e in examples])
    weights = source_weights(sources, weighting)
    fit, val, test = split == "train", split == "validation", split == "test"
    if not fit.any() or not val.any():
        raise ValueError(
            f"{attribute}: the group split left the train or validation side empty; "
            "need more groups."
        )
    is_distilled = np.isin(sources, sorted(distilled))
    if (val & is_distilled).any() and (fit & is_distilled).any():
        val = val & is_distilled
        aux_grid = tuple(aux_weights) if (fit & ~is_distilled).any() else (1.0,)
    else:
        aux_grid = (1.0,)
    dense = x[:, : x.shape[1] - lexicon_columns]
    best: tuple[float, float, float, np.ndarray, float] | None = None
    for aux in aux_grid:
        scaled = weights * np.where(is_distilled, 1.0, aux)
        for c in c_grid:
            w, b = fit_logistic(dense[fit], y[fit], c, seed, scaled[fit])
            loss = log_loss(y[val], predict(dense[val], w, b), weights[val])
            if best is None or loss < best[2]:
                best = (c, aux, loss, w, b)
    assert best is not None
    c, aux_weight, loss, weight, bias = best
    weight = np.concatenate([weight, np.zeros(lexicon_columns, dtype=weight.dtype)])
    lexicon_report: dict[str, Any] = {"used": False}
    if lexicon_columns:
        scaled = weights * np.where(is_distilled, 1.0, aux_weight)
        w, b = fit_logistic(x[fit], y[fit], c, seed, scaled[fit])
        with_lexicon = log_loss(y[val], predict(x[val], w, b), weights[val])
        used = with_lexicon < loss * (1 - LEXICON_MIN_GAIN)
        lexicon_report = {"used": used, "validation_log_loss_without": loss,
                          "validation_log_loss_with": with_lexicon}  # fmt: skip
        if used:
            weight, bias = w, b
    uncalibrated = held_out_metrics(y[val], predict(x[val], weight, bias), weights[val])
    slope, intercept = fit_platt(x[val] @ weight + bias, y[val])
    weight, bias = weight * slope, bias * slope + intercept
    calibrated = held_out_metrics(y[val], predict(x[val], weight, bias), weights[val])
    report: dict[str, Any] = {
        "C": c, "source_weighting": weighting, "aux_weight": aux_weight,
        "lexicon": lexicon_report,
        "validation_sources": sorted(set(sources[val].tolist())),
        "n_train": int(fit.sum()), "n_validation": int(val.sum()), "n_test": int(test.sum()),
        "sources": sorted(set(sources.tolist())),
        "calibration": {
            "method": "platt", "slope": slope, "intercept": intercept,
            "validation_ece_before": uncalibrated["ece"],
            "validation_ece_after": calibrated["ece"],
            "validation_mae_before": uncalibrated["mae"],
            "validation_mae_after": calibrated["mae"],
        },
        "validation": calibrated,
    }  # fmt: skip
    if test.any():
        predicted = predict(x[test], weight, bias)
        report["test"] = held_out_metrics(y[test], predicted)
        report["test_by_source"] = {
            source: held_out_metrics(y[test][sources[test] == source],
                                     predicted[sources[test] == source])
            for source in sorted(set(sources[test]))
        }  # fmt: skip
    return weight.astype(np.float32), bias, report


def load_training_corpora(
    config: TrainConfig, progress: Callable[[str], None] = print
) -> dict[str, list[LabelledText]]:
    """The configured corpora, without their ignored labels, sampled as configured."""
    corpora: dict[str, list[LabelledText]] = {}
    for name in config.corpora:
        loaded = load_corpus(name, config.data_dir)
        kept = drop_labels(loaded, config.ignored_labels.get(name, frozenset()))
        limit = None if name in config.distilled else config.max_texts_per_corpus
        corpora[name] = sample_corpus(kept, limit, config.seed)
        progress(f"{name}: {len(corpora[name])} texts (of {len(loaded)})")
    return corpora


def train(config: TrainConfig, *, progress: Callable[[str], None] = print) -> Manifest:
    """Train heads for every attribute the chosen corpora label; write the artifact.

    With ``config.finetune``, the frozen-embedding heads are only the starting point: LoRA
    adapters are trained on a sample of the train split (``finetune.py``), and the heads are
    then fitted again, the same way, on that sample embedded by the adapted encoder.
    """
    corpora = load_training_corpora(config, progress)
    labelled = {a for rows in corpora.values() for t in rows for a in t.labels}
    missing = [a for a in HEADS_ATTRIBUTES if a not in labelled]
    if missing:
        raise ValueError(
            f"No training labels for {', '.join(missing)} in corpora {', '.join(config.corpora)}."
        )
    encoder = Encoder(device=config.device)
    lexicon = training_lexicon(config, encoder)
    # Fine-tuning starts from heads on the embedding alone; the lexicon joins the final fit.
    first = lexicon if config.finetune is None else None
    weight, bias, metrics = fit_heads(
        corpora, encoder, DEFAULT_ENCODER_ID, config, progress, lexicon=first
    )
    adapters: TrainedAdapters | None = None
    epochs: list[dict[str, Any]] = []
    if config.finetune is not None:
        from perspective_local.training.finetune import finetune_encoder

        sample = finetune_sample(corpora, config.finetune.max_texts, config.seed,
                                 config.distilled)  # fmt: skip
        sample = repeated(sample, dict(config.finetune.repeat))
        targets = label_matrix(sample, HEADS_ATTRIBUTES)
        text_weights = np.array(
            [1.0 if t.source in config.distilled else config.finetune.aux_weight for t in sample],
            dtype=np.float32,
        )
        select = selection_score(selection_sets(corpora, config), encoder)
        checkpoints = config.checkpoint_dir or (
            config.cache_dir / "checkpoints" if config.cache_dir else None
        )
        tensors, records = finetune_encoder(
            encoder, [t.text for t in sample], targets, weight, bias, config.finetune,
            text_weights=text_weights, select=select, checkpoint_dir=checkpoints,
            progress=progress,
        )  # fmt: skip
        epochs = [asdict(r) for r in records]
        adapters = TrainedAdapters(tensors, config.finetune.rank, config.finetune.alpha)
        kept = {id(t) for t in sample}
        refit = {
            name: [t for t in rows if config.finetune.refit == "all" or id(t) in kept
                   or split_of(t.group, CORPORA[name].test_share) != "train"]
            for name, rows in corpora.items()
        }  # fmt: skip
        encoder_key = f"{DEFAULT_ENCODER_ID}+lora:{_tensors_digest(tensors)}"
        weight, bias, metrics = fit_heads(
            refit, encoder, encoder_key, config, progress, lexicon=lexicon
        )
    if not any(report["lexicon"]["used"] for report in metrics.values()):
        lexicon, weight = None, weight[:, : encoder.dimension]
    manifest = Manifest(
        name=config.name,
        version=config.version,
        encoder=EncoderSpec(
            DEFAULT_ENCODER_ID, encoder.max_length, encoder.window_overlap, encoder.dimension
        ),
        attributes=HEADS_ATTRIBUTES,
        training_data=_training_data(corpora),
        metrics=metrics,
        provenance={
            **_provenance(config),
            "device": str(encoder.device),
            **({"finetune_epochs": epochs} if epochs else {}),
        },
    )
    return save_artifact(
        config.out_dir,
        manifest,
        weight,
        bias,
        adapters=adapters,
        lexicon=lexicon.data if lexicon else None,
    )


def selection_sets(
    corpora: dict[str, list[LabelledText]], config: TrainConfig
) -> list[list[LabelledText]]:
    """Texts that choose the fine-tuning epoch: the selection corpora whole (never trained
    on) and the validation side of each distilled corpus."""
    sets = []
    for name in config.selection_corpora:
        try:
            sets.append(load_corpus(name, config.data_dir))
        except FileNotFoundError as exc:
            log.warning("selection corpus left out", extra={"corpus": name, "reason": str(exc)})
    for name, rows in corpora.items():
        if name in config.distilled:
            test_share = CORPORA[name].test_share
            sets.append([t for t in rows if split_of(t.group, test_share) == "validation"])
    return [s for s in sets if s]


def selection_score(
    sets: Sequence[Sequence[LabelledText]], encoder: Encoder
) -> Callable[[Any, Any], float]:
    """``score(model, heads)``: the mean over sets and labelled attributes of the Spearman
    correlation between the model's scores (max over windows, as in scoring) and the labels."""
    import torch

    from perspective_local.evaluation.metrics import spearman
    from perspective_local.models.encoder import mean_pool

    def score(model: Any, heads: Any) -> float:
        def forward(ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
            mask_t = torch.from_numpy(mask).to(encoder.device)
            hidden = model(input_ids=torch.from_numpy(ids).to(encoder.device),
                           attention_mask=mask_t).last_hidden_state  # fmt: skip
            out: np.ndarray = torch.sigmoid(heads(mean_pool(hidden, mask_t))).cpu().numpy()
            return out

        values = []
        for rows in sets:
            windows = encoder.windower.windows([t.text for t in rows])
            per_window = encoder.windower.run(
                windows, forward, width=len(HEADS_ATTRIBUTES), batch_size=64
            )
            predicted = windows.max_per_text(per_window)
            targets = label_matrix(rows, HEADS_ATTRIBUTES)
            for j in range(len(HEADS_ATTRIBUTES)):
                known = ~np.isnan(targets[:, j])
                if known.sum() > 10:
                    value = spearman(targets[known, j], predicted[known, j])
                    if value is not None:
                        values.append(value)
        return float(np.mean(values)) if values else float("nan")

    return score


def embed_corpora(
    corpora: dict[str, list[LabelledText]],
    encoder: Encoder,
    encoder_key: str,
    config: TrainConfig,
    progress: Callable[[str], None] = lambda line: None,
    lexicon: Lexicon | None = None,
) -> dict[str, np.ndarray]:
    """Every distinct text's head inputs: its embedding, through the cache kept for
    ``encoder_key``, then any ``lexicon`` features (not cached: counting is fast)."""
    texts = list(dict.fromkeys(t.text for rows in corpora.values() for t in rows))
    cache = EmbeddingCache(config.cache_dir, encoder_key)
    progress(f"{len(texts)} distinct texts; embedding on {encoder.device}")
    matrix = cache.embed(
        texts,
        lambda batch: encoder.embed(batch, batch_size=config.batch_size),
        progress=lambda done, total: progress(f"embedded {done}/{total} new texts"),
    )
    if lexicon is not None:
        matrix = np.hstack([matrix, lexicon_features(lexicon, encoder, texts)])
    return dict(zip(texts, matrix, strict=True))


def training_lexicon(config: TrainConfig, encoder: Encoder) -> Lexicon | None:
    """The Surge AI list from ``config.data_dir`` for ``encoder``'s tokenizer, when
    ``config.lexicon`` asks for lexicon features."""
    if not config.lexicon:
        return None
    return Lexicon(load_surge_lexicon(config.data_dir), encoder.windower.tokenizer)


def lexicon_features(lexicon: Lexicon, encoder: Encoder, texts: Sequence[str]) -> np.ndarray:
    """Per text, the largest lexicon features of any of its windows: the window that would
    score highest is the one with the most profanity, as scoring takes the maximum."""
    windows = encoder.windower.windows(texts)
    per_window = encoder.windower.run(windows, lexicon.features, width=lexicon.width,
                                      batch_size=256)  # fmt: skip
    return windows.max_per_text(per_window)


def examples_by_attribute(
    corpora: dict[str, list[LabelledText]], vectors: dict[str, np.ndarray]
) -> dict[str, list[Example]]:
    """Per attribute, one ``Example`` for every text labelled for it, with its split side."""
    by_attribute: dict[str, list[Example]] = defaultdict(list)
    for source, rows in corpora.items():
        test_share = CORPORA[source].test_share
        for item in rows:
            split = split_of(item.group, test_share)
            for attribute, value in item.labels.items():
                by_attribute[attribute].append(
                    Example(vectors[item.text], float(value), source, split)
                )
    return by_attribute


def fit_heads(
    corpora: dict[str, list[LabelledText]],
    encoder: Encoder,
    encoder_key: str,
    config: TrainConfig,
    progress: Callable[[str], None],
    *,
    lexicon: Lexicon | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Embed every text (through the cache kept for ``encoder_key``) and fit all heads, with
    ``lexicon`` features offered to each."""
    vectors = embed_corpora(corpora, encoder, encoder_key, config, progress, lexicon)
    by_attribute = examples_by_attribute(corpora, vectors)
    weights, biases, metrics = [], [], {}
    for attribute in HEADS_ATTRIBUTES:
        w, b, report = train_attribute(
            attribute, by_attribute[attribute], config.seed, config.source_weighting,
            config.distilled, lexicon_columns=lexicon.width if lexicon else 0,
        )  # fmt: skip
        weights.append(w)
        biases.append(b)
        metrics[attribute] = report
        progress(
            f"{attribute}: n={report['n_train']}+{report['n_validation']}+{report['n_test']} "
            f"C={report['C']} aux={report['aux_weight']} "
            f"lexicon={'yes' if report['lexicon']['used'] else 'no'} "
            f"MAE {_fmt(report['calibration']['validation_mae_before'])}->"
            f"{_fmt(report['calibration']['validation_mae_after'])} "
            f"test AUC={_fmt(report.get('test', {}).get('roc_auc'))} "
            f"Spearman={_fmt(report.get('test', {}).get('spearman'))}"
        )
    return np.stack(weights), np.array(biases, dtype=np.float32), metrics


def finetune_sample(
    corpora: dict[str, list[LabelledText]],
    limit: int,
    seed: int,
    distilled: frozenset[str] = frozenset(),
) -> list[LabelledText]:
    """Up to ``limit`` train-split texts: the ``distilled`` corpora's first (all of them, or
    a seeded sample of ``limit`` when they hold more), then an equal allowance per other
    corpus (small ones whole, their unused allowance shared among the larger ones)."""
    rng = np.random.default_rng(seed)
    pools = {
        name: [t for t in rows if split_of(t.group, CORPORA[name].test_share) == "train"]
        for name, rows in corpora.items()
    }
    chosen = [t for name, pool in pools.items() if name in distilled for t in pool]
    if len(chosen) > limit:
        chosen = [chosen[i] for i in np.sort(rng.choice(len(chosen), size=limit, replace=False))]
    pools = {name: pool for name, pool in pools.items() if name not in distilled}
    remaining = max(0, limit - len(chosen))
    for count, (_name, pool) in enumerate(sorted(pools.items(), key=lambda kv: len(kv[1]))):
        take = min(len(pool), remaining // (len(pools) - count))
        chosen += [pool[i] for i in np.sort(rng.choice(len(pool), size=take, replace=False))]
        remaining -= take
    return chosen


def repeated(texts: list[LabelledText], times: dict[str, int]) -> list[LabelledText]:
    """``texts`` with each text of a corpus in ``times`` appearing that many times."""
    return [t for t in texts for _ in range(times.get(t.source, 1))]


def label_matrix(texts: Sequence[LabelledText], attributes: Sequence[str]) -> np.ndarray:
    """``(texts, attributes)`` soft targets, NaN where a text has no label for an attribute."""
    matrix = np.full((len(texts), len(attributes)), np.nan, dtype=np.float32)
    for i, text in enumerate(texts):
        for j, attribute in enumerate(attributes):
            if attribute in text.labels:
                matrix[i, j] = text.labels[attribute]
    return matrix


def _tensors_digest(tensors: dict[str, Any]) -> str:
    digest = hashlib.sha1()
    for name in sorted(tensors):
        digest.update(name.encode())
        digest.update(tensors[name].numpy().tobytes())
    return digest.hexdigest()[:12]


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _training_data(corpora: dict[str, list[LabelledText]]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, rows in corpora.items():
        corpus = CORPORA[name]
        counts: dict[str, int] = defaultdict(int)
        for row in rows:
            for attribute in row.labels:
                counts[attribute] += 1
        out[name] = {
            "licence": corpus.licence,
            "flags": list(corpus.flags),
            "description": corpus.description,
            "texts": len(rows),
            "labels": dict(sorted(counts.items())),
        }
    return out


def _provenance(config: TrainConfig) -> dict[str, Any]:
    import sklearn
    import torch
    import transformers

    return {
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": config.command,
        "corpora": list(config.corpora),
        "seed": config.seed,
        "max_texts_per_corpus": config.max_texts_per_corpus,
        "source_weighting": config.source_weighting,
        "finetune": None if config.finetune is None else asdict(config.finetune),
        "ignored_labels": {k: sorted(v) for k, v in config.ignored_labels.items()},
        "split": "crc32(group): test (corpus test_share, 15% unless stated; never fitted), "
        f"validation {VALIDATION_SHARE:.0%} (C and calibration), train the rest",
        "test_shares": {name: CORPORA[name].test_share for name in config.corpora},
        "distilled": sorted(config.distilled),
        "objective": "logistic regression on soft labels (Perspective's scores where a corpus "
        "has them); C and the auxiliary corpora's weight chosen by log-loss against "
        "Perspective's scores on the distilled corpora's validation side, then Platt scaling "
        "on it",
        "versions": {
            "perspective_local": __version__,
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "scikit-learn": sklearn.__version__,
        },
    }
