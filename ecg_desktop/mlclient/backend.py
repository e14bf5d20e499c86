"""Dispatch through the team backend: the ``MLClient`` port for a desktop of a team.

In a team (docs/team.md) only ``serve`` and the ML servers hold the webhook secret. A
desktop creates its job in the shared database and uploads the video to the bucket; then,
instead of calling the ML server, it asks the backend to dispatch the job, through the
seed's own ``POST /api/upload-video/request-process`` with the job's id and the desktop's
API token (``team_token``). The backend adopts the job (the caller must own it), signs the
dispatch with the team's secret, receives the callbacks and writes them to the shared
database, where every desktop sees them live. Revoking a member's token cuts them off.

- ``dispatch`` waits for the backend's own dispatch, so a refusal by the ML server fails the
  job here too. The backend is asked again after each of ``ml_retry_delays`` when it cannot
  be reached, times out or answers 503; adopting is idempotent (a job already dispatched is
  answered as such), so asking twice never dispatches twice.
- ``health`` is the backend's view of the ML server (``/api/upload-video/ml-server/health``):
  the desktop need not reach the ML server at all.
- ``job_status``: the backend reconciles the jobs it dispatched (its watchdog), so this only
  tells this desktop's recovery whether a job it was sending never reached the backend
  (``None``: send it again); for any other job it raises ``MLError``, which recovery takes as
  "cannot ask now" and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from ecg_desktop.app.ports import HealthReport, MLError, RemoteJobStatus
from ecg_desktop.config import ReadsSettings, Settings
from ecg_desktop.domain import ErrorCode, Job, Stage

from .http import USER_AGENT, Sleep

logger = logging.getLogger(__name__)

REQUEST_PROCESS_PATH = "/api/upload-video/request-process"
ML_HEALTH_PATH = "/api/upload-video/ml-server/health"
HEALTH_TIMEOUT_S = 15.0
CONNECT_TIMEOUT_S = 10.0
BODY_EXCERPT = 500
RETRIED_STATUSES = frozenset({503, 504})  # the backend's store is away; a proxy gave up

JobLookup = Callable[[uuid.UUID], Awaitable[Job]]


class BackendDispatcher(ReadsSettings):
    """Sends this desktop's jobs to the ML server through the team backend at
    ``settings.fastapi_base_url`` (see the module docstring). ``job_of`` reads a job from
    the shared store (its stored video's key goes with the request)."""

    def __init__(
        self,
        settings: Settings,
        job_of: JobLookup,
        *,
        installation: str,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._settings = settings
        self._job_of = job_of
        self._installation = installation
        self._sleep = sleep
        self._client = httpx.AsyncClient(
            transport=transport, headers={"User-Agent": USER_AGENT}, follow_redirects=False
        )

    @property
    def base_url(self) -> str:
        """The backend's address (where the health monitor's reports come from)."""
        return self._settings.fastapi_base_url.rstrip("/")

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._settings.team_token}"}

    def _dispatch_timeout(self) -> httpx.Timeout:
        """Long enough for the backend's own dispatch with all its retries."""
        settings = self._settings
        attempts = len(settings.ml_retry_delays) + 1
        read = settings.ml_api_timeout * attempts + sum(settings.ml_retry_delays) + 30.0
        return httpx.Timeout(read, connect=CONNECT_TIMEOUT_S)

    # -- dispatch --------------------------------------------------------------------------

    async def dispatch(
        self,
        job_id: uuid.UUID,
        video_url: str,
        callback_base_url: str,
        language: str,
        **extra: Any,
    ) -> Mapping[str, Any]:
        """Ask the backend to dispatch ``job_id``. ``video_url`` and ``callback_base_url``
        are not sent: the backend makes its own link and gives its own address."""
        if not self._settings.team_token:
            raise MLError(ErrorCode.INVALID_REQUEST, "no API token for the team backend "
                          "(`ecg-desktop secrets set team_token`)")
        job = await self._job_of(job_id)
        payload: dict[str, Any] = {"job_id": str(job_id), "fileKey": job.file_key,
                                   "language": language}
        payload.update({k: v for k, v in extra.items() if v is not None})
        url = self.base_url + REQUEST_PROCESS_PATH
        delays = (0.0, *self._settings.ml_retry_delays)
        last: MLError | None = None
        for attempt, delay in enumerate(delays, start=1):
            if delay > 0:
                await self._sleep(delay)
            try:
                return await self._request_once(url, payload)
            except _TryAgain as again:
                last = again.error
                logger.warning("job %s: asking the team backend (attempt %d/%d) failed: %s",
                               job_id, attempt, len(delays), last)
        assert last is not None
        raise MLError(last.code, f"{last} (after {len(delays)} attempts)",
                      http_status=last.http_status)

    async def _request_once(self, url: str, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        try:
            response = await self._client.post(
                url, json=payload, headers=self._headers(), timeout=self._dispatch_timeout()
            )
        except httpx.TimeoutException as exc:
            raise _TryAgain(MLError(ErrorCode.TIMEOUT_ERROR,
                                    f"the team backend at {url} did not answer in time")) from exc
        except httpx.HTTPError as exc:
            raise _TryAgain(_unreachable(url, exc)) from exc
        if response.is_success:
            answer = _json(response)
            return answer if isinstance(answer, Mapping) else {}
        error = _refusal(url, response)
        if response.status_code in RETRIED_STATUSES:
            raise _TryAgain(error)
        raise error

    # -- health and status -----------------------------------------------------------------

    async def health(self) -> HealthReport:
        """The ML server as the backend sees it; a refused token is reported as such."""
        base = self.base_url
        if not base:
            return HealthReport(False, "unreachable", "", None, reason="no team backend address")
        url = base + ML_HEALTH_PATH
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            response = await self._client.get(url, headers=self._headers(),
                                              timeout=HEALTH_TIMEOUT_S)
        except httpx.HTTPError as exc:
            return HealthReport(False, "unreachable", base, None,
                                reason=f"the team backend: {_describe(exc)}")
        elapsed_ms = (loop.time() - started) * 1000
        body = _json(response)
        if response.status_code in (401, 403):
            return HealthReport(False, "unhealthy", base, elapsed_ms,
                                http_status=response.status_code, response=body,
                                reason="the team backend refused this desktop's API token")
        said = body.get("status") if isinstance(body, Mapping) else None
        healthy = response.status_code == 200 and said == "healthy"
        reason = None if healthy else _detail(body, response)
        return HealthReport(healthy, "healthy" if healthy else "unhealthy", base, elapsed_ms,
                            http_status=response.status_code, response=body, reason=reason)

    async def job_status(self, job_id: uuid.UUID) -> RemoteJobStatus | None:
        job = await self._job_of(job_id)
        not_taken = job.installation in ("", self._installation) and job.stage in (
            Stage.UPLOADED, Stage.DISPATCHING
        )
        if not_taken:
            return None  # the backend never took it: send it again (adopting is idempotent)
        raise MLError(ErrorCode.CONNECTION_ERROR,
                      "the team backend reconciles the jobs it dispatched; nothing to ask here")

    async def close(self) -> None:
        await self._client.aclose()


class _TryAgain(Exception):
    def __init__(self, error: MLError) -> None:
        super().__init__(str(error))
        self.error = error


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _detail(body: Any, response: httpx.Response) -> str:
    if isinstance(body, Mapping):
        for key in ("detail", "reason", "error_message"):
            if body.get(key):
                return str(body[key])[:BODY_EXCERPT]
    return f"HTTP {response.status_code}: {response.text[:BODY_EXCERPT]}"


def _refusal(url: str, response: httpx.Response) -> MLError:
    status = response.status_code
    detail = _detail(_json(response), response)
    if status in (401, 403):
        message = (f"the team backend refused this desktop (HTTP {status}): {detail}; check "
                   "the API token (`ecg-desktop secrets set team_token`)")
        return MLError(ErrorCode.INVALID_REQUEST, message, http_status=status)
    body = _json(response)
    code = body.get("error_code") if isinstance(body, Mapping) else None
    error_code = ErrorCode(str(code)) if code in ErrorCode.__members__ else (
        ErrorCode.ML_SERVER_ERROR)
    return MLError(error_code, f"the team backend answered HTTP {status} to {url}: {detail}",
                   http_status=status)


def _describe(exc: httpx.HTTPError) -> str:
    return f"{type(exc).__name__}: {exc or 'no detail'}"


def _unreachable(url: str, exc: httpx.HTTPError) -> MLError:
    return MLError(ErrorCode.CONNECTION_ERROR,
                   f"cannot reach the team backend at {url} ({_describe(exc)})")
