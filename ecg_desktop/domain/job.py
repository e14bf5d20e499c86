"""The job and its state machine.

``status`` is the seed's coarse state (what ``GET /status`` answers); ``stage`` is the finer
step the desktop shows. A terminal status never changes again; progress never goes down.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

from .errors import ErrorCode, IllegalTransition


class JobStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED})


class Stage(StrEnum):
    """Where a job is inside its status, finer than the seed's four values."""

    QUEUED = "queued"
    UPLOADING = "uploading"
    UPLOADED = "uploaded"
    DISPATCHING = "dispatching"
    ANALYZING = "analyzing"
    DONE = "done"


_ALLOWED: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.PENDING: frozenset({JobStatus.PROCESSING, JobStatus.FAILED, JobStatus.CANCELED}),
    JobStatus.PROCESSING: frozenset(
        {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED}
    ),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELED: frozenset(),
}


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class UploadState:
    """What a restarted app needs to resume a multipart upload."""

    upload_id: str | None
    part_size: int
    file_size: int
    file_mtime_ns: int
    parts: dict[int, str] = field(default_factory=dict)  # part number -> ETag

    def with_part(self, number: int, etag: str) -> UploadState:
        return replace(self, parts={**self.parts, number: etag})

    @property
    def bytes_done(self) -> int:
        if not self.parts:
            return 0
        last = (self.file_size - 1) // self.part_size + 1 if self.file_size else 1
        full = sum(1 for n in self.parts if n != last)
        tail = self.file_size - (last - 1) * self.part_size if last in self.parts else 0
        return full * self.part_size + tail


@dataclass(frozen=True, slots=True)
class DispatchOptions:
    """What the user asked of the analysis besides the language (PROTOCOL.md 2.1's optional
    fields): kept with the job, so a resumed job or a retry asks the same."""

    transcript: str | None = None  # a known script: forced alignment instead of recognition
    min_speakers: int | None = None
    max_speakers: int | None = None
    model: str | None = None  # a Whisper model name; None: the ML server's default

    def request_fields(self) -> dict[str, str | int]:
        """The fields to add to the ML request (the ones that are set)."""
        return {
            name: value
            for name in ("transcript", "min_speakers", "max_speakers", "model")
            if (value := getattr(self, name)) is not None
        }


