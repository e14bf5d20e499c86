"""The analyzer's HTTP API (PROTOCOL.md section 2) as an aiohttp application."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from ecg_desktop import __version__
from ecg_desktop.domain import ErrorCode
from ecg_desktop.domain.signatures import Verdict, verify

from .config import AnalyzerConfig
from .service import AnalyzerService, JobRequest, QueueFull

logger = logging.getLogger(__name__)

CONFIG = web.AppKey("config", AnalyzerConfig)
SERVICE = web.AppKey("service", AnalyzerService)
MAX_REQUEST_BYTES = 4 * 1024 * 1024
routes = web.RouteTableDef()


def _invalid(errors: list[dict[str, Any]], status: int = 422) -> web.Response:
    return web.json_response(
        {"error_code": ErrorCode.INVALID_REQUEST.value, "detail": errors}, status=status
    )


def _http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def parse_job_request(payload: Any) -> tuple[JobRequest | None, list[dict[str, Any]]]:
    """The request, or the list of field errors."""
    if not isinstance(payload, Mapping):
        return None, [{"loc": [], "msg": "the body must be a JSON object"}]
    errors: list[dict[str, Any]] = []

    def error(field: str, msg: str) -> None:
        errors.append({"loc": [field], "msg": msg})

    job_id = payload.get("job_id")
    try:
        job_id = str(uuid.UUID(str(job_id))) if isinstance(job_id, str) else None
    except ValueError:
        job_id = None
    if job_id is None:
        error("job_id", "must be a UUID string")
    for field in ("video_url", "fastapi_base_url"):
        if not _http_url(payload.get(field)):
            error(field, "must be an http(s) URL")
    language = payload.get("language") or "auto"
    if not isinstance(language, str) or not (
        language == "auto" or (len(language) == 2 and language.isalpha())
    ):
        error("language", "must be 'auto' or an ISO 639-1 code")
    transcript = payload.get("transcript")
    if transcript is not None and not isinstance(transcript, str):
        error("transcript", "must be a string")
    model = payload.get("model")
    if model is not None and (not isinstance(model, str) or not 0 < len(model) <= 64):
        error("model", "must be a Whisper model name")
    bounds: dict[str, int | None] = {}
    for field in ("min_speakers", "max_speakers"):
        value = payload.get(field)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            error(field, "must be a positive integer")
            value = None
        bounds[field] = value
    low, high = bounds["min_speakers"], bounds["max_speakers"]
    if low is not None and high is not None and low > high:
        error("min_speakers", "cannot be above max_speakers")
    if errors:
        return None, errors
    return (
        JobRequest(
            job_id=str(job_id),
            video_url=payload["video_url"],
            fastapi_base_url=payload["fastapi_base_url"],
            language=str(language).lower(),
            transcript=transcript,
            min_speakers=low,
            max_speakers=high,
            model=model,
        ),
        [],
    )


def _check_signature(config: AnalyzerConfig, body: bytes, headers: Mapping[str, str]) -> str | None:
    """None when the dispatch may proceed, else the reason to refuse it."""
    if not config.webhook_secret:
        return None
    verdict, _ = verify([config.webhook_secret], body, headers, now=time.time())
    if verdict is Verdict.VALID:
        return None
    if verdict is Verdict.MISSING and config.allow_unsigned_dispatch:
        return None
    return f"signature {verdict.value}"


@routes.post("/api/upload-video/process-video")
async def process_video(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    body = await request.read()
    refused = _check_signature(request.app[CONFIG], body, request.headers)
    if refused:
        logger.warning("dispatch refused: %s", refused)
        return web.json_response(
            {"error_code": ErrorCode.INVALID_REQUEST.value, "detail": f"dispatch {refused}"},
            status=401,
        )
    try:
        payload = json.loads(body)
    except ValueError as exc:
        return _invalid([{"loc": [], "msg": f"not JSON: {exc}"}], status=400)
    job_request, errors = parse_job_request(payload)
    if job_request is None:
        return _invalid(errors)
    try:
        job, new = service.submit(job_request)
    except QueueFull as full:
        return web.json_response(
            {"error_code": "QUEUE_FULL", "detail": str(full), "retry_after": full.retry_after_s},
            status=503,
            headers={"Retry-After": str(full.retry_after_s)},
        )
    status_url = f"{request.url.origin()}/api/upload-video/status/{job.job_id}"
    return web.json_response(
        {
            "job_id": job.job_id,
            "status": "accepted" if new else job.status,
            "message": "Video analysis queued." if new else "This job is already known.",
            "status_url": status_url,
            "estimated_time": service.estimated_time_s(service.jobs_ahead_of(job.job_id)),
        },
        status=202,
    )


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    return web.json_response(
        {
            "status": "healthy",
            "service": "ecg-analyzer",
            "version": __version__,
            "queue_length": service.queue_length,
            "active_jobs": service.running,
            "concurrency": service.config.concurrency,
            "backend": service.backends[0],
            "backends": service.backends,
            "model": service.model,
            "signed_callbacks": bool(service.config.webhook_secret),
        }
    )


def _job_or_error(request: web.Request) -> Any:
    raw = request.match_info["job_id"]
    try:
        job_id = str(uuid.UUID(raw))
    except ValueError:
        return web.json_response(
            {"error_code": ErrorCode.INVALID_REQUEST.value, "detail": f"{raw!r} is not a job id"},
            status=400,
        )
    job = request.app[SERVICE].get(job_id)
    if job is None:
        return web.json_response({"detail": f"job {job_id} not found"}, status=404)
    return job


@routes.get("/jobs/{job_id}")
async def job_status(request: web.Request) -> web.Response:
    job = _job_or_error(request)
    if isinstance(job, web.Response):
        return job
    return web.json_response(job.status_view(with_result=False))


@routes.get("/api/upload-video/status/{job_id}")
async def job_status_with_result(request: web.Request) -> web.Response:
    job = _job_or_error(request)
    if isinstance(job, web.Response):
        return job
    text = await request.app[SERVICE].status_with_result(job)
    return web.Response(text=text, content_type="application/json")


@routes.post("/api/upload-video/cancel/{job_id}")
async def cancel_job(request: web.Request) -> web.Response:
    """This analyzer's extension of the protocol (docs/analyzer.md, "Cancel"). The body,
    ``{"job_id": ...}``, is signed like a dispatch, so only the backend can cancel."""
    body = await request.read()
    refused = _check_signature(request.app[CONFIG], body, request.headers)
    if refused:
        return web.json_response(
            {"error_code": ErrorCode.INVALID_REQUEST.value, "detail": f"cancel {refused}"},
            status=401,
        )
    job = _job_or_error(request)
    if isinstance(job, web.Response):
        return job
    try:
        named = json.loads(body).get("job_id") if body else None
    except (ValueError, AttributeError):
        named = None
    if named != job.job_id:
        return _invalid([{"loc": ["job_id"], "msg": "must name the job of the path"}])
    if not request.app[SERVICE].cancel(job.job_id):
        return web.json_response(
            {"job_id": job.job_id, "status": job.status, "detail": f"the job is {job.status}"},
            status=409,
        )
    return web.json_response({"job_id": job.job_id, "status": "canceled"})


async def _service_context(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    if not config.webhook_secret:
        logger.warning("no WEBHOOK_SECRET_KEY: callbacks are unsigned and dispatches unchecked")
    async with aiohttp.ClientSession() as session:
        service = AnalyzerService(config, session)
        app[SERVICE] = service
        await service.start()
        try:
            yield
        finally:
            await service.close()


def create_app(config: AnalyzerConfig) -> web.Application:
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[CONFIG] = config
    app.add_routes(routes)
    app.cleanup_ctx.append(_service_context)
    return app


def _bound_port(site: web.TCPSite) -> int | None:
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    return int(sockets[0].getsockname()[1]) if sockets else None


async def serve(config: AnalyzerConfig, *, ready: asyncio.Event | None = None) -> None:
    """Run until cancelled; prints ``ANALYZER_LISTENING <url>`` once bound (the port may be 0)."""
    runner = web.AppRunner(create_app(config), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
        port = _bound_port(site) or config.port
        url = f"http://{config.host}:{port}"
        logger.info("analyzer listening on %s", url)
        print(f"ANALYZER_LISTENING {url}", flush=True)
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
