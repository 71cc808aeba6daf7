"""Let the encoder learn: multi-task LoRA distillation of the attribute scores.

One pass of the encoder feeds every logistic head, as in scoring. Heads start from the
frozen-embedding heads, so training starts from the frozen model's solution. The loss is a
soft-label cross-entropy per attribute (against Perspective's own score where a text has
one) over the texts that carry that label, each text weighted (auxiliary corpora count less
than Perspective-scored ones), averaged with equal weight per attribute present in the batch
(so thousands of texts labelled for TOXICITY do not drown the few labelled for CURIOSITY).
Only the adapters and the heads learn.

Texts are batched by similar length (shuffled within and across buckets each epoch), so a
batch of short posts is not padded to a long comment. Every epoch ends with a checkpoint
(adapters, heads, optimiser and schedule) in ``checkpoint_dir``, so an interrupted run resumes
where it stopped, and with ``select(model, heads)``, a score on texts the run never trains
on; the adapters of the best-scoring epoch are the ones returned.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from perspective_local.models.encoder import Encoder, mean_pool
from perspective_local.training.lora import (
    DEFAULT_ALPHA,
    DEFAULT_RANK,
    adapter_tensors,
    add_adapters,
    merge_adapters,
)

log = logging.getLogger(__name__)

CHECKPOINT_FILE = "finetune-checkpoint.pt"
#: Texts per length bucket, in batches: wide enough to shuffle well, narrow enough that a
#: bucket's texts have similar lengths.
BUCKET_BATCHES = 50


@dataclass(frozen=True)
class FinetuneConfig:
    rank: int = DEFAULT_RANK
    alpha: float = DEFAULT_ALPHA
    epochs: int = 2
    batch_size: int = 32
    #: Peak learning rate of the adapters (one-cycle schedule); the heads use a fifth of it.
    learning_rate: float = 5e-4
    #: Tokens per training text (longer texts are cut); scoring still uses full windows.
    max_length: int = 128
    #: Training texts in all: train-split texts of the distilled corpora first (a seeded
    #: sample when they hold more), then auxiliary corpora's, an equal allowance each.
    max_texts: int = 8000
    #: Loss weight of an auxiliary (not Perspective-scored) text; a distilled text weighs 1.
    aux_weight: float = 0.3
    seed: int = 0
    #: What the heads are refitted on once the encoder has learnt: every train-split text
    #: ("all"; each must be embedded again) or only the fine-tuning sample ("sample").
    refit: Literal["all", "sample"] = "all"
    #: Passes per epoch over some corpora's sampled texts, as (corpus, times) pairs; others
    #: get one. Bluesky is the only source of the bridging attributes' targets, and small.
    repeat: tuple[tuple[str, int], ...] = ()


Select = Callable[[torch.nn.Module, torch.nn.Linear], float]


@dataclass
class EpochRecord:
    """What one epoch did, for the manifest."""

    epoch: int
    loss: float
    texts_per_second: float
    selection_score: float | None


def masked_soft_loss(
    logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean over attributes present in the batch of their (text-weighted) soft-label
    cross-entropy. ``targets`` holds NaN where a text has no label for an attribute."""
    known = (~torch.isnan(targets)).float()
    if weights is not None:
        known = known * weights.unsqueeze(1)
    losses = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, torch.nan_to_num(targets), reduction="none"
    )
    per_attribute = (losses * known).sum(0) / known.sum(0).clamp(min=1e-9)
    return per_attribute[known.sum(0) > 0].mean()


