"""In-process scoring: the client's transport that runs the model in this process.

It imports ``perspective_local.models`` (and so torch) only when first used, so
``import perspective_local.client`` stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from perspective_local.models.backend import Backend
    from perspective_local.settings import Settings


class LocalBackend:
    """Scores texts with a model loaded in this process."""

    def __init__(self, scorer: Backend, *, batch_size: int | None = None) -> None:
        self.scorer = scorer
        self.batch_size = batch_size

    @classmethod
    def load(
        cls,
        model_dir: Path | None = None,
        *,
        device: str | None = None,
        batch_size: int | None = None,
    ) -> LocalBackend:
        """Load the model in ``model_dir`` (default: the packaged one) onto ``device``."""
        from perspective_local.models.backends.heads import HeadsBackend

        return cls(HeadsBackend.load(model_dir, device=device), batch_size=batch_size)

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalBackend:
        """The backends the settings configure (heads, ONNX, Detoxify, routed)."""
        from perspective_local.models.routing import load_backend

        return cls(load_backend(settings), batch_size=settings.batch_size)

    @property
    def model_version(self) -> str:
        return self.scorer.model_version

    @property
    def device(self) -> str:
        return self.scorer.device

    def score(
        self, texts: Sequence[str], attributes: Sequence[str] | None = None
    ) -> list[dict[str, float]]:
        return self.scorer.score(texts, attributes, batch_size=self.batch_size).to_dicts()


def score_texts(
    texts: Sequence[str],
    attributes: Sequence[str] | None = None,
    *,
    device: str | None = None,
    batch_size: int | None = None,
    model_dir: Path | None = None,
    progress: bool = False,
) -> tuple[list[dict[str, float]], str]:
    """Score ``texts`` in-process; returns one ``{attribute: probability}`` per text and
    the model version. With ``progress``, a progress bar goes to stderr."""
    from perspective_local.client.batch import score_in_chunks

    backend = LocalBackend.load(model_dir, device=device, batch_size=batch_size)
    # Chunks exist for the progress bar; without it one call sorts every text by length.
    chunk_size = max((batch_size or 32) * 8, 256) if progress else max(len(texts), 1)
    results = score_in_chunks(backend, texts, attributes, chunk_size=chunk_size, progress=progress)
    return results, backend.model_version
