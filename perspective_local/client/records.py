"""Record files for batch scoring: read JSONL, CSV or Parquet (or stdin), write them back
with scores, and find which records an earlier, interrupted run already wrote.

Readers yield every record with its position (the line number for JSONL and CSV, the row
number for Parquet) so a bad record can be reported precisely. Writers append and flush
after every chunk, so an interrupted run loses nothing it had written.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, Protocol

Format = Literal["jsonl", "csv", "parquet"]
FORMATS: tuple[Format, ...] = ("jsonl", "csv", "parquet")
STDIO = "-"
_SUFFIXES: dict[str, Format] = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".csv": "csv", ".parquet": "parquet", ".pq": "parquet",
}  # fmt: skip
#: Column prefix for flattened scores in CSV output (``scores.TOXICITY``).
SCORE_COLUMN_PREFIX = "scores."


class RecordError(ValueError):
    """An input or output file that cannot be read or written as asked."""


@dataclass(frozen=True)
class Record:
    """One input record and where it was found."""

    position: int
    fields: dict[str, Any] | None
    #: Why the record could not be parsed at all (``fields`` is then ``None``).
    error: str | None = None


def detect_format(path: str, explicit: str | None) -> Format:
    """The format named by ``explicit``, else by the file suffix; stdin/stdout default to JSONL."""
    if explicit:
        if explicit not in FORMATS:
            raise RecordError(f"Unknown format {explicit!r}; choose one of {', '.join(FORMATS)}.")
        return explicit  # type: ignore[return-value]
    if path == STDIO:
        return "jsonl"
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise RecordError(
            f"Cannot tell the format of {path!r} from its suffix; use .jsonl, .csv or .parquet, "
            "or pass the format explicitly."
        )
    return _SUFFIXES[suffix]


def read_records(path: str, fmt: Format) -> Iterator[Record]:
    """Every record of ``path`` (``-`` for stdin) in order."""
    if fmt == "parquet":
        yield from _read_parquet(path)
        return
    if path == STDIO:
        stream: IO[str] = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
        yield from (_read_jsonl(stream) if fmt == "jsonl" else _read_csv(stream))
        return
    if not Path(path).is_file():
        raise RecordError(f"Input file {path} does not exist.")
    with open(path, encoding="utf-8", errors="replace", newline="") as stream:
        yield from (_read_jsonl(stream) if fmt == "jsonl" else _read_csv(stream))


def count_records(path: str, fmt: Format) -> int | None:
    """A cheap count for the progress bar, or ``None`` when the input is a stream."""
    if path == STDIO:
        return None
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    with open(path, "rb") as stream:
        lines = sum(1 for line in stream if line.strip())
    return lines - 1 if fmt == "csv" else lines


def _read_jsonl(stream: IO[str]) -> Iterator[Record]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Record(number, None, f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(value, dict):
            yield Record(number, None, f"expected a JSON object, got {type(value).__name__}")
            continue
        yield Record(number, value)


def _read_csv(stream: IO[str]) -> Iterator[Record]:
    reader = csv.DictReader(stream)
    for row in reader:
        # reader.line_num is the physical line where the row ended (rows may span lines).
        if None in row:
            yield Record(reader.line_num, None, "more values than header columns")
            continue
        yield Record(reader.line_num, dict(row))


def _read_parquet(path: str) -> Iterator[Record]:
    import pyarrow.parquet as pq

    source: Any = sys.stdin.buffer if path == STDIO else path
    if path != STDIO and not Path(path).is_file():
        raise RecordError(f"Input file {path} does not exist.")
    number = 0
    for batch in pq.ParquetFile(source).iter_batches():
        for row in batch.to_pylist():
            number += 1
            yield Record(number, row)


class RecordWriter(Protocol):
    def write(self, records: list[dict[str, Any]]) -> None: ...
    def close(self) -> None: ...


class JsonlWriter:
    """Appends JSON lines; flushes after every chunk."""

    def __init__(self, path: str) -> None:
        if path != STDIO:
            drop_torn_last_line(Path(path))
        self.stream: IO[str] = (
            sys.stdout if path == STDIO else open(path, "a", encoding="utf-8")  # noqa: SIM115
        )
        self.path = path

    def write(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            self.stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.path != STDIO:
            self.stream.close()


class CsvWriter:
    """Appends CSV rows with scores flattened to ``scores.<ATTRIBUTE>`` columns.

    The header is fixed by the existing file or by the first chunk; a later record with a
    field the header lacks is an error rather than a silently dropped value.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.header: list[str] | None = None
        if path != STDIO and Path(path).is_file() and Path(path).stat().st_size > 0:
            with open(path, encoding="utf-8", newline="") as stream:
                self.header = next(csv.reader(stream), None)
        self.stream: IO[str] = (
            sys.stdout if path == STDIO else open(path, "a", encoding="utf-8", newline="")  # noqa: SIM115
        )
        self.writer: Any = None

    def write(self, records: list[dict[str, Any]]) -> None:
        rows = [flatten_for_csv(r) for r in records]
        if self.header is None:
            self.header = list(dict.fromkeys(key for row in rows for key in row))
            csv.writer(self.stream).writerow(self.header)
        if self.writer is None:
            self.writer = csv.DictWriter(self.stream, fieldnames=self.header)
        for row in rows:
            extra = set(row) - set(self.header)
            if extra:
                raise RecordError(
                    f"Record {row.get('id', '?')} has fields {sorted(extra)} that the CSV header "
                    "lacks; write JSONL or Parquet for records with differing fields."
                )
            self.writer.writerow(row)
        self.stream.flush()

    def close(self) -> None:
        if self.path != STDIO:
            self.stream.close()


