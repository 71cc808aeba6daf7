"""Fixtures for the analysis tests: small synthetic PRISM releases made by our synth module."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from perspective_local.analysis.synth import synthesize


@pytest.fixture(scope="session")
def small_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40-user synthetic release (files, scores.jsonl, truth.json), shared read-only."""
    out = tmp_path_factory.mktemp("prism_small")
    synthesize(out, users=40, seed=7)
    return out


@pytest.fixture
def release_copy(small_release: Path, tmp_path: Path) -> Path:
    """A private copy of the small release that a test may corrupt."""
    target = tmp_path / "prism"
    shutil.copytree(small_release, target)
    return target
