"""The default backend: ``auto`` picks ONNX Runtime on a CPU, and the fp32 export it serves
is made once in the cache, checked against the artifact it came from, and made again when
that artifact changes."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from perspective_local.models.artifact import DEFAULT_MODEL_DIR, MANIFEST_FILE
from perspective_local.models.backends.heads import HeadsBackend
from perspective_local.models.backends.onnx import OnnxBackend
from perspective_local.models.backends.onnx_cache import (
    STALE_SECONDS,
    export_dir,
    read_export_info,
    source_fingerprint,
)
from perspective_local.models.routing import (
    auto_kind,
    device_is_cpu,
    load_backend,
    onnx_dir,
    resolve_backends,
)
from perspective_local.settings import Settings
from tests.models.test_onnx import FP32_TOLERANCE, TEXTS

CACHE_LOGGER = "perspective_local.models.backends.onnx_cache"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self) -> list[str]:
        return [r.getMessage() for r in self.records]

    def one(self, message: str) -> logging.LogRecord:
        (record,) = [r for r in self.records if r.getMessage() == message]
        return record


@contextmanager
def cache_logs() -> Iterator[_Records]:
    """The export's log records, whatever the package's logging set-up (a CLI test may
    have stopped its records from reaching pytest's handler)."""
    logger = logging.getLogger(CACHE_LOGGER)
    handler, level = _Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@dataclass
class FirstLoad:
    settings: Settings
    backend: Any
    logs: _Records
    directory: Path


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> FirstLoad:
    """The shipped artifact copied (the change test edits it), loaded once with the default
    backends into an empty cache: the one fp32 export the tests share."""
    model_dir = tmp_path_factory.mktemp("model") / "shipped"
    shutil.copytree(DEFAULT_MODEL_DIR, model_dir)
    cache = tmp_path_factory.mktemp("cache")
    settings = Settings.load(environ={}, model_dir=model_dir, cache_dir=cache, device="cpu")
    with cache_logs() as logs:
        backend = load_backend(settings)
    return FirstLoad(settings, backend, logs, export_dir(cache, model_dir))


def test_auto_is_onnx_on_a_cpu_and_heads_on_a_gpu_or_when_asked() -> None:
    assert Settings().backends == ("auto",)
    assert Settings().onnx_precision == "fp32"  # int8 only when asked for
    assert resolve_backends(Settings(device="cpu")) == ("onnx",)
    assert resolve_backends(Settings(device="cuda")) == ("heads",)
    assert resolve_backends(Settings(device="cuda:1")) == ("heads",)
    assert resolve_backends(Settings(backends=("heads",), device="cpu")) == ("heads",)
    assert resolve_backends(Settings(backends=("heads", "onnx"))) == ("heads", "onnx")
    import torch

    assert device_is_cpu("auto") is not torch.cuda.is_available()
    if not torch.cuda.is_available():
        assert resolve_backends(Settings()) == ("onnx",)


def test_auto_without_onnx_runtime_is_heads_and_without_torch_is_the_cpu(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "onnxruntime", None)  # import fails: not installed
        assert auto_kind("cpu") == "heads"
        assert resolve_backends(Settings(device="cpu")) == ("heads",)
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "torch", None)
        assert device_is_cpu("auto")
        assert auto_kind("auto") == "onnx"


def test_the_export_lives_in_the_cache_keyed_by_the_artifact(tmp_path: Path) -> None:
    shipped = export_dir(tmp_path, None)
    assert shipped.parent == tmp_path / "onnx" and shipped.name.startswith("default-")
    assert export_dir(tmp_path, DEFAULT_MODEL_DIR) == shipped
    assert export_dir(tmp_path, tmp_path / "other") != shipped
    assert onnx_dir(Settings(cache_dir=tmp_path)) == shipped
    assert onnx_dir(Settings(cache_dir=tmp_path, onnx_dir=tmp_path / "mine")) == tmp_path / "mine"


