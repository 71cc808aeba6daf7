"""``prism download`` (``analysis/release.py``) through the command line, against a loopback
HTTP server (``file_server``) laid out as a ``--mirror`` and serving a synthetic release in
PRISM's exact schema (``small_release``): checksums, resuming, corrupt files, HTTP errors,
a rerun that fetches nothing."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from perspective_local.analysis.prism import load_prism
from perspective_local.analysis.release import (
    INVALID_SUFFIX,
    MANIFEST_FILE,
    PRISM_FILES,
    PRISM_URL,
    SUMS_FILE,
)
from perspective_local.cli import app
from perspective_local.cli.common import ExitCode
from tests.http_files import FileServer

#: Where a mirror laid out as MIRROR/host/path serves the release.
MIRROR_PATH = "/" + PRISM_URL.split("://", 1)[1]


def _serve(server: FileServer, release: Path) -> dict[str, bytes]:
    """Put the release's four files where the mirror layout expects them; their bytes."""
    files = {name: (release / name).read_bytes() for name in PRISM_FILES}
    for name, body in files.items():
        server.files[MIRROR_PATH + name] = body
    return files


def _download(out: Path, server: FileServer, *extra: str, **env: str) -> Result:
    args = ["prism", "download", "--out", str(out), "--mirror", server.url, "--no-progress"]
    return CliRunner().invoke(app, [*args, *extra], env=env or None)


def _assert_clean_failure(result: Result) -> None:
    """Exit code 1, an ``error:`` line, and no traceback (``command_boundary`` conventions)."""
    assert result.exit_code == ExitCode.FAILED, result.output
    assert isinstance(result.exception, SystemExit)
    assert "error:" in result.output and "Traceback" not in result.output


@pytest.fixture
def served(file_server: FileServer, small_release: Path) -> dict[str, bytes]:
    return _serve(file_server, small_release)


def test_download_writes_the_release_with_sha256sum_checksums(
    file_server: FileServer, served: dict[str, bytes], tmp_path: Path
) -> None:
    out = tmp_path / "prism"
    result = _download(out, file_server)
    assert result.exit_code == 0, result.output
    assert f"PRISM release in {out}" in result.output and "4 downloaded" in result.output
    assert {name: (out / name).read_bytes() for name in PRISM_FILES} == served
    # Exactly the `sha256sum` format, and `sha256sum -c` agrees.
    expected = "".join(f"{hashlib.sha256(served[n]).hexdigest()}  {n}\n" for n in PRISM_FILES)
    assert (out / SUMS_FILE).read_text() == expected
    if shutil.which("sha256sum"):
        check = subprocess.run(["sha256sum", "-c", SUMS_FILE], cwd=out, capture_output=True)
        assert check.returncode == 0, check.stdout + check.stderr
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert manifest["dataset"] == "HannahRoseKirk/prism-alignment"
    assert manifest["mirror"] == file_server.url
    for entry in manifest["files"]:
        assert entry["url"] == PRISM_URL + entry["name"]
        assert entry["size_bytes"] == len(served[entry["name"]])
        assert entry["sha256"] == hashlib.sha256(served[entry["name"]]).hexdigest()
        assert entry["fetched_at"].endswith("+00:00")
    assert [path for path, _ in file_server.requests] == [MIRROR_PATH + n for n in PRISM_FILES]
    assert not list(out.glob("*.part")) and load_prism(out).users.shape[0] > 0


def test_a_rerun_fetches_nothing(
    file_server: FileServer, served: dict[str, bytes], tmp_path: Path
) -> None:
    out = tmp_path / "prism"
    assert _download(out, file_server).exit_code == 0
    sums = (out / SUMS_FILE).read_text()
    requests = len(file_server.requests)
    again = _download(out, file_server)
    assert again.exit_code == 0, again.output
    assert f"matches {SUMS_FILE}; nothing to do" in again.output
    assert len(file_server.requests) == requests and (out / SUMS_FILE).read_text() == sums


def test_the_default_folder_is_in_the_cache_and_the_mirror_can_come_from_the_environment(
    file_server: FileServer, served: dict[str, bytes], tmp_path: Path
) -> None:
    env = {"PERSPECTIVE_LOCAL_CACHE_DIR": str(tmp_path / "cache"),
           "PERSPECTIVE_LOCAL_DOWNLOAD_MIRROR": file_server.url}  # fmt: skip
    result = CliRunner().invoke(app, ["prism", "download"], env=env)  # progress bars on
    assert result.exit_code == 0, result.output
    out = tmp_path / "cache" / "prism"
    assert str(out) in result.output
    assert (out / "conversations.jsonl").read_bytes() == served["conversations.jsonl"]


