"""``request-process`` with a ``job_id``: a team desktop's job sent on by this backend.

A team desktop creates its job in the shared store and uploads the video itself; then it asks
the backend, with its member's API token, to dispatch the job (docs/team.md). The backend
holds the webhook secret, the desktop does not. Only the job's owner, by the name of their
token, may ask (on a loopback bind, anyone local); the answer waits for the dispatch, so a
refusal by the ML server reaches the desktop. Asking again is harmless: a job already
dispatched is answered as such and not sent twice.
"""

from __future__ import annotations

import logging
import uuid
from typing import Protocol

from aiohttp import web

from ecg_desktop.app.errors import PipelineError
from ecg_desktop.app.ports import JobStore
from ecg_desktop.domain import Job, JobStatus

from .middleware import CALLER_KEY, JOB_ID_KEY, error_json
from .wire import PROCESSING_STARTED, ProcessResponse, json_answer

logger = logging.getLogger(__name__)


class Adopts(Protocol):
    """What adoption needs of ``app.pipeline.JobPipeline``."""

    async def adopt(self, job_id: uuid.UUID) -> Job: ...


async def adopt_job(
    request: web.Request,
    job_id: uuid.UUID,
    file_key: str | None,
    store: JobStore,
    pipeline: Adopts | None,
    *,
    loopback: bool,
) -> web.Response:
    request[JOB_ID_KEY] = str(job_id)
    if pipeline is None:
        return error_json(503, "the job pipeline is not running")
    job = await store.get(job_id)
    caller = request.get(CALLER_KEY)
    if caller is None and not loopback:
        return error_json(403, "sending a team member's job needs a named API token (name:...)")
    if caller is not None and caller != job.owner:
        return error_json(403, f"job {job_id} belongs to another member")
    if file_key not in (None, job.file_key):
        return error_json(400, "fileKey is not this job's video")
    try:
        job = await pipeline.adopt(job_id)
    except PipelineError as exc:
        return error_json(409, str(exc))
    if job.status is JobStatus.FAILED:
        return error_json(502, job.error_message or "the dispatch failed",
                          error_code=job.error_code.value if job.error_code else None)
    if job.status is JobStatus.CANCELED:
        return error_json(409, f"job {job_id} is canceled")
    logger.info("job %s of %s sent on for its owner", job_id, job.file_key)
    return json_answer(ProcessResponse(PROCESSING_STARTED, job_id))
