"""Retrying a failed or canceled job: a new job redoes it from the step that failed.

The stored object is reused when it is still there (no second upload); an unfinished
multipart upload is resumed, except after a cancel, which aborted it. Retry ids are derived,
not random, so two desktops retrying one job together add one job between them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import uuid

from ecg_desktop.app.errors import PipelineError
from ecg_desktop.app.ports import JobStore, ObjectStorage
from ecg_desktop.app.upload_step import local_file_stat
from ecg_desktop.domain import (
    DispatchOptions,
    IllegalTransition,
    Job,
    JobNotFound,
    JobStatus,
    Stage,
)

logger = logging.getLogger(__name__)

MAX_RETRIES_OF_ONE_JOB = 100


def retry_job_id(job: Job, attempt: int) -> uuid.UUID:
    """The id of the ``attempt``-th retry of ``job``. Every desktop derives the same one,
    so two desktops retrying one job together insert one job: the second insert hits the
    key and the second desktop takes the first one's retry instead of dispatching again.

    The old job's ``updated_at`` is part of it, and deleting a retry touches the old job, so
    an id is never used twice (an ML server would take a reused id for the deleted job)."""
    return uuid.uuid5(job.job_id, f"retry/{job.updated_at.isoformat()}/{attempt}")


async def add_retry(
    store: JobStore,
    storage: ObjectStorage,
    job_id: uuid.UUID,
    *,
    host: str,
    installation: str,
    language: str | None = None,
    options: DispatchOptions | None = None,
) -> tuple[Job, bool]:
    """The stored retry of job ``job_id`` and whether this call added it (then it is to be
    started): an earlier retry still running, or the same retry added by another desktop a
    moment ago, is returned instead. ``host`` and ``installation`` do the retry's work.

    ``language`` and ``options`` ("Analyse again with...") replace the old attempt's; with
    them a completed job may be analysed again too. Raises ``PipelineError`` when the job
    cannot be retried."""
    old = await store.get(job_id)
    try:
        new = old.retry(completed_too=language is not None or options is not None)
    except IllegalTransition as exc:
        raise PipelineError(str(exc)) from None
    attempt, running = await _next_retry_slot(store, old)
    if running is not None:
        logger.info("job %s is already being retried as %s", job_id, running.job_id)
        return running, False
    new = dataclasses.replace(new, job_id=retry_job_id(old, attempt), host=host,
                              installation=installation)
    if language is not None:
        new = dataclasses.replace(new, language=language)
    if options is not None:
        new = dataclasses.replace(new, options=options)
    new = await _from_where_the_video_is(storage, old, new)
    new.message = "Retry: sending again" if new.stage is Stage.UPLOADED else "Retry: uploading"
    try:
        await store.add(new)
    except Exception:
        # Another desktop added the same retry (same derived id) a moment earlier.
        with contextlib.suppress(JobNotFound):
            winner = await store.get(new.job_id)
            logger.info("job %s was retried elsewhere at the same moment", job_id)
            return winner, False
        raise
    return new, True


async def _from_where_the_video_is(storage: ObjectStorage, old: Job, new: Job) -> Job:
    """``new`` starting from the stored object when it is still there, else from an upload
    of the local file (``PipelineError`` when that is gone too)."""
    if old.status is JobStatus.CANCELED and new.stage is not Stage.UPLOADED:
        new = dataclasses.replace(new, upload=None, file_key=None)
    if (
        new.stage is Stage.UPLOADED
        and new.file_key is not None
        and not await storage.exists(new.file_key)
    ):
        logger.info("job %s: %s is gone from storage; uploading again", old.job_id, new.file_key)
        new = dataclasses.replace(new, stage=Stage.QUEUED, file_key=None, upload=None)
    if new.stage is not Stage.UPLOADED and await local_file_stat(new.local_path) is None:
        raise PipelineError(
            f"{old.filename}: the video is neither in storage nor at "
            f"{old.local_path or 'a local path'}; add the file again"
        )
    return new


async def _next_retry_slot(store: JobStore, old: Job) -> tuple[int, Job | None]:
    """The number of the next retry of ``old``, or the retry still running."""
    for attempt in range(MAX_RETRIES_OF_ONE_JOB):
        try:
            earlier = await store.get(retry_job_id(old, attempt))
        except JobNotFound:
            return attempt, None
        if not earlier.status.is_terminal:
            return attempt, earlier
    raise PipelineError("this job was retried too often; retry its newest attempt instead")
