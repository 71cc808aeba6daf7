"""Low-rank adapters (LoRA) for the encoder: train a few parameters, ship a small file.

Training wraps every ``nn.Linear`` of the encoder in ``LoRALinear``: the pretrained weight stays
frozen and a rank-``r`` update ``scale * B @ A`` is learned beside it. The artifact stores only
A and B (``adapters.safetensors``, a few hundred KB). At the end of training ``merge_adapters``
folds them into the model in memory; at load time ``models.encoder.fold_adapters`` does the
same from the stored file, so scoring, ONNX export and speed are exactly those of a plain
encoder.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

#: Default adapter rank and scale numerator (``scale = alpha / rank``).
DEFAULT_RANK = 8
DEFAULT_ALPHA = 16.0


class LoRALinear(torch.nn.Module):
    """``base(x) + scale * x A^T B^T``: a frozen linear layer plus a trainable low-rank update.

    B starts at zero, so a freshly wrapped model computes exactly what the base model did.
    """

    def __init__(self, base: torch.nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base.requires_grad_(False)
        self.a = torch.nn.Parameter(torch.empty(rank, base.in_features))
        self.b = torch.nn.Parameter(torch.zeros(base.out_features, rank))
        torch.nn.init.kaiming_uniform_(self.a, a=math.sqrt(5))
        self.scale = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.base(x) + (x @ self.a.T @ self.b.T) * self.scale
        return out

    def delta(self) -> torch.Tensor:
        """The update to ``base.weight`` that this adapter stands for."""
        delta: torch.Tensor = (self.b @ self.a) * self.scale
        return delta


def add_adapters(model: torch.nn.Module, rank: int, alpha: float) -> dict[str, LoRALinear]:
    """Freeze ``model`` and wrap each of its linear layers; returns the adapters by module name."""
    model.requires_grad_(False)
    linears = [(name, module) for name, module in model.named_modules()
               if isinstance(module, torch.nn.Linear)]  # fmt: skip
    adapters = {}
    for name, linear in linears:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        adapter = LoRALinear(linear, rank, alpha).to(linear.weight.device)
        setattr(parent, child, adapter)
        adapters[name] = adapter
    return adapters


def adapter_tensors(adapters: Mapping[str, LoRALinear]) -> dict[str, torch.Tensor]:
    """``{"<module>.a": A, "<module>.b": B}`` on the CPU, ready for safetensors."""
    out = {}
    for name, adapter in adapters.items():
        out[f"{name}.a"] = adapter.a.detach().float().cpu().contiguous()
        out[f"{name}.b"] = adapter.b.detach().float().cpu().contiguous()
    return out


def merge_adapters(adapters: Mapping[str, LoRALinear], model: torch.nn.Module) -> None:
    """Fold each adapter into its base layer and put the plain layer back in ``model``."""
    for name, adapter in adapters.items():
        with torch.no_grad():
            adapter.base.weight += adapter.delta().to(adapter.base.weight.dtype)
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, adapter.base)
