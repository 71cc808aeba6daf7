import json
from pathlib import Path
from typing import Any

import pytest

from perspective_local.client.batch import BadRecordError, ScoreJob, run_job
from perspective_local.models.backend import Backend


@pytest.fixture(scope="module")
def backend(tiny_scorer: Any) -> Backend:
    return tiny_scorer  # type: ignore[no-any-return]


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _job(src: Path, out: Path, **kwargs: Any) -> ScoreJob:
    return ScoreJob(str(src), str(out), "jsonl", "jsonl", forward_batch_windows=4, **kwargs)


def test_scores_every_record_keeping_its_fields(write_jsonl, backend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = write_jsonl("in.jsonl", [{"id": "a", "text": "hello there", "lang": "en"},
                                   {"text": "You are an idiot."}])  # fmt: skip
    out = tmp_path / "out.jsonl"
    report = run_job(_job(src, out, attributes=("TOXICITY", "INSULT")), backend)
    rows = _read(out)
    assert report.scored == 2 and not report.bad
    assert rows[0]["id"] == "a" and rows[0]["lang"] == "en"
    assert rows[1]["id"] == 2  # no id: the line number stands in
    assert set(rows[0]["scores"]) == {"TOXICITY", "INSULT"}
    assert rows[0]["model_version"] == "tiny-test@0.1.0"
    assert rows[1]["scores"]["TOXICITY"] > rows[0]["scores"]["TOXICITY"]


def test_bad_records_are_reported_by_line_and_skipped(write_jsonl, backend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = write_jsonl(
        "in.jsonl",
        [{"text": "fine"}, {"id": 7}, {"text": 12}, {"text": "   "}, "not json", {"text": "ok"}],
    )
    out = tmp_path / "out.jsonl"
    seen: list[str] = []
    report = run_job(_job(src, out), backend, on_bad=lambda bad: seen.append(str(bad)))
    assert [r["id"] for r in _read(out)] == [1, 6]
    assert seen == [
        "record at line 2: missing field 'text'",
        "record at line 3: field 'text' must be a string, got int",
        "record at line 4: field 'text' is empty",
        "record at line 5: invalid JSON: Expecting value (column 1)",
    ]
    assert report.scored == 2 and len(report.bad) == 4


def test_fail_fast_keeps_what_was_scored_before_the_bad_record(
    write_jsonl, backend, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    src = write_jsonl("in.jsonl", [{"text": "one"}, {"text": "two"}, {"txt": "bad"}, {"text": "x"}])
    out = tmp_path / "out.jsonl"
    with pytest.raises(BadRecordError, match=r"line 3: missing field 'text'.*2 records scored"):
        run_job(_job(src, out, on_bad_record="fail"), backend)
    assert [r["id"] for r in _read(out)] == [1, 2]


def test_a_second_run_resumes_where_the_first_stopped(write_jsonl, backend, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = write_jsonl("in.jsonl", [{"id": i, "text": f"text number {i}"} for i in range(10)])
    out = tmp_path / "out.jsonl"
    first = src.read_text().splitlines()[:4]
    partial = write_jsonl("partial.jsonl", first)
    run_job(_job(partial, out, chunk_size=3), backend)
    report = run_job(_job(src, out, chunk_size=3), backend)
    assert report.already_done == 4 and report.scored == 6
    assert [r["id"] for r in _read(out)] == list(range(10))


def test_csv_in_parquet_out(tmp_path, backend) -> None:  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    src = tmp_path / "in.csv"
    src.write_text("id,text\nx,hello\ny,You are a fool\n", encoding="utf-8")
    out = tmp_path / "out.parquet"
    report = run_job(ScoreJob(str(src), str(out), "csv", "parquet", ("TOXICITY",)), backend)
    rows = pq.read_table(out).to_pylist()
    assert report.scored == 2
    assert [r["id"] for r in rows] == ["x", "y"]
    assert set(rows[0]["scores"]) == {"TOXICITY"}
