"""A job's dispatch: a download link for its stored video and PROTOCOL.md 2.1's request to
the ML server (``UPLOADED`` to ``ANALYZING``); the results then come back as callbacks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from ecg_desktop.app.job_changes import JobUpdates, dispatched, dispatching
from ecg_desktop.app.ports import (
    DISPATCHED_TO,
    MetricsSink,
    MLClient,
    MLError,
    MLServersBusy,
    ObjectStorage,
    StorageError,
)
from ecg_desktop.config import Settings
from ecg_desktop.domain import ErrorCode, IllegalTransition, Job


class DispatchStep:
    """Dispatches, at most ``slots`` at a time. A pool of ML servers that is busy makes the
    job wait for one (``MLServersBusy``); any other refusal fails it with the server's code."""

    def __init__(
        self,
        storage: ObjectStorage,
        ml_client: MLClient,
        updates: JobUpdates,
        metrics: MetricsSink,
        settings: Callable[[], Settings],
        callback_base_url: Callable[[], str],
        *,
        slots: int,
    ) -> None:
        self._storage = storage
        self._ml = ml_client
        self._updates = updates
        self._metrics = metrics
        self._settings = settings
        self._callback_base_url = callback_base_url
        self._slots = asyncio.Semaphore(slots)

    async def run(self, job: Job) -> None:
        job_id = job.job_id
        key = job.file_key
        if key is None:
            await self._updates.fail(job_id, ErrorCode.UPLOAD_ERROR, "the job has no stored video")
            return
        async with self._slots:
            await self._updates.apply(job_id, dispatching)
            while True:
                try:
                    callback_base = self._callback_base_url()
                    video_url = await self._storage.presign_get(
                        key, self._settings().s3_presigned_url_expire
                    )
                except (StorageError, RuntimeError) as exc:
                    await self._updates.fail(
                        job_id, ErrorCode.UNKNOWN_ERROR, f"cannot prepare the dispatch: {exc}"
                    )
                    return
                try:
                    answer = await self._ml.dispatch(
                        job_id, video_url, callback_base, job.language,
                        **job.options.request_fields(),
                    )
                    break
                except MLServersBusy as busy:
                    await self._updates.note(job_id, f"Waiting for an ML server: {busy}")
                    await asyncio.sleep(busy.retry_after_s)
                except MLError as exc:
                    self._metrics.inc("ml_requests_total", outcome="failed", error_code=exc.code)
                    await self._updates.fail(job_id, _error_code(exc.code), str(exc))
                    return
            self._metrics.inc("ml_requests_total", outcome="accepted", error_code="")
        message = str(answer.get("message") or "Analyzing")
        server = str(answer.get(DISPATCHED_TO) or "")
        # A fast ML server's terminal callback may overtake this write: then nothing to do.
        with contextlib.suppress(IllegalTransition):
            await self._updates.apply(job_id, dispatched(message, server))


def _error_code(value: str) -> ErrorCode:
    try:
        return ErrorCode(value)
    except ValueError:
        return ErrorCode.UNKNOWN_ERROR
