"""The ``detoxify`` backend: Unitary's Detoxify toxicity checkpoints, served offline.

A Detoxify checkpoint is a torch file holding ``state_dict`` and the training ``config``
(which transformers class, how many outputs, the class names). Like Detoxify's own offline
mode, we build the model from a local Hugging Face ``config.json`` and tokenizer instead of
asking the hub; unlike it, nothing is looked up online even for the config. Texts are cut
into windows and batched exactly like the other backends.

``pull`` downloads a published checkpoint with its config and tokenizer into the cache
directory; it is the only caller of ``download.py``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from perspective_local.models.attributes import ATTRIBUTE_NAMES
from perspective_local.models.backend import WindowedBackend
from perspective_local.models.download import ProgressFn, RemoteFile, fetch, sha256_of
from perspective_local.models.io import ArtifactError
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
_RELEASES_URL = "https://github.com/unitaryai/detoxify/releases/download/"
#: Longest window the Detoxify models take (their tokenizers' model_max_length).
MAX_WINDOW = 512


@dataclass(frozen=True)
class DetoxifyRelease:
    """A published Detoxify checkpoint and the Hugging Face repository of its base model."""

    name: str
    checkpoint_path: str
    #: The sha256 prefix Detoxify publishes in the file name (torch.hub's convention).
    sha256_prefix: str
    base_repo: str
    description: str

    def files(self, checkpoint_sha256: str | None = None) -> list[RemoteFile]:
        hub = f"https://huggingface.co/{self.base_repo}/resolve/main/"
        return [
            RemoteFile(hub + CONFIG_FILE, CONFIG_FILE),
            RemoteFile(hub + TOKENIZER_FILE, TOKENIZER_FILE),
            RemoteFile(_RELEASES_URL + self.checkpoint_path, CHECKPOINT_FILE,
                       checkpoint_sha256 or self.sha256_prefix),
        ]  # fmt: skip


RELEASES: dict[str, DetoxifyRelease] = {
    r.name: r
    for r in (
        DetoxifyRelease("detoxify-original", "v0.1-alpha/toxic_original-c1212f89.ckpt",
                        "c1212f89", "google-bert/bert-base-uncased",
                        "BERT trained on the Jigsaw Toxic Comment Classification Challenge"),
        DetoxifyRelease("detoxify-unbiased", "v0.3-alpha/toxic_debiased-c7548aa0.ckpt",
                        "c7548aa0", "FacebookAI/roberta-base",
                        "RoBERTa trained on Jigsaw Unintended Bias in Toxicity Classification"),
        DetoxifyRelease("detoxify-multilingual", "v0.4-alpha/multilingual_debiased-0b549669.ckpt",
                        "0b549669", "FacebookAI/xlm-roberta-base",
                        "XLM-RoBERTa trained on Jigsaw Multilingual Toxic Comment Classification"),
        DetoxifyRelease("detoxify-original-small", "v0.1.2/original-albert-0e1d6498.ckpt",
                        "0e1d6498", "albert/albert-base-v2",
                        "ALBERT version of detoxify-original"),
        DetoxifyRelease("detoxify-unbiased-small", "v0.1.2/unbiased-albert-c8519128.ckpt",
                        "c8519128", "albert/albert-base-v2",
                        "ALBERT version of detoxify-unbiased"),
    )
}  # fmt: skip


def release_dir(name: str, cache_dir: Path) -> Path:
    """Where ``pull`` puts a release."""
    return Path(cache_dir) / "models" / name


def get_release(name: str) -> DetoxifyRelease:
    try:
        return RELEASES[name]
    except KeyError:
        raise ValueError(
            f"Unknown Detoxify model {name!r}; known: {', '.join(RELEASES)}."
        ) from None


def pull(
    name: str,
    cache_dir: Path,
    *,
    mirror: str | None = None,
    checkpoint_sha256: str | None = None,
    progress: Callable[[str], ProgressFn] | None = None,
) -> Path:
    """Download release ``name`` (checkpoint, config, tokenizer) into the cache; its path.

    ``checkpoint_sha256`` replaces the published hash, for a mirror that serves a
    checkpoint of your own under the release's path. ``progress(file_name)`` gives a
    callback per file.
    """
    release = get_release(name)
    directory = release_dir(name, cache_dir)
    sums: dict[str, str] = {}
    for remote in release.files(checkpoint_sha256):
        fetched = fetch(remote, directory, mirror=mirror,
                        progress=progress(remote.name) if progress else None)  # fmt: skip
        sums[remote.name] = fetched.sha256
    (directory / SUMS_FILE).write_text(
        "".join(f"{digest}  {file}\n" for file, digest in sums.items()), encoding="utf-8"
    )
    log.info("pulled", extra={"model": name, "directory": str(directory)})
    return directory


def resolve_model_dir(name_or_path: str, cache_dir: Path) -> Path:
    """A release name (pulled into ``cache_dir``) or a directory, as a directory to load."""
    if name_or_path in RELEASES:
        directory = release_dir(name_or_path, cache_dir)
        if not (directory / SUMS_FILE).exists():
            raise ArtifactError(
                f"Detoxify model {name_or_path!r} is not in the cache ({directory}); run "
                f"'perspective-local models pull {name_or_path}' first."
            )
        return directory
    directory = Path(name_or_path).expanduser()
    if not directory.is_dir():
        raise ArtifactError(
            f"{name_or_path!r} is neither a Detoxify release ({', '.join(RELEASES)}) nor a "
            "directory."
        )
    return directory


class DetoxifyScorer(WindowedBackend):
    """A Detoxify checkpoint with the ``Backend`` interface."""

    kind = "detoxify"

    def __init__(self, directory: Path | str, *, device: str | None = None) -> None:
        import torch

        from perspective_local.models.encoder import auto_batch_size, pick_device

        self.directory = Path(directory)
        for required in (CHECKPOINT_FILE, CONFIG_FILE, TOKENIZER_FILE):
            if not (self.directory / required).is_file():
                raise ArtifactError(f"Detoxify model directory {directory} has no {required}.")
        torch_device = pick_device(device)
        self.device = str(torch_device)
        checkpoint = _load_checkpoint(self.directory / CHECKPOINT_FILE)
        self.model, config = _build_model(checkpoint, self.directory)
        dtype = torch.float16 if self.device.startswith("cuda") else torch.float32
        self.model = self.model.to(device=self.device, dtype=dtype).eval()
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
                 "device": self.device, "classes": classes})  # fmt: skip

    @property
    def attributes(self) -> tuple[str, ...]:
        return self._attributes

    @property
    def model_version(self) -> str:
        return self._version

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            input_ids = torch.from_numpy(ids)
            attention_mask = torch.from_numpy(mask)
            if self.device.startswith("cuda"):
                input_ids = input_ids.pin_memory().to(self.device, non_blocking=True)
                attention_mask = attention_mask.pin_memory().to(self.device, non_blocking=True)
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
