"""Distilling Perspective: the Perspective-scored loaders, the auxiliary weight chosen on
Perspective-scored validation, weighted and length-bucketed fine-tuning, and resuming."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from perspective_local.models.encoder import Encoder
from perspective_local.training.corpora import is_english_post, load_corpus, split_of
from perspective_local.training.finetune import (
    FinetuneConfig,
    finetune_encoder,
    length_batches,
    masked_soft_loss,
)
from perspective_local.training.train import (
    Example,
    finetune_sample,
    repeated,
    train_attribute,
)

DID = "did:plc:sgsx73ohiqfsb5feqdllh3we"
SCORES = {
    "toxic": 0.8, "severe_toxic": 0.1, "identity_attack": 0.05, "insult": 0.6,
    "profanity": 0.7, "threat": 0.02, "affinity": 0.3, "compassion": 0.2,
    "constructive": 0.44, "curiosity": 0.1, "nuance": 0.15, "personal_story": 0.5,
    "reasoning": 0.44, "respect": 0.12, "sexually_explicit": 0.09, "flirtation": 0.2,
}  # fmt: skip


def _write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _most_liked_row(uri: str, text: str, labelled: bool = True) -> dict[str, object]:
    return {"": 1, "uri": f"at://{DID}/app.bsky.feed.post/{uri}", "text_x": text,
            "author_handle": "someone.bsky.social", "text_y": text,
            "was_successfully_labeled": str(labelled),
            **{f"prob_{k}": ("" if not labelled else v) for k, v in SCORES.items()}}  # fmt: skip


def write_bluesky(root: Path) -> None:
    """Both Bluesky loaders' files, author columns and non-English posts included."""
    folder = root / "bluesky_reddit_perspective_bridging"
    _write_csv(folder / "perspective_labels_most_liked_feed.csv", [
        _most_liked_row("a1", "What a lovely morning, I walked my dog by the river."),
        _most_liked_row("a2", "これは日本語の投稿です。とても良い天気ですね。"),
        _most_liked_row("a3", "Isso não é uma boa ideia para com ele, muito mais que isso."),
        _most_liked_row("a4", "", labelled=False),
    ])  # fmt: skip
    early = {"toxic": 0.3, "affinity": 0.2, "compassion": 0.1, "constructive": 0.6,
             "curiosity": 0.4, "nuance": 0.3, "personal_story": 0.2}  # fmt: skip
    _write_csv(folder / "bluesky_pilot_posts_with_all_features.csv", [
        {"uri": "at://x/1", "text": "Why do you think the council voted that way?",
         "did": DID, "handle": "h", "author_handle": "h",
         **{f"prob_{k}": v for k, v in early.items()}},
    ])  # fmt: skip
    _write_csv(folder / "classified_posts_2024-02-03_11-18-17.csv", [
        {"author_did": DID, "author_handle": "h", "text": "Hoy hace mucho sol en la playa",
         "langs": "['es']", **{f"prob_{k}": v for k, v in early.items()}},
        {"author_did": DID, "author_handle": "h", "text": "Great thread, thanks for sharing",
         "langs": "['en']", **{f"prob_{k}": v for k, v in early.items()}},
    ])  # fmt: skip


@pytest.fixture
def bluesky_root(tmp_path: Path) -> Path:
    write_bluesky(tmp_path)
    return tmp_path


def test_bluesky_maps_every_score_keeps_english_and_never_reads_authors(
    bluesky_root: Path,
) -> None:
    rows = load_corpus("bluesky", bluesky_root)
    assert [r.text for r in rows] == ["What a lovely morning, I walked my dog by the river."]
    labels = rows[0].labels
    assert len(labels) == 15
    assert labels["TOXICITY"] == 0.8 and labels["FLIRTATION"] == 0.2
    assert labels["REASONING_EXPERIMENTAL"] == pytest.approx(0.44)
    assert rows[0].group.startswith("bluesky:at://") and rows[0].source == "bluesky"
    early = load_corpus("bluesky_early", bluesky_root)
    assert sorted(r.text for r in early) == [
        "Great thread, thanks for sharing", "Why do you think the council voted that way?",
    ]  # fmt: skip
    assert early[0].labels["REASONING_EXPERIMENTAL"] == pytest.approx(0.6)  # constructive
    assert "RESPECT_EXPERIMENTAL" not in early[0].labels
    for row in (*rows, *early):
        assert "someone" not in repr(row) and "did:plc" not in row.text


