"""Generalisation evidence: bootstrap intervals, Perspective agreement per source, paired
comparison of two models, and leave-one-corpus-out runs, on the tiny corpora."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from perspective_local.evaluation.generalisation import (
    agreement_table,
    compare,
    comparison_table,
    evaluate_generalisation,
    human_table,
)
from perspective_local.evaluation.loco import leave_one_corpus_out, loco_table
from perspective_local.evaluation.metrics import (
    bootstrap,
    bootstrap_difference,
    perspective_agreement,
    roc_auc,
    spearman,
)
from perspective_local.training.train import TrainConfig
from tests.conftest import TINY_CORPORA


def test_bootstrap_values_are_the_plain_metrics_and_intervals_cover_them() -> None:
    rng = np.random.default_rng(3)
    target = rng.random(300)
    predicted = target + rng.normal(0, 0.3, 300)
    for metric, plain in (("spearman", spearman), ("roc_auc", roc_auc)):
        estimate = bootstrap(metric, target, predicted)
        assert estimate.value == pytest.approx(plain(target, predicted))
        assert estimate.low is not None and estimate.high is not None
        assert estimate.low < estimate.value < estimate.high
    assert bootstrap("roc_auc", np.zeros(10), predicted[:10]).value is None  # one class
    low = perspective_agreement(target, predicted)["spearman_low"]
    assert low.n == int((target < 0.3).sum())
    # A model compared with itself differs by exactly nothing.
    same = bootstrap_difference("spearman", target, predicted, predicted)
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0)
    better = bootstrap_difference("spearman", target, predicted, target)
    assert better.low is not None and better.low > 0


def test_generalisation_reports_each_source_on_its_own(
    tiny_corpora: Path, tiny_scorer: Any
) -> None:
    report = evaluate_generalisation(tiny_scorer, tiny_corpora, resamples=50, min_labelled=5)
    assert report["decodingtrust"]["kind"] == "perspective"
    toxicity = report["decodingtrust"]["attributes"]["TOXICITY"]
    assert set(toxicity) == {"spearman", "mae", "spearman_low"}
    assert report["c3"]["kind"] == "human" and "roc_auc" in report["c3"]["attributes"]["TOXICITY"]
    assert any(line.startswith("| decodingtrust | TOXICITY |") for line in agreement_table(report))
    assert any(line.startswith("| c3 | TOXICITY |") for line in human_table(report))


def test_compare_scores_both_models_on_the_same_texts(
    tiny_corpora: Path, tiny_scorer: Any, default_scorer: Any
) -> None:
    report = compare(tiny_scorer, tiny_scorer, tiny_corpora, resamples=50, min_labelled=5)
    same = report["decodingtrust"]["attributes"]["TOXICITY"]["spearman"]
    assert same["difference"]["value"] == 0.0 and same["a"] == same["b"]
    mixed = compare(tiny_scorer, default_scorer, tiny_corpora, resamples=50, min_labelled=5)
    row = mixed["c3"]["attributes"]["TOXICITY"]["roc_auc"]
    assert row["difference"]["value"] == pytest.approx(row["b"]["value"] - row["a"]["value"])
    assert any("| c3 | TOXICITY | roc_auc |" in line for line in comparison_table(mixed))


def test_leaving_a_corpus_out_trains_without_it(tiny_corpora: Path, tmp_path: Path) -> None:
    config = TrainConfig(data_dir=tiny_corpora, out_dir=tmp_path / "unused",
                         corpora=TINY_CORPORA, cache_dir=tmp_path / "cache")  # fmt: skip
    lines: list[str] = []
    report = leave_one_corpus_out(config, ["decodingtrust", "c3"], resamples=50,
                                  min_labelled=5, progress=lines.append)  # fmt: skip
    row = report["c3"]["TOXICITY"]
    assert row["kind"] == "human" and row["n"] >= 5
    assert row["in_corpus"]["roc_auc"]["value"] is not None
    # Without C3 nothing else labels INSULT ... but decodingtrust does; the run still fits.
    assert "INSULT" in report["c3"]
    assert report["decodingtrust"]["TOXICITY"]["kind"] == "perspective"
    table = loco_table(report)
    assert any(line.startswith("| c3 | TOXICITY |") for line in table)