def test_first_load_exports_fp32_into_the_cache_and_logs_time_and_place(first: FirstLoad) -> None:
    assert isinstance(first.backend, OnnxBackend)
    assert first.backend.directory == first.directory
    assert first.backend.model_version.endswith("+onnx-fp32")
    started = first.logs.one("exporting onnx graph")
    assert started.path == str(first.directory)  # type: ignore[attr-defined]
    assert started.reason == "no export yet"  # type: ignore[attr-defined]
    written = first.logs.one("onnx export written")
    assert written.path == str(first.directory)  # type: ignore[attr-defined]
    assert written.source == str(first.settings.model_dir)  # type: ignore[attr-defined]
    assert 0 < written.seconds < 600  # type: ignore[attr-defined]
    assert written.precisions == ["fp32"]  # type: ignore[attr-defined]
    info = read_export_info(first.directory)
    assert info is not None and set(info["files"]) == {"fp32"}
    assert info["source"] == source_fingerprint(first.settings.model_dir)
    assert set(info["source"]["files"]) == {"manifest.json", "heads.safetensors",
                                            "adapters.safetensors", "lexicon.json"}  # fmt: skip
    # Nothing but the export is left in the cache: the staging directory was renamed.
    assert [p.name for p in first.directory.parent.iterdir()] == [first.directory.name]


def test_later_loads_reuse_the_export(first: FirstLoad) -> None:
    graph = first.directory / "model.onnx"
    before = graph.stat().st_mtime_ns
    with cache_logs() as logs:
        again = load_backend(first.settings)
    assert isinstance(again, OnnxBackend)
    assert "exporting onnx graph" not in logs.messages()
    assert "onnx export is current" in logs.messages()
    assert graph.stat().st_mtime_ns == before


def test_onnx_scores_equal_the_torch_scores(first: FirstLoad, default_scorer: Any) -> None:
    expected = default_scorer.score(TEXTS)
    got = first.backend.score(TEXTS)
    assert got.attributes == expected.attributes
    assert np.abs(got.values - expected.values).max() < FP32_TOLERANCE


def test_explicit_heads_stays_torch(tmp_path: Path) -> None:
    settings = Settings.load(environ={}, backends="heads", device="cpu", cache_dir=tmp_path)
    assert isinstance(load_backend(settings), HeadsBackend)
    assert not (tmp_path / "onnx").exists()


def test_a_changed_artifact_is_exported_again(first: FirstLoad) -> None:
    model_dir = first.settings.model_dir
    assert model_dir is not None
    manifest = json.loads((model_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["version"] += "-retrained"
    (model_dir / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    # What crashed exports left behind: an old staging directory goes, a fresh one (another
    # process exporting now) stays.
    stale = first.directory.with_name(f".{first.directory.name}.tmp-crashed")
    fresh = first.directory.with_name(f".{first.directory.name}.tmp-running")
    for path in (stale, fresh):
        path.mkdir()
        (path / "model.onnx").write_bytes(b"half a graph")
    old = time.time() - STALE_SECONDS - 60
    os.utime(stale, (old, old))
    with cache_logs() as logs:
        backend = load_backend(first.settings)
    assert logs.one("onnx export written").reason == "the model changed since the export"  # type: ignore[attr-defined]
    assert backend.model_version == f"{manifest['name']}@{manifest['version']}+onnx-fp32"
    info = read_export_info(first.directory)
    assert info is not None and info["source"] == source_fingerprint(model_dir)
    assert not stale.exists() and fresh.exists()
    shutil.rmtree(fresh)


def test_the_cached_export_serves_without_torch_and_cannot_be_made_without_it(
    first: FirstLoad, tmp_path: Path
) -> None:
    code = f"""
import sys
sys.modules["torch"] = None  # as if torch were not installed
from pathlib import Path
from perspective_local.models.artifact import ArtifactError
from perspective_local.models.routing import load_backend
from perspective_local.settings import Settings
served = Settings(model_dir=Path({str(first.settings.model_dir)!r}),
                  cache_dir=Path({str(first.settings.cache_dir)!r}))
print(load_backend(served).score("hello").values.shape)
try:
    load_backend(Settings(cache_dir=Path({str(tmp_path)!r})))
except ArtifactError as exc:
    print("error:", exc)
"""
    # The change test may have run: make sure the export is current either way.
    load_backend(first.settings)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "(1, 15)" in done.stdout
    assert "making one needs torch, which is not importable here" in done.stdout
    assert "models export-onnx --out DIR" in done.stdout
