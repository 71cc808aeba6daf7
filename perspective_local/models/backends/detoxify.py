"""The ``detoxify`` backend: Unitary's Detoxify toxicity checkpoints, served offline.

A Detoxify checkpoint is a torch file holding ``state_dict`` and the training ``config``
(which transformers class, how many outputs, the class names). Like Detoxify's own offline
mode, we build the model from a local Hugging Face ``config.json`` and tokenizer instead of
asking the hub; unlike it, nothing is looked up online even for the config. Texts are cut
into windows and batched exactly like the other backends.

This module only reads a directory; the catalogue of published releases and ``pull``, which
downloads one into the cache, are in ``detoxify_releases.py``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from perspective_local.download import sha256_of
from perspective_local.models.artifact import ArtifactError
from perspective_local.models.attributes import ATTRIBUTE_NAMES
from perspective_local.models.backend import WindowedBackend
from perspective_local.models.windows import TOKENIZER_FILE, Windower

log = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.ckpt"
CONFIG_FILE = "config.json"
#: Written last by ``pull``: a directory without it is an unfinished pull.
SUMS_FILE = "SHA256SUMS"
#: Detoxify's class names (both spellings its releases use) -> Perspective attributes.
#: The identity subgroup outputs of the ``unbiased`` models (male, muslim, ...) describe
#: who is mentioned, not an attribute of the comment, and are not served.
CLASS_TO_ATTRIBUTE = {
    "toxic": "TOXICITY",
    "toxicity": "TOXICITY",
    "severe_toxic": "SEVERE_TOXICITY",
    "severe_toxicity": "SEVERE_TOXICITY",
    "obscene": "PROFANITY",
    "threat": "THREAT",
    "insult": "INSULT",
    "identity_hate": "IDENTITY_ATTACK",
    "identity_attack": "IDENTITY_ATTACK",
    "sexual_explicit": "SEXUALLY_EXPLICIT",
}
#: Longest window the Detoxify models take (their tokenizers' model_max_length).
MAX_WINDOW = 512


class DetoxifyBackend(WindowedBackend):
    """A Detoxify checkpoint with the ``Backend`` interface."""

    kind = "detoxify"

    def __init__(self, directory: Path | str, *, device: str | None = None) -> None:
        from perspective_local.models.encoder import auto_batch_size, inference_dtype, pick_device

        self.directory = Path(directory)
        for required in (CHECKPOINT_FILE, CONFIG_FILE, TOKENIZER_FILE):
            if not (self.directory / required).is_file():
                raise ArtifactError(f"Detoxify model directory {directory} has no {required}.")
        torch_device = pick_device(device)
        self._torch_device = torch_device
        checkpoint = _load_checkpoint(self.directory / CHECKPOINT_FILE)
        self.model, config = _build_model(checkpoint, self.directory)
        self.model = self.model.to(device=torch_device, dtype=inference_dtype(torch_device)).eval()
        classes = [str(c) for c in checkpoint["config"]["dataset"]["args"]["classes"]]
        served = {CLASS_TO_ATTRIBUTE[c]: i for i, c in enumerate(classes)
                  if c in CLASS_TO_ATTRIBUTE}  # fmt: skip
        self._attributes = tuple(a for a in ATTRIBUTE_NAMES if a in served)
        self._outputs = [served[a] for a in self._attributes]
        max_length = min(MAX_WINDOW, _positions(config))
        self.default_batch_size = auto_batch_size(torch_device, config, max_length)
        self.windower = Windower(self.directory, max_length=max_length,
                                 window_overlap=max_length // 8)  # fmt: skip
        self._version = f"{self.directory.name}@{self._checkpoint_digest()[:8]}"
        self.description = (
            f"Detoxify checkpoint {self.directory.name} ({type(self.model).__name__})"
        )
        log.info("detoxify model loaded", extra={"path": str(self.directory),
                 "device": str(torch_device), "classes": classes})  # fmt: skip

    @property
    def device(self) -> str:
        return str(self._torch_device)

    @property
    def attributes(self) -> tuple[str, ...]:
        return self._attributes

    @property
    def model_version(self) -> str:
        return self._version

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import torch

        from perspective_local.models.encoder import to_device

        with torch.inference_mode():
            input_ids = to_device(ids, self._torch_device)
            attention_mask = to_device(mask, self._torch_device)
            logits = self.model(input_ids=input_ids, attention_mask=attention_mask).logits
            probabilities = torch.sigmoid(logits[:, self._outputs].float())
        result: np.ndarray = probabilities.cpu().numpy()
        return result

    def _checkpoint_digest(self) -> str:
        recorded = read_sums(self.directory).get(CHECKPOINT_FILE)
        return recorded or sha256_of(self.directory / CHECKPOINT_FILE)


def _load_checkpoint(path: Path) -> dict[str, Any]:
    import pickle

    import torch

    try:
        # weights_only refuses arbitrary pickled objects; Detoxify's files hold only a
        # state dict and a config of plain values, so they load this way.
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as exc:
        raise ArtifactError(f"{path} is not a readable Detoxify checkpoint: {exc}") from exc
    if not isinstance(loaded, dict) or "config" not in loaded or "state_dict" not in loaded:
        raise ArtifactError(
            f"{path} is not a Detoxify checkpoint: it needs 'config' and 'state_dict' entries."
        )
    return loaded


def _build_model(checkpoint: dict[str, Any], config_dir: Path) -> tuple[Any, Any]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import transformers

    try:
        arch = checkpoint["config"]["arch"]["args"]
        class_name, num_classes = str(arch["model_name"]), int(arch["num_classes"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"Checkpoint config lacks arch.args ({exc!r}).") from exc
    if not class_name.endswith("ForSequenceClassification") or not hasattr(
        transformers, class_name
    ):
        raise ArtifactError(f"Checkpoint names an unsupported model class {class_name!r}.")
    config = transformers.AutoConfig.from_pretrained(config_dir, num_labels=num_classes)
    model = getattr(transformers, class_name)(config)
    try:
        missing, unexpected = model.load_state_dict(checkpoint["state_dict"], strict=False)
    except RuntimeError as exc:  # Shapes that differ, e.g. another vocabulary or size.
        raise ArtifactError(
            f"Checkpoint weights do not fit {class_name} with {config_dir / CONFIG_FILE}: {exc}"
        ) from None
    # Older checkpoints carry position_ids buffers that newer transformers compute instead.
    unexpected = [k for k in unexpected if not k.endswith("position_ids")]
    if missing or unexpected:
        raise ArtifactError(
            f"Checkpoint weights do not fit {class_name} with {config_dir / CONFIG_FILE}: "
            f"missing {missing[:5]}, unexpected {unexpected[:5]}."
        )
    return model, config


def _positions(config: Any) -> int:
    """Tokens a window may hold, given the model's position embeddings."""
    positions = int(config.max_position_embeddings)
    # RoBERTa-style models number positions from pad_token_id + 1.
    if config.model_type in ("roberta", "xlm-roberta", "camembert"):
        positions -= int(config.pad_token_id) + 1
    return positions


def read_sums(directory: Path) -> dict[str, str]:
    """The file -> sha256 table ``pull`` wrote (empty when there is none)."""
    path = directory / SUMS_FILE
    if not path.exists():
        return {}
    table: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        digest, _, file = line.partition("  ")
        table[file] = digest
    return table
