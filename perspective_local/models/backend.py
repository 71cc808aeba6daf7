"""What every scoring backend offers, and the ``Scores`` they all return.

A backend turns texts into per-attribute probabilities. Three kinds load models in this
process, all in ``backends/``: ``heads`` (the torch encoder plus linear heads), ``onnx``
(the same graph exported to ONNX Runtime) and ``detoxify`` (Detoxify checkpoints).
``routing.py`` combines several behind the same interface, and the client's
``ServerBackend`` scores through a running server. Every one returns ``Scores``. The
in-process kinds share ``WindowedBackend.score``: tokenise into windows, run the one
batching loop (``Windower.run``), keep each text's maximum over its windows. This module
imports neither torch nor onnxruntime.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from perspective_local.models.attributes import resolve_attributes

if TYPE_CHECKING:
    from perspective_local.models.windows import Windower


@dataclass(frozen=True)
class Scores:
    """Probabilities for a list of texts: one row per text, one column per attribute."""

    attributes: tuple[str, ...]
    values: np.ndarray
    model_version: str

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def __getitem__(self, index: int) -> dict[str, float]:
        row = self.values[index]
        return {name: float(row[j]) for j, name in enumerate(self.attributes)}

    def __iter__(self) -> Iterator[dict[str, float]]:
        return (self[i] for i in range(len(self)))

    def column(self, attribute: str) -> np.ndarray:
        """All texts' scores for one attribute."""
        return self.values[:, self.attributes.index(attribute)]

    def to_dicts(self) -> list[dict[str, float]]:
        return list(self)


class Backend(Protocol):
    """A loaded model that scores texts for the attributes it serves."""

    #: ``heads``, ``onnx`` or ``detoxify``; settings route attributes by this name.
    @property
    def kind(self) -> str: ...

    #: The attributes this backend can score, in registry order.
    @property
    def attributes(self) -> tuple[str, ...]: ...

    #: Stamped on every score, so a score can be traced to the weights that made it.
    @property
    def model_version(self) -> str: ...

    #: One line saying what model this is, for model-info endpoints and logs.
    @property
    def description(self) -> str: ...

    #: Where it runs, e.g. ``cpu``, ``cuda:0`` or ``CUDAExecutionProvider``.
    @property
    def device(self) -> str: ...

    def score(
        self,
        texts: str | Sequence[str],
        attributes: str | Sequence[str] | None = None,
        *,
        batch_size: int | None = None,
    ) -> Scores: ...


def as_text_list(texts: str | Sequence[str]) -> list[str]:
    """One string or a list of strings as a list; anything else is a ``TypeError``."""
    if isinstance(texts, str):
        return [texts]
    texts = list(texts)
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise TypeError(f"Texts must be strings; item {bad[0]} is {type(texts[bad[0]]).__name__}")
    return texts


def served_columns(
    served: tuple[str, ...], attributes: str | Sequence[str] | None, backend: str
) -> tuple[tuple[str, ...], list[int]]:
    """Resolve requested attributes against what a backend serves: names and column indices."""
    names = served if attributes is None else resolve_attributes(attributes)
    missing = [a for a in names if a not in served]
    if missing:
        raise ValueError(
            f"The {backend} backend does not serve {', '.join(missing)}; it serves "
            f"{', '.join(served)}."
        )
    return names, [served.index(a) for a in names]


class WindowedBackend:
    """Shared ``score`` for backends whose model maps padded token windows to one
    probability per served attribute (torch heads, ONNX Runtime, Detoxify). Subclasses set
    ``kind``, ``windower``, ``default_batch_size`` and ``attributes``/``model_version``, and
    implement ``_forward``."""

    kind: str
    windower: Windower
    #: Windows per forward pass when the caller does not say.
    default_batch_size: int

    @property
    def attributes(self) -> tuple[str, ...]:
        raise NotImplementedError

    @property
    def model_version(self) -> str:
        raise NotImplementedError

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Probabilities, one column per served attribute, for a padded batch of windows."""
        raise NotImplementedError

    def score(
        self,
        texts: str | Sequence[str],
        attributes: str | Sequence[str] | None = None,
        *,
        batch_size: int | None = None,
    ) -> Scores:
        """Score ``texts`` for ``attributes`` (default: all this backend serves)."""
        texts = as_text_list(texts)
        names, columns = served_columns(self.attributes, attributes, self.kind)
        windows = self.windower.windows(texts)
        size = batch_size or self.default_batch_size
        per_window = self.windower.run(
            windows, self._forward, width=len(self.attributes), batch_size=size
        )
        return Scores(names, windows.max_per_text(per_window)[:, columns], self.model_version)
