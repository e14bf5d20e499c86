"""The ML-server client over HTTP (PROTOCOL.md section 2), implementing the ``MLClient`` port.

One ``httpx.AsyncClient`` per client (it pools connections). Retry policy of 2.1: connection
errors, timeouts and 5xx are tried again after each of ``settings.ml_retry_delays`` (5 s and
10 s: three attempts in all); any 4xx fails at once. Every failure leaves as ``MLError`` with
an ``ErrorCode`` value:

    CONNECTION_ERROR   the server could not be reached (refused, DNS, reset, connect timeout)
    TIMEOUT_ERROR      connected, but no answer within ``ML_API_TIMEOUT``
    ML_SERVER_ERROR    the server answered an error status; ``http_status`` and the body kept
    UNKNOWN_ERROR      anything else (a redirect, a protocol error we cannot classify)
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from ecg_desktop import __version__
from ecg_desktop.app.ports import (
    DISPATCHED_TO,
    HealthReport,
    MLError,
    RemoteJobStatus,
    parse_json_yielding,
)
from ecg_desktop.config import ReadsSettings, Settings
from ecg_desktop.domain import ErrorCode
from ecg_desktop.domain.signatures import COMPAT_HEADER, compat_signature

logger = logging.getLogger(__name__)

PROCESS_PATH = "/api/upload-video/process-video"
HEALTH_PATH = "/health"
STATUS_PATHS = ("/api/upload-video/status/{job_id}", "/jobs/{job_id}")
CANCEL_PATH = "/api/upload-video/cancel/{job_id}"
MAX_RETRY_AFTER_S = 600.0
HEALTH_TIMEOUT_S = 10.0
STATUS_TIMEOUT_S = 15.0
BODY_EXCERPT = 2000  # characters of an error body kept in the message
USER_AGENT = f"ecg-desktop/{__version__}"

Sleep = Callable[[float], Awaitable[None]]


class Retryable(Exception):
    """One attempt failed in a way PROTOCOL 2.1 retries (connection error, timeout, 5xx);
    carries the final error if it stays, and a 503's ``Retry-After`` in seconds."""

    def __init__(self, error: MLError, retry_after_s: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after_s = retry_after_s


class HttpMLClient(ReadsSettings):
    """Talks to ``base_url`` (default ``settings.model_server_url``).

    ``set_base_url`` points it elsewhere later, for the embedded analyzer whose port is known
    only once it runs (and may change when it is restarted).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        base_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._settings = settings
        self._base_url = base_url if base_url is not None else settings.model_server_url
        self._sleep = sleep
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(settings.ml_api_timeout),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )

    @property
    def base_url(self) -> str:
        return self._base_url

    def set_base_url(self, url: str) -> None:
        self._base_url = url

    def use_settings(self, settings: Settings) -> None:
        """Also the ML server's URL when it changed (the bundled analyzer's address, set by
        ``set_base_url``, is kept otherwise)."""
        if settings.model_server_url != self._settings.model_server_url:
            self._base_url = settings.model_server_url
        super().use_settings(settings)

    def _url(self, path: str) -> str:
        if not self._base_url:
            raise MLError(ErrorCode.CONNECTION_ERROR, "no ML server URL is configured")
        return self._base_url.rstrip("/") + path

    # -- 2.1 dispatch ----------------------------------------------------------------------

    async def dispatch(
        self,
        job_id: uuid.UUID,
        video_url: str,
        callback_base_url: str,
        language: str,
        **extra: Any,
    ) -> Mapping[str, Any]:
        body, headers = self.dispatch_request(
            job_id, video_url, callback_base_url, language, **extra
        )
        delays = (0.0, *self._settings.ml_retry_delays)
        last: MLError | None = None
        for attempt, delay in enumerate(delays, start=1):
            if delay > 0:
                logger.info("job %s: dispatch attempt %d in %.1f s", job_id, attempt, delay)
                await self._sleep(delay)
            try:
                return await self.post_dispatch(body, headers)
            except Retryable as retryable:
                last = retryable.error
                logger.warning(
                    "job %s: dispatch attempt %d/%d failed: %s", job_id, attempt, len(delays), last
                )
        assert last is not None
        raise MLError(
            last.code, f"{last} (after {len(delays)} attempts)", http_status=last.http_status
        )

    def dispatch_request(
        self,
        job_id: uuid.UUID,
        video_url: str,
        callback_base_url: str,
        language: str,
        **extra: Any,
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers of PROTOCOL 2.1's request (signed when a secret is set)."""
        payload: dict[str, Any] = {
            "job_id": str(job_id),
            "video_url": video_url,
            "fastapi_base_url": callback_base_url,
            "language": language,
        }
        payload.update({k: v for k, v in extra.items() if v is not None})
        body = json.dumps(payload, ensure_ascii=False).encode()
        return body, self._signed_headers(body)

    def _signed_headers(self, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._settings.webhook_secret_key:
            headers[COMPAT_HEADER] = compat_signature(self._settings.webhook_secret_key, body)
        return headers

    async def post_dispatch(self, body: bytes, headers: Mapping[str, str]) -> Mapping[str, Any]:
        """One attempt: the server's answer, with ``DISPATCHED_TO`` naming this server.
        Raises ``Retryable`` (try again, or another server) or ``MLError`` (a 4xx: never)."""
        answer = await self._post_once(self._url(PROCESS_PATH), body, headers)
        return {**answer, DISPATCHED_TO: self._base_url}

    async def _post_once(
        self, url: str, body: bytes, headers: Mapping[str, str]
    ) -> Mapping[str, Any]:
        try:
            response = await self._client.post(
                url, content=body, headers=headers, timeout=self._settings.ml_api_timeout
            )
        except httpx.ConnectTimeout as exc:
            raise Retryable(_connection_error(url, exc)) from exc
        except httpx.TimeoutException as exc:
            raise Retryable(
                MLError(
                    ErrorCode.TIMEOUT_ERROR,
                    f"the ML server at {url} did not answer within "
                    f"{self._settings.ml_api_timeout:g} s",
                )
            ) from exc
        except (httpx.ConnectError, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise Retryable(_connection_error(url, exc)) from exc
        except httpx.HTTPError as exc:
            raise MLError(ErrorCode.UNKNOWN_ERROR, f"request to {url} failed: {exc!r}") from exc
        if response.is_success:
            return _json_object(response)
        error = _status_error(url, response)
        if response.status_code >= 500:
            raise Retryable(error, _retry_after(response))
        raise error

    # -- 2.2 health ------------------------------------------------------------------------

    async def health(self) -> HealthReport:
        if not self._base_url:
            return HealthReport(False, "unreachable", "", None, reason="no ML server URL")
        url = self._url(HEALTH_PATH)
        started = time.perf_counter()
        try:
            response = await self._client.get(url, timeout=HEALTH_TIMEOUT_S)
        except httpx.HTTPError as exc:
            return HealthReport(
                False, "unreachable", self._base_url, None, reason=_describe_transport(exc)
            )
        elapsed_ms = (time.perf_counter() - started) * 1000
        body: Any
        try:
            body = response.json()
        except ValueError:
            body = response.text[:BODY_EXCERPT]
        said = body.get("status") if isinstance(body, dict) else None
        healthy = response.status_code == 200 and said in (None, "healthy", "ok")
        reason = None if healthy else f"HTTP {response.status_code}: {_excerpt(response.text)}"
        return HealthReport(
            healthy,
            "healthy" if healthy else "unhealthy",
            self._base_url,
            elapsed_ms,
            http_status=response.status_code,
            response=body,
            reason=reason,
        )

    # -- 2.3 job status --------------------------------------------------------------------

    async def job_status(self, job_id: uuid.UUID) -> RemoteJobStatus | None:
        """The reference analyzer's status route first (it carries the result), then the
        original server's ``/jobs/{id}``. ``None`` when both answer 404. Raises ``MLError``
        when the server cannot be asked, so "no record" is never confused with "unreachable".
        """
        for template in STATUS_PATHS:
            url = self._url(template.format(job_id=job_id))
            try:
                response = await self._client.get(url, timeout=STATUS_TIMEOUT_S)
            except httpx.TimeoutException as exc:
                raise MLError(ErrorCode.TIMEOUT_ERROR, f"no answer from {url}") from exc
            except httpx.HTTPError as exc:
                raise _connection_error(url, exc) from exc
            if response.status_code in (404, 405):
                continue
            if not response.is_success:
                raise _status_error(url, response)
            return _remote_status(await asyncio.to_thread(_json_object, response))
        return None

    async def job_status_on(self, server: str, job_id: uuid.UUID) -> RemoteJobStatus | None:
        """This client has one server: ``server`` is where it was (the bundled analyzer's
        port changes when it restarts), so its current one is asked."""
        return await self.job_status(job_id)

    async def cancel_on(self, server: str, job_id: uuid.UUID) -> bool:
        return await self.cancel(job_id)

    def can_move_from(self, server: str) -> bool:
        return False

    # -- cancel (the reference analyzer's extension of the protocol) ----------------------

    async def cancel(self, job_id: uuid.UUID) -> bool:
        """``POST /api/upload-video/cancel/{job_id}``: ``True`` when the server stopped the
        job; ``False`` when it does not know it, finished it already, or has no cancel route
        (the WhisperX server: its later callbacks are answered ``already_canceled``)."""
        url = self._url(CANCEL_PATH.format(job_id=job_id))
        body = json.dumps({"job_id": str(job_id)}).encode()
        try:
            response = await self._client.post(
                url, content=body, headers=self._signed_headers(body), timeout=STATUS_TIMEOUT_S
            )
        except httpx.TimeoutException as exc:
            raise MLError(ErrorCode.TIMEOUT_ERROR, f"no answer from {url}") from exc
        except httpx.HTTPError as exc:
            raise _connection_error(url, exc) from exc
        if response.status_code in (404, 405, 409):
            return False
        if not response.is_success:
            raise _status_error(url, response)
        return True

    async def close(self) -> None:
        await self._client.aclose()


def _remote_status(data: Mapping[str, Any]) -> RemoteJobStatus:
    known = {"status", "progress", "message", "result", "error_code", "error_message"}
    progress = data.get("progress")
    result = data.get("result")
    return RemoteJobStatus(
        status=str(data.get("status") or "unknown").lower(),
        progress=int(progress) if isinstance(progress, int | float) else None,
        message=_optional_str(data.get("message")),
        result=result if isinstance(result, Mapping) else None,
        error_code=_optional_str(data.get("error_code")),
        error_message=_optional_str(data.get("error_message") or data.get("error")),
        extra={k: v for k, v in data.items() if k not in known},
    )


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _json_object(response: httpx.Response) -> Mapping[str, Any]:
    """The JSON object of ``response`` (in a worker thread: a status answer may carry a
    three-hour result, which a plain ``json.loads`` would parse holding the GIL throughout)."""
    try:
        data = parse_json_yielding(response.content)
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {"response": data}


def _excerpt(text: str) -> str:
    text = text.strip()
    return text if len(text) <= BODY_EXCERPT else text[:BODY_EXCERPT] + "..."


def _status_error(url: str, response: httpx.Response) -> MLError:
    code = ErrorCode.ML_SERVER_ERROR if response.status_code >= 400 else ErrorCode.UNKNOWN_ERROR
    return MLError(
        code,
        f"the ML server answered HTTP {response.status_code} to {url}: {_excerpt(response.text)}",
        http_status=response.status_code,
    )


def _retry_after(response: httpx.Response) -> float | None:
    """A 503's ``Retry-After`` in seconds (the delta form; an HTTP date is not used by any ML
    server we know), capped so a wrong value cannot park a job for a day."""
    raw = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(raw)
    except ValueError:
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S) if seconds == seconds else None


def _describe_transport(exc: httpx.HTTPError) -> str:
    detail = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {detail}"


def _connection_error(url: str, exc: httpx.HTTPError) -> MLError:
    return MLError(
        ErrorCode.CONNECTION_ERROR,
        f"cannot reach the ML server at {url} ({_describe_transport(exc)})",
    )
