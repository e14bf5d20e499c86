"""The ML server's port: dispatch, health, a job's status on the server that took it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

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
    @property
    def base_url(self) -> str:
        """Where its requests go, for the status bar and logs (several servers: all of them)."""
        ...

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
