"""What every scoring backend offers, and the ``Scores`` they all return.

A backend turns texts into per-attribute probabilities. Three kinds load models in this
process, all in ``backends/``: ``heads`` (the torch encoder plus linear heads), ``onnx``
(the same graph exported to ONNX Runtime) and ``detoxify`` (Detoxify checkpoints).
``routing.py`` combines several behind the same interface, and the client's
``ServerBackend`` scores through a running server. Every one returns ``Scores``.

The in-process kinds (and the router over them) are also a ``Pipeline``: scoring in four
steps that a server runs on different threads, so that only forward passes run on the
model's thread: ``tokenize`` (per request), ``pad`` (per batch, into length-sorted
forward passes), ``forward`` (the model) and ``finish`` (each text's maximum over its
windows). ``WindowedBackend.score`` is the four steps in a row. This module imports
neither torch nor onnxruntime.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from perspective_local.models.attributes import resolve_attributes
from perspective_local.models.windows import Pass, Windows, run_passes

if TYPE_CHECKING:
    from perspective_local.models.windows import Windower


#: On a CPU a forward pass costs about its padded tokens (~250 us each for MiniLM on one
#: core) plus ~8 tokens' worth per pass, so a pass ends where the next window is more than
#: this many tokens shorter than its longest: chunks of 16 and 64 comments in arrival order
#: ran 1.4x faster than in passes of 32 regardless of length (benchmarks/serve_load.py's
#: texts). A GPU pays per pass instead, and keeps full passes.
CPU_SLACK_TOKENS = 8
CPU_DEVICES = ("cpu", "CPUExecutionProvider")


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


@dataclass(frozen=True)
class Tokenized:
    """Texts cut into windows, once per tokenizer the pipeline reads with (one per backend)."""

    parts: tuple[Windows, ...]
    n_texts: int

    @property
    def windows(self) -> int:
        """Windows of the first tokenizer: what a batch of these texts costs, with ``longest``."""
        return len(self.parts[0])

    @property
    def longest(self) -> int:
        """The first tokenizer's longest window, in tokens."""
        return self.parts[0].longest

    @property
    def padded_tokens(self) -> int:
        """Tokens these texts take padded to their longest window."""
        return self.windows * self.longest

    @staticmethod
    def join(items: Sequence[Tokenized]) -> Tokenized:
        """Several calls' texts as one batch, in order."""
        parts = tuple(Windows.join([t.parts[k] for t in items]) for k in range(len(items[0].parts)))
        return Tokenized(parts, sum(t.n_texts for t in items))


@dataclass(frozen=True)
class Padded:
    """A batch ready for the model: its windows and, per tokenizer, the forward passes."""

    tokenized: Tokenized
    passes: tuple[tuple[Pass, ...], ...]


@runtime_checkable
class Pipeline(Protocol):
    """Scoring split into steps for a server's threads; ``finish`` returns every attribute
    in ``attributes``, one row per text."""

    @property
    def attributes(self) -> tuple[str, ...]: ...

    def tokenize(self, texts: Sequence[str]) -> Tokenized: ...

    def pad(self, tokenized: Tokenized, batch_size: int | None = None) -> Padded: ...

    def forward(self, padded: Padded) -> tuple[np.ndarray, ...]: ...

    def finish(self, padded: Padded, outputs: tuple[np.ndarray, ...]) -> np.ndarray: ...


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

    @property
    def device(self) -> str:
        raise NotImplementedError

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Probabilities, one column per served attribute, for a padded batch of windows."""
        raise NotImplementedError

    def tokenize(self, texts: Sequence[str]) -> Tokenized:
        return Tokenized((self.windower.windows(texts),), len(texts))

    def pad(self, tokenized: Tokenized, batch_size: int | None = None) -> Padded:
        (windows,) = tokenized.parts
        size = batch_size or self.default_batch_size
        slack = CPU_SLACK_TOKENS if self.device in CPU_DEVICES else None
        return Padded(tokenized, (tuple(self.windower.passes(windows, size, slack)),))

    def forward(self, padded: Padded) -> tuple[np.ndarray, ...]:
        """Every served attribute's probability per window (the model's part of scoring)."""
        (windows,), (passes,) = padded.tokenized.parts, padded.passes
        return (run_passes(passes, self._forward, len(windows), len(self.attributes)),)

    def finish(self, padded: Padded, outputs: tuple[np.ndarray, ...]) -> np.ndarray:
        """Each text's maximum over its windows, one column per served attribute."""
        return padded.tokenized.parts[0].max_per_text(outputs[0])

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
        padded = self.pad(self.tokenize(texts), batch_size)
        values = self.finish(padded, self.forward(padded))
        return Scores(names, values[:, columns], self.model_version)
