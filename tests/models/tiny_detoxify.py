"""Builds tiny, randomly initialised Detoxify checkpoints in Detoxify's file format.

The architecture and the checkpoint layout are the real ones (a transformers
``*ForSequenceClassification`` model; ``{"config": ..., "state_dict": ...}`` with the
training config Detoxify writes); only the sizes are tiny, so tests run in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import transformers
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

ORIGINAL_CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
UNBIASED_CLASSES = [
    "toxicity", "severe_toxicity", "obscene", "identity_attack", "insult", "threat",
    "sexual_explicit", "male", "female", "homosexual_gay_or_lesbian", "christian", "jewish",
    "muslim", "black", "white", "psychiatric_or_mental_illness",
]  # fmt: skip
WORDS = "you are an idiot stupid thanks for the kind words i love this we disagree".split()

#: arch -> (transformers class, config class, special tokens in id order, pad id, max positions)
ARCHES: dict[str, tuple[str, str, list[str], int, int]] = {
    "bert": ("BertForSequenceClassification", "BertConfig",
             ["[PAD]", "[UNK]", "[CLS]", "[SEP]"], 0, 24),
    "roberta": ("RobertaForSequenceClassification", "RobertaConfig",
                ["<s>", "<pad>", "</s>", "<unk>"], 1, 26),
}  # fmt: skip


def build_tiny_detoxify(directory: Path, arch: str = "bert", classes: list[str] | None = None,
                        seed: int = 0) -> tuple[Path, Any]:  # fmt: skip
    """Write checkpoint.ckpt, config.json and tokenizer.json; returns (directory, model)."""
    classes = classes or (ORIGINAL_CLASSES if arch == "bert" else UNBIASED_CLASSES)
    model_class, config_class, specials, pad_id, positions = ARCHES[arch]
    directory.mkdir(parents=True, exist_ok=True)
    vocab = {token: i for i, token in enumerate(specials + WORDS)}
    unk = specials[1] if arch == "bert" else specials[3]
    start, end = (specials[2], specials[3]) if arch == "bert" else (specials[0], specials[2])
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token=unk))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{start} $A {end}", special_tokens=[(start, vocab[start]), (end, vocab[end])]
    )
    tokenizer.save(str(directory / "tokenizer.json"))
    config = getattr(transformers, config_class)(
        vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=positions, pad_token_id=pad_id,
        num_labels=len(classes),
    )  # fmt: skip
    config.save_pretrained(directory)
    torch.manual_seed(seed)
    model = getattr(transformers, model_class)(config).eval()
    checkpoint = {
        "config": {
            "name": f"tiny-{arch}",
            "arch": {"type": "ToxicClassifier", "args": {
                "num_classes": len(classes), "model_type": f"tiny-{arch}",
                "model_name": model_class, "tokenizer_name": "AutoTokenizer"}},
            "dataset": {"type": "JigsawData", "args": {"classes": classes}},
        },
        "state_dict": model.state_dict(),
    }  # fmt: skip
    torch.save(checkpoint, directory / "checkpoint.ckpt")
    json.loads((directory / "config.json").read_text())  # written and readable
    return directory, model
