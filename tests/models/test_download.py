"""``models pull``: downloads against a loopback HTTP server serving files the tests build
(``file_server``, from ``tests/http_files.py``)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from perspective_local.cli import app
from perspective_local.download import ChecksumError, DownloadError, RemoteFile, fetch
from perspective_local.models.backends.detoxify import SUMS_FILE, DetoxifyBackend
from perspective_local.models.backends.detoxify_releases import RELEASES, pull, resolve_model_dir
from tests.http_files import FileServer
from tests.models.tiny_detoxify import build_tiny_detoxify


def serve_release(server: FileServer, name: str, source: Path) -> str:
    """Put a tiny model's files where the mirror layout expects ``name``'s; its sha256."""
    files = {"config.json": "config.json", "tokenizer.json": "tokenizer.json",
             "checkpoint.ckpt": "checkpoint.ckpt"}  # fmt: skip
    for remote in RELEASES[name].files():
        url_path = "/" + remote.url.split("://", 1)[1]
        server.files[url_path] = (source / files[remote.name]).read_bytes()
    return hashlib.sha256((source / "checkpoint.ckpt").read_bytes()).hexdigest()


def test_pull_from_a_mirror_then_serve_from_the_cache(file_server: FileServer,
                                                      tmp_path: Path) -> None:  # fmt: skip
    source, _ = build_tiny_detoxify(tmp_path / "built", "roberta")
    digest = serve_release(file_server, "detoxify-unbiased", source)
    cache = tmp_path / "cache"
    result = CliRunner().invoke(app, [
        "models", "pull", "detoxify-unbiased", "--mirror", file_server.url,
        "--sha256", digest, "--cache-dir", str(cache), "--no-progress",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    directory = resolve_model_dir("detoxify-unbiased", cache)
    assert (directory / SUMS_FILE).read_text().count("\n") == 3
    scorer = DetoxifyBackend(directory, device="cpu")
    assert scorer.model_version == f"detoxify-unbiased@{digest[:8]}"
    assert 0 <= scorer.score("you are an idiot")[0]["TOXICITY"] <= 1
    assert {path.split("/")[1] for path, _ in file_server.requests} == {
        "huggingface.co", "github.com"
    }  # fmt: skip
    listed = CliRunner().invoke(app, ["models", "list", "--cache-dir", str(cache)])
    assert "pulled  detoxify-unbiased" in listed.output


def test_published_hash_prefix_is_checked_and_a_corrupt_file_is_deleted(
    file_server: FileServer, tmp_path: Path
) -> None:
    good = b"checkpoint bytes" * 1000
    file_server.files["/weights.ckpt"] = good
    prefix = hashlib.sha256(good).hexdigest()[:8]
    remote = RemoteFile(f"{file_server.url}/weights.ckpt", "weights.ckpt", prefix)
    fetched = fetch(remote, tmp_path / "ok")
    assert fetched.path.read_bytes() == good
    assert fetched.sha256 == hashlib.sha256(good).hexdigest()

    file_server.files["/weights.ckpt"] = good[:-1] + b"X"  # One byte differs.
    with pytest.raises(ChecksumError, match=f"does not match the published {prefix}"):
        fetch(remote, tmp_path / "bad")
    assert list((tmp_path / "bad").iterdir()) == []  # Neither the file nor a .part remains.


def test_pull_with_the_published_hash_refuses_another_checkpoint(
    file_server: FileServer, tmp_path: Path
) -> None:
    source, _ = build_tiny_detoxify(tmp_path / "built", "bert")
    serve_release(file_server, "detoxify-original", source)
    with pytest.raises(ChecksumError, match="c1212f89"):
        pull("detoxify-original", tmp_path / "cache", mirror=file_server.url)
    directory = tmp_path / "cache" / "models" / "detoxify-original"
    assert not (directory / "checkpoint.ckpt").exists() and not (directory / SUMS_FILE).exists()


def test_interrupted_transfer_resumes_with_a_range_request(
    file_server: FileServer, tmp_path: Path
) -> None:
    body = bytes(range(256)) * 4096  # 1 MiB
    file_server.files["/big.bin"] = body
    file_server.cut_next.add("/big.bin")
    remote = RemoteFile(f"{file_server.url}/big.bin", "big.bin",
                        hashlib.sha256(body).hexdigest())  # fmt: skip
    with pytest.raises(DownloadError, match="run the same command again to resume"):
        fetch(remote, tmp_path)
    partial = tmp_path / "big.bin.part"
    assert 0 < partial.stat().st_size < len(body)
    kept = partial.stat().st_size

    seen: list[tuple[int, int | None]] = []
    path = fetch(remote, tmp_path, progress=lambda done, total: seen.append((done, total))).path
    assert path.read_bytes() == body and not partial.exists()
    assert file_server.requests[-1] == ("/big.bin", f"bytes={kept}-")
    assert seen[-1] == (len(body), len(body))


def test_a_server_that_ignores_range_restarts_the_file(
    file_server: FileServer, tmp_path: Path
) -> None:
    body = b"abcdefgh" * 10000
    file_server.files["/f.bin"] = body
    file_server.ignore_range = True
    (tmp_path / "f.bin.part").write_bytes(b"stale")
    remote = RemoteFile(f"{file_server.url}/f.bin", "f.bin", hashlib.sha256(body).hexdigest())
    assert fetch(remote, tmp_path).path.read_bytes() == body


def test_missing_file_and_unreachable_host_are_clear_errors(
    file_server: FileServer, tmp_path: Path
) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch(RemoteFile(f"{file_server.url}/nope", "nope"), tmp_path)
    result = CliRunner().invoke(app, [
        "models", "pull", "detoxify-original", "--mirror", "http://127.0.0.1:9",
        "--cache-dir", str(tmp_path), "--no-progress",
    ])  # fmt: skip
    assert result.exit_code == 1
    assert "error: http://127.0.0.1:9/huggingface.co/" in result.output
    unknown = CliRunner().invoke(app, ["models", "pull", "detoxify-huge", "--no-progress"])
    assert unknown.exit_code == 1 and "Unknown Detoxify model 'detoxify-huge'" in unknown.output
