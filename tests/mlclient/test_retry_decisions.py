"""Unit tests of the ML client's retry decisions (PROTOCOL.md 2.1) over httpx.MockTransport."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from ecg_desktop import __version__
from ecg_desktop.app.ports import MLError
from ecg_desktop.config import Settings
from ecg_desktop.domain.signatures import compat_signature
from ecg_desktop.mlclient import HttpMLClient

SECRET = "s3cret-for-tests"
JOB = uuid.UUID("12345678-1234-5678-1234-567812345678")


def make_client(handler, slept: list[float], **changes) -> HttpMLClient:  # type: ignore[no-untyped-def]
    settings = Settings(model_server_url="http://ml.test", webhook_secret_key=SECRET, **changes)

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    return HttpMLClient(settings, transport=httpx.MockTransport(handler), sleep=fake_sleep)


async def dispatch(client: HttpMLClient, **extra: object) -> object:
    return await client.dispatch(
        JOB, "http://store.test/v.mp4?sig=1", "http://cb.test:8000", "en", **extra
    )


async def test_dispatch_sends_the_protocol_payload_signed_with_the_compatible_scheme() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"job_id": str(JOB), "status": "accepted"})

    client = make_client(handler, [])
    answer = await dispatch(client, transcript="Hello there", min_speakers=None)
    await client.close()

    # The answer names the server that took the job, for the job's record.
    assert answer == {"job_id": str(JOB), "status": "accepted", "ml_server": "http://ml.test"}
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == "http://ml.test/api/upload-video/process-video"
    body = json.loads(request.content)
    assert body == {
        "job_id": str(JOB),
        "video_url": "http://store.test/v.mp4?sig=1",
        "fastapi_base_url": "http://cb.test:8000",
        "language": "en",
        "transcript": "Hello there",
    }
    assert request.headers["user-agent"] == f"ecg-desktop/{__version__}"
    assert request.headers["x-signature-256"] == compat_signature(SECRET, request.content)


async def test_server_errors_are_retried_after_5_and_10_seconds_then_keep_status_and_body() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(503, text="GPU out of memory")

    slept: list[float] = []
    client = make_client(handler, slept)
    with pytest.raises(MLError) as caught:
        await dispatch(client)
    await client.close()

    assert len(calls) == 3
    assert slept == [5.0, 10.0]
    assert caught.value.code == "ML_SERVER_ERROR"
    assert caught.value.http_status == 503
    assert "GPU out of memory" in str(caught.value)


async def test_a_5xx_followed_by_success_returns_the_answer() -> None:
    answers = iter([httpx.Response(500, text="boom"), httpx.Response(200, json={"ok": 1})])
    slept: list[float] = []
    client = make_client(lambda request: next(answers), slept)
    assert await dispatch(client) == {"ok": 1, "ml_server": "http://ml.test"}
    await client.close()
    assert slept == [5.0]


@pytest.mark.parametrize("status", [400, 404, 422, 429])
async def test_client_errors_are_not_retried(status: int) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(status, json={"detail": "video_url: field required"})

    slept: list[float] = []
    client = make_client(handler, slept)
    with pytest.raises(MLError) as caught:
        await dispatch(client)
    await client.close()

    assert calls == [1]
    assert slept == []
    assert caught.value.code == "ML_SERVER_ERROR"
    assert caught.value.http_status == status
    assert "video_url: field required" in str(caught.value)


async def test_connection_errors_are_retried_then_reported_as_connection_error() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectError("connection refused", request=request)

    slept: list[float] = []
    client = make_client(handler, slept)
    with pytest.raises(MLError) as caught:
        await dispatch(client)
    await client.close()
    assert len(calls) == 3
    assert slept == [5.0, 10.0]
    assert caught.value.code == "CONNECTION_ERROR"
    assert caught.value.http_status is None


async def test_read_timeouts_are_retried_then_reported_as_timeout_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    slept: list[float] = []
    client = make_client(handler, slept, ml_retry_delays=(1.0,))
    with pytest.raises(MLError) as caught:
        await dispatch(client)
    await client.close()
    assert slept == [1.0]
    assert caught.value.code == "TIMEOUT_ERROR"


async def test_a_redirect_is_an_unknown_error_not_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "http://elsewhere.test/"})

    client = make_client(handler, [])
    with pytest.raises(MLError) as caught:
        await dispatch(client)
    await client.close()
    assert caught.value.code == "UNKNOWN_ERROR"


async def test_no_signature_header_without_a_secret() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    settings = Settings(model_server_url="http://ml.test")
    client = HttpMLClient(settings, transport=httpx.MockTransport(handler))
    await dispatch(client)
    await client.close()
    assert "x-signature-256" not in seen[0].headers


async def test_job_status_falls_back_to_the_original_servers_route_and_none_on_404() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path.startswith("/jobs/"):
            return httpx.Response(200, json={"job_id": str(JOB), "status": "accepted"})
        return httpx.Response(404, json={"detail": "Not Found"})

    client = make_client(handler, [])
    status = await client.job_status(JOB)
    assert status is not None and status.status == "accepted" and status.result is None
    assert paths == [f"/api/upload-video/status/{JOB}", f"/jobs/{JOB}"]

    unknown = make_client(lambda request: httpx.Response(404), [])
    assert await unknown.job_status(JOB) is None
    await client.close()
    await unknown.close()


async def test_job_status_raises_when_the_server_cannot_be_asked() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = make_client(handler, [])
    with pytest.raises(MLError) as caught:
        await client.job_status(JOB)
    await client.close()
    assert caught.value.code == "CONNECTION_ERROR"


async def test_health_reports_unhealthy_answers_and_unreachable_servers() -> None:
    client = make_client(lambda r: httpx.Response(200, json={"status": "healthy"}), [])
    report = await client.health()
    assert report.healthy and report.status == "healthy" and report.http_status == 200
    assert report.response_time_ms is not None and report.response_time_ms >= 0
    await client.close()

    sick = make_client(lambda r: httpx.Response(503, json={"status": "loading"}), [])
    report = await sick.health()
    assert not report.healthy and report.status == "unhealthy" and report.http_status == 503
    await sick.close()

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    down = make_client(refuse, [])
    report = await down.health()
    assert report.status == "unreachable" and report.response_time_ms is None
    assert "refused" in (report.reason or "")
    await down.close()
