"""Per-attribute heads: one logistic unit per attribute over the shared embedding.

The heads of an artifact form one matrix, so all requested attributes of a window cost a
single matrix product after the encoder pass. Rows follow registry (head) order. When the
artifact has a lexicon (``lexicon.py``), its features follow the embedding as extra inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from perspective_local.models.attributes import ATTRIBUTE_NAMES, get_attribute


class LinearHeads(torch.nn.Module):
    """Logistic heads: ``probability = sigmoid([embedding, features] @ weight[a] + bias[a])``."""

    def __init__(self, attributes: Sequence[str], weight: np.ndarray, bias: np.ndarray) -> None:
        super().__init__()
        names = tuple(get_attribute(name).name for name in attributes)
        if list(names) != [n for n in ATTRIBUTE_NAMES if n in names]:
            raise ValueError(f"Heads must follow registry order {ATTRIBUTE_NAMES}, got {names}")
        weight = np.asarray(weight, dtype=np.float32)
        bias = np.asarray(bias, dtype=np.float32)
        if weight.ndim != 2 or weight.shape[0] != len(names) or bias.shape != (len(names),):
            raise ValueError(
                f"Head shapes do not match {len(names)} attributes: weight {weight.shape}, "
                f"bias {bias.shape}"
            )
        self.attributes = names
        self.weight = torch.nn.Parameter(torch.from_numpy(weight), requires_grad=False)
        self.bias = torch.nn.Parameter(torch.from_numpy(bias), requires_grad=False)

    @property
    def dimension(self) -> int:
        return int(self.weight.shape[1])

    def forward(
        self, embeddings: torch.Tensor, features: torch.Tensor | None = None
    ) -> torch.Tensor:
        inputs = embeddings.to(self.weight.dtype)
        if features is not None:
            inputs = torch.cat([inputs, features.to(self.weight.dtype)], dim=1)
        return torch.sigmoid(inputs @ self.weight.T + self.bias)
