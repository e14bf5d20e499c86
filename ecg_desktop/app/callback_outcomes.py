"""What a callback does to a job, and what the worker process answers for a big one.

The job changes (``completion_change``, ``failure_change``) run inside the store's locked
update, in the app's process or in the worker's; ``TerminalJob`` rolls such an update back
when the job already ended. The dataclasses are the messages between the receiver and the
worker process (``big_results``): small and picklable.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ecg_desktop.app.callback_schema import CallbackMessage
from ecg_desktop.domain import ErrorCode, Job, JobStatus, Transcript
from ecg_desktop.domain.signatures import Verdict


class TerminalJob(Exception):
    """Raised inside a store update to roll it back: the job already ended."""

    def __init__(self, status: JobStatus) -> None:
        super().__init__(status.value)
        self.status = status


def ensure_open(job: Job) -> None:
    if job.status.is_terminal:
        raise TerminalJob(job.status)


@dataclass(frozen=True, slots=True)
class BigCallback:
    """A big callback whose signature the loop has verified, for the worker process: its
    body is in ``body_file`` (a spill file the receiver removes afterwards)."""

    headers: dict[str, str]
    body_file: str


@dataclass(frozen=True, slots=True)
class Rejected:
    status: int
    reason: str
    detail: str
    errors: list[dict[str, Any]] | None = None
    misuse: bool = False


@dataclass(frozen=True, slots=True)
class Checked:
    """A valid message that the loop applies itself (``processing`` and ``failed``; their
    ``result`` is dropped)."""

    message: CallbackMessage


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


def signature_problem(verdict: Verdict, allow_unsigned: bool) -> tuple[str, str] | None:
    """``(reason, detail)`` of a 401 for this verdict (rule 2), or ``None`` when it passes."""
    if verdict is Verdict.VALID or (verdict is Verdict.MISSING and allow_unsigned):
        return None
    return "signature_" + verdict.value, SIGNATURE_PROBLEMS[verdict]


SIGNATURE_PROBLEMS = {
    Verdict.MISSING: "signature missing: sign with X-Signature-256 or Standard Webhooks headers",
    Verdict.INVALID: "signature does not match the body",
    Verdict.STALE: "webhook-timestamp is more than 5 minutes off",
    Verdict.MALFORMED: "signature headers are malformed",
}


NOTE_PREFIX = "Note: "  # a completed job's message that carries the analyzer's notes


def analyzer_notes(transcript: Transcript) -> str:
    """The result's ``metadata.notes`` (e.g. "only the English model is installed") as one
    line for the job's message, so the queue shows them; "" when there are none."""
    notes = transcript.metadata.get("notes")
    if not isinstance(notes, list | tuple):
        return ""
    text = "; ".join(str(note).strip() for note in notes if str(note).strip())
    return NOTE_PREFIX + text if text else ""


def completion_change(message: CallbackMessage, transcript: Transcript) -> Callable[[Job], None]:
    def change(job: Job) -> None:
        ensure_open(job)
        if job.status is JobStatus.PENDING:  # the result overtook the dispatch's own write
            job.report_progress(job.progress)
        job.complete(speakers=len(transcript.speaker_ids),
                     message=analyzer_notes(transcript) or message.message or "Completed")

    return change


def failure_change(message: CallbackMessage) -> Callable[[Job], None]:
    try:
        code = ErrorCode(message.error_code or ErrorCode.UNKNOWN_ERROR)
    except ValueError:
        code = ErrorCode.UNKNOWN_ERROR
    text = message.error_message or message.message or "the ML server reported a failure"
    if code is ErrorCode.UNKNOWN_ERROR and message.error_code not in (None, code.value):
        text = f"{message.error_code}: {text}"

    def change(job: Job) -> None:
        ensure_open(job)
        job.fail(code, text)

    return change
