"""How the pipeline changes a job: ``JobUpdates`` writes each change through
``JobStore.update`` (one transaction, the domain's state machine) and then publishes the job
on the bus as ``JobChanged``; the functions below are the changes it applies (under the row
lock, so each sees the job as stored)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import uuid
from collections.abc import Callable

from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.ports import JobStore, MetricsSink
from ecg_desktop.domain import (
    ErrorCode,
    IllegalTransition,
    Job,
    JobChanged,
    JobNotFound,
    Stage,
    UploadState,
)

logger = logging.getLogger(__name__)

JobChange = Callable[[Job], None]


class JobUpdates:
    """Every write of the pipeline to a job, each published once it is stored."""

    def __init__(self, store: JobStore, bus: EventBus, metrics: MetricsSink) -> None:
        self._store = store
        self._bus = bus
        self._metrics = metrics

    async def apply(self, job_id: uuid.UUID, change: JobChange) -> Job:
        job = await self._store.update(job_id, change)
        self.publish(job)
        return job

    def publish(self, job: Job) -> None:
        self._bus.publish(JobChanged(dataclasses.replace(job)))

    async def fail(self, job_id: uuid.UUID, code: ErrorCode, message: str) -> None:
        """Fail the job (counted), unless it ended or went away meanwhile."""
        logger.warning("job %s failed (%s): %s", job_id, code, message)
        try:
            await self.apply(job_id, lambda job: job.fail(code, message))
        except (IllegalTransition, JobNotFound):
            return
        self._metrics.inc("jobs_total", outcome="failed", error_code=code.value)

    async def note(self, job_id: uuid.UUID, message: str) -> None:
        """Tell the user what a running job is doing (an ended or deleted job is left be)."""

        def change(job: Job) -> None:
            if not job.status.is_terminal:
                job.message = message

        with contextlib.suppress(JobNotFound):
            await self.apply(job_id, change)


def uploading(key: str, state: UploadState, message: str | None) -> JobChange:
    def change(job: Job) -> None:
        job.start_upload(key, state)
        if message is not None:
            job.message = message

    return change


def uploaded(key: str) -> JobChange:
    def change(job: Job) -> None:
        job.mark_uploaded(key)
        job.message = "Uploaded"

    return change


def touch(job: Job) -> None:
    """No change: the store's write still moves ``updated_at``."""


def dispatching(job: Job) -> None:
    job.start_dispatch()
    job.message = "Sending to the ML server"


def taken_over_by(installation: str) -> JobChange:
    def change(job: Job) -> None:
        job.installation = installation

    return change


def dispatched(message: str, server: str) -> JobChange:
    # No download link is stored: it is a credential for an hour, and the job store may be
    # shared by a team. One is made when needed (``ObjectStorage.presign_get``).
    def change(job: Job) -> None:
        callbacks_came_first = job.progress > 0 or job.stage is Stage.ANALYZING
        job.mark_dispatched()
        job.ml_server = server or job.ml_server
        if not callbacks_came_first:
            job.message = message

    return change
