"""Errors of the job store. Driver errors never leave the store: they become one of these.

Exception tree::

    StoreError
     ├── StoreUnavailable   the database cannot be reached (or opened); has ``url`` and ``reason``
     ├── StoreCorrupted     an SQLite file that is not a usable database; it is never replaced
     ├── JobExists          a job is added under an id the store already holds
     └── NotInTranscript    an edit names a speaker, segment or word the transcript lacks
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

from ecg_desktop.app.ports import JobStoreError, JobStoreUnavailable


def redact_url(url: str) -> str:
    """``url`` without its password (``postgresql+psycopg://ana:***@host/db``)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


class StoreError(JobStoreError):
    """Base of every job-store error."""


class StoreUnavailable(StoreError, JobStoreUnavailable):
    def __init__(self, url: str, reason: str) -> None:
        self.url = redact_url(url)
        self.reason = reason
        super().__init__(f"job store {self.url} is unavailable: {reason}")


class StoreCorrupted(StoreError):
    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"job store file {path} is damaged ({reason}); it was left untouched — "
            "move it aside or restore a backup"
        )


class NotInTranscript(StoreError, LookupError):
    """An edit that names something the job's transcript does not have."""


class JobExists(StoreError):
    def __init__(self, job_id: uuid.UUID) -> None:
        super().__init__(f"job {job_id} already exists")
        self.job_id = job_id
