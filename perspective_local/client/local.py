"""In-process scoring: load the configured model in this process, behind the same
``Backend`` protocol as ``ServerBackend``.

It imports the model code (and so torch) only when called, so ``import
perspective_local.client`` stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from perspective_local.models.backend import Backend
    from perspective_local.settings import Settings


def load_local_backend(settings: Settings) -> Backend:
    """The backends the settings configure (heads, ONNX, Detoxify, or several routed)."""
    from perspective_local.models.routing import load_backend

    return load_backend(settings)


def score_texts(
    texts: Sequence[str],
    attributes: Sequence[str] | None = None,
    *,
    settings: Settings | None = None,
    progress: bool = False,
) -> tuple[list[dict[str, float]], str]:
    """Score ``texts`` in-process with the model ``settings`` configure (default: the
    packaged one); returns one ``{attribute: probability}`` per text and the model version.
    With ``progress``, a progress bar goes to stderr."""
    from perspective_local.client.batch import score_in_chunks
    from perspective_local.settings import Settings

    settings = settings or Settings()
    backend = load_local_backend(settings)
    batch_size = settings.forward_batch_windows
    # Chunks exist for the progress bar; without it one call sorts every text by length.
    chunk_size = max((batch_size or 32) * 8, 256) if progress else max(len(texts), 1)
    results = score_in_chunks(
        backend, texts, attributes, chunk_size=chunk_size, progress=progress, batch_size=batch_size
    )
    return results, backend.model_version
