"""The ``heads`` backend: the torch encoder of one artifact plus its linear heads.

How a text is scored: it is tokenised into windows of at most ``max_length`` tokens (a
longer text gets several overlapping windows); windows from all texts are sorted by length
and run through the encoder in batches; each window's embedding feeds every head; a text's
score for an attribute is the **maximum over its windows**, because an attribute present
anywhere in a long text is present in the text (as Perspective reads it: would a reader
perceive the attribute in this comment). The loop itself is ``WindowedBackend.score``.
An artifact with a lexicon also counts its terms in each window (``models.lexicon``) and
feeds the counts to the heads beside the embedding.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from perspective_local.models.artifact import (
    DEFAULT_MODEL_DIR,
    Manifest,
    load_adapters,
    load_artifact,
    load_lexicon,
)
from perspective_local.models.backend import WindowedBackend
from perspective_local.models.encoder import Encoder, fold_adapters, to_device
from perspective_local.models.heads import LinearHeads
from perspective_local.models.lexicon import Lexicon


class HeadsBackend(WindowedBackend):
    """An encoder plus the heads of one artifact, ready to score."""

    kind = "heads"

    def __init__(self, encoder: Encoder, heads: LinearHeads, manifest: Manifest,
                 lexicon: Lexicon | None = None) -> None:  # fmt: skip
        inputs = encoder.dimension + (lexicon.width if lexicon else 0)
        if heads.dimension != inputs:
            raise ValueError(
                f"Heads expect {heads.dimension} inputs but the encoder gives "
                f"{encoder.dimension}{f' and the lexicon {lexicon.width}' if lexicon else ''}."
            )
        self.encoder = encoder
        self.heads = heads.to(encoder.device)
        self.manifest = manifest
        self.lexicon = lexicon
        self.windower = encoder.windower
        self.default_batch_size = encoder.default_batch_size

    @classmethod
    def load(
        cls, model_dir: Path | str | None = None, *, device: str | None = None,
        encoder_path: Path | None = None,
    ) -> HeadsBackend:  # fmt: skip
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
        if adapters is not None and manifest.encoder.adapters is not None:
            # Folded into the weights once: scoring then costs what the plain encoder costs.
            fold_adapters(encoder.model, adapters, alpha=manifest.encoder.adapters.alpha)
        lexicon = load_lexicon(directory, manifest, encoder.windower.tokenizer)
        return cls(encoder, LinearHeads(manifest.attributes, weight, bias), manifest, lexicon)

    @classmethod
    def default(cls, *, device: str | None = None) -> HeadsBackend:
        """The built-in model: all-MiniLM-L6-v2 with the shipped adapters and heads."""
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
        lexicon = " and lexicon features" if self.lexicon else ""
        heads = f"{len(self.attributes)} linear heads{lexicon}"
        return f"{self.manifest.encoder.id} with {heads} (torch)"

    @torch.inference_mode()
    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Every head's probability for one padded batch of windows; the only device-to-host
        copy is the result."""
        features = None
        if self.lexicon is not None:
            features = to_device(self.lexicon.features(ids, mask), self.encoder.device)
        embeddings = self.encoder.embed_padded(ids, mask)
        probabilities: np.ndarray = self.heads(embeddings, features).cpu().numpy()
        return probabilities
