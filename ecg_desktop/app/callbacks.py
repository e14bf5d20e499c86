"""The ML server's callbacks (``POST /api/upload-video/result``, PROTOCOL.md 1.3 and 4).

The handler asks ``open_body(headers, content_length)`` first: a body declared over the limit
is 413, and a request with no signature header at all (unless unsigned callbacks are allowed),
a malformed or a stale one is 401, all before a byte of the body is read. Otherwise it feeds
the body into the returned ``CallbackBody`` as it arrives (hashed into the signature check,
spilled to a file once large; over the limit: 413) and calls ``receive(body, headers)``:

1. a wrong signature: 401 (the body was never parsed); not JSON: 400;
2. a ``webhook-id`` already answered with a 2xx: 200 ``duplicate``, the store untouched;
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

At most ``max_concurrent`` bodies that may be large (declared over ``LARGE_BODY``, or chunked)
are read and handled at once (``large_body_slot``); another waits up to ``SLOT_WAIT_S`` and
is then answered 503 with ``Retry-After``. ``processing`` callbacks are group-committed across
jobs (``progress_writer``). Big bodies go to a worker process when the receiver has one
(``ports.WorkerProcess``; the app always does), which reads the spill file, applies rules 3-8
and stores the result itself (``big_results``); without one they are parsed and normalised in
a thread (``parse_json_yielding`` lets the loop's thread take the GIL back between objects).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from ecg_desktop.app.big_results import handle_in_worker
from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.callback_body import (
    LARGE_BODY,
    CallbackBody,
    remove_stale_spills,
    spill_folder,
)
from ecg_desktop.app.callback_outcomes import (
    BigCallback,
    Checked,
    Ended,
    Missing,
    Rejected,
    Stored,
    TerminalJob,
    WorkerFailed,
    WorkerOutcome,
    completion_change,
    ensure_open,
    failure_change,
    signature_problem,
)
from ecg_desktop.app.callback_schema import (
    MISUSE_HINT,
    CallbackMessage,
    invalid_result_errors,
    looks_like_front_end,
    may_hold_surrogates,
    validate_message,
    without_surrogates,
)
from ecg_desktop.app.metrics import Metrics
from ecg_desktop.app.ports import JobStore, ResultRecord, WorkerProcess, parse_json_yielding
from ecg_desktop.app.progress_writer import ProgressWriter
from ecg_desktop.app.seen_ids import SeenIds
from ecg_desktop.config import ReadsSettings, Settings
from ecg_desktop.domain import (
    ErrorCode,
    InvalidResult,
    Job,
    JobChanged,
    JobNotFound,
    JobStatus,
    normalize,
)
from ecg_desktop.domain.signatures import TOLERANCE_S, SignatureCheck, Verdict

__all__ = ["LARGE_BODY", "Answer", "CallbackBody", "CallbackReceiver", "Rejected", "Stored",
           "WorkerFailed"]

logger = logging.getLogger(__name__)

Answer = tuple[int, dict[str, Any]]

SLOT_WAIT_S = 2.0  # how long a large body waits for a reading slot before a 503
BUSY_RETRY_AFTER_S = 5


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
        result_worker: WorkerProcess | None = None,
        spill_dir: Path | None = None,
    ) -> None:
        self._store = store
        self._bus = bus
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._slots = asyncio.Semaphore(max_concurrent)
        self._seen = SeenIds(2 * TOLERANCE_S, seen_capacity, clock)
        self._freeze_heap = freeze_heap
        self._worker = result_worker
        self._spill_dir = spill_dir or spill_folder(settings.data_dir)
        remove_stale_spills(self._spill_dir)  # a killed run's bodies; never another run's
        self._progress = ProgressWriter(
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

    @property
    def spill_dir(self) -> Path:
        return self._spill_dir

    def _secrets(self) -> list[str]:
        # Several secrets (space or comma separated) let a sender rotate its key.
        raw = self._settings.webhook_secret_key.replace(",", " ")
        return [s for s in raw.split() if s]

    def too_large(self) -> Answer:
        """Rule 1, for a body found over the limit while reading it."""
        return self._reject(413, "too_large", f"body larger than {self.body_limit} bytes")

    def open_body(
        self, headers: Mapping[str, str], content_length: int | None
    ) -> CallbackBody | Answer:
        """What to feed the body into, or the answer that refuses it before it is read."""
        if content_length is not None and content_length > self.body_limit:
            return self.too_large()
        check = SignatureCheck(self._secrets(), headers, now=self._clock())
        early = check.early
        if early is not None and not (early is Verdict.MISSING and self.allows_unsigned):
            problem = signature_problem(early, self.allows_unsigned)
            assert problem is not None
            return self._reject(401, *problem, misuse=looks_like_front_end(headers, None))
        if self._worker is not None:
            self._worker.start()  # spawned once, with the first callback of any kind
        return CallbackBody(check, self.body_limit, self._spill_dir)

    @contextlib.asynccontextmanager
    async def large_body_slot(self, content_length: int | None) -> AsyncIterator[Answer | None]:
        """Hold one of the few slots for a body that may be large while it is read and
        handled; yields ``None``, or the 503 to answer when none frees up in time. A body
        declared small needs no slot."""
        if content_length is not None and content_length <= LARGE_BODY:
            yield None
            return
        try:
            async with asyncio.timeout(SLOT_WAIT_S):
                await self._slots.acquire()
        except TimeoutError:
            self._metrics.inc("callbacks_total", result="rejected", reason="busy")
            yield 503, {"detail": "too many large callbacks at once; send it again shortly",
                        "reason": "busy", "retry_after": BUSY_RETRY_AFTER_S}
            return
        try:
            yield None
        finally:
            self._slots.release()

    async def receive(self, body: CallbackBody, headers: Mapping[str, str]) -> Answer:
        """Rules 1-8 for a body that has arrived whole (see the module docstring)."""
        verdict = body.check.verdict()
        problem = signature_problem(verdict, self.allows_unsigned)
        if problem is not None:
            return self._reject(401, *problem, misuse=looks_like_front_end(headers, None))
        msg_id = body.check.msg_id if verdict is Verdict.VALID else None
        if msg_id is None:
            return await self._handle(body, headers)
        if not await self._seen.claim(msg_id):
            return self._duplicate(msg_id)
        answered = False
        try:
            status, answer = await self._handle(body, headers)
            answered = 200 <= status < 300
            return status, answer
        finally:
            self._seen.release(msg_id, answered=answered)

    async def close(self) -> None:
        """Stop the worker process, if any (in-flight big callbacks finish first)."""
        if self._worker is not None:
            await self._worker.close()

    async def _handle(self, body: CallbackBody, headers: Mapping[str, str]) -> Answer:
        if body.path is not None and self._worker is not None:
            # Rules 3-8 run in the worker process; the loop keeps the counters and events.
            call = BigCallback(headers=dict(headers), body_file=str(body.path))
            return await self._settle(await handle_in_worker(self._worker, call))
        return await self._parse_and_apply(await body.read(), headers)

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

    async def _parse_and_apply(self, body: bytes, headers: Mapping[str, str]) -> Answer:
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
        if may_hold_surrogates(body):  # text no database can store: cleaned, not a 500
            payload, _ = without_surrogates(payload)
        return await self._apply(payload, looks_like_front_end(headers, payload))

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
                job = await self._store.update(message.job_id, failure_change(message))
        except JobNotFound:
            return self._reject(404, "unknown_job", f"job {message.job_id} not found")
        except TerminalJob as terminal:
            self._metrics.inc("callbacks_total", result="ignored", reason="terminal")
            return 200, {"status": f"already_{terminal.status.value}"}
        self._metrics.inc("callbacks_total", result="accepted", reason=message.status)
        if message.status != "processing":  # the progress writer publishes its own writes
            self._count_outcome(job)
            self._bus.publish(JobChanged(job))
        return 200, {"status": "received"}

    async def _complete(self, message: CallbackMessage) -> Answer | Job:
        current = await self._store.get(message.job_id)  # 404 before any heavy work
        ensure_open(current)
        raw = message.result or {}
        try:
            transcript = await asyncio.to_thread(normalize, raw)
        except InvalidResult as invalid:
            return self._reject(422, "invalid_result", "the result does not validate",
                                errors=invalid_result_errors(invalid))
        record = ResultRecord(raw=raw, transcript=transcript)
        return await self._store.update(
            message.job_id, completion_change(message, transcript), result=record
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
