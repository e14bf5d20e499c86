"""Big callbacks (a three-hour transcript is about 8 MB of JSON) handled in a worker process.

Parsing, validating, normalising and storing such a body takes hundreds of milliseconds of
pure-Python work. In a thread of the app's process it competes for the GIL with the event
loop (and the GUI drawing on it), and its garbage collections scan the app's whole heap: the
loop stalled for 100 ms and more. So the receiver hands the raw bytes to one worker process
(spawned once, reused), which applies PROTOCOL.md 1.3's rules in the same order as the
in-process path, writes the result with its own connection to the job store (the same
tables, the same row lock, one transaction) and returns only a small outcome; the loop then
counts it and publishes ``JobChanged``.

Recovery hands it, the same way, a completed job's result that it fetched from the ML server
(``store_result``): one path stores every big result.

A worker that dies answers 503 (the ML server sends the callback again); its transaction
never committed, so nothing is half-written. The next big callback starts a new worker.
The ``spawn`` start method is used: forking a process that runs Qt and threads is unsafe.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import json
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from ecg_desktop.app.callback_body import spill
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
)
from ecg_desktop.app.callback_schema import (
    CallbackMessage,
    invalid_result_errors,
    looks_like_front_end,
    may_hold_surrogates,
    validate_message,
    without_surrogates,
)
from ecg_desktop.app.json_spans import loads_keeping_result_text
from ecg_desktop.app.ports import JobStore, JobWriter, OffersJobWriter, ResultRecord
from ecg_desktop.domain import InvalidResult, JobNotFound, normalize

logger = logging.getLogger(__name__)
_Job = TypeVar("_Job")


class ResultWorker:
    """One worker process for big callback bodies. ``start()`` spawns it (idempotent; the
    receiver calls it with the first callback so the spawn and imports are paid early)."""

    def __init__(
        self,
        writer_factory: Callable[[], JobWriter],
        *,
        spill_dir: Path,
        start_method: str = "spawn",
        extra_initializer: Callable[[], None] | None = None,
    ) -> None:
        self._writer_factory = writer_factory
        self._spill_dir = spill_dir
        self._start_method = start_method
        self._extra_initializer = extra_initializer
        self._pool: ProcessPoolExecutor | None = None
        self._warm_up: Future[None] | None = None

    @classmethod
    def for_store(cls, store: JobStore, spill_dir: Path) -> ResultWorker | None:
        """A worker writing to ``store``'s database, or ``None`` when it cannot have one.
        Fetched results are handed to it through files in ``spill_dir``."""
        if isinstance(store, OffersJobWriter):
            return cls(store.blocking_writer_factory(), spill_dir=spill_dir)
        return None

    def start(self) -> None:
        if self._pool is not None:
            return
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context(self._start_method),
            initializer=_init_worker,
            initargs=(self._writer_factory, self._extra_initializer, os.getpid()),
        )
        self._warm_up = self._pool.submit(_ready)  # spawns the process and imports now

    async def ready(self) -> None:
        """Wait until the process has started and imported what it needs."""
        self.start()
        assert self._warm_up is not None
        await asyncio.wrap_future(self._warm_up)

    async def handle(self, call: BigCallback) -> WorkerOutcome:
        """Rules 3-8 for a verified body in ``call.body_file`` (the caller removes the file)."""
        return await self._submit(handle_big_callback, call)

    async def store_result(
        self, job_id: uuid.UUID, result_json: str, message: str | None
    ) -> WorkerOutcome:
        """Store a completed job's result fetched from the ML server (recovery): validated,
        normalised and written with the job's completion in one transaction, as a big
        callback's. ``result_json`` is the result's JSON text."""
        # Through a file written by a thread: write(2) copies it with the GIL released, where
        # pickling megabytes into the pool's pipe would hold the GIL (and so the loop).
        result_file = await asyncio.to_thread(spill, self._spill_dir, result_json.encode())
        try:
            return await self._submit(store_fetched_result,
                                      FetchedResult(job_id, message, str(result_file)))
        finally:
            with contextlib.suppress(OSError):
                result_file.unlink()

    async def _submit(self, work: Callable[[_Job], WorkerOutcome], job: _Job) -> WorkerOutcome:
        self.start()
        pool = self._pool
        assert pool is not None
        try:
            return await asyncio.wrap_future(pool.submit(work, job))
        except BrokenProcessPool as exc:
            logger.error("the result worker process died (%s); a new one will be started", exc)
            self._discard(pool)
            return WorkerFailed("the worker process died")

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        if self._pool is pool:
            self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


# -- in the worker process ---------------------------------------------------------------------


class _WorkerProcess:
    """The worker process's own state: its connection to the job store."""

    writer: JobWriter | None = None


