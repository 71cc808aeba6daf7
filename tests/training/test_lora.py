"""LoRA adapters: the maths of wrapping and merging, and fine-tuning end to end on tiny data with
the real encoder, through to an artifact that scores with its adapters folded in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from perspective_local.models.artifact import ADAPTERS_FILE, ArtifactError, load_artifact
from perspective_local.models.backends.heads import HeadsBackend
from perspective_local.models.encoder import fold_adapters
from perspective_local.training.finetune import FinetuneConfig, masked_soft_loss
from perspective_local.training.lora import (
    adapter_tensors,
    add_adapters,
    merge_adapters,
)
from perspective_local.training.train import TrainConfig, finetune_sample, train
from tests.conftest import TINY_CORPORA


def _mlp() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))


def test_fresh_adapters_change_nothing_and_merging_keeps_trained_outputs() -> None:
    model, x = _mlp(), torch.randn(4, 6)
    before = model(x)
    adapters = add_adapters(model, rank=2, alpha=4.0)
    assert set(adapters) == {"0", "2"}
    torch.testing.assert_close(model(x), before)  # B starts at zero
    assert all(not p.requires_grad for n, p in model.named_parameters() if "base" in n)
    with torch.no_grad():
        for adapter in adapters.values():
            adapter.b.normal_()
    adapted = model(x)
    assert not torch.allclose(adapted, before)
    tensors = adapter_tensors(adapters)
    merge_adapters(adapters, model)
    assert all(isinstance(m, torch.nn.Linear) for m in (model[0], model[2]))
    torch.testing.assert_close(model(x), adapted)
    # Stored tensors applied to a fresh copy of the base model give the same function.
    fresh = _mlp()
    assert fold_adapters(fresh, tensors, alpha=4.0) == 2
    torch.testing.assert_close(fresh(x), adapted)


def test_adapters_for_another_architecture_are_refused() -> None:
    tensors = {"0.a": torch.zeros(2, 7), "0.b": torch.zeros(5, 2)}
    with pytest.raises(ValueError, match="does not fit"):
        fold_adapters(_mlp(), tensors, alpha=4.0)
    with pytest.raises(ValueError, match="does not have"):
        fold_adapters(_mlp(), {"9.a": torch.zeros(2, 6), "9.b": torch.zeros(5, 2)},
                              alpha=4.0)  # fmt: skip


def test_masked_loss_weighs_each_present_attribute_equally() -> None:
    logits = torch.zeros(4, 3)
    nan = float("nan")
    targets = torch.tensor([[1.0, nan, nan], [1.0, nan, nan], [1.0, nan, nan], [nan, 0.0, nan]])
    # Both present attributes have loss log 2 at logit 0; the absent one is not counted.
    assert masked_soft_loss(logits, targets).item() == pytest.approx(np.log(2))


def test_finetuned_artifact_scores_with_its_adapters(
    tiny_corpora: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    finetune = FinetuneConfig(max_texts=64, batch_size=16, max_length=32, learning_rate=2e-3)
    config = TrainConfig(
        data_dir=tiny_corpora, out_dir=tmp_path / "lora", corpora=TINY_CORPORA,
        cache_dir=tmp_path / "cache", name="tiny-lora", finetune=finetune,
    )  # fmt: skip
    lines: list[str] = []
    manifest = train(config, progress=lines.append)
    assert any(line.startswith("epoch 1/") and "texts/s" in line for line in lines)
    spec = manifest.encoder.adapters
    assert spec is not None and spec.method == "lora" and spec.rank == 8
    assert (tmp_path / "lora" / ADAPTERS_FILE).stat().st_size > 10_000
    assert manifest.provenance["finetune"]["max_texts"] == 64
    assert manifest.metrics["TOXICITY"]["test"]["roc_auc"] > 0.9
    texts = ["You are a worthless idiot.", "Thank you, that was helpful."]
    tuned = HeadsBackend.load(tmp_path / "lora", device="cpu")
    frozen = HeadsBackend.load(tiny_model_dir, device="cpu")
    embeddings = [s.encoder.embed(texts) for s in (tuned, frozen)]
    assert np.abs(embeddings[0] - embeddings[1]).max() > 1e-3  # the adapters are in use
    toxicity = tuned.score(texts, ["TOXICITY"]).column("TOXICITY")
    assert toxicity[0] > toxicity[1]
    # A damaged adapter file is refused, never silently ignored.
    path = tmp_path / "lora" / ADAPTERS_FILE
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    load_artifact(tmp_path / "lora")  # the heads themselves are intact
    with pytest.raises(ArtifactError, match="does not match its manifest"):
        HeadsBackend.load(tmp_path / "lora", device="cpu")


def test_finetune_sample_shares_the_allowance_across_corpora(tiny_corpora: Path) -> None:
    from perspective_local.training.train import load_training_corpora

    config = TrainConfig(data_dir=tiny_corpora, out_dir=Path("."), corpora=TINY_CORPORA)
    corpora = load_training_corpora(config, progress=lambda line: None)
    sample = finetune_sample(corpora, limit=60, seed=0)
    assert len(sample) == 60
    assert {t.source for t in sample} == set(TINY_CORPORA)
    assert finetune_sample(corpora, limit=60, seed=0) == sample