def length_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """A shuffled epoch in batches of similar length: shuffle, cut into buckets, sort each
    bucket by length, batch it, and shuffle the batches."""
    order = rng.permutation(len(lengths))
    bucket = batch_size * BUCKET_BATCHES
    batches: list[np.ndarray] = []
    for start in range(0, len(order), bucket):
        chunk = order[start : start + bucket]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def finetune_encoder(
    encoder: Encoder,
    texts: Sequence[str],
    targets: np.ndarray,
    head_weight: np.ndarray,
    head_bias: np.ndarray,
    config: FinetuneConfig,
    *,
    text_weights: np.ndarray | None = None,
    select: Select | None = None,
    checkpoint_dir: Path | None = None,
    progress: Callable[[str], None] = print,
) -> tuple[dict[str, torch.Tensor], list[EpochRecord]]:
    """Train adapters (and heads) on ``texts``; merge the chosen adapters into ``encoder``.

    ``targets`` is ``(len(texts), attributes)`` with NaN for unknown labels; ``text_weights``
    one loss weight per text (default 1). Returns the adapter tensors to store (those of the
    epoch ``select`` scored highest, else of the last epoch) and a record per epoch. The heads
    trained alongside only shape the encoder: the caller refits its heads on the adapted
    embeddings. With ``checkpoint_dir``, a run resumes from the checkpoint there when its
    settings match.
    """
    from tokenizers import Tokenizer

    if len(texts) != len(targets) or not len(texts):
        raise ValueError("finetune_encoder needs as many target rows as texts, and some texts.")
    torch.manual_seed(config.seed)
    device = encoder.device
    model = encoder.model.float().train()
    adapters = add_adapters(model, config.rank, config.alpha)
    heads = torch.nn.Linear(head_weight.shape[1], head_weight.shape[0]).to(device)
    with torch.no_grad():
        heads.weight.copy_(torch.from_numpy(np.asarray(head_weight, dtype=np.float32)))
        heads.bias.copy_(torch.from_numpy(np.asarray(head_bias, dtype=np.float32)))
    # A private copy: the windower's tokenizer must keep its window settings.
    tokenizer = Tokenizer.from_str(encoder.windower.tokenizer.to_str())
    tokenizer.enable_truncation(config.max_length)
    tokenizer.enable_padding(pad_id=encoder.windower.pad_id)
    lengths = np.array([len(e.ids) for e in tokenizer.encode_batch(list(texts))])
    weights = np.ones(len(texts), np.float32) if text_weights is None else text_weights
    lora_parameters = [p for a in adapters.values() for p in (a.a, a.b)]
    rates = [config.learning_rate, config.learning_rate / 5]
    optimiser = torch.optim.AdamW(
        [
            {"params": lora_parameters, "lr": rates[0]},
            {"params": heads.parameters(), "lr": rates[1]},
        ]
    )
    per_epoch = math.ceil(len(texts) / config.batch_size)
    steps = config.epochs * per_epoch
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=rates, total_steps=steps, pct_start=0.1
    )
    state = _Checkpoint(checkpoint_dir, config, len(texts))
    start_epoch, records, best = state.restore(adapters, heads, optimiser, schedule, progress)
    size = sum(p.numel() for p in lora_parameters)
    progress(f"LoRA rank {config.rank} on {len(adapters)} layers: {size} parameters, "
             f"{steps} steps over {config.epochs} epoch(s) of {len(texts)} texts")  # fmt: skip
    for epoch in range(start_epoch, config.epochs):
        rng = np.random.default_rng([config.seed, epoch])
        started, seen, total_loss = time.perf_counter(), 0, 0.0
        for step, index in enumerate(length_batches(lengths, config.batch_size, rng), 1):
            encoded = tokenizer.encode_batch([texts[i] for i in index])
            ids = torch.tensor([e.ids for e in encoded], device=device)
            mask = torch.tensor([e.attention_mask for e in encoded], device=device)
            target = torch.from_numpy(targets[index].astype(np.float32)).to(device)
            weight = torch.from_numpy(weights[index]).to(device)
            hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
            loss = masked_soft_loss(heads(mean_pool(hidden, mask)), target, weight)
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimiser.step()
            schedule.step()
            seen += len(index)
            total_loss += float(loss.item())
            if step % 50 == 0 or step == per_epoch:
                rate = seen / (time.perf_counter() - started)
                progress(f"epoch {epoch + 1}/{config.epochs} step {step}/{per_epoch}: "
                         f"loss {total_loss / step:.4f}, {rate:.1f} texts/s")  # fmt: skip
        rate = seen / (time.perf_counter() - started)
        score = None
        if select is not None:
            model.eval()
            with torch.no_grad():
                score = float(select(model, heads))
            model.train()
            progress(f"epoch {epoch + 1}: selection score {score:.4f}")
        records.append(EpochRecord(epoch + 1, total_loss / per_epoch, rate, score))
        if score is None or best is None or score > best[0]:
            best = (score if score is not None else -math.inf, adapter_tensors(adapters))
        state.save(epoch + 1, adapters, heads, optimiser, schedule, records, best)
    model.eval()
    assert best is not None
    chosen = best[1]
    _load_adapter_tensors(adapters, chosen)
    merge_adapters(adapters, model)
    encoder.model = model.to(encoder.dtype)
    return chosen, records


def _load_adapter_tensors(adapters: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
    """Put stored A and B matrices (``adapter_tensors``' layout) back into the adapters."""
    with torch.no_grad():
        for name, adapter in adapters.items():
            adapter.a.copy_(tensors[f"{name}.a"])
            adapter.b.copy_(tensors[f"{name}.b"])


class _Checkpoint:
    """The end-of-epoch state of a fine-tuning run on disk, and resuming from it."""

    def __init__(self, directory: Path | None, config: FinetuneConfig, n_texts: int) -> None:
        self.path = directory / CHECKPOINT_FILE if directory is not None else None
        # A checkpoint only resumes the run it came from: same settings, same texts count.
        self.key = {**asdict(config), "n_texts": n_texts}

    def restore(
        self,
        adapters: dict[str, Any],
        heads: torch.nn.Linear,
        optimiser: torch.optim.Optimizer,
        schedule: torch.optim.lr_scheduler.LRScheduler,
        progress: Callable[[str], None],
    ) -> tuple[int, list[EpochRecord], tuple[float, dict[str, torch.Tensor]] | None]:
        if self.path is None or not self.path.exists():
            return 0, [], None
        saved = torch.load(self.path, map_location="cpu", weights_only=False)
        if saved.get("key") != self.key:
            progress(f"ignoring {self.path}: it belongs to a run with other settings")
            return 0, [], None
        _load_adapter_tensors(adapters, saved["adapters"])
        heads.load_state_dict(saved["heads"])
        optimiser.load_state_dict(saved["optimiser"])
        schedule.load_state_dict(saved["schedule"])
        progress(f"resuming from {self.path} after epoch {saved['epoch']}")
        records = [EpochRecord(**r) for r in saved["records"]]
        return int(saved["epoch"]), records, saved["best"]

    def save(
        self,
        epoch: int,
        adapters: dict[str, Any],
        heads: torch.nn.Linear,
        optimiser: torch.optim.Optimizer,
        schedule: torch.optim.lr_scheduler.LRScheduler,
        records: list[EpochRecord],
        best: tuple[float, dict[str, torch.Tensor]],
    ) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        torch.save(
            {
                "key": self.key, "epoch": epoch, "adapters": adapter_tensors(adapters),
                "heads": heads.state_dict(), "optimiser": optimiser.state_dict(),
                "schedule": schedule.state_dict(), "records": [asdict(r) for r in records],
                "best": best,
            },
            tmp,
        )  # fmt: skip
        tmp.replace(self.path)
        log.info("checkpoint saved", extra={"path": str(self.path), "epoch": epoch})
