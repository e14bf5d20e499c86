"""Object storage's port (S3 or the local store), and the local store's files that the
server's ``/storage`` routes serve."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ecg_desktop.domain import UploadState

# -- object storage ----------------------------------------------------------------------

ProgressCallback = Callable[[int, int], None]  # (bytes_done, bytes_total)
PartCallback = Callable[[UploadState], Awaitable[None]]  # persist resume state
RestartCallback = Callable[[str], None]  # why a resume was impossible (the upload restarted)


class StorageError(Exception):
    """An object-storage failure, with the server's reason in the message."""


class ObjectStorage(Protocol):
    """Where videos are kept: S3 / an S3-compatible store, or the embedded local store."""

    async def upload(
        self,
        key: str,
        path: Path,
        content_type: str,
        *,
        resume: UploadState | None = None,
        on_progress: ProgressCallback | None = None,
        on_part: PartCallback | None = None,
        on_restart: RestartCallback | None = None,
    ) -> None:
        """Stream ``path`` to ``key``; resumes from ``resume``'s finished parts when given.

        ``on_part`` gets the new state after each finished part (persist it to resume later).
        When ``resume`` cannot be used (the file's size or mtime changed, or the server no
        longer knows the upload), the old upload is aborted, ``on_restart`` gets the reason
        (for the user), and the upload starts over from the first byte.
        """
        ...

    async def abort(self, key: str, state: UploadState | None) -> None: ...

    async def presign_put(self, key: str, content_type: str, expires_s: int) -> str: ...

    async def presign_get(self, key: str, expires_s: int) -> str: ...

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None: ...

    def describe(self) -> str: ...

    async def close(self) -> None: ...



# -- local object files (the local store's signed /storage routes) ------------------------


class LocalStoreError(Exception):
    """A request the local store refuses; ``status`` is the HTTP status that says so and
    ``offset``, when known, where an unfinished upload stands."""

    status = 400

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    path: Path
    size: int
    sha256: str | None  # None only if the app stopped between the rename and the metadata
    content_type: str
    upload_id: str = ""  # of the upload that stored it, so a client can recognise its own


@dataclass(frozen=True, slots=True)
class PartialUpload:
    key: str
    upload_id: str
    offset: int  # bytes received so far
    total: int
    content_type: str


class RangeWriter(Protocol):
    """One byte range of an upload being written (from a worker thread, one call at a time).
    ``write`` and ``close`` raise ``LocalStoreError`` for a disk that refuses the bytes."""

    key: str
    upload_id: str
    position: int
    end: int

    def write(self, chunks: Iterable[bytes]) -> None: ...

    def close(self) -> StoredObject | None:
        """The finished object if this was the last range, else ``None``."""
        ...


class LocalFiles(Protocol):
    """The local object store's files, which the server's ``/storage`` routes serve (blocking
    calls: the routes run them in threads). Every refusal is a ``LocalStoreError``."""

    def verify(self, method: str, key: str, query: Mapping[str, str]) -> str | None:
        """Why a request with this signed query is refused, or ``None``."""
        ...

    def stat(self, key: str) -> StoredObject | None: ...

    def delete(self, key: str) -> None: ...

    def partial(self, key: str) -> PartialUpload | None: ...

    def write_range(
        self, key: str, start: int, end: int, total: int, content_type: str
    ) -> RangeWriter: ...
