"""The backend's aiohttp application: the seed's API (PROTOCOL.md 1.1-1.6).

Handlers are thin: they parse the request, call a use case or a port, and shape the answer.
Errors are mapped to status codes in one place (``middleware.error_mapper``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
import re
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import msgspec
from aiohttp import web

from ecg_desktop import __version__
from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.callback_body import CallbackBody
from ecg_desktop.app.callbacks import CallbackReceiver
from ecg_desktop.app.errors import PipelineError
from ecg_desktop.app.metrics import Metrics
from ecg_desktop.app.ports import JobQuery, JobStore, LocalFiles, MLClient, ObjectStorage
from ecg_desktop.config import Settings
from ecg_desktop.domain import Job, JobStatus
from ecg_desktop.domain.filekeys import is_safe_key, looks_like_media, make_file_key

from .adoption import adopt_job
from .connections import read_body_chunks
from .middleware import (
    CALLER_KEY,
    JOB_ID_KEY,
    METRICS_KEY,
    AccessPolicy,
    error_json,
    is_loopback_host,
    middlewares,
)
from .openapi import openapi_document
from .ratelimit import RateLimiter
from .storage_routes import add_storage_routes
from .wire import (
    PROCESSING_STARTED,
    Deleted,
    GenerateUrlRequest,
    GenerateUrlResponse,
    Health,
    JobDetail,
    JobList,
    JobSummary,
    MLHealth,
    MLServerState,
    ProcessRequest,
    ProcessResponse,
    Request,
    RequestRefused,
    StorageHealth,
    StoreHealth,
    as_builtins,
    callback_answer,
    decode_request,
    json_answer,
)

logger = logging.getLogger(__name__)

API_BODY_LIMIT = 1024 * 1024  # every JSON body but the callback's (which has its own limit)
ML_HEALTH_TIMEOUT_S = 10.0
STORE_HEALTH_TIMEOUT_S = 5.0
LARGE_RESULT_WORDS = 2_000  # above this, a status answer is encoded off the loop


class JobSubmitter(Protocol):
    """What the API needs of ``app.pipeline.JobPipeline``."""

    async def submit_object(
        self, file_key: str, language: str, *, filename: str | None = None, owner: str = ""
    ) -> Job: ...

    async def delete(self, job_id: uuid.UUID, *, delete_object: bool) -> None: ...

    async def adopt(self, job_id: uuid.UUID) -> Job: ...


class CoreLike(Protocol):
    """The parts of ``bootstrap.Core`` the server uses."""

    settings: Settings
    store: JobStore
    storage: ObjectStorage
    ml_client: MLClient
    bus: EventBus

    @property
    def pipeline(self) -> JobSubmitter | None:
        """What takes the API's jobs (``None``: ``request-process`` is refused)."""
        ...

    @property
    def local_files(self) -> LocalFiles | None:
        """The local store's files, served under ``/storage`` (``None`` with S3)."""
        ...


class Services:
    """Everything a handler reaches, kept under one ``AppKey``."""

    def __init__(
        self,
        core: CoreLike,
        metrics: Metrics,
        callbacks: CallbackReceiver,
        pipeline: JobSubmitter | None,
        policy: AccessPolicy,
    ) -> None:
        self.core = core
        self.policy = policy
        self.settings = core.settings
        self.store = core.store
        self.storage = core.storage
        self.metrics = metrics
        self.callbacks = callbacks
        self.pipeline = pipeline
        self.rate_limiter = RateLimiter(core.settings.rate_limit_per_minute)


SERVICES = web.AppKey("services", Services)


