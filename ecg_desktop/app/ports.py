"""The ports the use cases depend on. Adapters (``store/``, ``storage/``, ``mlclient/``,
``media/``) implement them; ``bootstrap.py`` picks which. Only domain types cross these
interfaces.
"""

from __future__ import annotations

import codecs
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from ecg_desktop.domain import Job, JobStatus, Segment, Transcript, UploadState

# -- job store ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JobQuery:
    status: JobStatus | None = None
    text: str | None = None  # matched against filename and file key
    owner: str | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class ResultRecord:
    """A completed result: the raw payload as received and its normalised form.

    ``raw_json``, when given, is the result's JSON text exactly as it arrived (a slice of the
    callback body); the store keeps it instead of encoding ``raw`` again."""

    raw: Mapping[str, Any]
    transcript: Transcript
    raw_json: str | None = None


def _pairs_to_dict(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A Python-level hook: each call is a point where another thread can take the GIL.
    return dict(pairs)


def parse_json_yielding(body: bytes) -> Any:
    """``json.loads`` that does not hold the GIL for the whole document (for worker threads):
    the text is decoded in slices and objects are built through a Python hook, so the loop's
    thread gets the GIL back between slices and between objects."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    step = 256 * 1024
    text = "".join(decoder.decode(body[i:i + step]) for i in range(0, len(body), step))
    text += decoder.decode(b"", final=True)
    return json.loads(text, object_pairs_hook=_pairs_to_dict)


def result_json_text(raw: Mapping[str, Any]) -> str:
    """``json.dumps(raw)``, one segment at a time.

    The C encoder holds the GIL for a whole call: one call over a 40,000-word result would
    stall the event loop for a good part of a second although it runs in a worker thread.
    """
    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, default=str)

    parts = []
    for key, value in raw.items():
        if isinstance(value, list) and len(value) > 1:
            encoded = "[" + ", ".join(dumps(item) for item in value) + "]"
        else:
            encoded = dumps(value)
        parts.append(f"{dumps(str(key))}: {encoded}")
    return "{" + ", ".join(parts) + "}"


class JobStore(Protocol):
    """Persistent jobs and transcripts. Raises ``JobNotFound``, never a driver error.

    ``update`` is the only way to change a job: it loads the row under a lock (``SELECT ...
    FOR UPDATE`` on PostgreSQL, an immediate transaction on SQLite), applies ``change`` (a
    domain method, which raises on an illegal move and so rolls the transaction back), and
    writes it back, with ``result`` stored in the same transaction. Two concurrent updates
    therefore never interleave, and a terminal job never moves.
    """

    async def add(self, job: Job) -> None: ...

    async def get(self, job_id: uuid.UUID) -> Job: ...

    async def list(self, query: JobQuery = JobQuery()) -> list[Job]: ...

    async def count(self, query: JobQuery = JobQuery()) -> int: ...

    async def update(
        self,
        job_id: uuid.UUID,
        change: Callable[[Job], None],
        *,
        result: ResultRecord | None = None,
    ) -> Job: ...

    async def update_many(
        self, changes: Mapping[uuid.UUID, Callable[[Job], None]]
    ) -> dict[uuid.UUID, Job | Exception]:
        """``update`` of several jobs in one transaction (rows locked in job-id order). Each
        job's answer is its written ``Job``, or the exception its change raised
        (``JobNotFound`` for a missing job): that job is not written, the others are."""
        ...

    @property
    def write_concurrency(self) -> int:
        """How many write transactions are worth running at once (1 for a single-writer
        database; more where concurrent commits share their disk flushes)."""
        ...

    async def delete(self, job_id: uuid.UUID) -> None: ...

    async def get_transcript(self, job_id: uuid.UUID) -> Transcript | None:
        """The transcript with the user's edits applied (speaker names, word fixes)."""
        ...

    async def get_raw_result(self, job_id: uuid.UUID) -> Mapping[str, Any] | None: ...

    async def rename_speaker(self, job_id: uuid.UUID, speaker_id: str, name: str) -> None: ...

    async def merge_speakers(self, job_id: uuid.UUID, source_id: str, target_id: str) -> None: ...

    async def set_word_text(
        self, job_id: uuid.UUID, segment_index: int, word_index: int, text: str
    ) -> None: ...

    async def write_segment_speaker(
        self, job_id: uuid.UUID, segment_index: int, speaker_id: str
    ) -> None: ...

    async def write_segments_speaker(
        self, job_id: uuid.UUID, segment_indices: Sequence[int], speaker_id: str
    ) -> None: ...

    async def replace_segments(
        self, job_id: uuid.UUID, first: int, count: int, segments: Sequence[Segment]
    ) -> None:
        """Segments ``first`` to ``first + count - 1`` become ``segments`` (an edit of
        domain/editing.py); the raw result stays as it was."""
        ...

    def describe(self) -> str:
        """Where the jobs live, for the status bar ("SQLite ~/.../jobs.db", "PostgreSQL host")."""
        ...

    async def close(self) -> None: ...


class JobWriter(Protocol):
    """A blocking connection to the job store for a worker process (no event loop there):
    ``get`` and ``update`` with the same locking and the same rows as ``JobStore``'s."""

    def get(self, job_id: uuid.UUID) -> Job: ...

    def update(
        self,
        job_id: uuid.UUID,
        change: Callable[[Job], None],
        *,
        result: ResultRecord | None = None,
    ) -> Job: ...

    def close(self) -> None: ...


@runtime_checkable
class OffersJobWriter(Protocol):
    """A job store that a worker process can write to itself."""

    def blocking_writer_factory(self) -> Callable[[], JobWriter]:
        """A picklable callable that opens a ``JobWriter`` on this store's database."""
        ...


_Item = TypeVar("_Item")  # what a worker process is given, and what it answers
_Answer = TypeVar("_Answer")


class WorkerDied(Exception):
    """The worker process ended during the work (a crash, the OOM killer): nothing it was
    writing committed, and the next work starts a new process."""


class WorkerProcess(Protocol):
    """A process with its own ``JobWriter`` (``store.result_worker``) for the pure-Python
    work on a big result, which in the app's process would stall the event loop."""

    def start(self) -> None:
        """Start the process now (idempotent): its spawn is paid before the first work."""
        ...

    async def run(self, work: Callable[[JobWriter, _Item], _Answer], item: _Item) -> _Answer:
        """``work(writer, item)`` in the process: a module-level function, a picklable item
        and answer (errors returned as answers: an exception may not unpickle). Raises
        ``WorkerDied``."""
        ...

    async def close(self) -> None:
        """Stop the process once the work in flight has finished."""
        ...


# -- object storage ----------------------------------------------------------------------

ProgressCallback = Callable[[int, int], None]  # (bytes_done, bytes_total)
PartCallback = Callable[[UploadState], Awaitable[None]]  # persist resume state
RestartCallback = Callable[[str], None]  # why a resume was impossible (the upload restarted)


class StorageError(Exception):
    """An object-storage failure, with the server's reason in the message."""


class JobStoreError(Exception):
    """A job store failure (the store's ``StoreError``): the server answers it 503."""


class JobStoreUnavailable(JobStoreError):
    """The job store cannot be reached now (a restart, a network blip): worth trying again.
    The store's ``StoreUnavailable`` is one."""


class ObjectStorage(Protocol):
    """Where videos are kept: S3 / an S3-compatible store, or the embedded local store."""

    async def upload(
        self,
        key: str,
        path: Path,
        content_type: str,
        *,
        resume: UploadState | None = None,
        on_progress: ProgressCallback | None = None,
        on_part: PartCallback | None = None,
        on_restart: RestartCallback | None = None,
    ) -> None:
        """Stream ``path`` to ``key``; resumes from ``resume``'s finished parts when given.

        ``on_part`` gets the new state after each finished part (persist it to resume later).
        When ``resume`` cannot be used (the file's size or mtime changed, or the server no
        longer knows the upload), the old upload is aborted, ``on_restart`` gets the reason
        (for the user), and the upload starts over from the first byte.
        """
        ...

    async def abort(self, key: str, state: UploadState | None) -> None: ...

    async def presign_put(self, key: str, content_type: str, expires_s: int) -> str: ...

    async def presign_get(self, key: str, expires_s: int) -> str: ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...

    def describe(self) -> str: ...

    async def close(self) -> None: ...


# -- ML server ---------------------------------------------------------------------------


class MLError(Exception):
    """A dispatch that failed for good; ``code`` is an ``ErrorCode`` value."""

    def __init__(self, code: str, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.http_status = http_status


class MLServersBusy(MLError):
    """No ML server of a pool can take the job now (each was busy, unreachable or timed
    out): the job waits ``retry_after_s`` and is offered again, instead of failing."""

    def __init__(self, code: str, message: str, *, retry_after_s: float) -> None:
        super().__init__(code, message)
        self.retry_after_s = retry_after_s


# The key an ML client adds to a dispatch answer: the base URL of the server that took the job.
DISPATCHED_TO = "ml_server"


@dataclass(frozen=True, slots=True)
class HealthReport:
    healthy: bool
    status: str  # "healthy", "unhealthy" or "unreachable"
    url: str
    response_time_ms: float | None
    http_status: int | None = None
    response: Any = None
    reason: str | None = None
    servers: tuple[HealthReport, ...] = ()  # one report per server of a pool (else empty)

    @property
    def queue_length(self) -> int | None:
        """Jobs waiting on the server, when its ``/health`` says (the reference analyzer
        does; the original server does not)."""
        value = self.response.get("queue_length") if isinstance(self.response, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class RemoteJobStatus:
    """What the ML server says of a job (PROTOCOL.md 2.3)."""

    status: str  # accepted | processing | completed | failed
    progress: int | None = None
    message: str | None = None
    result: Mapping[str, Any] | None = None
    error_code: str | None = None
    error_message: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


class MLClient(Protocol):
    async def dispatch(
        self,
        job_id: uuid.UUID,
        video_url: str,
        callback_base_url: str,
        language: str,
        **extra: Any,
    ) -> Mapping[str, Any]:
        """Send PROTOCOL.md 2.1's request, retrying as it says; raises ``MLError``."""
        ...

    async def health(self) -> HealthReport: ...

    async def job_status(self, job_id: uuid.UUID) -> RemoteJobStatus | None:
        """The server's view of a job, or ``None`` where it has no record."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class RoutesJobs(Protocol):
    """An ML client that talks to the server which took a job (``Job.ml_server``, from
    ``DISPATCHED_TO`` in the dispatch answer): the HTTP client and the pool of servers."""

    async def job_status_on(self, server: str, job_id: uuid.UUID) -> RemoteJobStatus | None:
        """``job_status`` asked of ``server`` (raises ``MLError`` when it cannot be asked)."""
        ...

    async def cancel_on(self, server: str, job_id: uuid.UUID) -> bool:
        """Ask ``server`` to stop the job; ``True`` when it did, ``False`` when it does not
        know the job, has finished it, or has no cancel (the WhisperX protocol has none).
        Raises ``MLError`` when it cannot be asked."""
        ...

    def can_move_from(self, server: str) -> bool:
        """Whether a job silent on ``server`` may be sent to another server instead."""
        ...


# -- local object files (the local store's signed /storage routes) ------------------------


class LocalStoreError(Exception):
    """A request the local store refuses; ``status`` is the HTTP status that says so and
    ``offset``, when known, where an unfinished upload stands."""

    status = 400

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    path: Path
    size: int
    sha256: str | None  # None only if the app stopped between the rename and the metadata
    content_type: str
    upload_id: str = ""  # of the upload that stored it, so a client can recognise its own


@dataclass(frozen=True, slots=True)
class PartialUpload:
    key: str
    upload_id: str
    offset: int  # bytes received so far
    total: int
    content_type: str


class RangeWriter(Protocol):
    """One byte range of an upload being written (from a worker thread, one call at a time).
    ``write`` and ``close`` raise ``LocalStoreError`` for a disk that refuses the bytes."""

    key: str
    upload_id: str
    position: int
    end: int

    def write(self, chunks: Iterable[bytes]) -> None: ...

    def close(self) -> StoredObject | None:
        """The finished object if this was the last range, else ``None``."""
        ...


class LocalFiles(Protocol):
    """The local object store's files, which the server's ``/storage`` routes serve (blocking
    calls: the routes run them in threads). Every refusal is a ``LocalStoreError``."""

    def verify(self, method: str, key: str, query: Mapping[str, str]) -> str | None:
        """Why a request with this signed query is refused, or ``None``."""
        ...

    def stat(self, key: str) -> StoredObject | None: ...

    def delete(self, key: str) -> None: ...

    def partial(self, key: str) -> PartialUpload | None: ...

    def write_range(
        self, key: str, start: int, end: int, total: int, content_type: str
    ) -> RangeWriter: ...


# -- media files -------------------------------------------------------------------------


class InvalidInputFile(ValueError):
    """A file the pipeline refuses; the message is meant for the user."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path.name}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What the check of a local video or audio file found (``InspectsMedia``)."""

    path: Path
    size_bytes: int
    mtime_ns: int
    content_type: str
    duration_s: float | None
    has_video: bool
    audio_codec: str


class InspectsMedia(Protocol):
    """Checks a local file before anything is uploaded (``media.probe.inspect_media``)."""

    async def __call__(self, path: Path, /) -> MediaInfo:
        """The file's facts; raises ``InvalidInputFile`` saying what is wrong with it."""
        ...


# -- job locks ---------------------------------------------------------------------------


class JobLocks(Protocol):
    """Which process works on a job: the window, ``serve`` and ``process`` may share a store,
    and a pipeline runs a job only while it holds the job's lock (``store.job_locks``)."""

    def acquire(self, job_id: uuid.UUID) -> bool:
        """Take the job's lock without waiting; ``False`` when someone holds it."""
        ...

    def release(self, job_id: uuid.UUID) -> None: ...


# -- metrics -----------------------------------------------------------------------------


class MetricsSink(Protocol):
    """What the use cases count (``app.metrics.Metrics`` satisfies it)."""

    def inc(self, name: str, amount: float = 1.0, **labels: object) -> None: ...

    def observe(self, name: str, value: float, **labels: object) -> None: ...


class NullMetrics:
    """Counts nothing (a pipeline built without metrics)."""

    def inc(self, name: str, amount: float = 1.0, **labels: object) -> None:
        pass

    def observe(self, name: str, value: float, **labels: object) -> None:
        pass
