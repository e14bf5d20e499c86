"""Big results, handled in the worker process (``ports.WorkerProcess``) instead of the loop's.

A big callback body (rules 3-8 of PROTOCOL.md 1.3, in the same order as the in-process path)
and a completed job's result that recovery fetched from the ML server are parsed, validated,
normalised and stored there, the result written with the job's completion in one transaction
by the process's own ``JobWriter``; only a small outcome (``callback_outcomes``) comes back,
which the loop counts and publishes. One path stores every big result.

``handle_in_worker`` and ``store_in_worker`` run in the app's process; the functions they hand
the worker (``handle_big_callback``, ``store_fetched_result``) run in the worker process.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

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
from ecg_desktop.app.ports import JobWriter, ResultRecord, WorkerDied, WorkerProcess
from ecg_desktop.domain import InvalidResult, JobNotFound, normalize

logger = logging.getLogger(__name__)


# -- in the app's process ----------------------------------------------------------------------


async def handle_in_worker(worker: WorkerProcess, call: BigCallback) -> WorkerOutcome:
    """Rules 3-8 for a verified body in ``call.body_file`` (the caller removes the file)."""
    try:
        return await worker.run(handle_big_callback, call)
    except WorkerDied as died:
        return WorkerFailed(str(died))


async def store_in_worker(
    worker: WorkerProcess, spill_dir: Path, job_id: uuid.UUID, result_json: str,
    message: str | None,
) -> WorkerOutcome:
    """Store a completed job's result fetched from the ML server (recovery): validated,
    normalised and written with the job's completion in one transaction, as a big
    callback's. ``result_json`` is the result's JSON text."""
    # Through a file written by a thread: write(2) copies it with the GIL released, where
    # pickling megabytes into the worker's pipe would hold the GIL (and so the loop).
    result_file = await asyncio.to_thread(spill, spill_dir, result_json.encode())
    try:
        return await worker.run(store_fetched_result,
                                FetchedResult(job_id, message, str(result_file)))
    except WorkerDied as died:
        return WorkerFailed(str(died))
    finally:
        with contextlib.suppress(OSError):
            result_file.unlink()


# -- in the worker process ---------------------------------------------------------------------


def warm_up() -> None:
    """Run as the worker process starts (bootstrap hands it to the worker): unpickling this
    function has imported this module, and so the parsing, schema and normalising code,
    before the first big body arrives instead of while it waits."""


def handle_big_callback(writer: JobWriter, call: BigCallback) -> WorkerOutcome:
    """Rules 3-8 of PROTOCOL.md 1.3 for a verified body."""
    # JSON makes no reference cycles: without the collector, the ~1M objects of a big result
    # are freed by reference counting alone, and no collection scans them while they live.
    gc.disable()
    try:
        return _handle(writer, call)
    except Exception as exc:  # an error object must not cross back: it may not unpickle
        logger.exception("a big callback failed in the worker")
        return WorkerFailed(f"{type(exc).__name__}: {exc}")
    finally:
        gc.enable()


def _handle(writer: JobWriter, call: BigCallback) -> WorkerOutcome:
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
    return _store(writer, message, message.result or {}, result_text)


@dataclass(frozen=True, slots=True)
class FetchedResult:
    """A completed job's result fetched from the ML server, for the worker process."""

    job_id: uuid.UUID
    message: str | None
    result_file: str  # the result's JSON text (UTF-8)


def store_fetched_result(writer: JobWriter, fetched: FetchedResult) -> WorkerOutcome:
    """Validate, normalise and store a fetched result."""
    gc.disable()  # as in handle_big_callback
    try:
        with open(fetched.result_file, encoding="utf-8") as file:
            text = file.read()
        raw = json.loads(text)
        if not isinstance(raw, dict):
            return Rejected(422, "invalid_result", "the result is not a JSON object")
        message = CallbackMessage(fetched.job_id, "completed", 100, fetched.message, raw,
                                  None, None)
        return _store(writer, message, raw, text)
    except Exception as exc:  # an error object must not cross back: it may not unpickle
        logger.exception("a fetched result failed in the worker")
        return WorkerFailed(f"{type(exc).__name__}: {exc}")
    finally:
        gc.enable()


def _store(
    writer: JobWriter, message: CallbackMessage, raw: Mapping[str, Any], raw_json: str | None
) -> WorkerOutcome:
    """The job's completion and its result, in one transaction, unless the job is missing or
    already ended (checked before the heavy work) or the result does not validate."""
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
