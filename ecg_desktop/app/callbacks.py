"""The ML server's callbacks (``POST /api/upload-video/result``, PROTOCOL.md 1.3 and 4).

``CallbackReceiver.receive(body, headers)`` applies the protocol's rules in their order:

1. a body over the limit: 413; not JSON: 400;
2. a missing or wrong signature: 401 (unsigned only when the user allowed it);
3. an invalid message: 422 with the field errors;
4. an unknown job: 404;
5. a terminal job never changes: 200 ``already_completed`` (``_failed``, ``_canceled``);
6. ``processing``: progress only rises, the stage message is kept;
7. ``completed``: the result is normalised (422 when it does not validate) and stored, raw and
   normalised, in the same transaction that completes the job;
8. ``failed``: error code and message stored.

Every check that depends on the job's state runs again inside ``JobStore.update`` (under the
row lock), so two callbacks for one job never interleave and a terminal job cannot move. The
answer is ``(http_status, json_payload)``; the aiohttp handler only moves bytes.

A Standard Webhooks ``webhook-id`` that was already answered with a 2xx is answered again as a
duplicate without touching the store. Ids are remembered in memory for twice the signature
tolerance: an older replay is refused as stale by the timestamp check anyway.

``processing`` callbacks are group-committed across jobs (``_ProgressWriter``): those that
arrive while a write is in flight are written together in one transaction
(``JobStore.update_many``), and each is answered after that transaction commits.

Big bodies (a three-hour transcript is about 8 MB) go to a worker process when the receiver
has one (``callback_worker.ResultWorker``; the app always does): it applies the same rules in
the same order and stores the result itself, so the loop's process does none of the work.
Without one they are verified, parsed and normalised in a worker thread: ``json.loads`` is one
C call that would hold the GIL for its whole run, so the threaded parse goes through a Python
``object_pairs_hook``, which lets the loop's thread take the GIL back between objects.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import logging
import math
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.metrics import Metrics
from ecg_desktop.app.ports import JobStore, ResultRecord, parse_json_yielding
from ecg_desktop.config import ReadsSettings, Settings
from ecg_desktop.domain import (
    ErrorCode,
    InvalidResult,
    Job,
    JobChanged,
    JobNotFound,
    JobStatus,
    Transcript,
    normalize,
)
from ecg_desktop.domain.signatures import (
    TOLERANCE_S,
    WEBHOOK_ID,
    WEBHOOK_SIGNATURE,
    Verdict,
    verify,
)

logger = logging.getLogger(__name__)

Answer = tuple[int, dict[str, Any]]

CALLBACK_STATUSES = ("processing", "completed", "failed")
STATUS_ENDPOINT = "GET /api/upload-video/status/{job_id}"
# Bodies above this are verified, parsed and normalised off the loop.
LARGE_BODY = 256 * 1024


@dataclass(frozen=True, slots=True)
class CallbackMessage:
    """A callback body that passed the schema (rule 3)."""

    job_id: uuid.UUID
    status: str
    progress: int | None
    message: str | None
    result: Mapping[str, Any] | None
    error_code: str | None
    error_message: str | None


def validate_message(payload: Any) -> tuple[CallbackMessage | None, list[dict[str, Any]]]:
    """The message, or the field errors (``[{"loc": [...], "msg": ...}]``) that forbid it."""
    if not isinstance(payload, Mapping):
        return None, [{"loc": [], "msg": "the body must be a JSON object"}]
    errors: list[dict[str, Any]] = []

    def error(field: str, msg: str) -> None:
        errors.append({"loc": ["body", field], "msg": msg})

    job_id = _job_id(payload.get("job_id"), error)
    status = payload.get("status")
    if status is None:
        error("status", "field required")
    elif status not in CALLBACK_STATUSES:
        error("status", f"must be one of {', '.join(CALLBACK_STATUSES)}")
    progress = _progress(payload.get("progress"), error)
    texts: dict[str, str | None] = {}
    for name in ("message", "error_code", "error_message"):
        value = payload.get(name)
        if value is not None and not isinstance(value, str):
            error(name, "must be a string or null")
            value = None
        texts[name] = value
    result = payload.get("result")
    if result is not None and not isinstance(result, Mapping):
        error("result", "must be an object or null")
    elif result is None and status == "completed":
        error("result", "required when status is completed")
    if errors or job_id is None or not isinstance(status, str):
        return None, errors
    return (
        CallbackMessage(
            job_id=job_id,
            status=status,
            progress=progress,
            message=texts["message"],
            result=result,
            error_code=texts["error_code"],
            error_message=texts["error_message"],
        ),
        [],
    )


def _job_id(value: Any, error: Callable[[str, str], None]) -> uuid.UUID | None:
    if value is None:
        error("job_id", "field required")
        return None
    if not isinstance(value, str):
        error("job_id", "must be a string")
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        error("job_id", "not a UUID")
        return None


def _progress(value: Any, error: Callable[[str, str], None]) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        error("progress", "must be a number from 0 to 100")
        return None
    if not 0 <= value <= 100:
        error("progress", f"{value} is outside 0-100")
        return None
    return int(value)


def looks_like_front_end(headers: Mapping[str, str], payload: Any) -> bool:
    """The seed's "front-end misuse" test: a node or browser client, or a body with no status."""
    agent = _header(headers, "User-Agent").lower()
    if agent == "node" or agent.startswith(("node-fetch", "node/", "axios")):
        return True
    if "mozilla/" in agent or _header(headers, "Origin"):
        return True
    return isinstance(payload, Mapping) and "status" not in payload


