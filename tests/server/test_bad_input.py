"""The issue's bad-input battery for the callback and the API: each answer has the documented
status code and leaves the job store exactly as it was."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from ecg_desktop.domain import JobStatus
from ecg_desktop.domain.signatures import sign_headers

from .conftest import SECRET, LiveFactory, Server, ServerFactory, callback_body, seed_result


async def _server_with_jobs(make_server: ServerFactory, **overrides: Any) -> tuple[Server, Any]:
    server = await make_server(**overrides)
    running = await server.add_job()
    await server.callback(callback_body(running.job_id, progress=30, message="Transcribing"))
    await server.add_job(JobStatus.CANCELED)
    return server, running


def _backwards_result() -> dict[str, Any]:
    result = seed_result()
    result["segments"][1]["start_time"], result["segments"][1]["end_time"] = 10.5, 9.0
    return result


CallbackCase = tuple[Callable[[uuid.UUID], object], dict[str, Any], int]

CALLBACK_CASES: dict[str, CallbackCase] = {
    # name: (payload builder given the running job id, sender options, expected status)
    "forged signature": (lambda j: callback_body(j, progress=90), {"secret": "forged"}, 401),
    "missing signature": (lambda j: callback_body(j, progress=90), {"secret": None}, 401),
    "stale webhook timestamp": (lambda j: callback_body(j, progress=90),
                                {"scheme": "webhook", "clock_skew_s": -301}, 401),
    "webhook timestamp from the future": (lambda j: callback_body(j, progress=90),
                                          {"scheme": "webhook", "clock_skew_s": 400}, 401),
    "malformed webhook signature": (lambda j: callback_body(j, progress=90),
                                    {"scheme": "webhook",
                                     "headers": {"webhook-signature": "v2,abc"}}, 401),
    "progress above 100": (lambda j: callback_body(j, progress=150), {}, 422),
    "progress below 0": (lambda j: callback_body(j, progress=-1), {}, 422),
    "progress not a number": (lambda j: callback_body(j, progress="50"), {}, 422),
    "unknown status": (lambda j: callback_body(j, "done", progress=90), {}, 422),
    "no status": (lambda j: {"job_id": str(j), "progress": 90}, {}, 422),
    "completed without result": (lambda j: callback_body(j, "completed"), {}, 422),
    "completed with times running backwards": (
        lambda j: callback_body(j, "completed", result=_backwards_result()), {}, 422),
    "completed with a result that is not an object": (
        lambda j: callback_body(j, "completed", result=[1, 2]), {}, 422),
    "non-UUID job id": (lambda j: callback_body("undefined", progress=90), {}, 422),
    "job id not a string": (lambda j: callback_body(j, progress=90) | {"job_id": 7}, {}, 422),
    "unknown job": (lambda j: callback_body(uuid.uuid4(), progress=90), {}, 404),
    "body is a JSON array": (lambda j: [callback_body(j, progress=90)], {}, 422),
}


@pytest.mark.parametrize("case", list(CALLBACK_CASES))
async def test_bad_callback_is_refused_and_changes_nothing(
    make_server: ServerFactory, case: str
) -> None:
    server, running = await _server_with_jobs(make_server)
    build, options, expected = CALLBACK_CASES[case]
    before = await server.snapshot()

    response = await server.callback(build(running.job_id), **options)

    assert response.status == expected, await response.text()
    assert "detail" in await response.json()
    assert await server.snapshot() == before


async def test_signature_over_a_different_body_is_refused(make_server: ServerFactory) -> None:
    server, running = await _server_with_jobs(make_server)
    signed_body = json.dumps(callback_body(running.job_id, progress=40)).encode()
    sent_body = json.dumps(callback_body(running.job_id, progress=95)).encode()
    before = await server.snapshot()

    for compat_only in (True, False):
        headers = sign_headers(SECRET, signed_body, msg_id=f"msg_{compat_only}",
                               timestamp=int(time.time()), compat_only=compat_only)
        if not compat_only:
            headers.pop("X-Signature-256")
        response = await server.callback(None, secret=None, raw=sent_body, headers=headers)
        assert response.status == 401

    assert await server.snapshot() == before


@pytest.mark.parametrize("body", [b"", b"{", b'{"job_id": "x", "status": "proc', b"not json",
                                  b"\xff\xfe\x00garbage", b"[" * 100_000])
async def test_truncated_or_non_json_body_is_400(make_server: ServerFactory, body: bytes) -> None:
    server, _ = await _server_with_jobs(make_server)
    before = await server.snapshot()

    response = await server.callback(None, raw=body)

    assert response.status == 400
    assert await server.snapshot() == before


async def test_body_over_the_limit_is_413(make_server: ServerFactory) -> None:
    server, running = await _server_with_jobs(make_server, callback_body_limit=2048)
    big = callback_body(running.job_id, progress=90, message="x" * 4096)
    before = await server.snapshot()

    declared = await server.callback(big)
    chunked = await server.client.post(
        "/api/upload-video/result", data=_chunks(json.dumps(big).encode()),
        headers={"Content-Type": "application/json", "X-Signature-256": "sha256=00"})

    assert (declared.status, chunked.status) == (413, 413)
    assert await server.snapshot() == before


async def _chunks(data: bytes):  # type: ignore[no-untyped-def]
    for start in range(0, len(data), 512):
        yield data[start:start + 512]


async def test_a_callback_for_a_canceled_job_changes_nothing(make_server: ServerFactory) -> None:
    server, _ = await _server_with_jobs(make_server)
    canceled = next(j for j in await server.store.list() if j.status is JobStatus.CANCELED)
    before = await server.snapshot()

    response = await server.callback(callback_body(canceled.job_id, "completed",
                                                   result=seed_result()))

    assert await response.json() == {"status": "already_canceled"}
    assert await server.snapshot() == before


@pytest.mark.parametrize("job_id", ["undefined", "null", "JOB_ID", "1234", "..%2Fetc%2Fpasswd",
                                    "00000000-0000-0000-0000-00000000000g"])
async def test_status_of_a_non_uuid_is_400(make_server: ServerFactory, job_id: str) -> None:
    server, _ = await _server_with_jobs(make_server)
    before = await server.snapshot()

    response = await server.client.get(f"/api/upload-video/status/{job_id}")

    assert response.status == 400
    assert await server.snapshot() == before


async def test_status_and_delete_of_an_unknown_job_are_404(make_server: ServerFactory) -> None:
    server, _ = await _server_with_jobs(make_server, pipeline=None)
    before = await server.snapshot()

    response = await server.client.get(f"/api/upload-video/status/{uuid.uuid4()}")

    assert response.status == 404
    assert await server.snapshot() == before


@pytest.mark.parametrize("body", [
    {}, {"filename": ""}, {"filename": "   "}, {"filename": 5},
    {"filename": "notes.txt", "content_type": "text/plain"},
    {"filename": "clip.mp4", "content_type": "application/pdf"},
    {"filename": "clip.mp4", "content_type": 12},
])
async def test_generate_url_refuses_missing_filenames_and_non_videos(
    make_server: ServerFactory, body: dict[str, Any]
) -> None:
    server, _ = await _server_with_jobs(make_server)

    response = await server.client.post("/api/upload-video/generate-url", json=body)

    assert response.status == 400
    assert "detail" in await response.json()


@pytest.mark.parametrize("file_key", ["../secrets/key.mp4", "/etc/passwd", "videos/a\x00b.mp4",
                                      "videos/../../x.mp4", "videos\\..\\x.mp4", "", "  "])
async def test_request_process_refuses_unsafe_or_missing_keys(
    make_server: ServerFactory, file_key: str
) -> None:
    server, _ = await _server_with_jobs(make_server, rate_limit_per_minute=1000)
    before = await server.snapshot()

    response = await server.client.post("/api/upload-video/request-process",
                                        json={"fileKey": file_key, "language": "auto"})

    assert response.status == 400
    assert await server.snapshot() == before


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b'"fileKey"'])
async def test_api_bodies_that_are_not_json_objects_are_400(
    make_server: ServerFactory, raw: bytes
) -> None:
    server, _ = await _server_with_jobs(make_server, rate_limit_per_minute=1000)
    before = await server.snapshot()

    for path in ("/api/upload-video/generate-url", "/api/upload-video/request-process"):
        response = await server.client.post(path, data=raw,
                                            headers={"Content-Type": "application/json"})
        assert response.status == 400, path
    assert await server.snapshot() == before


async def test_unknown_language_is_400(make_server: ServerFactory) -> None:
    server, _ = await _server_with_jobs(make_server)

    response = await server.client.post(
        "/api/upload-video/request-process",
        json={"fileKey": "videos/anonymous/x.mp4", "language": "klingon"})

    assert response.status == 400


async def test_storage_urls_refuse_expired_tampered_and_escaping_keys(
    make_live: LiveFactory,
) -> None:
    live = await make_live()
    filestore = live.core.storage.filestore
    key = "videos/anonymous/20240101_000000_abcd1234_clip.mp4"
    put = filestore.sign_url("PUT", key, 600, base_url=live.base_url)
    async with live.http.put(put, data=b"the video") as response:
        assert response.status in (200, 201)
    expired = filestore.sign_url("GET", key, 60, base_url=live.base_url, now=time.time() - 120)
    good = filestore.sign_url("GET", key, 60, base_url=live.base_url)
    other_key = good.replace("clip.mp4", "other.mp4")
    put_with_get_url = good

    async with live.http.get(expired) as response:
        assert response.status == 403
    async with live.http.get(other_key) as response:
        assert response.status == 403
    async with live.http.put(put_with_get_url, data=b"overwritten") as response:
        assert response.status == 403
    for escaping in ("/storage/%2e%2e/%2e%2e/etc/passwd", "/storage/videos/%00x.mp4",
                     "/storage//etc/passwd"):
        async with live.http.get(live.base_url + escaping + "?expires=9999999999&signature=0",
                                 allow_redirects=False) as response:
            assert response.status in (400, 403, 404), escaping
    async with live.http.get(good) as response:
        assert response.status == 200
        assert await response.read() == b"the video"