class ParquetWriter:
    """Collects records in a JSONL checkpoint beside the output, then writes Parquet once.

    Parquet files cannot be appended to, so the checkpoint (``OUTPUT.partial.jsonl``) is
    what makes an interrupted run resumable; records already in an existing OUTPUT are kept.
    """

    def __init__(self, path: str) -> None:
        if path == STDIO:
            raise RecordError("Parquet output needs a file path; use JSONL or CSV for stdout.")
        self.path = Path(path)
        self.checkpoint = partial_path(self.path)
        self.partial = JsonlWriter(str(self.checkpoint))

    def write(self, records: list[dict[str, Any]]) -> None:
        self.partial.write(records)

    def close(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.partial.close()
        records = _read_parquet_rows(self.path) if self.path.exists() else []
        records += [r.fields for r in read_records(str(self.checkpoint), "jsonl") if r.fields]
        try:
            table = pa.Table.from_pylist(records)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise RecordError(
                f"Cannot write {self.path} as Parquet (records differ in field types: {exc}); "
                f"the scored records are kept in {self.checkpoint}."
            ) from exc
        tmp = self.path.with_name(self.path.name + ".tmp")
        pq.write_table(table, tmp)
        tmp.replace(self.path)
        self.checkpoint.unlink()


def drop_torn_last_line(path: Path) -> None:
    """Cut a last line that a killed run left half-written, so appends start on a new line.

    The torn record's id is not among the written ids, so it is scored again.
    """
    if not path.is_file() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as stream:
        stream.seek(-1, io.SEEK_END)
        if stream.read(1) == b"\n":
            return
        data = path.read_bytes()
        stream.truncate(data.rfind(b"\n") + 1)


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + ".partial.jsonl")


def _read_parquet_rows(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    return rows


def open_writer(path: str, fmt: Format) -> RecordWriter:
    if fmt == "jsonl":
        return JsonlWriter(path)
    if fmt == "csv":
        return CsvWriter(path)
    return ParquetWriter(path)


def flatten_for_csv(record: dict[str, Any]) -> dict[str, Any]:
    """Scores become ``scores.<ATTRIBUTE>`` columns; other nested values become JSON text."""
    row: dict[str, Any] = {}
    for key, value in record.items():
        if key == "scores" and isinstance(value, dict):
            row.update({SCORE_COLUMN_PREFIX + k: v for k, v in value.items()})
        elif isinstance(value, dict | list):
            row[key] = json.dumps(value, ensure_ascii=False)
        else:
            row[key] = value
    return row


def written_ids(path: str, fmt: Format, id_field: str) -> set[str]:
    """Ids of the records an earlier run already wrote to ``path`` (empty if none)."""
    if path == STDIO:
        return set()
    files: list[tuple[Path, Format]] = [(Path(path), fmt)]
    if fmt == "parquet":
        files = [(Path(path), "parquet"), (partial_path(Path(path)), "jsonl")]
    ids: set[str] = set()
    for file, file_fmt in files:
        if not file.is_file() or file.stat().st_size == 0:
            continue
        if file_fmt == "parquet":
            rows = _read_parquet_rows(file)
        else:
            rows = [r.fields for r in read_records(str(file), file_fmt) if r.fields is not None]
        ids.update(str(row[id_field]) for row in rows if row.get(id_field) is not None)
    return ids
