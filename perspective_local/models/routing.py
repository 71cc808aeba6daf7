"""Routing attributes to backends: several loaded backends behind one ``Backend``.

Each attribute is served by exactly one backend. ``routes`` (from the settings) say which
for the attributes they name; every other attribute goes to the first backend in the
configured order that serves it. Scoring a batch runs each backend once, for its share of
the requested attributes, and assembles the columns in registry order. As a ``Pipeline``
(for the server) each step runs every used backend's step, so a batch tokenised for two
backends carries both tokenizers' windows.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from perspective_local.models.attributes import ATTRIBUTE_NAMES, get_attribute, resolve_attributes
from perspective_local.models.backend import (
    Backend,
    Padded,
    Scores,
    Tokenized,
    WindowedBackend,
    as_text_list,
)
from perspective_local.settings import AUTO_BACKEND, BACKEND_KINDS

if TYPE_CHECKING:
    from perspective_local.settings import Settings

log = logging.getLogger(__name__)


class RoutingError(ValueError):
    """Routes that cannot be served by the loaded backends."""


class RoutedBackend:
    """Backends with a fixed attribute -> backend table, with the ``Backend`` interface."""

    kind = "routed"

    def __init__(
        self, backends: Sequence[Backend], routes: Mapping[str, str] | None = None
    ) -> None:
        if not backends:
            raise RoutingError("At least one backend is needed.")
        self.backends = {b.kind: b for b in backends}
        if len(self.backends) != len(backends):
            raise RoutingError(f"Backends must differ in kind: {[b.kind for b in backends]}")
        self.routes = plan_routes([b.kind for b in backends],
                                  {k: b.attributes for k, b in self.backends.items()},
                                  routes or {})  # fmt: skip

    @property
    def attributes(self) -> tuple[str, ...]:
        return tuple(a for a in ATTRIBUTE_NAMES if a in self.routes)

    @property
    def model_version(self) -> str:
        """Every backend's version that serves some attribute, joined by ``+``."""
        used = [b for kind, b in self.backends.items() if kind in self.routes.values()]
        return "+".join(b.model_version for b in used)

    @property
    def device(self) -> str:
        return ",".join(sorted({b.device for b in self.backends.values()}))

    @property
    def description(self) -> str:
        return "; ".join(f"{kind}: {b.description}" for kind, b in self.backends.items())

    def _used(self) -> list[tuple[str, WindowedBackend]]:
        """The backends that serve some attribute; each tokenises with its own tokenizer."""
        used: list[tuple[str, WindowedBackend]] = []
        for kind, backend in self.backends.items():
            if kind not in self.routes.values():
                continue
            if not isinstance(backend, WindowedBackend):
                raise TypeError(f"The {kind} backend cannot be served in steps.")
            used.append((kind, backend))
        return used

    def tokenize(self, texts: Sequence[str]) -> Tokenized:
        parts = tuple(b.windower.windows(texts) for _, b in self._used())
        return Tokenized(parts, len(texts))

    def pad(self, tokenized: Tokenized, batch_size: int | None = None) -> Padded:
        passes = tuple(
            b.pad(Tokenized((windows,), tokenized.n_texts), batch_size).passes[0]
            for (_, b), windows in zip(self._used(), tokenized.parts, strict=True)
        )
        return Padded(tokenized, passes)

    def forward(self, padded: Padded) -> tuple[np.ndarray, ...]:
        return tuple(b.forward(_part(padded, k))[0] for k, (_, b) in enumerate(self._used()))

    def finish(self, padded: Padded, outputs: tuple[np.ndarray, ...]) -> np.ndarray:
        values = np.zeros((padded.tokenized.n_texts, len(self.attributes)), dtype=np.float32)
        for k, (kind, backend) in enumerate(self._used()):
            part = backend.finish(_part(padded, k), outputs[k : k + 1])
            for j, name in enumerate(self.attributes):
                if self.routes[name] == kind:
                    values[:, j] = part[:, backend.attributes.index(name)]
        return values

    def score(
        self,
        texts: str | Sequence[str],
        attributes: str | Sequence[str] | None = None,
        *,
        batch_size: int | None = None,
    ) -> Scores:
        texts = as_text_list(texts)
        names = self.attributes if attributes is None else resolve_attributes(attributes)
        unserved = [a for a in names if a not in self.routes]
        if unserved:
            raise ValueError(
                f"No loaded backend serves {', '.join(unserved)}; served: "
                f"{', '.join(self.attributes)}."
            )
        values = np.zeros((len(texts), len(names)), dtype=np.float32)
        for kind, backend in self.backends.items():
            mine = [a for a in names if self.routes[a] == kind]
            if mine:
                part = backend.score(texts, mine, batch_size=batch_size)
                for a in mine:
                    values[:, names.index(a)] = part.column(a)
        return Scores(names, values, self.model_version)


def _part(padded: Padded, k: int) -> Padded:
    """The ``k``-th tokenizer's share of a routed batch, as a one-backend batch."""
    windows = padded.tokenized.parts[k]
    return Padded(Tokenized((windows,), padded.tokenized.n_texts), (padded.passes[k],))