def create_app(
    core: CoreLike,
    *,
    metrics: Metrics,
    callbacks: CallbackReceiver,
    pipeline: JobSubmitter | None = None,
) -> web.Application:
    """The backend application over ``core``.

    ``pipeline`` defaults to ``core.pipeline``. Whether the access rules are those of a
    loopback bind is decided by ``core.settings.bind_host``.
    """
    settings = core.settings
    pipeline = pipeline if pipeline is not None else core.pipeline
    policy = AccessPolicy(
        loopback=is_loopback_host(settings.bind_host),
        tokens=tuple(settings.api_tokens),
        cors_origins=tuple(settings.cors_origins),
    )
    app = web.Application(middlewares=list(middlewares(policy)), client_max_size=API_BODY_LIMIT)
    app[SERVICES] = Services(core, metrics, callbacks, pipeline, policy)
    app[METRICS_KEY] = metrics
    app.router.add_post("/api/upload-video/generate-url", generate_url)
    app.router.add_post("/api/upload-video/request-process", request_process)
    app.router.add_post("/api/upload-video/result", receive_result)
    app.router.add_get("/api/upload-video/status/{job_id}", job_status)
    app.router.add_get("/api/upload-video/ml-server/health", ml_server_health)
    app.router.add_get("/api/upload-video/jobs", list_jobs)
    app.router.add_delete("/api/upload-video/jobs/{job_id}", delete_job)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics_text)
    if with_storage := core.local_files is not None:
        add_storage_routes(app, core.local_files)
    document = openapi_document(with_storage_routes=with_storage)

    async def openapi(_request: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/openapi.json", openapi)
    return app


# -- helpers ---------------------------------------------------------------------------------


def _services(request: web.Request) -> Services:
    return request.app[SERVICES]


async def _read_request(request: web.Request, kind: type[Request]) -> Request:
    """The request's body as a ``kind`` (``wire``); 400 when it is not one, 413 over the limit."""
    chunks, size = [], 0
    async for chunk in read_body_chunks(request.content):
        size += len(chunk)
        if size > API_BODY_LIMIT:
            raise web.HTTPRequestEntityTooLarge(max_size=API_BODY_LIMIT, actual_size=size)
        chunks.append(chunk)
    try:
        return decode_request(b"".join(chunks), kind)
    except RequestRefused as refused:
        body = msgspec.json.encode(refused.answer()).decode()
        raise web.HTTPBadRequest(text=body, content_type="application/json") from None


def _bad_request(detail: str) -> web.Response:
    return error_json(400, detail)


def _parse_job_id(request: web.Request) -> uuid.UUID | None:
    text = request.match_info["job_id"]
    try:
        job_id = uuid.UUID(text)
    except ValueError:
        return None
    request[JOB_ID_KEY] = str(job_id)
    return job_id


# -- the seed's endpoints ------------------------------------------------------------------


def _caller(request: web.Request) -> str:
    """Who is asking: the name of their API token, else this server's user."""
    return request.get(CALLER_KEY) or _services(request).settings.user_name


async def generate_url(request: web.Request) -> web.Response:
    services = _services(request)
    body = await _read_request(request, GenerateUrlRequest)
    filename, content_type = body.filename, body.content_type
    if not looks_like_media(filename, content_type or None):
        return _bad_request(f"not a video: {content_type or filename!r}")
    content_type = content_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    settings = services.settings
    file_key = make_file_key(filename, user=_caller(request), now=datetime.now(UTC))
    expires = settings.s3_presigned_url_expire
    url = await services.storage.presign_put(file_key, content_type, expires)
    logger.info("upload URL issued for %s", file_key)
    return json_answer(GenerateUrlResponse(presigned_url=url, file_key=file_key,
                                           expires_in=expires, url=url, fileKey=file_key))


async def request_process(request: web.Request) -> web.Response:
    services = _services(request)
    body = await _read_request(request, ProcessRequest)
    if body.job_id is not None:
        return await adopt_job(request, body.job_id, body.object_key, services.store,
                               services.pipeline,
                               loopback=is_loopback_host(services.settings.bind_host))
    wait_s = services.rate_limiter.hit(request.remote or "unknown")
    if wait_s is not None:
        response = error_json(429, "too many requests: the limit is "
                              f"{services.settings.rate_limit_per_minute} per minute")
        response.headers["Retry-After"] = RateLimiter.retry_after_header(wait_s)
        return response
    file_key = body.object_key or ""  # one of it and job_id is there (ProcessRequest)
    if not is_safe_key(file_key):
        return _bad_request("fileKey is not a safe storage key")
    if services.pipeline is None:
        return error_json(503, "the job pipeline is not running")
    if not await services.storage.exists(file_key):
        return error_json(404, f"no object {file_key!r} in storage")
    job = await services.pipeline.submit_object(
        file_key, body.language_code, filename=file_key.rsplit("/", 1)[-1], owner=_caller(request)
    )
    request[JOB_ID_KEY] = str(job.job_id)
    logger.info("new processing request: job %s for %s", job.job_id, file_key)
    return json_answer(ProcessResponse(PROCESSING_STARTED, job.job_id))


async def receive_result(request: web.Request) -> web.Response:
    receiver = _services(request).callbacks
    body = receiver.open_body(request.headers, request.content_length)
    if not isinstance(body, CallbackBody):  # refused before reading: too large, unsigned
        return callback_answer(*body)
    try:
        async with receiver.large_body_slot(request.content_length) as busy:
            if busy is not None:
                return callback_answer(*busy)
            async for chunk in read_body_chunks(request.content):
                if not await body.feed(chunk):
                    return callback_answer(*receiver.too_large())
            await body.finish()
            job_id = _peek_job_id(await body.head())
            if job_id:
                request[JOB_ID_KEY] = job_id
            return callback_answer(*await receiver.receive(body, request.headers))
    finally:
        body.discard()


_JOB_ID_IN_BODY = re.compile(rb'"job_id"\s*:\s*"([0-9a-fA-F-]{32,36})"')


def _peek_job_id(body: bytes) -> str | None:
    """The job id for the access log, without parsing the body on the loop."""
    match = _JOB_ID_IN_BODY.search(body, 0, 4096)
    return match.group(1).decode() if match else None


async def job_status(request: web.Request) -> web.Response:
    services = _services(request)
    job_id = _parse_job_id(request)
    if job_id is None:
        return _bad_request("job_id must be a UUID")
    job = await services.store.get(job_id)
    if job.status is not JobStatus.COMPLETED:
        return json_answer(JobDetail.of(job, result=None))
    answer = as_builtins(JobDetail.of(job, result=None))
    # Put in as it is: converting a three-hour transcript would hold the loop.
    answer["result"] = await services.store.get_raw_result(job_id)
    return await _json_response_off_loop(answer)


async def _json_response_off_loop(answer: dict[str, Any]) -> web.Response:
    # The pure-Python encoder (iterencode) lets the loop's thread take the GIL back; the C
    # one would hold it for the whole of a big transcript.
    def encode() -> bytes:
        return "".join(json.JSONEncoder(ensure_ascii=False).iterencode(answer)).encode()

    body = await asyncio.to_thread(encode)
    return web.Response(body=body, content_type="application/json")


async def ml_server_health(request: web.Request) -> web.Response:
    services = _services(request)
    url = services.settings.model_server_url or "(bundled reference analyzer)"
    try:
        async with asyncio.timeout(ML_HEALTH_TIMEOUT_S):
            report = await services.core.ml_client.health()
    except TimeoutError:
        return json_answer(MLHealth("unreachable", url, None, None, None,
                                reason=f"no answer within {ML_HEALTH_TIMEOUT_S:.0f} s"), 503)
    answer = MLHealth(
        report.status,  # type: ignore[arg-type]  # one of the three (ports.HealthReport)
        report.url or url, report.response_time_ms, report.http_status, report.response,
        reason=None if report.healthy else report.reason,
        # several ML servers (mlclient.pool): each one's state
        servers=[MLServerState(r.url, r.status, r.queue_length, r.response_time_ms, r.reason)
                 for r in report.servers],
    )
    return json_answer(answer, 200 if report.healthy else 503)


# -- beyond the seed ---------------------------------------------------------------------------


async def health(request: web.Request) -> web.Response:
    services = _services(request)
    reason: str | None = None
    try:
        async with asyncio.timeout(STORE_HEALTH_TIMEOUT_S):
            await services.store.count(JobQuery(limit=1))
    except Exception as exc:  # any failure means "not reachable"; the reason says which
        reason = str(exc) or type(exc).__name__
        logger.warning("health: job store unreachable: %s", reason)
    settings = services.settings
    store_where, storage_where = services.store.describe(), services.storage.describe()
    if not _may_see_details(request):  # paths and host names are for the server's users
        store_where = urlsplit(settings.effective_database_url).scheme.split("+")[0]
        storage_where = "S3" if settings.uses_s3 else "this computer"
        reason = reason and "the job store did not answer"
    answer = Health(
        status="ok" if reason is None else "degraded",
        store=StoreHealth(reachable=reason is None, where=store_where, reason=reason),
        storage=StorageHealth(mode="s3" if settings.uses_s3 else "local", where=storage_where),
        unsigned_callbacks_allowed=services.callbacks.allows_unsigned,
        version=__version__,
    )
    return json_answer(answer, 200 if reason is None else 503)


def _may_see_details(request: web.Request) -> bool:
    """On a loopback bind everyone may (the local user); elsewhere a caller with a token."""
    policy = _services(request).policy
    return policy.loopback or policy.caller(request.headers.get("Authorization", "")) is not None


async def metrics_text(request: web.Request) -> web.Response:
    text = _services(request).metrics.render()
    return web.Response(text=text, content_type="text/plain", charset="utf-8",
                        headers={"X-Prometheus-Format": "0.0.4"})


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int | None:
    text = request.query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        return None
    return value if low <= value <= high else None


async def list_jobs(request: web.Request) -> web.Response:
    services = _services(request)
    limit = _int_param(request, "limit", 50, 1, 500)
    offset = _int_param(request, "offset", 0, 0, 10**9)
    if limit is None or offset is None:
        return _bad_request("limit must be 1-500 and offset a non-negative integer")
    status_text = request.query.get("status")
    status: JobStatus | None = None
    if status_text:
        try:
            status = JobStatus(status_text)
        except ValueError:
            return _bad_request(f"status must be one of {', '.join(s.value for s in JobStatus)}")
    text = request.query.get("q") or None
    if text is not None and "\x00" in text:
        return _bad_request("q cannot contain NUL")
    query = JobQuery(status=status, text=text, limit=limit, offset=offset)
    counting = JobQuery(status=status, text=text, limit=1, offset=0)
    jobs = await services.store.list(query)
    total = await services.store.count(counting)
    return json_answer(JobList([JobSummary.of(j) for j in jobs], total, limit, offset))


async def delete_job(request: web.Request) -> web.Response:
    services = _services(request)
    job_id = _parse_job_id(request)
    if job_id is None:
        return _bad_request("job_id must be a UUID")
    flag = request.query.get("delete_object", "false").lower()
    if flag not in ("true", "false", "1", "0"):
        return _bad_request("delete_object must be true or false")
    if services.pipeline is None:
        return error_json(503, "the job pipeline is not running")
    try:
        await services.pipeline.delete(job_id, delete_object=flag in ("true", "1"))
    except PipelineError as exc:  # the job is gone but its stored video is not
        return error_json(502, str(exc))
    logger.info("job %s deleted", job_id)
    return json_answer(Deleted("deleted", job_id))