MISUSE_HINT = {
    "error": "Wrong endpoint: this one is for the ML server's callbacks only.",
    "correct_endpoint": STATUS_ENDPOINT,
    "wrong_endpoint": "POST /api/upload-video/result (ML server webhook only)",
}


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        lower = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lower), "")
    return value


_SPACE = re.compile(r"[ \t\n\r]*")


def loads_keeping_result_text(body: bytes) -> tuple[Any, str | None]:
    """``json.loads(body)``, and the text of the top-level ``"result"`` object exactly as it
    appears in the body (``None`` when there is none), so that it can be stored as received.

    The top-level object is walked key by key with the C scanner (one parse in all); any
    shape it does not expect is left to ``json.loads``, which also gives the usual errors.
    """
    try:
        text = body.decode(json.detect_encoding(body), "surrogatepass")
        payload, spans = _object_with_spans(text)
    except (ValueError, IndexError, RecursionError):
        return json.loads(body), None
    span = spans.get("result")
    if span is None or not isinstance(payload.get("result"), dict):
        return payload, None
    return payload, text[span[0]:span[1]]


def _object_with_spans(text: str) -> tuple[dict[str, Any], dict[str, tuple[int, int]]]:
    decoder = json.JSONDecoder()
    pos = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    if text[pos] != "{":
        raise ValueError("not an object")
    obj: dict[str, Any] = {}
    spans: dict[str, tuple[int, int]] = {}
    pos = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
    if text[pos] == "}":
        pos += 1
    else:
        while True:
            if text[pos] != '"':
                raise ValueError("expected a key")
            key, pos = json.decoder.scanstring(text, pos + 1)  # type: ignore[attr-defined]
            pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
            if text[pos] != ":":
                raise ValueError("expected ':'")
            start = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
            obj[key], end = decoder.raw_decode(text, start)
            spans[key] = (start, end)
            pos = _SPACE.match(text, end).end()  # type: ignore[union-attr]
            if text[pos] == "}":
                pos += 1
                break
            if text[pos] != ",":
                raise ValueError("expected ',' or '}'")
            pos = _SPACE.match(text, pos + 1).end()  # type: ignore[union-attr]
    if _SPACE.match(text, pos).end() != len(text):  # type: ignore[union-attr]
        raise ValueError("extra data")
    return obj, spans


class _TerminalJob(Exception):
    """Raised inside a store update to roll it back: the job already ended."""

    def __init__(self, status: JobStatus) -> None:
        super().__init__(status.value)
        self.status = status


def _ensure_open(job: Job) -> None:
    if job.status.is_terminal:
        raise _TerminalJob(job.status)


# -- what a worker process answers for a big body (see ``callback_worker``) -----------------


@dataclass(frozen=True, slots=True)
class BigCallback:
    """A big callback body and what is needed to check it, sent to the worker process."""

    body: bytes
    headers: dict[str, str]
    secrets: list[str]
    now: float
    allow_unsigned: bool
    check_only: bool = False  # parse and verify only (a replayed ``webhook-id``)
    body_file: str | None = None  # where the body is, when ``body`` is left empty


