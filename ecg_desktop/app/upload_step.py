"""A job's upload: its local file is streamed to storage (``QUEUED``/``UPLOADING`` to
``UPLOADED``), each finished part recorded so a restarted app sends only what is missing; and
the abort of an upload that a cancel stopped."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from stat import S_ISREG
from typing import Any

from ecg_desktop.app.job_changes import JobUpdates, uploaded, uploading
from ecg_desktop.app.ports import ObjectStorage, StorageError
from ecg_desktop.app.upload_progress import UploadProgressReporter
from ecg_desktop.config import Settings
from ecg_desktop.domain import ErrorCode, Job, Stage, UploadProgress, UploadState
from ecg_desktop.domain.filekeys import make_file_key

logger = logging.getLogger(__name__)


class UploadStep:
    """Uploads, at most ``slots`` at a time (a queue of big files does not hold up the
    dispatch of a job whose upload is done: dispatches have their own slots)."""

    def __init__(
        self,
        storage: ObjectStorage,
        updates: JobUpdates,
        settings: Callable[[], Settings],
        *,
        slots: int,
        publish_progress: Callable[[UploadProgress], None],
        clock: Callable[[], float],
        spawn: Callable[[Coroutine[Any, Any, Any]], None],
    ) -> None:
        self._storage = storage
        self._updates = updates
        self._settings = settings
        self._slots = asyncio.Semaphore(slots)
        self._publish_progress = publish_progress
        self._clock = clock
        self._spawn = spawn

    async def run(self, job: Job) -> Job | None:
        """The uploaded job, or ``None`` when the upload failed (the job is failed)."""
        job_id = job.job_id
        path = Path(job.local_path or "")
        stat = await local_file_stat(job.local_path)
        if stat is None:
            await self._updates.fail(
                job_id, ErrorCode.UPLOAD_ERROR, f"the local file {path} is no longer there"
            )
            return None
        async with self._slots:
            key = job.file_key or make_file_key(job.filename, user=job.owner, now=_utcnow())
            resume = (
                job.upload if job.upload and (job.upload.upload_id or job.upload.parts) else None
            )
            start_state = resume or UploadState(
                upload_id=None,
                part_size=self._settings().upload_part_size,
                file_size=stat.st_size,
                file_mtime_ns=stat.st_mtime_ns,
            )
            await self._updates.apply(job_id, uploading(key, start_state, "Uploading"))
            reporter = UploadProgressReporter(job_id, self._publish_progress, self._clock)

            async def persist(state: UploadState) -> None:
                await self._updates.apply(job_id, uploading(key, state, None))

            def restarted(reason: str) -> None:
                logger.warning("job %s: upload starts over: %s", job_id, reason)
                self._spawn(self._updates.note(job_id, f"Upload restarted: {reason}"))

            try:
                await self._storage.upload(
                    key,
                    path,
                    job.content_type or "application/octet-stream",
                    resume=resume,
                    on_progress=reporter,
                    on_part=persist,
                    on_restart=restarted,
                )
            except StorageError as exc:
                await self._updates.fail(job_id, ErrorCode.UPLOAD_ERROR, f"upload failed: {exc}")
                return None
            reporter.finish()
        return await self._updates.apply(job_id, uploaded(key))

    async def abort(self, job: Job) -> None:
        """Abort the upload of a job that never finished it, and remove the object when the
        final request (S3's CompleteMultipartUpload, run in a thread) completed it anyway
        while the cancel stopped the task: the job does not own that object."""
        if job.file_key is None or job.stage is not Stage.UPLOADING:
            return
        try:
            await self._storage.abort(job.file_key, job.upload)
            if await self._storage.exists(job.file_key):
                logger.info("job %s: its upload finished as it was canceled; removing it",
                            job.job_id)
                await self._storage.delete(job.file_key)
        except StorageError as exc:
            logger.warning("job %s: aborting the upload failed: %s", job.job_id, exc)


async def local_file_stat(path: str | None) -> os.stat_result | None:
    """The file's stat, or None when it is not a regular file any more."""
    if not path:
        return None

    def stat() -> os.stat_result | None:
        try:
            result = Path(path).stat()
        except OSError:
            return None
        return result if S_ISREG(result.st_mode) else None

    return await asyncio.to_thread(stat)


def _utcnow() -> datetime:
    return datetime.now(UTC)
