"""The published Detoxify releases and ``pull``, which downloads one into the cache.

``pull`` fetches a checkpoint with the config and tokenizer of its base model into
``CACHE_DIR/models/NAME`` through ``perspective_local.download`` and writes ``SHA256SUMS``
last, so a directory without it is an unfinished pull. ``detoxify.py`` loads the result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from perspective_local.download import ProgressFn, RemoteFile, fetch
from perspective_local.models.artifact import ArtifactError
from perspective_local.models.backends.detoxify import CHECKPOINT_FILE, CONFIG_FILE, SUMS_FILE
from perspective_local.models.windows import TOKENIZER_FILE

log = logging.getLogger(__name__)

_RELEASES_URL = "https://github.com/unitaryai/detoxify/releases/download/"


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
