"""How well probabilities match labels: the numbers that training and evaluation report.

Labels are soft (the share of raters who perceive an attribute, in [0, 1]). ROC-AUC needs
classes, so it binarises labels at 0.5, as Perspective's own evaluations do; Spearman, the mean
absolute error and the calibration error use the soft labels as they are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

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
