"""How well probabilities match labels: the numbers that training and evaluation report.

Labels are soft (the share of raters who perceive an attribute, in [0, 1]). ROC-AUC needs
classes, so it binarises labels at 0.5, as Perspective's own evaluations do; Spearman, the mean
absolute error and the calibration error use the soft labels as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: Equal-width probability bins for the calibration error and reliability plots.
CALIBRATION_BINS = 10


@dataclass(frozen=True)
class ReliabilityBin:
    """Texts whose predicted probability fell in ``[low, high)``."""

    low: float
    high: float
    count: int
    mean_predicted: float
    mean_label: float


def roc_auc(target: np.ndarray, predicted: np.ndarray) -> float | None:
    """ROC-AUC with labels binarised at 0.5; ``None`` when only one class is present."""
    from sklearn.metrics import roc_auc_score

    positives = np.asarray(target) >= 0.5
    if not 0 < positives.sum() < len(positives):
        return None
    return float(roc_auc_score(positives, predicted))


def spearman(target: np.ndarray, predicted: np.ndarray) -> float | None:
    """Rank correlation with the soft labels; ``None`` when either side is constant."""
    from scipy.stats import spearmanr

    if np.ptp(target) == 0 or np.ptp(predicted) == 0:
        return None
    return float(spearmanr(target, predicted).statistic)


def log_loss(target: np.ndarray, predicted: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Cross-entropy against soft labels (the objective the heads are fitted on)."""
    clipped = np.clip(predicted, 1e-7, 1 - 1e-7)
    losses = -(target * np.log(clipped) + (1 - target) * np.log(1 - clipped))
    return float(np.average(losses, weights=weights))


