"""``Scorer``: load an artifact and score texts for any set of attributes, offline.

How a text is scored: it is tokenised into windows of at most ``max_length`` tokens (a
longer text gets several overlapping windows); windows from all texts are sorted by length
and run through the encoder in batches; each window's embedding feeds every requested head;
a text's score for an attribute is the **maximum over its windows**, because an attribute
present anywhere in a long text is present in the text (as Perspective reads it: would a
reader perceive the attribute in this comment).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from perspective_local.models.attributes import resolve_attributes
from perspective_local.models.backend import Scores, as_text_list
from perspective_local.models.encoder import Encoder
from perspective_local.models.heads import LinearHeads
from perspective_local.models.io import DEFAULT_MODEL_DIR, Manifest, load_adapters, load_artifact
from perspective_local.models.lora import apply_adapter_tensors
from perspective_local.models.windows import Windows


class Scorer:
    """An encoder plus the heads of one artifact, ready to score (the ``heads`` backend)."""

    kind = "heads"

    def __init__(self, encoder: Encoder, heads: LinearHeads, manifest: Manifest) -> None:
        if heads.dimension != encoder.dimension:
            raise ValueError(
                f"Heads expect {heads.dimension}-dimensional embeddings but the encoder "
                f"gives {encoder.dimension}."
            )
        self.encoder = encoder
        self.heads = heads.to(encoder.device)
        self.manifest = manifest

    @classmethod
    def load(
        cls, model_dir: Path | str | None = None, *, device: str | None = None,
        encoder_path: Path | None = None,
    ) -> Scorer:  # fmt: skip
        """Load the artifact in ``model_dir`` (default: the packaged model) onto ``device``."""
        directory = Path(model_dir or DEFAULT_MODEL_DIR)
        manifest, weight, bias = load_artifact(directory)
        encoder = Encoder(
            encoder_path,
            device=device,
            max_length=manifest.encoder.max_length,
            window_overlap=manifest.encoder.window_overlap,
        )
        adapters = load_adapters(directory, manifest)
        if adapters is not None:
            # Folded into the weights once: scoring then costs what the plain encoder costs.
            alpha = float(manifest.encoder.adapters["alpha"])  # type: ignore[index]
            apply_adapter_tensors(encoder.model, adapters, alpha=alpha)
        return cls(encoder, LinearHeads(manifest.attributes, weight, bias), manifest)

    @classmethod
    def default(cls, *, device: str | None = None) -> Scorer:
        """The built-in model: all-MiniLM-L6-v2 with the shipped heads."""
        return cls.load(None, device=device)

    @property
    def model_version(self) -> str:
        return self.manifest.model_version

    @property
    def attributes(self) -> tuple[str, ...]:
        return self.heads.attributes

    @property
    def device(self) -> str:
        return str(self.encoder.device)

    @property
    def description(self) -> str:
        return f"{self.manifest.encoder.id} with {len(self.attributes)} linear heads (torch)"

    def score(
        self,
        texts: str | Sequence[str],
        attributes: str | Sequence[str] | None = None,
        *,
        batch_size: int | None = None,
    ) -> Scores:
        """Score ``texts`` (a string or a list) for ``attributes`` (default: all served).

        ``batch_size`` is windows per forward pass (default: the encoder's, see
        ``auto_batch_size``)."""
        texts = as_text_list(texts)
        names = self.attributes if attributes is None else resolve_attributes(attributes)
        windows = self.encoder.windows(texts)
        size = batch_size or self.encoder.default_batch_size
        return Scores(names, self.score_windows(windows, names, size), self.model_version)

    def score_windows(
        self, windows: Windows, attributes: Sequence[str], batch_size: int
    ) -> np.ndarray:
        """Per-text probabilities (max over each text's windows) for tokenised texts."""
        rows = self.heads.rows(attributes)
        per_window = np.zeros((len(windows), len(rows)), dtype=np.float32)
        for indices in self.encoder.batches(windows, batch_size):
            per_window[indices] = self.forward(windows, indices, rows)
        return windows.max_per_text(per_window)

    @torch.inference_mode()
    def forward(self, windows: Windows, indices: np.ndarray, rows: list[int]) -> np.ndarray:
        """Probabilities for one batch of windows; the only host/device copy is the result."""
        embeddings = self.encoder.embed_windows(windows, indices)
        probabilities: np.ndarray = self.heads(embeddings, rows).cpu().numpy()
        return probabilities
