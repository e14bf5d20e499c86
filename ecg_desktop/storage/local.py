"""``ObjectStorage`` on the embedded local store, over its signed ``/storage`` URLs.

The bytes go over HTTP exactly as they would to S3 (so the pipeline, progress, part records and
resume behave the same with either back end): a file of at most one part in one PUT, a bigger
one part by part as ``Content-Range`` PUTs of one resumable upload (see
``ecg_desktop.server.storage_routes``). Looking up, deleting and aborting use the store directly.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from ecg_desktop.app.ports import (
    PartCallback,
    RestartCallback,
    StorageError,
)
from ecg_desktop.domain import UploadState

from ._transfer import (
    FileSnapshot,
    ProgressTicker,
    StateKeeper,
    open_for_reading,
    part_count,
    part_span,
    stale_reason,
    with_retries,
)
from ._upload import ResumableUploader, changed_while_uploading, put_region, retried_from_file
from .localfs import LocalFileStore, LocalStoreError

logger = logging.getLogger(__name__)

BaseUrlProvider = Callable[[], str]
DEFAULT_PART_SIZE = 64 * 1024 * 1024


class LocalStorageError(StorageError):
    """The local store refused a request; ``http_status`` is its answer."""

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status

    @property
    def retryable(self) -> bool:
        status = self.http_status
        return status is None or status >= 500 or status == 423  # 423: a retry still running


class LocalStorage(ResumableUploader):
    """Videos in ``filestore``, uploaded through the embedded server at ``base_url_provider()``.

    The server's address is known only once it has started, hence a callable.
    """

    def __init__(
        self,
        filestore: LocalFileStore,
        base_url_provider: BaseUrlProvider,
        *,
        part_size: int = DEFAULT_PART_SIZE,
        url_expiry_s: int = 3600,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.filestore = filestore
        self.part_size = part_size
        self.url_expiry_s = url_expiry_s
        self._base_url_provider = base_url_provider
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(30.0, read=300.0, write=300.0)
        )

    def __repr__(self) -> str:
        return f"LocalStorage(root={str(self.filestore.root)!r})"

    def describe(self) -> str:
        return f"Local storage {self.filestore.root}"

    async def close(self) -> None:
        await self._http.aclose()

    def _signed(self, method: str, key: str, expires_s: int | None = None) -> str:
        base_url = self._base_url_provider()
        if not base_url:
            raise StorageError("the local store has no address yet: the server has not started")
        try:
            return self.filestore.sign_url(
                method, key, expires_s or self.url_expiry_s, base_url=base_url
            )
        except LocalStoreError as exc:
            raise StorageError(f"cannot store {key!r}: {exc}") from None

    # -- the upload -----------------------------------------------------------------------

    async def _resumable(
        self,
        key: str,
        path: Path,
        snapshot: FileSnapshot,
        resume: UploadState | None,
        on_restart: RestartCallback | None,
    ) -> UploadState | None:
        """``resume`` cut to the parts the store holds, or ``None`` to start over."""
        if resume is None or resume.upload_id is None:
            return None
        reason = stale_reason(resume, snapshot)
        offset = 0
        if reason is None:
            standing = await self._upload_status(key, resume.file_size)
            if standing is None or standing[0] != resume.upload_id:
                reason = "the local store no longer has the unfinished upload, so it starts over"
            else:
                offset = standing[1]
        if reason is not None:
            await self.abort(key, resume)
            logger.warning("Not resuming the upload of %s: %s", key, reason)
            if on_restart is not None:
                on_restart(reason)
            return None
        # The store appends in order: only an unbroken run of held parts from the first counts.
        confirmed: dict[int, str] = {}
        number = 1
        while number in resume.parts:
            start, length = part_span(number, resume.file_size, resume.part_size)
            if start + length > offset or resume.parts[number] != _etag(resume.upload_id, number):
                break
            confirmed[number] = resume.parts[number]
            number += 1
        return replace(resume, parts=confirmed)

    async def _completed_before(
        self, key: str, snapshot: FileSnapshot, resume: UploadState
    ) -> bool:
        """Whether the upload ``resume`` describes finished (the app stopped before it
        recorded that): every part recorded and the store holds the object it made."""
        count = part_count(resume.file_size, resume.part_size)
        if (
            resume.upload_id is None
            or stale_reason(resume, snapshot) is not None
            or set(resume.parts) != set(range(1, count + 1))
        ):
            return False
        stored = await self._on_store(self.filestore.stat, key)
        return (
            stored is not None
            and stored.upload_id == resume.upload_id
            and stored.size == resume.file_size
        )

    async def _upload_status(self, key: str, total: int) -> tuple[str, int] | None:
        """``(upload id, bytes received)`` of the unfinished upload of ``key``, if any."""
        url = self._signed("PUT", key)
        headers = {"Content-Range": f"bytes */{total}", "Content-Length": "0"}
        try:
            response = await self._http.put(url, headers=headers)
        except httpx.TransportError as exc:
            raise LocalStorageError(f"cannot reach the local store: {exc!r}") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise _refused(response)
        return response.headers["Upload-Id"], int(response.headers["Upload-Offset"])

    async def _send_whole(
        self, key: str, path: Path, content_type: str, size: int, ticker: ProgressTicker
    ) -> None:
        async def attempt(fd: int) -> str:
            headers = {"Content-Type": content_type}
            response = await self._put(key, fd, 0, size, ticker, headers)
            return str(response.headers.get("Upload-Id", ""))

        await retried_from_file(path, attempt, retryable=_retryable, what=f"the upload of {key}")

    async def _start_parts(
        self, key: str, content_type: str, snapshot: FileSnapshot, on_part: PartCallback | None
    ) -> StateKeeper:
        # The store names the upload when the first part arrives.
        state = UploadState(None, self.part_size, snapshot.size, snapshot.mtime_ns)
        return StateKeeper(state, on_part)

    async def _send_parts(
        self,
        key: str,
        path: Path,
        content_type: str,
        keeper: StateKeeper,
        ticker: ProgressTicker,
    ) -> None:
        """Send the missing parts in order, as ranges of one resumable upload."""
        state = keeper.state
        count = part_count(state.file_size, state.part_size)
        fd = await asyncio.to_thread(open_for_reading, path)
        try:
            for number in (n for n in range(1, count + 1) if n not in state.parts):
                upload_id = await self._send_part(key, fd, number, content_type, state, ticker)
                if keeper.state.upload_id is None:
                    keeper.state = replace(keeper.state, upload_id=upload_id)
                elif upload_id != keeper.state.upload_id:
                    raise StorageError(f"the local store restarted the upload of {key}")
                await keeper.record(number, _etag(upload_id, number))
        finally:
            os.close(fd)

    async def _send_part(
        self,
        key: str,
        fd: int,
        number: int,
        content_type: str,
        state: UploadState,
        ticker: ProgressTicker,
    ) -> str:
        """Send part ``number``; returns the upload id the store answers with."""
        offset, length = part_span(number, state.file_size, state.part_size)
        headers = {
            "Content-Type": content_type,
            "Content-Range": f"bytes {offset}-{offset + length - 1}/{state.file_size}",
        }

        async def attempt() -> str:
            response = await self._put(key, fd, offset, length, ticker, headers)
            return str(response.headers.get("Upload-Id", ""))

        return await with_retries(attempt, retryable=_retryable, what=f"part {number} of {key}")

    async def _put(
        self,
        key: str,
        fd: int,
        offset: int,
        length: int,
        ticker: ProgressTicker,
        headers: dict[str, str],
    ) -> httpx.Response:
        return await put_region(
            self._http, self._signed("PUT", key), fd, offset, length, ticker, headers,
            accepted=lambda response: response.status_code in (201, 202),
            refused=_refused,
            unreachable=lambda exc: LocalStorageError(f"cannot reach the local store: {exc!r}"),
        )

    async def _finish_parts(
        self, key: str, path: Path, started: FileSnapshot, state: UploadState
    ) -> None:
        # The store made the object when the last part arrived: only the file check is left.
        if await asyncio.to_thread(FileSnapshot.of, path) != started:
            await self._on_store(self.filestore.delete, key)
            raise changed_while_uploading(path)

    # -- the rest of the port -------------------------------------------------------------

    async def abort(self, key: str, state: UploadState | None) -> None:
        await self._on_store(self.filestore.abort, key)

    async def presign_put(self, key: str, content_type: str, expires_s: int) -> str:
        return self._signed("PUT", key, expires_s)

    async def presign_get(self, key: str, expires_s: int) -> str:
        return self._signed("GET", key, expires_s)

    async def exists(self, key: str) -> bool:
        return bool(await self._on_store(self.filestore.exists, key))

    async def delete(self, key: str) -> None:
        await self._on_store(self.filestore.delete, key)

    async def _on_store(self, operation: Callable[[str], Any], key: str) -> Any:
        try:
            return await asyncio.to_thread(operation, key)
        except (LocalStoreError, OSError) as exc:
            raise StorageError(f"local storage failed for {key!r}: {exc}") from None


def _etag(upload_id: str, number: int) -> str:
    return f"{upload_id}-{number}"


def _refused(response: httpx.Response) -> LocalStorageError:
    try:
        detail = str(response.json().get("detail", ""))
    except ValueError:
        detail = response.text[:200]
    reason = f"HTTP {response.status_code}: {detail}" if detail else f"HTTP {response.status_code}"
    return LocalStorageError(
        f"the local store refused the upload ({reason})", http_status=response.status_code
    )


def _retryable(exc: Exception) -> bool:
    return isinstance(exc, LocalStorageError) and exc.retryable