def test_english_rule_uses_the_language_tag_then_script_and_function_words() -> None:
    assert is_english_post("anything at all", "['en', 'ja']")
    assert not is_english_post("anything at all", "['de']")
    assert is_english_post("You are a stupid idiot and a liar")
    assert not is_english_post("Das ist nicht gut und ich bin auch müde")
    assert not is_english_post("🎉🎉🎉")


def write_rtp_quark(root: Path) -> None:
    path = root / "rtp_quark_val_critic" / "val.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    scores = {
        "toxicity": 0.9,
        "severe_toxicity": 0.5,
        "identity_attack": 0.1,
        "insult": 0.7,
        "profanity": 0.8,
        "threat": 0.05,
        "sexually_explicit": 0.3,
        "flirtation": 0.2,
    }
    nulls = dict.fromkeys(scores)
    records = [
        {"filename": "f1", "begin": 1, "end": 9, "prompt": {"text": "The hurricane", **scores},
         "continuation": {"text": " hit the town hard", **scores}},
        {"filename": "f2", "begin": 3, "end": 7, "prompt": {"text": "Null half", **nulls},
         "continuation": {"text": " scored half", **scores}},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def write_hatexplain(root: Path) -> None:
    _write_csv(root / "hatexplain" / "preprocessed.csv", [
        {"text": "normal post about lunch", "label": 0},
        {"text": "offensive post", "label": 1},
        {"text": "hateful post", "label": 2},
    ])  # fmt: skip


def write_kaggle_insults(root: Path) -> None:
    folder = root / "kaggle_insults_2012"
    _write_csv(folder / "train.csv", [{"Insult": 1, "Date": "", "Comment": '"You\\xa0fool"'}])
    _write_csv(
        folder / "test_with_solutions.csv",
        [{"Insult": 0, "Date": "", "Comment": '"Fine\\nthanks"', "Usage": "x"}],
    )


def write_empathic_reactions(root: Path) -> None:
    _write_csv(root / "empathic_reactions" / "messages.csv", [
        {"message_id": "m1", "response_id": "w1", "article_id": 1, "empathy": 7.0,
         "distress": 1, "empathy_bin": 1, "distress_bin": 0, "essay": "So sad for them."},
    ])  # fmt: skip


def write_dynabench_hate(root: Path) -> None:
    """Dynabench's layout, including a record broken over two lines by a bare line break."""
    folder = root / "dynabench_hate_2021"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dynabench2021_test.csv").write_text(
        "id,text,label,dataset\n1,women are a plague,1,dynabench2021\n"
        '1p,"women are, frankly, great",0,dynabench2021\n2,this one is\nsplit,1,dynabench2021\n',
        encoding="utf-8",
    )
    (folder / "dynabench2021_valid.csv").write_text(
        "id,text,label,dataset\n\n3,dogs are fine,0,dynabench2021\n", encoding="utf-8"
    )


def test_rtp_quark_halves_share_a_group_and_null_scores_are_skipped(tmp_path: Path) -> None:
    write_rtp_quark(tmp_path)
    rows = load_corpus("rtp_quark", tmp_path)
    assert [r.text for r in rows] == ["The hurricane", "hit the town hard", "scored half"]
    assert rows[0].group == rows[1].group != rows[2].group
    assert rows[0].labels["SEXUALLY_EXPLICIT"] == 0.3 and len(rows[0].labels) == 8


def test_human_labelled_sets_map_as_documented(tmp_path: Path) -> None:
    write_hatexplain(tmp_path)
    rows = {r.text: r.labels for r in load_corpus("hatexplain", tmp_path)}
    assert rows["normal post about lunch"] == {"TOXICITY": 0.0, "IDENTITY_ATTACK": 0.0}
    assert rows["offensive post"] == {"TOXICITY": 1.0, "IDENTITY_ATTACK": 0.0}
    assert rows["hateful post"] == {"TOXICITY": 1.0, "IDENTITY_ATTACK": 1.0}
    write_kaggle_insults(tmp_path)
    assert {r.text: r.labels["INSULT"] for r in load_corpus("kaggle_insults", tmp_path)} == {
        "You fool": 1.0, "Fine thanks": 0.0,
    }  # fmt: skip
    write_empathic_reactions(tmp_path)
    (row,) = load_corpus("empathic_reactions", tmp_path)
    assert row.labels == {"COMPASSION_EXPERIMENTAL": 1.0} and row.group.endswith(":w1")
    write_dynabench_hate(tmp_path)
    hate = {r.text: r for r in load_corpus("dynabench_hate", tmp_path)}
    assert set(hate) == {"women are a plague", "women are, frankly, great", "this one is\nsplit",
                         "dogs are fine"}  # fmt: skip
    assert hate["women are a plague"].labels == {"IDENTITY_ATTACK": 1.0}
    assert hate["women are a plague"].group == hate["women are, frankly, great"].group


