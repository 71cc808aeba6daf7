"""Fetching files over HTTP: resumable, checksummed, and nowhere else.

This is the only code in the project that touches the network, and only when a user runs
``perspective-local models pull`` (model files) or ``perspective-local prism download``
(the PRISM release, ``analysis/release.py``). A file is written to ``NAME.part`` and
renamed once it is complete and its checksum matches; an interrupted transfer leaves the
``.part`` file, and the next run resumes it with an HTTP ``Range`` request.
"""

from __future__ import annotations

import hashlib
import http.client
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

#: Called with (bytes so far, total bytes or None) as a file arrives.
ProgressFn = Callable[[int, int | None], None]

CHUNK_BYTES = 1 << 20
TIMEOUT_SECONDS = 60.0


class DownloadError(RuntimeError):
    """A transfer that failed; the message says whether running again resumes it."""


class ChecksumError(DownloadError):
    """A complete file whose sha256 is not the published one; it has been deleted."""


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch: where from, what to call it, and its sha256 if published."""

    url: str
    name: str
    #: Full sha256, or a prefix of it (Detoxify, like torch.hub, publishes 8 hex digits in
    #: the file name). ``None``: checked for completeness only.
    sha256: str | None = None


@dataclass(frozen=True)
class FetchedFile:
    """A verified file on disk and its sha256 (computed once, while verifying)."""

    path: Path
    sha256: str


def mirrored(url: str, mirror: str | None) -> str:
    """``url`` as served by a mirror that lays files out as ``MIRROR/host/path``."""
    if not mirror:
        return url
    parts = urlsplit(url)
    return f"{mirror.rstrip('/')}/{parts.netloc}{parts.path}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(
    remote: RemoteFile,
    directory: Path,
    *,
    mirror: str | None = None,
    progress: ProgressFn | None = None,
) -> FetchedFile:
    """Download ``remote`` into ``directory`` (resuming a ``.part`` file) and verify it."""
    target = directory / remote.name
    if target.exists():
        return FetchedFile(target, _verify(target, remote))
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / (remote.name + ".part")
    url = mirrored(remote.url, mirror)
    _transfer(url, partial, progress)
    digest = _verify(partial, remote)
    partial.replace(target)
    return FetchedFile(target, digest)


def _transfer(url: str, partial: Path, progress: ProgressFn | None) -> None:
    have = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "perspective-local"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # The part file is already whole.
            return
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DownloadError(f"{url}: {getattr(exc, 'reason', exc)}") from None
    with response:
        resumed = response.status == 206
        if not resumed:
            have = 0  # The server ignored Range: start over.
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        received = have
        try:
            with partial.open("ab" if resumed else "wb") as out:
                while block := response.read(CHUNK_BYTES):
                    out.write(block)
                    received += len(block)
                    if progress is not None:
                        progress(received, total)
        except (OSError, http.client.HTTPException) as exc:
            raise DownloadError(
                f"{url}: transfer interrupted after {received} bytes ({exc}); run the same "
                "command again to resume."
            ) from None
    if total is not None and received < total:
        raise DownloadError(
            f"{url}: transfer interrupted after {received} of {total} bytes; run the same "
            "command again to resume."
        )


def _verify(path: Path, remote: RemoteFile) -> str:
    """``path``'s sha256, after checking it against the published one if there is one."""
    digest = sha256_of(path)
    if remote.sha256 is not None and not digest.startswith(remote.sha256.lower()):
        path.unlink()
        raise ChecksumError(
            f"{remote.name}: sha256 {digest} does not match the published "
            f"{remote.sha256}; the file was removed. The source or mirror serves a "
            "different file."
        )
    return digest
