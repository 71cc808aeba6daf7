"""Score a file of records: read, check, score in chunks, append, resume.

Each record needs a non-empty string under the text field. A record without an id gets
its position (line number for JSONL and CSV, row number for Parquet) as ``id``, so that
a second run over the same input skips what the first one wrote. Bad records are
reported with their position and either skipped or, with ``on_bad_record="fail"``, stop
the run after everything scored so far has been written.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from perspective_local.client.records import (
    Format,
    Record,
    RecordError,
    count_records,
    open_writer,
    read_records,
    written_ids,
)

if TYPE_CHECKING:
    from perspective_local.models.backend import Backend

OnBadRecord = Literal["skip", "fail"]
#: Key added to every output record: the model that produced its scores.
MODEL_VERSION_FIELD = "model_version"
SCORES_FIELD = "scores"


@dataclass(frozen=True)
class BadRecord:
    position: int
    reason: str

    def __str__(self) -> str:
        return f"record at line {self.position}: {self.reason}"


class BadRecordError(RecordError):
    """A bad record stopped a run that was asked to fail fast."""

    def __init__(self, bad: BadRecord, written: int) -> None:
        self.bad = bad
        self.written = written
        super().__init__(f"{bad} (stopped; {written} records scored and written before it)")


@dataclass(frozen=True)
class ScoreJob:
    input: str
    output: str
    input_format: Format
    output_format: Format
    attributes: tuple[str, ...] | None = None
    text_field: str = "text"
    id_field: str = "id"
    on_bad_record: OnBadRecord = "skip"
    #: Records scored and written together; also the granularity of resuming.
    chunk_size: int = 256
    #: Token windows per forward pass (``None``: the backend's default).
    forward_batch_windows: int | None = None


@dataclass
class JobReport:
    model_version: str
    scored: int = 0
    already_done: int = 0
    bad: list[BadRecord] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def texts_per_second(self) -> float:
        return self.scored / self.seconds if self.seconds > 0 else 0.0


def check_record(record: Record, text_field: str) -> str | None:
    """Why ``record`` cannot be scored, or ``None`` when it can."""
    if record.fields is None:
        return record.error or "unreadable record"
    if text_field not in record.fields:
        return f"missing field {text_field!r}"
    text = record.fields[text_field]
    if not isinstance(text, str):
        return f"field {text_field!r} must be a string, got {type(text).__name__}"
    if not text.strip():
        return f"field {text_field!r} is empty"
    return None


def total_records(job: ScoreJob) -> int | None:
    return count_records(job.input, job.input_format)


def run_job(
    job: ScoreJob,
    backend: Backend,
    *,
    advance: Callable[[int], None] = lambda n: None,
    on_bad: Callable[[BadRecord], None] = lambda bad: None,
) -> JobReport:
    """Score every record of ``job.input`` not yet in ``job.output``; returns a report."""
    done = written_ids(job.output, job.output_format, job.id_field)
    report = JobReport(model_version=backend.model_version)
    writer = open_writer(job.output, job.output_format)
    pending: list[dict[str, Any]] = []
    started = time.perf_counter()

    def flush() -> None:
        if not pending:
            return
        texts = [r[job.text_field] for r in pending]
        scores_of = backend.score(texts, job.attributes, batch_size=job.forward_batch_windows)
        for record, scores in zip(pending, scores_of, strict=True):
            record[SCORES_FIELD] = scores
            record[MODEL_VERSION_FIELD] = backend.model_version
        writer.write(pending)
        report.scored += len(pending)
        advance(len(pending))
        pending.clear()

    try:
        for record in read_records(job.input, job.input_format):
            reason = check_record(record, job.text_field)
            if reason is not None:
                bad = BadRecord(record.position, reason)
                report.bad.append(bad)
                on_bad(bad)
                advance(1)
                if job.on_bad_record == "fail":
                    flush()
                    raise BadRecordError(bad, report.scored)
                continue
            assert record.fields is not None
            fields = _with_id(record, job.id_field)
            if str(fields[job.id_field]) in done:
                report.already_done += 1
                advance(1)
                continue
            pending.append(fields)
            if len(pending) >= job.chunk_size:
                flush()
        flush()
    finally:
        report.seconds = time.perf_counter() - started
        writer.close()
    return report


def _with_id(record: Record, id_field: str) -> dict[str, Any]:
    assert record.fields is not None
    if record.fields.get(id_field) not in (None, ""):
        return dict(record.fields)
    return {id_field: record.position, **{k: v for k, v in record.fields.items() if k != id_field}}


def score_in_chunks(
    backend: Backend,
    texts: Sequence[str],
    attributes: Sequence[str] | None = None,
    *,
    chunk_size: int = 256,
    progress: bool = False,
    batch_size: int | None = None,
) -> list[dict[str, float]]:
    """Score ``texts`` a chunk at a time, one ``{attribute: probability}`` per text; with
    ``progress``, a progress bar with texts/s goes to stderr. ``batch_size``: token windows
    per forward pass (``None``: the backend's default)."""
    from perspective_local.client.progress import progress_bar

    results: list[dict[str, float]] = []
    with progress_bar(len(texts), "scoring", enabled=progress) as advance:
        for start in range(0, len(texts), chunk_size):
            chunk = texts[start : start + chunk_size]
            results += backend.score(chunk, attributes, batch_size=batch_size).to_dicts()
            advance(len(chunk))
    return results
