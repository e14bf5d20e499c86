"""The job store: SQLite (default) or PostgreSQL via SQLAlchemy 2 async, with migrations."""

from .errors import (
    JobExists,
    NotInTranscript,
    StoreCorrupted,
    StoreError,
    StoreUnavailable,
    redact_url,
)
from .notify import JOBS_CHANNEL, RECONNECTED, JobChange, JobChangeListener, ListenerSignal
from .sql_store import SqlJobStore, head_revision, open_store

__all__ = [
    "JOBS_CHANNEL",
    "RECONNECTED",
    "JobChange",
    "JobChangeListener",
    "JobExists",
    "ListenerSignal",
    "NotInTranscript",
    "SqlJobStore",
    "StoreCorrupted",
    "StoreError",
    "StoreUnavailable",
    "head_revision",
    "open_store",
    "redact_url",
]