@dataclass(frozen=True, slots=True)
class Rejected:
    status: int
    reason: str
    detail: str
    errors: list[dict[str, Any]] | None = None
    misuse: bool = False


@dataclass(frozen=True, slots=True)
class Checked:
    """Verified (and, unless ``check_only``, a valid message that the loop applies itself:
    ``processing`` and ``failed``; their ``result`` is dropped)."""

    message: CallbackMessage | None


@dataclass(frozen=True, slots=True)
class Stored:
    job: Job  # completed, its result stored by the worker


@dataclass(frozen=True, slots=True)
class Ended:
    status: JobStatus  # the job was already terminal


@dataclass(frozen=True, slots=True)
class Missing:
    job_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class WorkerFailed:
    reason: str  # the worker crashed or the store failed; nothing was written


WorkerOutcome = Rejected | Checked | Stored | Ended | Missing | WorkerFailed


class BigResultHandler(Protocol):
    """Handles big bodies in another process (``callback_worker.ResultWorker``)."""

    def start(self) -> None: ...

    async def handle(self, call: BigCallback) -> WorkerOutcome: ...

    async def close(self) -> None: ...


def signature_problem(verdict: Verdict, allow_unsigned: bool) -> tuple[str, str] | None:
    """``(reason, detail)`` of a 401 for this verdict (rule 2), or ``None`` when it passes."""
    if verdict is Verdict.VALID or (verdict is Verdict.MISSING and allow_unsigned):
        return None
    return "signature_" + verdict.value, _SIGNATURE_PROBLEMS[verdict]


def invalid_result_errors(invalid: InvalidResult) -> list[dict[str, Any]]:
    return [{**e, "loc": ["body", "result", *e["loc"]]} for e in invalid.errors[:50]]


def webhook_id(headers: Mapping[str, str]) -> str | None:
    """The ``webhook-id`` that ``verify`` would report (a Standard Webhooks signature)."""
    if _header(headers, WEBHOOK_SIGNATURE):
        return _header(headers, WEBHOOK_ID) or None
    return None


class _SeenIds:
    """``webhook-id``s answered with a 2xx, forgotten after ``ttl_s``; at most ``capacity``."""

    def __init__(self, ttl_s: float, capacity: int, clock: Callable[[], float]) -> None:
        self._ttl_s = ttl_s
        self._capacity = capacity
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()
        self._in_flight: dict[str, asyncio.Event] = {}

    def _purge(self) -> None:
        now = self._clock()
        while self._expiry:
            oldest, expires = next(iter(self._expiry.items()))
            if expires > now and len(self._expiry) <= self._capacity:
                break
            del self._expiry[oldest]

    def seen(self, msg_id: str) -> bool:
        self._purge()
        return msg_id in self._expiry

    async def claim(self, msg_id: str) -> bool:
        """Claim ``msg_id`` for processing; ``False`` when it was already answered."""
        while (pending := self._in_flight.get(msg_id)) is not None:
            await pending.wait()
        if self.seen(msg_id):
            return False
        self._in_flight[msg_id] = asyncio.Event()
        return True

    def release(self, msg_id: str, *, answered: bool) -> None:
        if answered:
            self._expiry[msg_id] = self._clock() + self._ttl_s
            self._expiry.move_to_end(msg_id)
            self._purge()
        event = self._in_flight.pop(msg_id, None)
        if event is not None:
            event.set()


