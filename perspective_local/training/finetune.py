"""Let the encoder learn: multi-task LoRA fine-tuning on the attribute labels.

One pass of the encoder feeds 13 logistic heads, as in scoring. Heads start from the frozen-
embedding heads, so training starts from the frozen model's solution. The loss is a soft-label
cross-entropy per attribute over the texts that carry that label, averaged with equal weight
per attribute present in the batch (so the 10,000 tweets labelled for TOXICITY do not drown the
few hundred texts labelled for CURIOSITY). Only the adapters and the heads learn.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

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


@dataclass(frozen=True)
class FinetuneConfig:
    rank: int = DEFAULT_RANK
    alpha: float = DEFAULT_ALPHA
    epochs: int = 1
    batch_size: int = 32
    #: Peak learning rate of the adapters (one-cycle schedule); the heads use a fifth of it.
    learning_rate: float = 5e-4
    #: Tokens per training text (longer texts are cut); scoring still uses full windows.
    max_length: int = 128
    #: Training texts drawn from the train split, the same share from every corpus.
    max_texts: int = 8000
    seed: int = 0
    #: What the heads are refitted on once the encoder has learnt: every train-split text
    #: ("all"; each must be embedded again) or only the fine-tuning sample ("sample").
    refit: Literal["all", "sample"] = "all"


def masked_soft_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over attributes present in the batch of their soft-label cross-entropy.

    ``targets`` holds NaN where a text has no label for an attribute.
    """
    known = ~torch.isnan(targets)
    losses = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, torch.nan_to_num(targets), reduction="none"
    )
    per_attribute = (losses * known).sum(0) / known.sum(0).clamp(min=1)
    return per_attribute[known.any(0)].mean()


def finetune_encoder(
    encoder: Encoder,
    texts: Sequence[str],
    targets: np.ndarray,
    head_weight: np.ndarray,
    head_bias: np.ndarray,
    config: FinetuneConfig,
    *,
    progress: Callable[[str], None] = print,
) -> dict[str, torch.Tensor]:
    """Train adapters (and heads) on ``texts``; merge the adapters into ``encoder`` in place.

    ``targets`` is ``(len(texts), attributes)`` with NaN for unknown labels. Returns the adapter
    tensors to store. The heads trained alongside only shape the encoder: the caller refits
    its heads on the adapted embeddings.
    """
    from tokenizers import Tokenizer

    if len(texts) != len(targets) or not len(texts):
        raise ValueError("finetune_encoder needs as many target rows as texts, and some texts.")
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
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
    lora_parameters = [p for a in adapters.values() for p in (a.a, a.b)]
    rates = [config.learning_rate, config.learning_rate / 5]
    optimiser = torch.optim.AdamW(
        [
            {"params": lora_parameters, "lr": rates[0]},
            {"params": heads.parameters(), "lr": rates[1]},
        ]
    )
    steps = config.epochs * math.ceil(len(texts) / config.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=rates, total_steps=steps, pct_start=0.1
    )
    size = sum(p.numel() for p in lora_parameters)
    progress(f"LoRA rank {config.rank} on {len(adapters)} layers: {size} parameters, {steps} steps")
    started, step = time.perf_counter(), 0
    for _epoch in range(config.epochs):
        order = rng.permutation(len(texts))
        for start in range(0, len(order), config.batch_size):
            index = order[start : start + config.batch_size]
            encoded = tokenizer.encode_batch([texts[i] for i in index])
            ids = torch.tensor([e.ids for e in encoded], device=device)
            mask = torch.tensor([e.attention_mask for e in encoded], device=device)
            target = torch.from_numpy(targets[index].astype(np.float32)).to(device)
            hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
            loss = masked_soft_loss(heads(mean_pool(hidden, mask)), target)
            optimiser.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimiser.step()
            schedule.step()
            step += 1
            if step % 25 == 0 or step == steps:
                seen = min(step * config.batch_size, len(texts) * config.epochs)
                rate = seen / (time.perf_counter() - started)
                progress(f"fine-tuning step {step}/{steps}: loss {loss.item():.4f}, "
                         f"{rate:.1f} texts/s")  # fmt: skip
    model.eval()
    tensors = adapter_tensors(adapters)
    merge_adapters(adapters, model)
    encoder.model = model.to(encoder.dtype)
    return tensors
