"""What both storage back ends share: part arithmetic, streaming a file region from disk,
progress ticks, and the check that a file is still the one an unfinished upload started from.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ecg_desktop.app.ports import PartCallback, ProgressCallback, StorageError
from ecg_desktop.domain import UploadState

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024  # bytes read from disk and handed to the socket at a time
PROGRESS_INTERVAL_S = 0.2  # the port promises a report at least every 250 ms
PART_ATTEMPTS = 3  # a part is sent again after a connection error or a 5xx
RETRY_DELAYS_S = (1.0, 3.0)


@dataclass(frozen=True, slots=True)
class FileSnapshot:
    """Size and modification time: what tells an unfinished upload its file has not changed."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileSnapshot:
        try:
            info = path.stat()
        except FileNotFoundError:
            raise StorageError(f"{path} does not exist") from None
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from None
        if not path.is_file():
            raise StorageError(f"{path} is not a regular file")
        return cls(size=info.st_size, mtime_ns=info.st_mtime_ns)


def stale_reason(state: UploadState, snapshot: FileSnapshot) -> str | None:
    """Why ``state`` cannot be resumed for the file as it is now, or ``None`` if it can."""
    if state.file_size != snapshot.size:
        return (
            f"the file changed since the upload started (its size went from "
            f"{state.file_size} to {snapshot.size} bytes), so the upload starts over"
        )
    if state.file_mtime_ns != snapshot.mtime_ns:
        return "the file was modified since the upload started, so the upload starts over"
    return None


def resumable_bytes(resume: UploadState | None, snapshot: FileSnapshot) -> int:
    """Bytes a resume will probably keep: the first progress report, before the server says."""
    if resume is None or resume.upload_id is None or stale_reason(resume, snapshot):
        return 0
    return resume.bytes_done


def part_count(size: int, part_size: int) -> int:
    return max(1, -(-size // part_size))


def part_span(number: int, size: int, part_size: int) -> tuple[int, int]:
    """``(offset, length)`` of 1-based part ``number`` of a ``size``-byte file."""
    offset = (number - 1) * part_size
    return offset, max(0, min(part_size, size - offset))


def open_for_reading(path: Path) -> int:
    try:
        return os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from None


_seek_lock = threading.Lock()


def read_at(fd: int, size: int, offset: int) -> bytes:
    """``os.pread`` where it exists; elsewhere (Windows) a seek and a read under a lock,
    since the parts in flight share one descriptor."""
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    with _seek_lock:
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, size)


async def stream_region(
    fd: int, offset: int, length: int, on_bytes: Callable[[int], None]
) -> AsyncGenerator[bytes, None]:
    """The ``length`` bytes at ``offset`` of ``fd``, read in a thread one chunk at a time.

    The caller owns ``fd``. A file that shrank underneath raises ``StorageError``.
    """
    position, end = offset, offset + length
    while position < end:
        chunk = await asyncio.to_thread(read_at, fd, min(CHUNK_SIZE, end - position), position)
        if not chunk:
            raise StorageError("the file became shorter while it was being uploaded")
        position += len(chunk)
        on_bytes(len(chunk))
        yield chunk


class ProgressTicker:
    """Counts bytes handed to the network and reports them every ``PROGRESS_INTERVAL_S``.

    Reports keep coming while nothing moves (a stalled upload shows as zero speed), and a last
    one is made on exit. A part sent again is counted again, so its first attempt's bytes are
    taken back with ``take_back``.
    """

    def __init__(self, total: int, callback: ProgressCallback | None, done: int = 0) -> None:
        self.total = total
        self.done = done
        self._callback = callback
        self._task: asyncio.Task[None] | None = None

    def add(self, count: int) -> None:
        self.done += count

    def take_back(self, count: int) -> None:
        self.done -= count

    def report(self) -> None:
        if self._callback is not None:
            self._callback(min(self.done, self.total), self.total)

    async def _tick(self) -> None:
        while True:
            self.report()
            await asyncio.sleep(PROGRESS_INTERVAL_S)

    async def __aenter__(self) -> ProgressTicker:
        if self._callback is not None:
            self._task = asyncio.create_task(self._tick())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if exc_type is None:
            self.done = self.total
        self.report()


class StateKeeper:
    """The upload's current state, handed to ``on_part`` in order, one call at a time.

    Several parts finish concurrently; a lock makes each persisted state a superset of the one
    before, so a slow write can never overwrite a newer one with fewer parts.
    """

    def __init__(self, state: UploadState, on_part: PartCallback | None) -> None:
        self.state = state
        self._on_part = on_part
        self._lock = asyncio.Lock()

    async def publish(self) -> None:
        if self._on_part is None:
            return
        async with self._lock:
            await self._on_part(self.state)

    async def record(self, number: int, etag: str) -> None:
        self.state = self.state.with_part(number, etag)
        await self.publish()


async def with_retries(
    attempt: Callable[[], Awaitable[str]], *, retryable: Callable[[Exception], bool], what: str
) -> str:
    """Run ``attempt`` up to ``PART_ATTEMPTS`` times while it fails in a ``retryable`` way."""
    for number in range(PART_ATTEMPTS):
        try:
            return await attempt()
        except Exception as exc:
            if number == PART_ATTEMPTS - 1 or not retryable(exc):
                raise
            delay = RETRY_DELAYS_S[min(number, len(RETRY_DELAYS_S) - 1)]
            logger.warning("%s failed (%s); trying again in %.0f s", what, exc, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
