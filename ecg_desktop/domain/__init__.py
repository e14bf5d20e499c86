"""Pure domain code: no I/O, no third-party imports."""

from .errors import DomainError, ErrorCode, IllegalTransition, InvalidResult, JobNotFound
from .events import (
    Event,
    JobChanged,
    JobDeleted,
    TeamConnectionChanged,
    TranscriptChanged,
    UploadProgress,
)
from .job import TERMINAL_STATUSES, DispatchOptions, Job, JobStatus, Stage, UploadState
from .transcript import Segment, SpeakerStats, Transcript, Word, normalize, to_canonical

__all__ = [
    "TERMINAL_STATUSES",
    "DispatchOptions",
    "DomainError",
    "ErrorCode",
    "Event",
    "IllegalTransition",
    "InvalidResult",
    "Job",
    "JobChanged",
    "JobDeleted",
    "JobNotFound",
    "JobStatus",
    "Segment",
    "SpeakerStats",
    "Stage",
    "TeamConnectionChanged",
    "Transcript",
    "TranscriptChanged",
    "UploadProgress",
    "UploadState",
    "Word",
    "normalize",
    "to_canonical",
]
