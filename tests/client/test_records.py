import json
from pathlib import Path

import pytest

from perspective_local.client.records import (
    CsvWriter,
    JsonlWriter,
    ParquetWriter,
    RecordError,
    count_records,
    detect_format,
    drop_torn_last_line,
    partial_path,
    read_records,
    written_ids,
)


def test_format_from_suffix_or_flag() -> None:
    assert detect_format("a.jsonl", None) == "jsonl"
    assert detect_format("a.CSV", None) == "csv"
    assert detect_format("a.parquet", None) == "parquet"
    assert detect_format("-", None) == "jsonl"
    assert detect_format("a.txt", "csv") == "csv"
    with pytest.raises(RecordError, match="Cannot tell the format"):
        detect_format("a.txt", None)
    with pytest.raises(RecordError, match="Unknown format 'xml'"):
        detect_format("a.jsonl", "xml")


def test_jsonl_reader_reports_line_numbers_of_unparseable_lines(write_jsonl) -> None:  # type: ignore[no-untyped-def]
    path = write_jsonl("in.jsonl", [{"text": "a"}, "{broken", "", "[1, 2]", {"text": "b"}])
    records = list(read_records(str(path), "jsonl"))
    assert [(r.position, r.fields is not None) for r in records] == [
        (1, True), (2, False), (4, False), (5, True)
    ]  # fmt: skip
    assert "invalid JSON" in (records[1].error or "")
    assert records[2].error == "expected a JSON object, got list"
    assert count_records(str(path), "jsonl") == 4


def test_csv_reader_gives_physical_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('id,text\n1,"two\nlines"\n2,plain\n3,a,extra\n', encoding="utf-8")
    records = list(read_records(str(path), "csv"))
    assert [r.position for r in records] == [3, 4, 5]
    assert records[0].fields == {"id": "1", "text": "two\nlines"}
    assert records[2].error == "more values than header columns"


def test_missing_input_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="does not exist"):
        list(read_records(str(tmp_path / "nope.jsonl"), "jsonl"))


def test_csv_writer_flattens_scores_and_appends_under_one_header(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    writer = CsvWriter(str(path))
    writer.write([{"id": 1, "text": "a", "scores": {"TOXICITY": 0.5}, "meta": {"k": 1}}])
    writer.close()
    writer = CsvWriter(str(path))
    writer.write([{"id": 2, "text": "b", "scores": {"TOXICITY": 0.25}, "meta": {"k": 2}}])
    with pytest.raises(RecordError, match="fields \\['surprise'\\]"):
        writer.write([{"id": 3, "text": "c", "scores": {"TOXICITY": 0.1}, "surprise": 1}])
    writer.close()
    lines = path.read_text().splitlines()
    assert lines[0] == "id,text,scores.TOXICITY,meta"
    assert lines[1:] == ['1,a,0.5,"{""k"": 1}"', '2,b,0.25,"{""k"": 2}"']
    assert written_ids(str(path), "csv", "id") == {"1", "2"}


def test_parquet_writer_checkpoints_then_merges_with_existing_output(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    path = tmp_path / "out.parquet"
    writer = ParquetWriter(str(path))
    writer.write([{"id": "a", "scores": {"TOXICITY": 0.5}}])
    assert written_ids(str(path), "parquet", "id") == {"a"}  # from the checkpoint
    writer.close()
    assert not partial_path(path).exists()
    writer = ParquetWriter(str(path))
    writer.write([{"id": "b", "scores": {"TOXICITY": 0.25}}])
    writer.close()
    rows = pq.read_table(path).to_pylist()
    assert rows == [
        {"id": "a", "scores": {"TOXICITY": 0.5}},
        {"id": "b", "scores": {"TOXICITY": 0.25}},
    ]
    with pytest.raises(RecordError, match="needs a file path"):
        ParquetWriter("-")


def test_a_torn_last_line_is_cut_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text('{"id": 1}\n{"id": 2, "sco', encoding="utf-8")
    assert written_ids(str(path), "jsonl", "id") == {"1"}
    drop_torn_last_line(path)
    writer = JsonlWriter(str(path))
    writer.write([{"id": 2}])
    writer.close()
    assert [json.loads(line) for line in path.read_text().splitlines()] == [{"id": 1}, {"id": 2}]