@dataclass(slots=True)
class Job:
    job_id: uuid.UUID
    status: JobStatus = JobStatus.PENDING
    stage: Stage = Stage.QUEUED
    progress: int = 0
    message: str = ""
    file_key: str | None = None
    video_url: str | None = None
    filename: str = ""
    local_path: str | None = None
    size_bytes: int | None = None
    content_type: str | None = None
    duration_s: float | None = None
    language: str = "auto"
    error_code: ErrorCode | None = None
    error_message: str | None = None
    upload: UploadState | None = None
    owner: str = ""
    host: str = ""
    speakers: int | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    dispatched_at: datetime | None = None
    completed_at: datetime | None = None
    last_callback_at: datetime | None = None
    retry_of: uuid.UUID | None = None
    options: DispatchOptions = DispatchOptions()
    ml_server: str = ""  # the base URL of the ML server that took the job ("" not yet known)
    installation: str = ""  # the installation working on it (app/installation.py); "" older
    # The store's row version, raised by one with each committed change: the order of a job's
    # changes across writers (their clocks, and so updated_at, may disagree).
    version: int = 0

    @classmethod
    def new(cls, **fields: object) -> Job:
        return cls(job_id=uuid.uuid4(), **fields)  # type: ignore[arg-type]

    # -- moves of the state machine -------------------------------------------------------

    def _move(self, status: JobStatus) -> None:
        if status == self.status:
            return
        if status not in _ALLOWED[self.status]:
            raise IllegalTransition(f"job {self.job_id}: {self.status} -> {status} is not allowed")
        self.status = status

    def _require_open(self, action: str) -> None:
        if self.status.is_terminal:
            raise IllegalTransition(f"job {self.job_id} is {self.status}; cannot {action}")

    def _touch(self) -> None:
        self.updated_at = utcnow()

    def start_upload(self, file_key: str, upload: UploadState) -> None:
        """Uploading to ``file_key``; ``upload`` stays set until the object is complete."""
        self._require_open("upload")
        self.stage = Stage.UPLOADING
        self.file_key = file_key
        self.upload = upload
        self._touch()

    def record_part(self, number: int, etag: str) -> None:
        self._require_open("record an uploaded part")
        if self.upload is None:
            raise IllegalTransition(f"job {self.job_id} has no upload in progress")
        self.upload = self.upload.with_part(number, etag)
        self._touch()

    def mark_uploaded(self, file_key: str) -> None:
        self._require_open("finish its upload")
        self.file_key = file_key
        self.stage = Stage.UPLOADED
        self.upload = None
        self._touch()

    def start_dispatch(self) -> None:
        self._require_open("be dispatched")
        self._move(JobStatus.PROCESSING)
        self.stage = Stage.DISPATCHING
        self._touch()

    def mark_dispatched(self, video_url: str | None = None) -> None:
        self._require_open("be dispatched")
        self._move(JobStatus.PROCESSING)
        self.stage = Stage.ANALYZING
        self.video_url = video_url or self.video_url
        self.dispatched_at = self.last_callback_at = utcnow()
        self._touch()

    def report_progress(self, progress: int, message: str | None = None) -> None:
        """A ``processing`` callback: progress only rises, the stage message is kept."""
        self._require_open("report progress")
        if not 0 <= progress <= 100:
            raise ValueError(f"progress {progress} outside 0-100")
        self._move(JobStatus.PROCESSING)
        self.stage = Stage.ANALYZING
        self.progress = max(self.progress, progress)
        if message is not None:
            self.message = message
        self.last_callback_at = utcnow()
        self._touch()

    def complete(self, speakers: int | None = None, message: str = "Completed") -> None:
        self._require_open("complete")
        self._move(JobStatus.COMPLETED)
        self.stage = Stage.DONE
        self.progress = 100
        self.message = message
        self.speakers = speakers
        self.completed_at = self.last_callback_at = utcnow()
        self._touch()

    def fail(self, code: ErrorCode, message: str) -> None:
        self._require_open("fail")
        self._move(JobStatus.FAILED)
        self.error_code = code
        self.error_message = message
        self.completed_at = utcnow()
        self._touch()

    def cancel(self) -> None:
        self._require_open("be canceled")
        self._move(JobStatus.CANCELED)
        self.message = "Canceled"
        self.completed_at = utcnow()
        self._touch()

    def retry(self, *, completed_too: bool = False) -> Job:
        """A new job that redoes this failed or canceled one from the step that failed
        (``completed_too``: or a completed one, analysed again with other settings).

        Terminal states never change, so a retry is a new job (with a new id, so a late
        callback for the old attempt cannot touch it). It keeps the stored object, so a
        job whose upload finished is dispatched again without uploading.
        """
        retryable = (JobStatus.FAILED, JobStatus.CANCELED) + (
            (JobStatus.COMPLETED,) if completed_too else ())
        if self.status not in retryable:
            raise IllegalTransition(
                f"job {self.job_id} is {self.status}; only failed or canceled jobs retry"
            )
        uploaded = self.file_key is not None and self.upload is None
        return replace(
            self,
            job_id=uuid.uuid4(),
            status=JobStatus.PENDING,
            stage=Stage.UPLOADED if uploaded else Stage.QUEUED,
            progress=0,
            message="Retry",
            error_code=None,
            error_message=None,
            video_url=None,
            speakers=None,
            created_at=utcnow(),
            updated_at=utcnow(),
            dispatched_at=None,
            completed_at=None,
            last_callback_at=None,
            retry_of=self.job_id,
            ml_server="",
        )