def _init_worker(
    writer_factory: Callable[[], JobWriter], extra: Callable[[], None] | None, parent: int
) -> None:
    die_with_parent(parent)
    _WorkerProcess.writer = writer_factory()
    if extra is not None:
        extra()
    gc.freeze()  # the imported modules: later collections need not scan them


PARENT_CHECK_S = 1.0
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """End this process when ``parent`` does, even by SIGKILL (which runs none of its
    cleanup): on Linux the kernel sends SIGKILL (``PR_SET_PDEATHSIG``); everywhere a daemon
    thread also checks the parent every second. Without this a killed app left its worker
    (and so multiprocessing's resource tracker, which it keeps open) running, re-parented
    to init."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _ready() -> None:
    """Nothing: submitted once so that the process starts before the first big body."""


def handle_big_callback(call: BigCallback) -> WorkerOutcome:
    """Rules 3-8 of PROTOCOL.md 1.3 for a verified body (runs in the worker process)."""
    # JSON makes no reference cycles: without the collector, the ~1M objects of a big result
    # are freed by reference counting alone, and no collection scans them while they live.
    gc.disable()
    try:
        return _handle(call)
    except Exception as exc:  # an error object must not cross back: it may not unpickle
        logger.exception("a big callback failed in the worker")
        return WorkerFailed(f"{type(exc).__name__}: {exc}")
    finally:
        gc.enable()


def _handle(call: BigCallback) -> WorkerOutcome:
    with open(call.body_file, "rb") as file:
        body = file.read()
    try:
        payload, result_text = loads_keeping_result_text(body)
    except (ValueError, RecursionError):
        return Rejected(400, "not_json", "the body is not valid JSON")
    if may_hold_surrogates(body):
        payload, cleaned = without_surrogates(payload)
        result_text = None if cleaned else result_text  # store the cleaned result instead
    message, errors = validate_message(payload)
    if message is None:
        front_end = looks_like_front_end(call.headers, payload)
        return Rejected(422, "schema", "invalid callback", errors=errors, misuse=front_end)
    if message.status != "completed":
        return Checked(replace(message, result=None))
    return _store(message, message.result or {}, result_text)


@dataclass(frozen=True, slots=True)
class FetchedResult:
    """A completed job's result fetched from the ML server, for the worker process."""

    job_id: uuid.UUID
    message: str | None
    result_file: str  # the result's JSON text (UTF-8)


def store_fetched_result(fetched: FetchedResult) -> WorkerOutcome:
    """Validate, normalise and store a fetched result (runs in the worker process)."""
    gc.disable()  # as in handle_big_callback
    try:
        with open(fetched.result_file, encoding="utf-8") as file:
            text = file.read()
        raw = json.loads(text)
        if not isinstance(raw, dict):
            return Rejected(422, "invalid_result", "the result is not a JSON object")
        message = CallbackMessage(fetched.job_id, "completed", 100, fetched.message, raw,
                                  None, None)
        return _store(message, raw, text)
    except Exception as exc:  # an error object must not cross back: it may not unpickle
        logger.exception("a fetched result failed in the worker")
        return WorkerFailed(f"{type(exc).__name__}: {exc}")
    finally:
        gc.enable()


def _store(message: CallbackMessage, raw: Mapping[str, Any], raw_json: str | None) -> WorkerOutcome:
    """The job's completion and its result, in one transaction, unless the job is missing or
    already ended (checked before the heavy work) or the result does not validate."""
    writer = _WorkerProcess.writer
    assert writer is not None
    try:
        ensure_open(writer.get(message.job_id))
        try:
            transcript = normalize(raw)
        except InvalidResult as invalid:
            return Rejected(422, "invalid_result", "the result does not validate",
                            errors=invalid_result_errors(invalid))
        job = writer.update(message.job_id, completion_change(message, transcript),
                            result=ResultRecord(raw=raw, transcript=transcript,
                                                raw_json=raw_json))
    except JobNotFound:
        return Missing(message.job_id)
    except TerminalJob as terminal:
        return Ended(terminal.status)
    return Stored(job)
