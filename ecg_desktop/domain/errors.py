"""Error codes of the wire protocol and the domain's exceptions.

Exception tree::

    DomainError
     ├── IllegalTransition      a job was asked to move where its state machine forbids
     ├── InvalidResult          an ML result that does not satisfy the result schema
     └── JobNotFound            no job with that id (raised by stores, defined here so
                                every layer can catch it without importing an adapter)
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Error codes of PROTOCOL.md section 3: the ML server's and the backend's own."""

    DOWNLOAD_ERROR = "DOWNLOAD_ERROR"
    AUDIO_EXTRACTION_ERROR = "AUDIO_EXTRACTION_ERROR"
    TRANSCRIPTION_ERROR = "TRANSCRIPTION_ERROR"
    DIARIZATION_ERROR = "DIARIZATION_ERROR"
    PROCESSING_ERROR = "PROCESSING_ERROR"
    INVALID_REQUEST = "INVALID_REQUEST"
    TIMEOUT_ERROR = "TIMEOUT_ERROR"
    CONNECTION_ERROR = "CONNECTION_ERROR"
    ML_SERVER_ERROR = "ML_SERVER_ERROR"
    CALLBACK_LOST = "CALLBACK_LOST"
    UPLOAD_ERROR = "UPLOAD_ERROR"
    INVALID_FILE = "INVALID_FILE"
    UNKNOWN_ERROR = "UNKNOWN_ERROR"


class DomainError(Exception):
    """Base of every error raised by the domain."""


class IllegalTransition(DomainError):
    """A job was asked to make a move its state machine forbids."""


class JobNotFound(DomainError, LookupError):
    def __init__(self, job_id: object) -> None:
        super().__init__(f"job {job_id} not found")
        self.job_id = job_id


class InvalidResult(DomainError, ValueError):
    """An ML result that fails validation; ``errors`` lists each field's problem."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        summary = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors[:5])
        super().__init__(f"invalid result: {summary}")
        self.errors = errors