def test_auxiliary_weight_is_chosen_by_agreement_with_perspective() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1200, 4))
    truth = 1 / (1 + np.exp(-3 * x[:, 0]))
    examples = []
    for i in range(1200):
        if i < 600:  # Perspective-scored: the target follows feature 0
            split = ("train", "validation", "test")[i % 3]
            examples.append(Example(x[i], float(truth[i]), "bluesky", split))  # type: ignore[arg-type]
        else:  # a proxy corpus whose labels contradict Perspective
            examples.append(Example(x[i], float(1 - truth[i]), "proxy", "train"))
    _w, _b, report = train_attribute("TOXICITY", examples, seed=0)
    assert report["aux_weight"] == 0.0
    assert report["validation_sources"] == ["bluesky"]
    assert report["calibration"]["validation_mae_after"] <= (
        report["calibration"]["validation_mae_before"] + 1e-6
    )


def test_weighted_loss_and_length_buckets() -> None:
    logits = torch.zeros((2, 1))
    targets = torch.tensor([[1.0], [0.0]])
    assert masked_soft_loss(logits, targets).item() == pytest.approx(np.log(2))
    tilted = torch.tensor([[2.0], [2.0]])
    only_first = masked_soft_loss(tilted, targets, torch.tensor([1.0, 0.0]))
    expected = torch.nn.functional.binary_cross_entropy_with_logits(tilted[0], targets[0])
    assert only_first.item() == pytest.approx(expected.item())
    lengths = np.random.default_rng(1).integers(1, 100, size=1000)
    batches = length_batches(lengths, 8, np.random.default_rng(2))
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    assert spread < np.ptp(lengths) / 5  # batches hold texts of similar length


def test_finetune_sample_takes_distilled_texts_first(tiny_corpora: Path) -> None:
    corpora = {name: load_corpus(name, tiny_corpora) for name in ("decodingtrust", "c3")}
    distilled = frozenset({"decodingtrust"})
    pool = [t for t in corpora["decodingtrust"] if split_of(t.group, 0.15) == "train"]
    small = finetune_sample(corpora, limit=5, seed=0, distilled=distilled)
    assert len(small) == 5 and all(t.source == "decodingtrust" for t in small)
    large = finetune_sample(corpora, limit=len(pool) + 7, seed=0, distilled=distilled)
    assert [t for t in large if t.source == "decodingtrust"] == pool  # every one, in order
    assert sum(t.source == "c3" for t in large) == 7  # the rest of the allowance


def test_repeated_corpora_appear_that_many_times(tiny_corpora: Path) -> None:
    corpora = {name: load_corpus(name, tiny_corpora) for name in ("decodingtrust", "c3")}
    distilled = frozenset({"decodingtrust"})
    pool = [t for t in corpora["decodingtrust"] if split_of(t.group, 0.15) == "train"]
    sample = finetune_sample(corpora, limit=len(pool) + 5, seed=0, distilled=distilled)
    assert {t.source for t in sample} == {"decodingtrust", "c3"}
    twice = repeated(sample, {"decodingtrust": 2})
    for text in sample:
        assert sum(t is text for t in twice) == (2 if text.source == "decodingtrust" else 1)
    assert repeated(sample, {}) == sample


def test_finetuning_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    texts = ["you are an idiot", "thank you kindly", "what do you mean?", "I was born in"] * 4
    targets = np.array([[1.0], [0.0], [0.0], [0.0]] * 4, dtype=np.float32)
    config = FinetuneConfig(epochs=1, batch_size=4, max_length=16, learning_rate=1e-3)
    head_w, head_b = np.zeros((1, 384), np.float32), np.zeros(1, np.float32)
    lines: list[str] = []
    first, records = finetune_encoder(
        Encoder(device="cpu"), texts, targets, head_w, head_b, config,
        select=lambda model, heads: 0.5, checkpoint_dir=tmp_path, progress=lines.append,
    )  # fmt: skip
    assert records[0].selection_score == 0.5 and records[0].texts_per_second > 0
    again: list[str] = []
    second, records_again = finetune_encoder(
        Encoder(device="cpu"), texts, targets, head_w, head_b, config,
        checkpoint_dir=tmp_path, progress=again.append,
    )  # fmt: skip
    assert any("resuming" in line and "after epoch 1" in line for line in again)
    assert not any(line.startswith("epoch 1/1 step") for line in again)  # nothing retrained
    assert records_again == records
    for name, tensor in first.items():
        assert torch.equal(tensor, second[name])
