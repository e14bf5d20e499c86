"""Every endpoint's answers, on a backend wired by ``build_core`` (real store, local object
store, real HTTP), with a protocol peer standing in for the GPU ML server."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path

from ecg_desktop.domain import JobStatus

from .conftest import LiveFactory

KEY_SHAPE = re.compile(r"^videos/anonymous/\d{8}_\d{6}_[0-9a-f]{8}_clip\.mp4$")


async def _upload(live, filename: str = "clip.mp4", data: bytes = b"\x00video" * 1000) -> str:  # type: ignore[no-untyped-def]
    async with live.http.post(live.url("/api/upload-video/generate-url"),
                              json={"filename": filename, "content_type": "video/mp4"}) as r:
        assert r.status == 200
        answer = await r.json()
    async with live.http.put(answer["presigned_url"], data=data,
                             headers={"Content-Type": "video/mp4"}) as put:
        assert put.status in (200, 201), await put.text()
    return str(answer["file_key"])


async def _request_process(live, file_key: str) -> str:  # type: ignore[no-untyped-def]
    """The job id ``request-process`` answers for ``file_key``."""
    async with live.http.post(live.url("/api/upload-video/request-process"),
                              json={"fileKey": file_key}) as response:
        return str((await response.json())["job_id"])


async def _wait_status(live, job_id: str, wanted: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    for _ in range(200):
        async with live.http.get(live.url(f"/api/upload-video/status/{job_id}")) as r:
            answer = await r.json()
        if answer["status"] == wanted:
            return answer  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} stayed {answer['status']}")


async def test_generate_url_answers_the_seed_shape_with_a_working_put_url(
    make_live: LiveFactory,
) -> None:
    live = await make_live()

    async with live.http.post(live.url("/api/upload-video/generate-url"),
                              json={"filename": "../../clip.mp4",
                                    "content_type": "video/mp4"}) as response:
        answer = await response.json()

    assert response.status == 200
    assert set(answer) == {"presigned_url", "file_key", "expires_in", "url", "fileKey"}
    assert KEY_SHAPE.match(answer["file_key"]), answer["file_key"]
    assert answer["fileKey"] == answer["file_key"]
    assert answer["url"] == answer["presigned_url"]
    assert answer["expires_in"] == 3600
    async with live.http.put(answer["presigned_url"], data=b"video bytes") as put:
        assert put.status in (200, 201)
    assert await live.core.storage.exists(answer["file_key"])


async def test_generate_url_uses_the_configured_user_name(make_live: LiveFactory) -> None:
    live = await make_live(user_name="ana lyst", s3_presigned_url_expire=600)

    async with live.http.post(live.url("/api/upload-video/generate-url"),
                              json={"filename": "clip.mov"}) as response:
        answer = await response.json()

    assert answer["file_key"].startswith("videos/ana_lyst/")
    assert answer["expires_in"] == 600


async def test_request_process_runs_a_job_to_completion(make_live: LiveFactory) -> None:
    live = await make_live()
    file_key = await _upload(live)

    async with live.http.post(live.url("/api/upload-video/request-process"),
                              json={"fileKey": file_key, "language": "en"}) as response:
        answer = await response.json()

    assert response.status == 200
    assert answer["message"] == "Video processing started."
    job_id = answer["job_id"]
    assert uuid.UUID(job_id).version == 4
    done = await _wait_status(live, job_id, "completed")
    assert set(done) >= {"job_id", "status", "progress", "message", "result", "error_code",
                         "error_message", "created_at", "updated_at", "stage"}
    assert (done["progress"], done["stage"], done["error_code"]) == (100, "done", None)
    assert done["result"]["segments"][0]["text"] == "hello there"
    assert live.peer.jobs[job_id].request["language"] == "en"


async def test_request_process_for_a_missing_object_is_404(make_live: LiveFactory) -> None:
    live = await make_live()

    async with live.http.post(live.url("/api/upload-video/request-process"),
                              json={"fileKey": "videos/test/file.mp4"}) as response:
        assert response.status == 404
    assert await live.core.store.count() == 0


async def test_request_process_is_rate_limited_per_client(make_live: LiveFactory) -> None:
    live = await make_live(rate_limit_per_minute=3)

    statuses = []
    for _ in range(5):
        async with live.http.post(live.url("/api/upload-video/request-process"),
                                  json={"fileKey": "videos/test/file.mp4"}) as response:
            statuses.append(response.status)
            retry_after = response.headers.get("Retry-After")

    assert statuses == [404, 404, 404, 429, 429]
    assert retry_after is not None and 1 <= int(retry_after) <= 60


async def test_status_shows_pending_processing_and_failed_shapes(make_live: LiveFactory) -> None:
    live = await make_live()
    live.peer.behaviour = "fail"
    file_key = await _upload(live)
    job_id = await _request_process(live, file_key)

    failed = await _wait_status(live, job_id, "failed")

    assert failed["error_code"] == "DOWNLOAD_ERROR"
    assert failed["error_message"] == "HTTP 403 from the video URL"
    assert failed["result"] is None


async def test_ml_server_health_healthy_and_unreachable(make_live: LiveFactory) -> None:
    live = await make_live()

    async with live.http.get(live.url("/api/upload-video/ml-server/health")) as response:
        healthy = await response.json()
    assert response.status == 200
    assert healthy["status"] == "healthy"
    assert healthy["ml_server_url"] == live.peer.url
    assert healthy["http_status"] == 200
    assert healthy["response_time_ms"] > 0
    assert healthy["response"]["status"] == "healthy"

    await live.peer.stop()
    async with live.http.get(live.url("/api/upload-video/ml-server/health")) as response:
        down = await response.json()
    assert response.status == 503
    assert down["status"] == "unreachable"
    assert down["reason"]


async def test_job_listing_pages_and_filters_by_status(make_live: LiveFactory) -> None:
    live = await make_live()
    live.peer.behaviour = "silent"
    file_key = await _upload(live)
    ids = []
    for _ in range(3):
        ids.append(await _request_process(live, file_key))
    await live.core.pipeline.cancel(uuid.UUID(ids[0]))

    async with live.http.get(live.url("/api/upload-video/jobs?limit=2")) as response:
        page = await response.json()
    assert (page["total"], page["limit"], page["offset"], len(page["jobs"])) == (3, 2, 0, 2)
    async with live.http.get(live.url("/api/upload-video/jobs?limit=2&offset=2")) as response:
        rest = await response.json()
    assert {j["job_id"] for j in page["jobs"] + rest["jobs"]} == set(ids)
    async with live.http.get(live.url("/api/upload-video/jobs?status=canceled")) as response:
        canceled = await response.json()
    assert [j["job_id"] for j in canceled["jobs"]] == [ids[0]]
    for bad in ("status=done", "limit=0", "limit=x", "offset=-1"):
        async with live.http.get(live.url(f"/api/upload-video/jobs?{bad}")) as response:
            assert response.status == 400, bad


async def test_delete_removes_the_job_and_optionally_its_video(make_live: LiveFactory) -> None:
    live = await make_live()
    live.peer.behaviour = "silent"
    file_key = await _upload(live)
    job_id = await _request_process(live, file_key)

    async with live.http.delete(
            live.url(f"/api/upload-video/jobs/{job_id}?delete_object=true")) as response:
        assert response.status == 200
        assert await response.json() == {"status": "deleted", "job_id": job_id}

    async with live.http.get(live.url(f"/api/upload-video/status/{job_id}")) as response:
        assert response.status == 404
    assert not await live.core.storage.exists(file_key)
    async with live.http.delete(live.url(f"/api/upload-video/jobs/{job_id}")) as response:
        assert response.status == 404
    async with live.http.delete(live.url("/api/upload-video/jobs/undefined")) as response:
        assert response.status == 400


async def test_health_reports_store_storage_and_callback_policy(make_live: LiveFactory) -> None:
    live = await make_live(allow_unsigned_callbacks=True)

    async with live.http.get(live.url("/health")) as response:
        answer = await response.json()

    assert response.status == 200
    assert answer["status"] == "ok"
    assert answer["store"]["reachable"] is True
    assert answer["store"]["where"] == live.core.store.describe()
    assert answer["storage"]["mode"] == "local"
    assert answer["unsigned_callbacks_allowed"] is True


async def test_health_says_when_the_store_is_unreachable(
    make_live: LiveFactory, tmp_path: Path
) -> None:
    database = tmp_path / "damaged.db"
    live = await make_live(database_url=f"sqlite+aiosqlite:///{database}")
    await live.core.store.close()  # drop pooled connections, then damage the file
    _damage(database)

    async with live.http.get(live.url("/health")) as response:
        answer = await response.json()

    assert response.status == 503
    assert (answer["status"], answer["store"]["reachable"]) == ("degraded", False)


def _damage(database: Path) -> None:
    for leftover in database.parent.glob(database.name + "*"):
        leftover.unlink()
    database.write_bytes(b"this is not an SQLite database" * 100)


async def test_every_documented_metric_moves(make_live: LiveFactory) -> None:
    live = await make_live()
    metrics = live.core.metrics
    before = {name: metrics.total(name) for name in
              ("ml_requests_total", "jobs_total", "callbacks_total", "http_requests_total",
               "job_processing_seconds_count")}
    file_key = await _upload(live)
    job_id = await _request_process(live, file_key)
    await _wait_status(live, job_id, "completed")

    async with live.http.get(live.url("/metrics")) as response:
        text = await response.text()

    assert response.content_type == "text/plain"
    moved = {name: metrics.total(name) - count for name, count in before.items()}
    assert all(change >= 1 for change in moved.values()), moved
    assert "# TYPE callbacks_total counter" in text
    assert 'callbacks_total{reason="completed",result="accepted"} 1.0' in text
    assert 'jobs_total{error_code="",outcome="completed"} 1.0' in text
    assert "# TYPE job_processing_seconds histogram" in text
    assert 'job_processing_seconds_bucket{le="+Inf"} 1.0' in text
    assert re.search(r'ml_requests_total\{[^}]*outcome="accepted"[^}]*\} 1\.0', text)
    assert re.search(r'http_requests_total\{method="POST",route="/api/upload-video/'
                     r'request-process",status="200"\} 1\.0', text)
    assert "process_resident_memory_bytes " in text  # the process's own, from the library


async def test_openapi_describes_every_route(make_live: LiveFactory) -> None:
    live = await make_live()

    async with live.http.get(live.url("/openapi.json")) as response:
        document = await response.json()

    assert document["openapi"].startswith("3.")
    described = {(path, method) for path, item in document["paths"].items()
                 for method in item if method in ("get", "post", "put", "delete")}
    app = live.core.server.app
    served = set()
    for route in app.router.routes():
        if route.method in ("HEAD", "OPTIONS"):
            continue
        path = re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", route.resource.canonical)
        served.add((path, route.method.lower()))
    assert served == described


async def test_a_job_changed_elsewhere_is_listed_with_its_status(make_live: LiveFactory) -> None:
    live = await make_live()
    live.peer.behaviour = "silent"
    file_key = await _upload(live)
    job_id = await _request_process(live, file_key)
    job = await live.core.pipeline.cancel(uuid.UUID(job_id))

    async with live.http.get(live.url(f"/api/upload-video/status/{job_id}")) as response:
        answer = await response.json()

    assert job.status is JobStatus.CANCELED
    assert answer["status"] == "canceled"
