"""Joining a scores file onto PRISM responses: study columns, and errors or counted skips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from perspective_local.analysis.prism import load_prism
from perspective_local.analysis.scores import (
    ScoresError,
    attach_scores,
    read_scores_file,
    texts_to_score,
)
from perspective_local.analysis.terms import PREDICTORS, human


def test_attach_adds_study_columns(small_release: Path) -> None:
    data = load_prism(small_release)
    scores = read_scores_file(small_release / "scores.jsonl")
    table = attach_scores(data, scores)
    for term in PREDICTORS:
        assert table[term].between(0, 1).all()
        assert table[human(term)].between(0, 1).all()
    row = table.iloc[0]
    raw = scores.by_text[row["response"]]
    expected = raw["REASONING_EXPERIMENTAL"] * raw["NUANCE_EXPERIMENTAL"]
    assert row["REASONING_NUANCE"] == pytest.approx(expected)
    prompt = scores.by_text[row["prompt"]]
    assert row[human("TOXICITY")] == pytest.approx(prompt["TOXICITY"])
    assert scores.model_versions == ("synthetic-prism-v1",)


def test_empty_string_rows_are_dropped_and_counted(small_release: Path) -> None:
    data = load_prism(small_release)
    empty = int(data.responses["empty_response"].sum())
    assert empty > 0
    table = attach_scores(data, read_scores_file(small_release / "scores.jsonl"))
    assert len(table) == len(data.responses) - empty
    assert data.report.counts["responses dropped: prompt or response is EMPTY STRING"] == empty
    assert "EMPTY STRING" not in set(texts_to_score(data))


def _drop_scores(release: Path, n: int) -> list[str]:
    path = release / "scores.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    removed = [r["text"] for r in records[-n:]]
    path.write_text("".join(json.dumps(r) + "\n" for r in records[:-n]))
    return removed


def test_missing_scores_are_an_error(release_copy: Path) -> None:
    _drop_scores(release_copy, 3)
    data = load_prism(release_copy)
    with pytest.raises(ScoresError, match=r"3 texts have no scores .*--allow-missing-scores"):
        attach_scores(data, read_scores_file(release_copy / "scores.jsonl"))


def test_missing_scores_can_be_skipped_with_a_count(release_copy: Path) -> None:
    removed = set(_drop_scores(release_copy, 3))
    data = load_prism(release_copy)
    affected = int(
        (data.responses["response"].isin(removed) | data.responses["prompt"].isin(removed)).sum()
    )
    table = attach_scores(data, read_scores_file(release_copy / "scores.jsonl"), allow_missing=True)
    assert not table["response"].isin(removed).any()
    assert data.report.counts["responses dropped: text missing from scores"] == affected


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda r: r["scores"].pop("RESPECT_EXPERIMENTAL"),
            r"line 2: field 'scores.RESPECT_EXPERIMENTAL': missing",
        ),
        (
            lambda r: r["scores"].update(TOXICITY=1.7),
            r"line 2: field 'scores.TOXICITY': 1.7 is not a probability",
        ),
        (lambda r: r.pop("text"), r"line 2: field 'text'"),
    ],
)
def test_malformed_scores_file(release_copy: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    path = release_copy / "scores.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    edit(records[1])
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(ScoresError, match=message):
        read_scores_file(path)


def test_missing_scores_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="scores file"):
        read_scores_file(tmp_path / "nope.jsonl")


def test_texts_to_score_are_distinct(small_release: Path) -> None:
    texts = texts_to_score(load_prism(small_release))
    assert len(texts) == len(set(texts))
    assert np.all([isinstance(t, str) and t for t in texts])
