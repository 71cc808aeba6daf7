"""The evaluation maths on inputs with known answers, and ``perspective-local evaluate`` end to end
with the real encoder on a model trained on the tiny corpora."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from perspective_local.cli import app
from perspective_local.evaluation.metrics import attribute_metrics, expected_calibration_error
from perspective_local.evaluation.suite import (
    HUMAN_COMMENTS_SET,
    POOLED_SET,
    EvaluationDataError,
    HateCheckCase,
    TemplateText,
    hatecheck_accuracy,
    identity_bias,
    load_identity_templates,
    load_labelled_jsonl,
    suite_sets,
)
from perspective_local.training.corpora import CORPORA, load_corpus, split_of
from tests.conftest import TINY_CORPORA, write_tiny_corpora


def test_calibration_error_is_zero_when_bins_match_and_grows_with_bias() -> None:
    rng = np.random.default_rng(0)
    predicted = rng.uniform(size=50_000)
    calibrated = (rng.uniform(size=predicted.size) < predicted).astype(float)
    assert expected_calibration_error(calibrated, predicted) < 0.01
    overconfident = np.clip(predicted + 0.2, 0, 1)
    assert 0.15 < expected_calibration_error(calibrated, overconfident) < 0.2


def test_attribute_metrics_on_soft_labels() -> None:
    target = np.array([0.0, 0.1, 0.4, 0.6, 0.9, 1.0])
    predicted = np.array([0.2, 0.1, 0.5, 0.4, 0.8, 0.9])
    m = attribute_metrics(target, predicted)
    assert m["n"] == 6 and m["n_positive"] == 3
    assert m["roc_auc"] == pytest.approx(8 / 9)  # 0.4 (positive) sits below 0.5 (negative)
    assert m["mae"] == pytest.approx(np.abs(target - predicted).mean())
    assert sum(b["count"] for b in m["reliability"]) == 6  # type: ignore[attr-defined]


def test_labelled_jsonl_errors_name_the_line(tmp_path: Path) -> None:
    good = {"text": "hi", "labels": {"toxicity": 0.2}}
    cases = {
        "{not json": "not JSON",
        json.dumps({"labels": {"TOXICITY": 1}}): 'string "text"',
        json.dumps({"text": "x", "labels": {"TOXICTY": 1}}): "Unknown attribute 'TOXICTY'",
        json.dumps({"text": "x", "labels": {"TOXICITY": 1.5}}): r"must be a number in \[0, 1\]",
        json.dumps({"text": "x", "labels": {}}): "non-empty object",
    }
    for line, message in cases.items():
        path = tmp_path / "set.jsonl"
        path.write_text(json.dumps(good) + "\n" + line + "\n")
        with pytest.raises(EvaluationDataError, match=rf"set\.jsonl:2: .*{message}"):
            load_labelled_jsonl(path)
    path.write_text(json.dumps(good) + "\n")
    (record,) = load_labelled_jsonl(path)
    assert record.labels == {"TOXICITY": 0.2}  # names are matched case-insensitively


def _templates() -> list[TemplateText]:
    out = []
    for identity in ("gay", "christian", "blind"):
        for i in range(10):
            out.append(TemplateText(f"{identity} {i}", toxic=i % 2 == 0, identity=identity))
    return out


def test_identity_bias_flags_a_model_that_scores_one_identity_up() -> None:
    templates = _templates()
    toxic = np.array([t.toxic for t in templates], dtype=float)
    # Perfect ranking inside every subgroup, but every "gay" sentence is pushed up by 0.6.
    predicted = 0.2 + 0.5 * toxic + np.array([0.6 * (t.identity == "gay") for t in templates])
    report = identity_bias(templates, predicted)
    assert all(report[k]["subgroup_auc"] == 1.0 for k in ("gay", "christian", "blind"))
    assert report["gay"]["bpsn_auc"] < 0.2 and report["gay"]["bnsp_auc"] == 1.0
    assert report["christian"]["bpsn_auc"] == 1.0 and report["christian"]["bnsp_auc"] < 0.8
    summary = report["summary"]
    assert summary["bpsn_auc_worst"] == "gay"
    # The p = -5 power mean sits near the worst identity, far below the plain mean.
    bpsn = [report[k]["bpsn_auc"] for k in ("gay", "christian", "blind")]
    assert summary["bpsn_auc_power_mean"] < np.mean(bpsn) - 0.3


def test_hatecheck_accuracy_per_functionality() -> None:
    cases = [
        HateCheckCase("a", "threat_dir_h", True),
        HateCheckCase("b", "threat_dir_h", True),
        HateCheckCase("c", "counter_quote_nh", False),
        HateCheckCase("d", "counter_quote_nh", False),
    ]
    report = hatecheck_accuracy(cases, np.array([0.9, 0.3, 0.7, 0.1]))
    assert report["threat_dir_h"] == {"accuracy": 0.5, "n": 2, "gold": "hateful"}
    assert report["counter_quote_nh"]["accuracy"] == 0.5
    assert report["summary"]["accuracy"] == 0.5


def _write_bias_and_hatecheck(root: Path) -> None:
    folder = root / "jigsaw_unintended_bias"
    folder.mkdir(parents=True, exist_ok=True)
    rows = [("verb_adj", "toxic", "kill gay"), ("verb_adj", "nontoxic", "hug gay"),
            ("verb_adj", "toxic", "kill african american"),
            ("verb_adj", "nontoxic", "hug african american"),
            ("being_adj", "toxic", "Being gay is disgusting."),
            ("being_adj", "nontoxic", "Being african american is wonderful."),
            ("you_occupation", "nontoxic", "You are a great doctor")]  # fmt: skip
    with open(folder / "en_sentence_templates.csv", "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["template", "toxicity", "phrase"])
        writer.writerows(rows)
    with open(folder / "toxicity_nonfuzzed_testset.csv", "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["rev_id", "comment", "toxic"])
        writer.writerow(["1", "You are a worthless idiot and a liar.", "True"])
        writer.writerow(["2", "Thanks, I fixed the citation in the second paragraph.", "False"])
    from tests.training.test_corpora import write_hatecheck

    write_hatecheck(root)


def test_identity_templates_get_the_longest_identity_term(tmp_path: Path) -> None:
    _write_bias_and_hatecheck(tmp_path)
    by_text = {t.text: t.identity for t in load_identity_templates(tmp_path)}
    assert by_text["Being african american is wonderful."] == "african american"
    assert by_text["Being gay is disgusting."] == "gay"
    assert by_text["You are a great doctor"] is None


def test_suite_uses_only_test_splits_of_trained_corpora(tmp_path: Path) -> None:
    root = write_tiny_corpora(tmp_path)
    _write_bias_and_hatecheck(root)
    sets = suite_sets(root, trained_on=("c3", "epitome", "seed_nuance"),
                      ignored_labels={"c3": ["RESPECT_EXPERIMENTAL"]})  # fmt: skip
    assert not any("RESPECT_EXPERIMENTAL" in t.labels for t in sets["c3"])
    c3 = load_corpus("c3", root)
    assert sets["c3"] and len(sets["c3"]) < len(c3)
    assert all(split_of(t.group) == "test" for t in sets["c3"])
    # Not trained on: used whole.
    assert len(sets["decodingtrust"]) == len(load_corpus("decodingtrust", root))
    seed = sets["seed_nuance"]
    assert all(split_of(t.group, CORPORA["seed_nuance"].test_share) == "test" for t in seed)
    assert len(sets["chat_domain"]) == len(load_corpus("chat_domain", root))
    assert {t.source for t in sets[HUMAN_COMMENTS_SET]} == {"c3", "jigsaw_wikipedia"}
    pooled = {t.source for t in sets[POOLED_SET]}
    assert {"c3", "epitome", "seed_nuance"} <= pooled and "decodingtrust" not in pooled


def test_evaluate_command_writes_metrics_plots_and_a_model_card(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    root = write_tiny_corpora(tmp_path / "data")
    _write_bias_and_hatecheck(root)
    own = tmp_path / "mine.jsonl"
    own.write_text(
        json.dumps({"text": "You are a pathetic idiot.", "labels": {"TOXICITY": 1}}) + "\n"
        + json.dumps({"text": "Thanks for the kind note!", "labels": {"TOXICITY": 0}}) + "\n"
    )  # fmt: skip
    out, card = tmp_path / "eval", tmp_path / "MODEL_CARD.md"
    result = CliRunner().invoke(app, [
        "evaluate", str(own), "--out", str(out), "--data-dir", str(root),
        "--model-dir", str(tiny_model_dir), "--model-card", str(card), "--device", "cpu",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["sets"]["mine"]["TOXICITY"]["roc_auc"] == 1.0
    assert set(TINY_CORPORA) <= set(metrics["sets"])
    assert metrics["identity_bias"]["TOXICITY"]["gay"]["n"] == 3
    assert metrics["hatecheck"]["IDENTITY_ATTACK"]["summary"]["accuracy"] is not None
    assert (out / "reliability" / "mine.png").stat().st_size > 1000
    text = card.read_text()
    for heading in ("## Training data", "## Targets", "## Identity-term bias", "## HateCheck",
                    "## Known weaknesses", "### `chat_domain`"):  # fmt: skip
        assert heading in text
    assert "**Licence warning**" in text  # the tiny corpora include C3 (NC-SA)


def test_evaluate_rejects_a_bad_file_before_loading_the_model(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "labels": {"NOPE": 1}}\n')
    result = CliRunner().invoke(app, ["evaluate", str(bad), "--no-suite"])
    assert result.exit_code == 2
    assert "bad.jsonl:1" in result.output and "Unknown attribute 'NOPE'" in result.output