def reliability(
    target: np.ndarray, predicted: np.ndarray, bins: int = CALIBRATION_BINS
) -> list[ReliabilityBin]:
    """Mean label against mean prediction in equal-width probability bins (empty bins left out)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(predicted, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        members = index == b
        if members.any():
            out.append(ReliabilityBin(
                float(edges[b]), float(edges[b + 1]), int(members.sum()),
                float(predicted[members].mean()), float(target[members].mean()),
            ))  # fmt: skip
    return out


def expected_calibration_error(target: np.ndarray, predicted: np.ndarray) -> float:
    """Count-weighted mean |mean label - mean prediction| over the reliability bins."""
    return _calibration_error(reliability(target, predicted))


def _calibration_error(bins: list[ReliabilityBin]) -> float:
    total = sum(b.count for b in bins)
    return float(sum(b.count * abs(b.mean_label - b.mean_predicted) for b in bins) / total)


def attribute_metrics(target: np.ndarray, predicted: np.ndarray) -> dict[str, object]:
    """Every reported metric for one attribute on one labelled set."""
    target = np.asarray(target, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    bins = reliability(target, predicted)
    return {
        "n": len(target),
        "n_positive": int((target >= 0.5).sum()),
        "roc_auc": roc_auc(target, predicted),
        "spearman": spearman(target, predicted),
        "mae": float(np.abs(target - predicted).mean()),
        "ece": _calibration_error(bins),
        "log_loss": log_loss(target, predicted),
        "reliability": [asdict(b) for b in bins],
    }


# ------------------------------------------------------------------ intervals and agreement

#: Bootstrap resamples behind every interval; 400 keep a 95% interval's ends stable to about
#: 0.005 for the set sizes here, at a few milliseconds per metric.
BOOTSTRAP_RESAMPLES = 400
#: Perspective scores below this are "the low range", where most real text lies: agreement
#: there decides whether a corpus's ordinary texts are ranked as Perspective ranks them.
LOW_RANGE = 0.3


@dataclass(frozen=True)
class Estimate:
    """A metric on one set with its bootstrap 95% percentile interval (``None``: undefined,
    e.g. AUC with one class, or Spearman of a constant)."""

    value: float | None
    low: float | None
    high: float | None
    n: int


def _rows_rank(values: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    ranks: np.ndarray = rankdata(values, axis=-1)
    return ranks


def _spearman_rows(target: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row pair (ties get average ranks); NaN where constant."""
    a = _rows_rank(target)
    b = _rows_rank(predicted)
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    denominator = np.sqrt((a * a).sum(-1) * (b * b).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = (a * b).sum(-1) / denominator
    return out


def _auc_rows(target: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """ROC-AUC of each row pair (labels binarised at 0.5); NaN where one class is missing."""
    positive = target >= 0.5
    n_pos = positive.sum(-1)
    n_neg = positive.shape[-1] - n_pos
    ranks = _rows_rank(predicted)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = ((ranks * positive).sum(-1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return out


def _mae_rows(target: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.abs(target - predicted).mean(-1)
    return out


_ROW_METRICS = {"roc_auc": _auc_rows, "spearman": _spearman_rows, "mae": _mae_rows}


def _resample_index(n: int, resamples: int, seed: int) -> np.ndarray:
    index: np.ndarray = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    return index


def bootstrap(
    metric: str,
    target: np.ndarray,
    predicted: np.ndarray,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> Estimate:
    """``metric`` (``roc_auc``, ``spearman`` or ``mae``) with a percentile bootstrap interval
    over texts. The seed is fixed, so a report is reproducible."""
    target = np.asarray(target, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    n = len(target)
    rows = _ROW_METRICS[metric]
    value = float(rows(target[None], predicted[None])[0]) if n > 1 else float("nan")
    if not np.isfinite(value):
        return Estimate(None, None, None, n)
    index = _resample_index(n, resamples, seed)
    draws = rows(target[index], predicted[index])
    draws = draws[np.isfinite(draws)]
    if len(draws) < resamples // 2:
        return Estimate(value, None, None, n)
    low, high = np.percentile(draws, [2.5, 97.5])
    return Estimate(value, float(low), float(high), n)


def bootstrap_difference(
    metric: str,
    target: np.ndarray,
    predicted_a: np.ndarray,
    predicted_b: np.ndarray,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> Estimate:
    """``metric(b) - metric(a)`` on the same texts, with a paired bootstrap interval: each
    resample draws one set of texts and scores both models on it."""
    target = np.asarray(target, dtype=np.float64)
    a = np.asarray(predicted_a, dtype=np.float64)
    b = np.asarray(predicted_b, dtype=np.float64)
    rows = _ROW_METRICS[metric]
    n = len(target)
    value = float(rows(target[None], b[None])[0] - rows(target[None], a[None])[0])
    if not np.isfinite(value):
        return Estimate(None, None, None, n)
    index = _resample_index(n, resamples, seed)
    draws = rows(target[index], b[index]) - rows(target[index], a[index])
    draws = draws[np.isfinite(draws)]
    if len(draws) < resamples // 2:
        return Estimate(value, None, None, n)
    low, high = np.percentile(draws, [2.5, 97.5])
    return Estimate(value, float(low), float(high), n)


def perspective_agreement(
    target: np.ndarray, predicted: np.ndarray, *, resamples: int = BOOTSTRAP_RESAMPLES
) -> dict[str, Estimate]:
    """Agreement with Perspective's own scores: Spearman, MAE on the score scale, and
    Spearman among texts Perspective scores below ``LOW_RANGE``."""
    target = np.asarray(target, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    low = target < LOW_RANGE
    return {
        "spearman": bootstrap("spearman", target, predicted, resamples=resamples),
        "mae": bootstrap("mae", target, predicted, resamples=resamples),
        "spearman_low": bootstrap("spearman", target[low], predicted[low], resamples=resamples),
    }


def format_estimate(estimate: Mapping[str, Any]) -> str:
    """``value [low, high]`` to three decimals, from an ``Estimate`` as a dict (``-``: none)."""
    value, low, high = estimate["value"], estimate["low"], estimate["high"]
    if value is None:
        return "-"
    if low is None or high is None:
        return f"{value:.3f}"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"
