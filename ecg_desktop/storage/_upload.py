"""The upload both storage back ends run: resume what can be resumed, send a small file in one
PUT and a big one part by part, report progress, and record each part as it lands. A back end
supplies the steps that speak its own protocol."""

from __future__ import annotations

import asyncio
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from ecg_desktop.app.ports import (
    PartCallback,
    ProgressCallback,
    RestartCallback,
    StorageError,
)
from ecg_desktop.domain import UploadState

from ._transfer import (
    FileSnapshot,
    ProgressTicker,
    StateKeeper,
    open_for_reading,
    resumable_bytes,
    stream_region,
    with_retries,
)

logger = logging.getLogger(__name__)


class ResumableUploader(ABC):
    """``ObjectStorage.upload`` as one procedure; the abstract steps are the back end's."""

    part_size: int

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
        snapshot = await asyncio.to_thread(FileSnapshot.of, path)
        done = resumable_bytes(resume, snapshot)
        async with ProgressTicker(snapshot.size, on_progress, done) as ticker:
            if resume is not None and await self._completed_before(key, snapshot, resume):
                logger.info("%s was stored before the app stopped; nothing to resume", key)
                return
            state = await self._resumable(key, path, snapshot, resume, on_restart)
            ticker.done = state.bytes_done if state else 0
            if state is None and snapshot.size <= self.part_size:
                await self._send_whole(key, path, content_type, snapshot.size, ticker)
                return
            if state is None:
                keeper = await self._start_parts(key, content_type, snapshot, on_part)
            else:
                keeper = StateKeeper(state, on_part)
            await self._send_parts(key, path, content_type, keeper, ticker)
            await self._finish_parts(key, path, snapshot, keeper.state)

    @abstractmethod
    async def _completed_before(
        self, key: str, snapshot: FileSnapshot, resume: UploadState
    ) -> bool:
        """Whether the upload ``resume`` describes finished before the app could record it."""

    @abstractmethod
    async def _resumable(
        self,
        key: str,
        path: Path,
        snapshot: FileSnapshot,
        resume: UploadState | None,
        on_restart: RestartCallback | None,
    ) -> UploadState | None:
        """``resume`` cut to the parts the store holds, or ``None`` to start over."""

    @abstractmethod
    async def _send_whole(
        self, key: str, path: Path, content_type: str, size: int, ticker: ProgressTicker
    ) -> None:
        """A file of at most one part, in one PUT."""

    @abstractmethod
    async def _start_parts(
        self, key: str, content_type: str, snapshot: FileSnapshot, on_part: PartCallback | None
    ) -> StateKeeper:
        """A new upload in parts, none sent yet."""

    @abstractmethod
    async def _send_parts(
        self, key: str, path: Path, content_type: str, keeper: StateKeeper, ticker: ProgressTicker
    ) -> None:
        """Every part ``keeper`` does not hold yet, each recorded as it lands."""

    @abstractmethod
    async def _finish_parts(
        self, key: str, path: Path, started: FileSnapshot, state: UploadState
    ) -> None:
        """Make the object of the parts sent; fail (and drop them) if the file changed."""


def changed_while_uploading(path: Path) -> StorageError:
    return StorageError(f"{path.name} changed while it was being uploaded; try again")


async def retried_from_file(
    path: Path,
    attempt: Callable[[int], Awaitable[str]],
    *,
    retryable: Callable[[Exception], bool],
    what: str,
) -> str:
    """``attempt(fd)`` on ``path`` opened for reading, retried while ``retryable``."""
    fd = await asyncio.to_thread(open_for_reading, path)
    try:
        return await with_retries(lambda: attempt(fd), retryable=retryable, what=what)
    finally:
        os.close(fd)


async def put_region(
    http: httpx.AsyncClient,
    url: str,
    fd: int,
    offset: int,
    length: int,
    ticker: ProgressTicker,
    headers: dict[str, str],
    *,
    accepted: Callable[[httpx.Response], bool],
    refused: Callable[[httpx.Response], Exception],
    unreachable: Callable[[httpx.TransportError], Exception],
) -> httpx.Response:
    """PUT ``length`` bytes of ``fd`` from ``offset`` to ``url``, streamed from disk.

    The bytes are counted on ``ticker`` as they go and taken back when the PUT fails (it is
    sent again, and counted again). Raises ``refused(response)`` unless ``accepted``.
    """
    sent = 0

    def count(n: int) -> None:
        nonlocal sent
        sent += n
        ticker.add(n)

    body = stream_region(fd, offset, length, count)
    try:
        response = await http.put(
            url, content=body, headers={**headers, "Content-Length": str(length)}
        )
    except httpx.TransportError as exc:
        ticker.take_back(sent)
        raise unreachable(exc) from None
    except BaseException:
        ticker.take_back(sent)
        raise
    finally:
        await body.aclose()
    if not accepted(response):
        ticker.take_back(sent)
        raise refused(response)
    return response
