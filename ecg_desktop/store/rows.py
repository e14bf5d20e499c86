"""Conversions between domain objects and table rows (no I/O)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ecg_desktop.domain import (
    DispatchOptions,
    ErrorCode,
    Job,
    JobStatus,
    Segment,
    Stage,
    Transcript,
    UploadState,
    Word,
)
from ecg_desktop.domain.job import utcnow

from .packed import pack_words, segments_of, unpack_words

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# Job attributes stored as they are, each in the column of its name (also ``jobs --json``).
PLAIN_JOB_FIELDS = (
    "filename", "file_key", "video_url", "local_path", "size_bytes", "content_type",
    "duration_s", "language", "owner", "host", "speakers",
)


def plain_job_fields(job: Job) -> dict[str, Any]:
    return {name: getattr(job, name) for name in PLAIN_JOB_FIELDS}


def job_to_row(job: Job) -> dict[str, Any]:
    upload = job.upload
    return {
        "job_id": job.job_id,
        "status": job.status.value,
        "progress": job.progress,
        "error_message": job.error_message,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "stage": job.stage.value,
        "message": job.message,
        "error_code": job.error_code.value if job.error_code else None,
        **plain_job_fields(job),
        "upload_id": upload.upload_id if upload else None,
        "upload_part_size": upload.part_size if upload else None,
        "upload_file_size": upload.file_size if upload else None,
        "upload_file_mtime_ns": upload.file_mtime_ns if upload else None,
        "upload_parts": (
            json.dumps({str(n): etag for n, etag in sorted(upload.parts.items())})
            if upload
            else None
        ),
        "dispatched_at": job.dispatched_at,
        "completed_at": job.completed_at,
        "last_callback_at": job.last_callback_at,
        "retry_of": job.retry_of,
        "dispatch_options": _options_json(job.options),
        "ml_server": job.ml_server or None,
        "installation": job.installation or None,
    }


def _options_json(options: DispatchOptions) -> str | None:
    fields = options.request_fields()
    return json.dumps(fields, ensure_ascii=False) if fields else None


def _options_of(text: str | None) -> DispatchOptions:
    if not text:
        return DispatchOptions()
    fields = json.loads(text)
    return DispatchOptions(
        transcript=fields.get("transcript"),
        min_speakers=fields.get("min_speakers"),
        max_speakers=fields.get("max_speakers"),
        model=fields.get("model"),
    )


def changed_row(
    row: Mapping[Any, Any], change: Callable[[Job], None]
) -> tuple[Job, dict[str, Any]]:
    """The job of a locked ``jobs`` row with ``change`` applied (which raises on an illegal
    move), and the values to write back: every column but the key, the version raised."""
    job = row_to_job(row)
    change(job)
    # Never before the last change (a writer's clock may be behind); the order of changes is
    # the version's, not this time's.
    job.updated_at = max(job.updated_at, utcnow())
    values = job_to_row(job)
    del values["job_id"]
    values["version"] = job.version = row["version"] + 1
    return job, values


def _upload_of(row: Mapping[Any, Any]) -> UploadState | None:
    if row["upload_part_size"] is None:
        return None
    parts = json.loads(row["upload_parts"] or "{}")
    return UploadState(
        upload_id=row["upload_id"],
        part_size=row["upload_part_size"],
        file_size=row["upload_file_size"] or 0,
        file_mtime_ns=row["upload_file_mtime_ns"] or 0,
        parts={int(n): str(etag) for n, etag in parts.items()},
    )


def _error_code(value: str | None) -> ErrorCode | None:
    if not value:
        return None
    try:
        return ErrorCode(value)
    except ValueError:
        return ErrorCode.UNKNOWN_ERROR


def row_to_job(row: Mapping[Any, Any]) -> Job:
    created = row["created_at"] or row["updated_at"] or _EPOCH
    return Job(
        job_id=row["job_id"],
        status=JobStatus(row["status"]),
        stage=Stage(row["stage"]),
        progress=row["progress"] or 0,
        message=row["message"] or "",
        file_key=row["file_key"],
        video_url=row["video_url"],
        filename=row["filename"] or "",
        local_path=row["local_path"],
        size_bytes=row["size_bytes"],
        content_type=row["content_type"],
        duration_s=row["duration_s"],
        language=row["language"] or "auto",
        error_code=_error_code(row["error_code"]),
        error_message=row["error_message"],
        upload=_upload_of(row),
        owner=row["owner"] or "",
        host=row["host"] or "",
        speakers=row["speakers"],
        created_at=created,
        updated_at=row["updated_at"] or created,
        dispatched_at=row["dispatched_at"],
        completed_at=row["completed_at"],
        last_callback_at=row["last_callback_at"],
        retry_of=row["retry_of"],
        options=_options_of(row["dispatch_options"]),
        ml_server=row["ml_server"] or "",
        installation=row["installation"] or "",
        version=row.get("version") or 0,
    )


# -- transcripts -------------------------------------------------------------------------


SPEAKER_COLUMNS = ("job_id", "speaker_id", "name", "original_name")
SEGMENT_COLUMNS = ("job_id", "idx", "start_s", "end_s", "speaker_id", "text")
WORD_COLUMNS = (
    "job_id", "segment_idx", "idx", "text", "start_s", "end_s", "volume_db", "pitch_hz",
    "spectral_centroid", "confidence",
)


class TranscriptRows:
    """A transcript flattened into tuples (in the ``*_COLUMNS`` order) for bulk inserts.

    ``job_key`` is the job id as the driver binds it (the UUID's hex on SQLite, the UUID
    itself on PostgreSQL): the rows go to the driver's ``executemany`` unprocessed.
    """

    __slots__ = ("features_measured", "metadata", "packed_words", "segments", "speakers", "words")

    def __init__(self, job_key: object, transcript: Transcript) -> None:
        self.metadata = json.dumps(dict(transcript.metadata), default=str)
        self.features_measured = transcript.features_measured
        self.packed_words = pack_words(transcript.segments)
        names = transcript.speaker_names
        self.speakers = [
            (job_key, sid, names.get(sid), names.get(sid)) for sid in transcript.speaker_ids
        ]
        self.segments: list[tuple[object, ...]] = []
        self.words: list[tuple[object, ...]] = []
        for s_idx, segment in enumerate(transcript.segments):
            self.segments.append(
                (job_key, s_idx, segment.start, segment.end, segment.speaker_id, segment.text)
            )
            self.words.extend(
                (job_key, s_idx, w_idx, w.text, w.start, w.end, w.volume_db, w.pitch_hz,
                 w.spectral_centroid, w.confidence)
                for w_idx, w in enumerate(segment.words)
            )


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_field(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def copy_text(rows: Sequence[Sequence[object]]) -> bytes:
    """Rows in PostgreSQL's ``COPY ... FROM STDIN`` text format."""
    lines = ["\t".join(map(_copy_field, row)) for row in rows]
    lines.append("")
    return "\n".join(lines).encode()