def plan_routes(
    order: Sequence[str], serves: Mapping[str, Sequence[str]], routes: Mapping[str, str]
) -> dict[str, str]:
    """The attribute -> backend table: explicit ``routes`` first, then the first that serves."""
    table: dict[str, str] = {}
    for attribute, kind in routes.items():
        name = get_attribute(attribute.strip().upper()).name
        if kind not in serves:
            raise RoutingError(
                f"Route {name} -> {kind}: the {kind} backend is not loaded "
                f"(loaded: {', '.join(order)})."
            )
        if name not in serves[kind]:
            raise RoutingError(
                f"Route {name} -> {kind}: the {kind} backend does not serve {name}; it "
                f"serves {', '.join(serves[kind])}."
            )
        table[name] = kind
    for name in ATTRIBUTE_NAMES:
        if name not in table:
            serving = [k for k in order if name in serves[k]]
            if serving:
                table[name] = serving[0]
    return table


def load_kind(kind: str, settings: Settings) -> Backend:
    """Load one backend as the settings describe it."""
    if kind == "heads":
        from perspective_local.models.backends.heads import HeadsBackend

        return HeadsBackend.load(settings.model_dir, device=settings.device)
    if kind == "onnx":
        import onnxruntime  # noqa: F401  (a missing [onnx] extra fails before any export)

        from perspective_local.models.backends.onnx import OnnxBackend

        directory = settings.onnx_dir
        if directory is None:
            from perspective_local.models.backends.onnx_cache import ensure_export

            directory = ensure_export(settings.model_dir, settings.cache_dir,
                                      settings.onnx_precision)  # fmt: skip
        return OnnxBackend(directory, precision=settings.onnx_precision,
                          device=settings.device)  # fmt: skip
    if kind == "detoxify":
        from perspective_local.models.backends.detoxify import DetoxifyBackend
        from perspective_local.models.backends.detoxify_releases import resolve_model_dir

        return DetoxifyBackend(resolve_model_dir(settings.detoxify_model, settings.cache_dir),
                              device=settings.device)  # fmt: skip
    raise RoutingError(f"Unknown backend {kind!r}; known: {', '.join(BACKEND_KINDS)}.")


def onnx_dir(settings: Settings) -> Path:
    """Where the ONNX export lives: the setting, else the cache's export of ``model_dir``
    (``CACHE_DIR/onnx/NAME-KEY``, made and checked by ``onnx_cache.ensure_export``)."""
    if settings.onnx_dir is not None:
        return settings.onnx_dir
    from perspective_local.models.backends.onnx_cache import export_dir

    return export_dir(settings.cache_dir, settings.model_dir)


def resolve_backends(settings: Settings) -> tuple[str, ...]:
    """The backend kinds to load: ``settings.backends``, with ``auto`` resolved."""
    if settings.backends != (AUTO_BACKEND,):
        return settings.backends
    return (auto_kind(settings.device),)


def auto_kind(device: str) -> str:
    """``onnx`` when ONNX Runtime is installed and ``device`` resolves to the CPU, else
    ``heads`` (torch: on a GPU in fp16, or where ONNX Runtime is missing)."""
    if importlib.util.find_spec("onnxruntime") is None:
        return "heads"
    return "onnx" if device_is_cpu(device) else "heads"


def device_is_cpu(device: str) -> bool:
    """Whether ``device`` (``auto``, ``cpu``, ``cuda[:N]``) means the CPU here. ``auto`` asks
    torch for CUDA, importing it only when its build could have CUDA; without torch: CPU."""
    if device == "cpu":
        return True
    if device != "auto":
        return False
    if importlib.util.find_spec("torch") is None:
        return True
    try:
        if "+cpu" in importlib.metadata.version("torch"):  # a CPU-only build of torch
            return True
    except importlib.metadata.PackageNotFoundError:
        pass
    import torch

    return not torch.cuda.is_available()


def load_backend(settings: Settings) -> Backend:
    """The configured backends; one backend is returned as is, several behind a router."""
    kinds = resolve_backends(settings)
    if kinds != settings.backends:
        log.info(
            "backend chosen",
            extra={"backends": list(kinds), "setting": list(settings.backends),
                   "device": settings.device},
        )  # fmt: skip
        settings = dataclasses.replace(settings, backends=kinds)
    backends = [load_kind(kind, settings) for kind in kinds]
    if len(backends) == 1 and not settings.routes:
        return backends[0]
    return RoutedBackend(backends, settings.routes)


def describe_routes(scorer: Backend) -> dict[str, str]:
    """attribute -> backend kind for any backend (a single one serves all its attributes)."""
    if isinstance(scorer, RoutedBackend):
        return dict(scorer.routes)
    return {a: scorer.kind for a in scorer.attributes}


def loaded_backends(scorer: Backend) -> list[Backend]:
    """The backends inside ``scorer`` (itself, unless it routes)."""
    if isinstance(scorer, RoutedBackend):
        return list(scorer.backends.values())
    return [scorer]
