"""The job store's port: reads, the one way to change a job, result writes; the worker
process that stores big results; the per-job locks between processes."""

from __future__ import annotations

import codecs
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

from ecg_desktop.domain import Job, JobStatus, Segment, Transcript

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



class JobStoreError(Exception):
    """A job store failure (the store's ``StoreError``): the server answers it 503."""


class JobStoreUnavailable(JobStoreError):
    """The job store cannot be reached now (a restart, a network blip): worth trying again.
    The store's ``StoreUnavailable`` is one."""



# -- job locks ---------------------------------------------------------------------------


class JobLocks(Protocol):
    """Which process works on a job: the window, ``serve`` and ``process`` may share a store,
    and a pipeline runs a job only while it holds the job's lock (``store.job_locks``)."""

    def acquire(self, job_id: uuid.UUID) -> bool:
        """Take the job's lock without waiting; ``False`` when someone holds it."""
        ...

    def release(self, job_id: uuid.UUID) -> None: ...