class CallbackReceiver(ReadsSettings):
    """The use case behind ``POST /api/upload-video/result``; see the module docstring."""

    def __init__(
        self,
        store: JobStore,
        bus: EventBus,
        settings: Settings,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
        *,
        max_concurrent: int = 4,
        seen_capacity: int = 100_000,
        freeze_heap: bool = True,
        result_worker: BigResultHandler | None = None,
    ) -> None:
        self._store = store
        self._bus = bus
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._slots = asyncio.Semaphore(max_concurrent)
        self._seen = _SeenIds(2 * TOLERANCE_S, seen_capacity, clock)
        self._freeze_heap = freeze_heap
        self._worker = result_worker
        self._progress = _ProgressWriter(
            store,
            on_written=lambda job: bus.publish(JobChanged(job)),
            max_writers=store.write_concurrency,
        )

    @property
    def body_limit(self) -> int:
        return self._settings.callback_body_limit

    @property
    def allows_unsigned(self) -> bool:
        return self._settings.allow_unsigned_callbacks

    def _secrets(self) -> list[str]:
        # Several secrets (space or comma separated) let a sender rotate its key.
        raw = self._settings.webhook_secret_key.replace(",", " ")
        return [s for s in raw.split() if s]

    def too_large(self) -> Answer:
        """Rule 1, for a handler that refuses the body before reading it."""
        return self._reject(413, "too_large", f"body larger than {self.body_limit} bytes")

    async def receive(self, body: bytes, headers: Mapping[str, str]) -> Answer:
        if len(body) > self.body_limit:
            return self.too_large()
        if self._worker is not None:
            self._worker.start()  # spawned once, with the first callback of any kind
        if len(body) <= LARGE_BODY:  # cheap: parsed on the loop, progress group-committed
            return await self._receive(body, headers)
        async with self._slots:  # at most a few big bodies in memory and in work at once
            if self._worker is not None:
                return await self._receive_in_worker(body, headers)
            return await self._receive(body, headers)

    async def close(self) -> None:
        """Stop the worker process, if any (in-flight big callbacks finish first)."""
        if self._worker is not None:
            await self._worker.close()

    async def _receive_in_worker(self, body: bytes, headers: Mapping[str, str]) -> Answer:
        """Rules 1-8 for a big body, run by the worker process in the same order; the loop
        only keeps the ``webhook-id`` bookkeeping, the counters and the events."""
        assert self._worker is not None
        call = BigCallback(body, dict(headers), self._secrets(), self._clock(),
                           self.allows_unsigned)
        msg_id = webhook_id(headers)
        if msg_id is None:
            return await self._settle(await self._worker.handle(call))
        if not await self._seen.claim(msg_id):
            checked = await self._worker.handle(dataclasses.replace(call, check_only=True))
            if not isinstance(checked, Checked):
                return await self._settle(checked)
            return self._duplicate(msg_id)
        answered = False
        try:
            status, answer = await self._settle(await self._worker.handle(call))
            answered = 200 <= status < 300
            return status, answer
        finally:
            self._seen.release(msg_id, answered=answered)

    async def _settle(self, outcome: WorkerOutcome) -> Answer:
        """The answer to what the worker did (or the loop's own move for a small status)."""
        if isinstance(outcome, Rejected):
            return self._reject(outcome.status, outcome.reason, outcome.detail,
                                errors=outcome.errors, misuse=outcome.misuse)
        if isinstance(outcome, Checked):
            assert outcome.message is not None
            return await self._apply_message(outcome.message)
        if isinstance(outcome, Missing):
            return self._reject(404, "unknown_job", f"job {outcome.job_id} not found")
        if isinstance(outcome, Ended):
            self._metrics.inc("callbacks_total", result="ignored", reason="terminal")
            return 200, {"status": f"already_{outcome.status.value}"}
        if isinstance(outcome, WorkerFailed):
            self._metrics.inc("callbacks_total", result="failed", reason="worker")
            logger.error("a big callback was not stored (%s); the ML server will send it again",
                         outcome.reason)
            return 503, {"detail": "the result could not be stored now; send it again",
                         "reason": "worker_failed"}
        self._metrics.inc("callbacks_total", result="accepted", reason="completed")
        self._count_outcome(outcome.job)
        self._bus.publish(JobChanged(outcome.job))
        return 200, {"status": "received"}

    def _duplicate(self, msg_id: str) -> Answer:
        self._metrics.inc("callbacks_total", result="duplicate", reason="webhook_id_seen")
        logger.info("callback %s is a duplicate; answered without changes", msg_id)
        return 200, {"status": "duplicate"}

    async def _receive(self, body: bytes, headers: Mapping[str, str]) -> Answer:
        large = len(body) > LARGE_BODY
        if large and self._freeze_heap:
            # Parsing and normalising a big result allocates hundreds of thousands of objects,
            # which triggers full garbage collections; each scans the whole heap while holding
            # the GIL, stalling the loop for as long as that takes (300+ ms with a few
            # transcripts open). Moving the objects alive now (the app's long-lived state) to
            # the permanent generation is O(1) and leaves those collections only the new
            # objects to scan. The price: cyclic garbage alive at this instant is kept.
            gc.freeze()
        try:
            payload = await asyncio.to_thread(parse_json_yielding, body) if large else (
                json.loads(body)
            )
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            return self._reject(400, "not_json", "the body is not valid JSON")
        front_end = looks_like_front_end(headers, payload)

        verdict, msg_id = await self._verify(body, headers, large)
        problem = signature_problem(verdict, self.allows_unsigned)
        if problem is not None:
            return self._reject(401, *problem, misuse=front_end)
        if msg_id is None:
            return await self._apply(payload, front_end)
        if not await self._seen.claim(msg_id):
            return self._duplicate(msg_id)
        answered = False
        try:
            status, answer = await self._apply(payload, front_end)
            answered = 200 <= status < 300
            return status, answer
        finally:
            self._seen.release(msg_id, answered=answered)

    async def _verify(
        self, body: bytes, headers: Mapping[str, str], large: bool
    ) -> tuple[Verdict, str | None]:
        secrets_ = self._secrets()
        now = self._clock()
        if large:  # hashlib releases the GIL on big buffers: hash them off the loop
            return await asyncio.to_thread(verify, secrets_, body, headers, now=now)
        return verify(secrets_, body, headers, now=now)

    async def _apply(self, payload: Any, front_end: bool) -> Answer:
        message, errors = validate_message(payload)
        if message is None:
            return self._reject(422, "schema", "invalid callback", errors=errors, misuse=front_end)
        return await self._apply_message(message)

    async def _apply_message(self, message: CallbackMessage) -> Answer:
        try:
            if message.status == "processing":
                job = await self._progress.record(message)
            elif message.status == "completed":
                answer_or_job = await self._complete(message)
                if not isinstance(answer_or_job, Job):
                    return answer_or_job
                job = answer_or_job
            else:
                job = await self._store.update(message.job_id, _failure_change(message))
        except JobNotFound:
            return self._reject(404, "unknown_job", f"job {message.job_id} not found")
        except _TerminalJob as terminal:
            self._metrics.inc("callbacks_total", result="ignored", reason="terminal")
            return 200, {"status": f"already_{terminal.status.value}"}
        self._metrics.inc("callbacks_total", result="accepted", reason=message.status)
        if message.status != "processing":  # the progress writer publishes its own writes
            self._count_outcome(job)
            self._bus.publish(JobChanged(job))
        return 200, {"status": "received"}

    async def _complete(self, message: CallbackMessage) -> Answer | Job:
        current = await self._store.get(message.job_id)  # 404 before any heavy work
        _ensure_open(current)
        raw = message.result or {}
        try:
            transcript = await asyncio.to_thread(normalize, raw)
        except InvalidResult as invalid:
            return self._reject(422, "invalid_result", "the result does not validate",
                                errors=invalid_result_errors(invalid))
        record = ResultRecord(raw=raw, transcript=transcript)
        return await self._store.update(
            message.job_id, _completion_change(message, transcript), result=record
        )

    def _count_outcome(self, job: Job) -> None:
        if job.status is JobStatus.COMPLETED:
            self._metrics.inc("jobs_total", outcome="completed", error_code="")
        elif job.status is JobStatus.FAILED:
            code = job.error_code.value if job.error_code else ErrorCode.UNKNOWN_ERROR.value
            self._metrics.inc("jobs_total", outcome="failed", error_code=code)
        if job.status.is_terminal and job.dispatched_at and job.completed_at:
            seconds = (job.completed_at - job.dispatched_at).total_seconds()
            self._metrics.observe("job_processing_seconds", seconds)

    def _reject(
        self,
        status: int,
        reason: str,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        misuse: bool = False,
    ) -> Answer:
        self._metrics.inc("callbacks_total", result="rejected", reason=reason)
        logger.warning("callback rejected (%s): %s", status, reason)
        answer: dict[str, Any] = {"detail": detail, "reason": reason}
        if errors is not None:
            answer["errors"] = errors
        if misuse:
            answer.update(MISUSE_HINT)
        return status, answer