def test_an_interrupted_transfer_resumes_with_a_range_request(
    file_server: FileServer, served: dict[str, bytes], tmp_path: Path
) -> None:
    out = tmp_path / "prism"
    file_server.cut_next.add(MIRROR_PATH + "utterances.jsonl")
    first = _download(out, file_server)
    _assert_clean_failure(first)
    assert "utterances.jsonl: transfer interrupted" in first.output
    assert "run the same command again to resume" in first.output
    partial = out / "utterances.jsonl.part"
    kept = partial.stat().st_size
    assert 0 < kept < len(served["utterances.jsonl"])
    assert (out / "survey.jsonl").exists() and not (out / SUMS_FILE).exists()

    before = len(file_server.requests)
    second = _download(out, file_server)
    assert second.exit_code == 0, second.output
    # The two complete files were not fetched again; the cut one resumed where it stopped.
    assert file_server.requests[before:] == [
        (MIRROR_PATH + "utterances.jsonl", f"bytes={kept}-"),
        (MIRROR_PATH + "metadata.jsonl", None),
    ]
    assert (out / "utterances.jsonl").read_bytes() == served["utterances.jsonl"]
    assert not partial.exists() and "2 downloaded" in second.output


def _truncated(files: dict[str, bytes]) -> bytes:
    return files["survey.jsonl"].rstrip(b"\n")[:-10] + b"\n"  # the last line cut short


def _html(files: dict[str, bytes]) -> bytes:
    return b"<!DOCTYPE html>\n<html><body>Sign in to continue</body></html>\n"  # a proxy's page


def _other_file(files: dict[str, bytes]) -> bytes:
    return files["survey.jsonl"]  # valid JSON, the wrong schema


@pytest.mark.parametrize(
    ("name", "corrupt", "problem"),
    [
        ("survey.jsonl", _truncated, "field '<line>': not valid JSON"),
        ("metadata.jsonl", _html, "metadata.jsonl line 1: field '<line>': not valid JSON"),
        ("conversations.jsonl", _other_file, "field 'conversation_id': missing"),
    ],
)
def test_a_corrupt_file_is_a_clear_error_and_is_moved_aside(
    file_server: FileServer, served: dict[str, bytes], tmp_path: Path,
    name: str, corrupt: Callable[[dict[str, bytes]], bytes], problem: str,
) -> None:  # fmt: skip
    out = tmp_path / "prism"
    file_server.files[MIRROR_PATH + name] = corrupt(served)
    result = _download(out, file_server)
    _assert_clean_failure(result)
    assert problem in result.output and f"{name} line" in result.output
    assert f"{name} does not match the PRISM schema" in result.output
    assert f"Moved aside as {out / (name + INVALID_SUFFIX)}" in result.output
    assert "running the command again downloads it afresh" in result.output
    assert (out / (name + INVALID_SUFFIX)).exists() and not (out / name).exists()
    assert not (out / SUMS_FILE).exists()

    # Once the source serves the right file, a rerun fetches only that one.
    file_server.files[MIRROR_PATH + name] = served[name]
    before = len(file_server.requests)
    fixed = _download(out, file_server)
    assert fixed.exit_code == 0, fixed.output
    assert file_server.requests[before:] == [(MIRROR_PATH + name, None)]
    assert (out / SUMS_FILE).read_text().count("\n") == len(PRISM_FILES)


def test_a_file_changed_on_disk_is_refused_and_kept(
    file_server: FileServer, served: dict[str, bytes], tmp_path: Path
) -> None:
    out = tmp_path / "prism"
    assert _download(out, file_server).exit_code == 0
    with (out / "survey.jsonl").open("ab") as f:
        f.write(b"\n")
    requests = len(file_server.requests)
    result = _download(out, file_server)
    _assert_clean_failure(result)
    assert f"{out / 'survey.jsonl'} changed since it was downloaded" in result.output
    assert f"Delete {out / 'survey.jsonl'} and run the command again" in result.output
    assert len(file_server.requests) == requests and (out / "survey.jsonl").exists()


def test_a_file_changed_upstream_is_noted_and_recorded(
    file_server: FileServer, served: dict[str, bytes], tmp_path: Path
) -> None:
    out = tmp_path / "prism"
    assert _download(out, file_server).exit_code == 0
    (out / "survey.jsonl").unlink()
    newer = served["survey.jsonl"] + b"\n"  # still valid: blank lines are skipped
    file_server.files[MIRROR_PATH + "survey.jsonl"] = newer
    result = _download(out, file_server)
    assert result.exit_code == 0, result.output
    assert "survey.jsonl: differs from the sha256 recorded before" in result.output
    assert f"{hashlib.sha256(newer).hexdigest()}  survey.jsonl\n" in (out / SUMS_FILE).read_text()


def test_http_and_folder_errors_are_one_line(file_server: FileServer, tmp_path: Path) -> None:
    missing = _download(tmp_path / "a", file_server)  # the server has no files: 404
    _assert_clean_failure(missing)
    assert missing.output.strip() == (
        f"error: {file_server.url}{MIRROR_PATH}conversations.jsonl: HTTP 404 Not Found"
    )
    refused = CliRunner().invoke(app, [
        "prism", "download", "--out", str(tmp_path / "b"), "--mirror", "http://127.0.0.1:9",
        "--no-progress",
    ])  # fmt: skip
    _assert_clean_failure(refused)
    assert refused.output.startswith(f"error: http://127.0.0.1:9{MIRROR_PATH}conversations.jsonl")
    assert refused.output.strip().count("\n") == 0
    (tmp_path / "a-file").write_text("not a folder")
    unwritable = _download(tmp_path / "a-file", file_server)
    _assert_clean_failure(unwritable)
    assert unwritable.output.startswith(f"error: cannot write the release to {tmp_path / 'a-file'}")
