"""The released PRISM files, fetched from the Hugging Face Hub and checked (``prism download``).

``download_prism(directory)`` fetches ``conversations.jsonl``, ``survey.jsonl``,
``utterances.jsonl`` and ``metadata.jsonl`` from the dataset ``HannahRoseKirk/prism-alignment``
through ``perspective_local.download`` (``.part`` files resumed with HTTP ``Range``), checks
them with :func:`~perspective_local.analysis.prism.load_prism`, and only then writes
``download.json`` (url, size, sha256 and time of each file) and, last, ``SHA256SUMS`` (the
``sha256sum -c`` format). The upstream publishes no checksums, so these record what was
fetched: a later run verifies the files already there against ``SHA256SUMS`` and fetches only
what is missing. A directory without ``SHA256SUMS`` is an unfinished download.

A file that fails the schema check is renamed ``NAME.invalid``: kept to look at, but out of
the way of ``analyze`` and of the next run, which fetches it again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from perspective_local.analysis.prism import MAX_REPORTED_PROBLEMS, PrismSchemaError, load_prism
from perspective_local.download import ProgressFn, RemoteFile, fetch, mirrored, sha256_of

#: The dataset on the Hugging Face Hub, and where its files are served from.
PRISM_DATASET = "HannahRoseKirk/prism-alignment"
PRISM_URL = f"https://huggingface.co/datasets/{PRISM_DATASET}/resolve/main/"
#: The released files, in the order they are fetched (the two the analyses need first).
PRISM_FILES = ("conversations.jsonl", "survey.jsonl", "utterances.jsonl", "metadata.jsonl")
SUMS_FILE = "SHA256SUMS"
MANIFEST_FILE = "download.json"
#: What a file that fails the schema check is renamed with.
INVALID_SUFFIX = ".invalid"

#: A ``sha256sum`` line: the digest, two spaces (or a space and ``*``, binary mode), the name.
_SUMS_LINE = re.compile(r"^([0-9a-f]{64}) [ *](.+)$")


class ReleaseError(RuntimeError):
    """Files on disk that are not a good PRISM release; the message says what to do."""


@dataclass(frozen=True)
class ReleaseFile:
    """One file of the release as it is on disk, with where it came from."""

    name: str
    url: str
    size_bytes: int
    sha256: str
    #: When its transfer finished (the file's modification time), ISO 8601 in UTC.
    fetched_at: str


@dataclass(frozen=True)
class PrismDownload:
    """What ``download_prism`` left in ``directory``."""

    directory: Path
    files: tuple[ReleaseFile, ...]
    #: Files transferred (wholly or by resuming) in this run; empty when all were there.
    transferred: tuple[str, ...]
    #: Files fetched again whose sha256 differs from the one recorded before: the upstream
    #: changed them (``resolve/main`` follows the dataset's latest revision).
    changed_upstream: tuple[str, ...]
    #: Whether this run checked the schema and wrote the records (not when every file
    #: already matched ``SHA256SUMS``).
    checked: bool

    @property
    def size_bytes(self) -> int:
        return sum(f.size_bytes for f in self.files)


def default_dir(cache_dir: Path) -> Path:
    """Where ``prism download`` puts the release unless told otherwise."""
    return Path(cache_dir) / "prism"


def download_prism(
    directory: Path,
    *,
    mirror: str | None = None,
    progress: Callable[[str], ProgressFn] | None = None,
    say: Callable[[str], None] | None = None,
    base_url: str = PRISM_URL,
) -> PrismDownload:
    """Fetch whatever of the release ``directory`` lacks, check it, and record checksums.

    Files recorded in ``SHA256SUMS`` must still match it (else :class:`ReleaseError`, and
    nothing is fetched); when all four do, this is a no-op without network access.
    ``progress(file_name)`` gives a callback per transferred file; ``say`` gets one line
    per notable event. Transfer failures raise ``perspective_local.download.DownloadError``.
    """
    directory = Path(directory)
    recorded = read_sums(directory / SUMS_FILE)
    verified = _verify_recorded(directory, recorded)
    if len(verified) == len(PRISM_FILES):
        files = tuple(_describe(directory, name, base_url, verified[name]) for name in PRISM_FILES)
        return PrismDownload(directory, files, transferred=(), changed_upstream=(), checked=False)

    digests: dict[str, str] = dict(verified)
    transferred: list[str] = []
    for name in PRISM_FILES:
        if name in digests:
            continue
        bar: ProgressFn | None = None
        if (directory / name).exists():
            # Complete but unrecorded: an earlier run stopped before the schema check, or the
            # file was put here by hand. fetch() only hashes it; it is checked below.
            _tell(say, f"{name}: already here, not fetched again")
        else:
            transferred.append(name)
            bar = progress(name) if progress is not None else None
        fetched = fetch(RemoteFile(base_url + name, name), directory, mirror=mirror, progress=bar)
        digests[name] = fetched.sha256
    changed = tuple(n for n in transferred if n in recorded and recorded[n] != digests[n])
    for name in changed:
        _tell(say, f"{name}: differs from the sha256 recorded before; the upstream changed it")

    _check_schema(directory, base_url, mirror)
    files = tuple(_describe(directory, name, base_url, digests[name]) for name in PRISM_FILES)
    _write_records(directory, files, base_url, mirror)
    return PrismDownload(directory, files, tuple(transferred), changed, checked=True)


def read_sums(path: Path) -> dict[str, str]:
    """``SHA256SUMS`` as name -> sha256; empty when there is none."""
    if not path.exists():
        return {}
    sums: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        match = _SUMS_LINE.match(line.strip())
        if match is None:
            raise ReleaseError(
                f"{path} line {number} is not '<sha256>  <file name>'; delete {path} and run "
                "the command again to check and record the files afresh."
            )
        sums[match.group(2)] = match.group(1)
    return sums


def _verify_recorded(directory: Path, recorded: dict[str, str]) -> dict[str, str]:
    """The recorded files that are present, each checked against its recorded sha256."""
    verified: dict[str, str] = {}
    for name in PRISM_FILES:
        path = directory / name
        if name not in recorded or not path.exists():
            continue
        digest = sha256_of(path)
        if digest != recorded[name]:
            # Not deleted: it was checked when recorded, so a change is the user's (or the
            # disk's) doing, and what to keep is theirs to decide.
            raise ReleaseError(
                f"{path} changed since it was downloaded: its sha256 is {digest}, "
                f"{SUMS_FILE} records {recorded[name]}. Delete {path} and run the command "
                "again to download it afresh."
            )
        verified[name] = digest
    return verified


def _check_schema(directory: Path, base_url: str, mirror: str | None) -> None:
    """``load_prism`` over the directory; files it names as bad are renamed ``.invalid``."""
    try:
        load_prism(directory)
    except PrismSchemaError as exc:
        bad = _files_named(exc.problems)
        for name in bad:
            (directory / name).replace(directory / (name + INVALID_SUFFIX))
        raise ReleaseError(
            _schema_message(exc.problems, bad, directory, base_url, mirror)
        ) from None


def _files_named(problems: list[str]) -> list[str]:
    """The release files that ``problems`` are about. Each problem starts with its file's
    name ("survey.jsonl line 3: ...", "survey.jsonl: ..."): that is how prism.py words them."""
    named = {problem.split(" ", 1)[0].rstrip(":") for problem in problems}
    return [name for name in PRISM_FILES if name in named]


def _schema_message(
    problems: list[str], bad: list[str], directory: Path, base_url: str, mirror: str | None
) -> str:
    more = "\n  (stopped after this many)" if len(problems) >= MAX_REPORTED_PROBLEMS else ""
    listed = "\n  ".join(problems) + more
    if not bad:
        return f"the PRISM files in {directory} do not match the schema:\n  {listed}"
    it, does = ("it", "does") if len(bad) == 1 else ("them", "do")
    moved = ", ".join(str(directory / (name + INVALID_SUFFIX)) for name in bad)
    sources = ", ".join(mirrored(base_url + name, mirror) for name in bad)
    return (
        f"{' and '.join(bad)} {does} not match the PRISM schema:\n  {listed}\n"
        f"Moved aside as {moved}; running the command again downloads {it} afresh. If that "
        f"fails the same way, the source serves a different file ({sources})."
    )


def _describe(directory: Path, name: str, base_url: str, digest: str) -> ReleaseFile:
    stat = (directory / name).stat()
    fetched_at = datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(timespec="seconds")
    return ReleaseFile(name, base_url + name, stat.st_size, digest, fetched_at)


def _write_records(
    directory: Path, files: tuple[ReleaseFile, ...], base_url: str, mirror: str | None
) -> None:
    """``download.json``, then ``SHA256SUMS``: a folder without it never finished a run."""
    manifest = {
        "dataset": PRISM_DATASET,
        "source": base_url,
        "mirror": mirror,
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": [asdict(f) for f in files],
    }
    _write_atomically(directory / MANIFEST_FILE, json.dumps(manifest, indent=2) + "\n")
    _write_atomically(directory / SUMS_FILE, "".join(f"{f.sha256}  {f.name}\n" for f in files))


def _write_atomically(path: Path, text: str) -> None:
    # An interrupted write must not leave a half SHA256SUMS that a rerun would trust.
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def _tell(say: Callable[[str], None] | None, message: str) -> None:
    if say is not None:
        say(message)