_SIGNATURE_PROBLEMS = {
    Verdict.MISSING: "signature missing: sign with X-Signature-256 or Standard Webhooks headers",
    Verdict.INVALID: "signature does not match the body",
    Verdict.STALE: "webhook-timestamp is more than 5 minutes off",
    Verdict.MALFORMED: "signature headers are malformed",
}


class _ProgressBatch:
    """``processing`` callbacks for one job, merged: applying them one by one would give the
    highest progress and the last stage message, and so does applying the batch once."""

    def __init__(self) -> None:
        self.progress: int | None = None
        self.message: str | None = None
        self.written: asyncio.Future[Job] = asyncio.get_running_loop().create_future()

    def merge(self, message: CallbackMessage) -> None:
        if message.progress is not None:
            self.progress = max(self.progress or 0, message.progress)
        if message.message is not None:
            self.message = message.message

    def change(self, job: Job) -> None:
        _ensure_open(job)
        job.report_progress(max(job.progress, self.progress or 0), self.message)


class _ProgressWriter:
    """Group commit of ``processing`` callbacks across jobs.

    A callback starts a write at once when fewer than ``max_writers`` are in flight; the
    callbacks that arrive (for any job) while the writes are busy are merged per job and
    written by the next one, in one transaction (``JobStore.update_many``). A job is in at
    most one write at a time, so its callbacks are applied in the order they arrived. Each
    callback is answered once the write that includes it has committed: nothing is
    acknowledged before it is durable.
    """

    MAX_JOBS_PER_WRITE = 500

    def __init__(
        self, store: JobStore, on_written: Callable[[Job], None], *, max_writers: int = 1
    ) -> None:
        self._store = store
        self._on_written = on_written
        self._max_writers = max(1, max_writers)
        self._pending: dict[uuid.UUID, _ProgressBatch] = {}
        self._in_flight: set[uuid.UUID] = set()
        self._writers: set[asyncio.Task[None]] = set()

    async def record(self, message: CallbackMessage) -> Job:
        batch = self._pending.get(message.job_id)
        if batch is None:
            batch = self._pending[message.job_id] = _ProgressBatch()
        batch.merge(message)
        self._start_writers()
        return await asyncio.shield(batch.written)

    def _start_writers(self) -> None:
        while len(self._writers) < self._max_writers and self._writable():
            task = asyncio.create_task(self._write())
            self._writers.add(task)
            task.add_done_callback(self._writer_done)

    def _writer_done(self, task: asyncio.Task[None]) -> None:
        self._writers.discard(task)
        self._start_writers()

    def _writable(self) -> bool:
        return any(job_id not in self._in_flight for job_id in self._pending)

    def _take(self) -> dict[uuid.UUID, _ProgressBatch]:
        taken: dict[uuid.UUID, _ProgressBatch] = {}
        for job_id in self._pending:
            if job_id not in self._in_flight:
                taken[job_id] = self._pending[job_id]
                if len(taken) == self.MAX_JOBS_PER_WRITE:
                    break
        for job_id in taken:
            del self._pending[job_id]
        self._in_flight.update(taken)
        return taken

    async def _write(self) -> None:
        while self._writable():
            batches = self._take()
            try:
                outcome = await self._store.update_many(
                    {job_id: batch.change for job_id, batch in batches.items()}
                )
            except asyncio.CancelledError:
                for batch in batches.values():
                    batch.written.cancel()
                raise
            except Exception as exc:  # the store failed: every callback of this write
                for batch in batches.values():
                    batch.written.set_exception(exc)
                continue
            finally:
                self._in_flight.difference_update(batches)
            for job_id, batch in batches.items():
                written = outcome[job_id]
                if isinstance(written, Exception):
                    batch.written.set_exception(written)
                else:
                    batch.written.set_result(written)
                    self._on_written(written)  # one event per job and write


def _completion_change(message: CallbackMessage, transcript: Transcript) -> Callable[[Job], None]:
    def change(job: Job) -> None:
        _ensure_open(job)
        if job.status is JobStatus.PENDING:  # the result overtook the dispatch's own write
            job.report_progress(job.progress)
        job.complete(speakers=len(transcript.speaker_ids), message=message.message or "Completed")

    return change


def _failure_change(message: CallbackMessage) -> Callable[[Job], None]:
    try:
        code = ErrorCode(message.error_code or ErrorCode.UNKNOWN_ERROR)
    except ValueError:
        code = ErrorCode.UNKNOWN_ERROR
    text = message.error_message or message.message or "the ML server reported a failure"
    if code is ErrorCode.UNKNOWN_ERROR and message.error_code not in (None, code.value):
        text = f"{message.error_code}: {text}"

    def change(job: Job) -> None:
        _ensure_open(job)
        job.fail(code, text)

    return change
