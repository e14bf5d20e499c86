"""Events the application publishes; the GUI, the CLI and the server subscribe to them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from .job import Job


@dataclass(frozen=True, slots=True)
class JobChanged:
    """A job's new state. ``job`` is a snapshot: subscribers must not mutate it."""

    job: Job


@dataclass(frozen=True, slots=True)
class UploadProgress:
    """Bytes moved for a job's upload; published at most every 250 ms per job."""

    job_id: uuid.UUID
    bytes_done: int
    bytes_total: int
    speed_bps: float
    eta_s: float | None


@dataclass(frozen=True, slots=True)
class JobDeleted:
    job_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class TranscriptChanged:
    """A completed job's transcript was edited (speaker renamed, word corrected, ...)."""

    job_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class TeamConnectionChanged:
    """Team mode's live link to the shared store: ``"connected"`` or ``"reconnecting"``."""

    state: str


Event = JobChanged | UploadProgress | JobDeleted | TranscriptChanged | TeamConnectionChanged