def rows_to_transcript(
    metadata_json: str,
    features_measured: bool,
    speaker_rows: Sequence[Sequence[Any]],
    segment_rows: Sequence[Sequence[Any]],
    word_rows: Sequence[Sequence[Any]],
) -> Transcript:
    """Rows (ordered by segment then word index) back into a transcript.

    ``speaker_rows``: (speaker_id, name); ``segment_rows``: (idx, start, end, speaker_id, text);
    ``word_rows``: (segment_idx, text, start, end, volume_db, pitch_hz, centroid, confidence,
    edited).
    """
    words_by_segment: dict[int, list[Word]] = {}
    for seg_idx, text, start, end, volume, pitch, centroid, confidence, edited in word_rows:
        words_by_segment.setdefault(seg_idx, []).append(
            Word(text, start, end, volume, pitch, centroid, confidence, bool(edited))
        )
    segments = tuple(
        Segment(start, end, speaker_id, text, tuple(words_by_segment.get(idx, ())))
        for idx, start, end, speaker_id, text in segment_rows
    )
    names = {sid: name for sid, name in speaker_rows if name}
    return Transcript(segments, json.loads(metadata_json), names, features_measured)


def packed_to_transcript(
    metadata_json: str,
    features_measured: bool,
    speaker_rows: Sequence[Sequence[Any]],
    segment_rows: Sequence[Sequence[Any]],
    packed_words: bytes,
    edited_rows: Sequence[Sequence[Any]],
) -> Transcript:
    """``rows_to_transcript`` with the words from their packed value, the user's corrections
    laid over it. ``edited_rows``: (segment_idx, idx, text) of each corrected word. Raises
    ``PackedWordsError`` (a ``ValueError``) when the value does not fit the rows."""
    counts, words = unpack_words(bytes(packed_words))
    segments = segments_of(segment_rows, counts, words)
    if edited_rows:
        segments = _with_corrections(segments, edited_rows)
    names = {sid: name for sid, name in speaker_rows if name}
    return Transcript(segments, json.loads(metadata_json), names, features_measured)


def _with_corrections(
    segments: tuple[Segment, ...], edited_rows: Sequence[Sequence[Any]]
) -> tuple[Segment, ...]:
    fixes: dict[int, dict[int, str]] = {}
    for seg_idx, idx, text in edited_rows:
        fixes.setdefault(seg_idx, {})[idx] = text
    out = list(segments)
    for seg_idx, texts in fixes.items():
        segment = out[seg_idx]
        words = list(segment.words)
        for idx, text in texts.items():
            words[idx] = replace(words[idx], text=text, edited=True)
        out[seg_idx] = replace(segment, words=tuple(words))
    return tuple(out)
