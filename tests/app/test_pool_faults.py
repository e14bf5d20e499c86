"""A pool of ML servers where a test needs a fault: protocol peers (tests/app/peer.py) that
answer 503 with Retry-After, are not there at all, or take a job and go quiet. Real cores:
the real SQLite store, local storage behind the embedded server, real signed callbacks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ecg_desktop.bootstrap import Core, build_core
from ecg_desktop.domain import JobStatus, Stage
from ecg_desktop.mlclient import MLServerPool
from ecg_desktop.server.runner import free_port
from tests.app.cores import FAST_RETRIES
from tests.app.peer import RESULT, ProtocolPeer
from tests.media import make_silent_video

SECRET = "pool-fault-secret"


class PoolPeer(ProtocolPeer):
    """A protocol peer with the reference analyzer's ``/health`` queue (``queue``), that can
    answer 503 with ``Retry-After`` (``busy_for_s``), be started on a chosen port, and
    counts the status questions it is asked."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(SECRET)
        self.port = port
        self.queue = 0
        self.busy_for_s: int | None = None
        self.status_questions = 0
        self.canceled: list[str] = []

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/upload-video/process-video", self._maybe_busy)
        app.router.add_get("/health", self._health)
        app.router.add_get("/api/upload-video/status/{job_id}", self._counted_status)
        app.router.add_get("/jobs/{job_id}", self._jobs)
        app.router.add_post("/api/upload-video/cancel/{job_id}", self._cancel)
        self._server = TestServer(app, host="127.0.0.1", port=self.port)
        await self._server.start_server()

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "healthy", "queue_length": self.queue})

    async def _maybe_busy(self, request: web.Request) -> web.Response:
        if self.busy_for_s is not None:
            self.attempts.append(time.monotonic())
            return web.json_response(
                {"error_code": "QUEUE_FULL"}, status=503,
                headers={"Retry-After": str(self.busy_for_s)})
        return await self._process(request)

    async def _cancel(self, request: web.Request) -> web.Response:
        job_id = request.match_info["job_id"]
        if job_id not in self.jobs:
            return web.json_response({"detail": "job not found"}, status=404)
        self.canceled.append(job_id)
        return web.json_response({"job_id": job_id, "status": "canceled"})

    async def _counted_status(self, request: web.Request) -> web.Response:
        self.status_questions += 1
        return await self._status(request)


@pytest.fixture
async def peers() -> AsyncIterator[list[PoolPeer]]:
    started: list[PoolPeer] = []
    for _ in range(2):
        peer = PoolPeer()
        await peer.start()
        started.append(peer)
    yield started
    for peer in started:
        await peer.stop()


@pytest.fixture
def make_core(
    settings_factory: Callable[..., Any], tmp_path: Path
) -> Callable[..., Any]:
    async def make(urls: list[str], **overrides: Any) -> Core:
        settings = settings_factory(**{
            "model_server_url": ", ".join(urls),
            "webhook_secret_key": SECRET,
            "ml_retry_delays": FAST_RETRIES,
            "ml_api_timeout": 10.0,
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}",
            "bind_host": "127.0.0.1",
            "bind_port": 0,
            **overrides,
        })
        core = await build_core(settings)
        await core.start_server()
        return core

    return make


async def test_a_server_answering_503_passes_the_job_to_the_next_at_once(
    peers: list[PoolPeer], make_core: Callable[..., Any], tmp_path: Path
) -> None:
    busy, free = peers
    free.queue = 2  # the busy one looks like the better choice
    busy.busy_for_s = 120
    core: Core = await make_core([busy.url, free.url], ml_retry_delays=(30.0,))
    try:
        started = time.monotonic()
        job = await core.pipeline.submit_file(make_silent_video(tmp_path / "a.mp4", 1.0))
        done = await core.pipeline.wait_for(job.job_id, timeout_s=20)
        took_s = time.monotonic() - started
        second = await core.pipeline.submit_file(make_silent_video(tmp_path / "b.mp4", 1.0))
        await core.pipeline.wait_for(second.job_id, timeout_s=20)
    finally:
        await core.close()
    assert done.status is JobStatus.COMPLETED
    assert done.ml_server == free.url
    assert took_s < 10  # no 30 s retry delay: the next server took it at once
    assert len(busy.attempts) == 1  # within its Retry-After it is not asked again
    assert set(free.jobs) == {str(job.job_id), str(second.job_id)}


async def test_with_every_server_down_the_job_waits_saying_so_and_goes_on_when_one_returns(
    make_core: Callable[..., Any], tmp_path: Path
) -> None:
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    core: Core = await make_core(urls)
    returning = PoolPeer(port=ports[1])
    try:
        job = await core.pipeline.submit_file(make_silent_video(tmp_path / "a.mp4", 1.0))
        for _ in range(100):
            waiting = await core.store.get(job.job_id)
            if waiting.message.startswith("Waiting for an ML server"):
                break
            await asyncio.sleep(0.1)
        assert waiting.status is JobStatus.PROCESSING and waiting.stage is Stage.DISPATCHING
        assert "all 2 ML servers refused or could not be reached" in waiting.message
        assert all(url in waiting.message for url in urls)
        await asyncio.sleep(1.0)
        assert not (await core.store.get(job.job_id)).status.is_terminal  # still waiting
        await returning.start()
        done = await core.pipeline.wait_for(job.job_id, timeout_s=20)
    finally:
        await core.close()
        await returning.stop()
    assert done.status is JobStatus.COMPLETED
    assert done.ml_server == urls[1]


async def test_after_a_restart_a_job_is_reconciled_with_the_server_that_took_it(
    peers: list[PoolPeer], make_core: Callable[..., Any], tmp_path: Path
) -> None:
    taker, other = peers
    other.queue = 5
    taker.behaviour = "silent"  # takes the job; its callbacks never come
    first: Core = await make_core([taker.url, other.url])
    try:
        job = await first.pipeline.submit_file(make_silent_video(tmp_path / "a.mp4", 1.0))
        for _ in range(100):
            if (await first.store.get(job.job_id)).stage is Stage.ANALYZING:
                break
            await asyncio.sleep(0.1)
    finally:
        await first.close()  # the app stops; the job stays with the server
    stored = await _stored(make_core, job.job_id)
    assert stored.stage is Stage.ANALYZING and stored.ml_server == taker.url

    taker.records[str(job.job_id)] = {
        "job_id": str(job.job_id), "status": "completed", "result": RESULT}
    second: Core = await make_core([other.url, taker.url])  # the list's order changed, too
    try:
        report = await second.recovery.recover()
        done = await second.store.get(job.job_id)
        transcript = await second.store.get_transcript(job.job_id)
    finally:
        await second.close()
    assert report.reconciled == {job.job_id: "completed"}
    assert done.status is JobStatus.COMPLETED and done.ml_server == taker.url
    assert transcript is not None and transcript.segments[0].text == "hello there"
    assert other.status_questions == 0 and taker.status_questions == 1


async def test_a_silent_job_on_a_server_that_died_goes_to_another_without_a_new_upload(
    peers: list[PoolPeer], make_core: Callable[..., Any], tmp_path: Path
) -> None:
    dying, other = peers
    other.queue = 5
    dying.behaviour = "silent"
    core: Core = await make_core([dying.url, other.url], callback_watchdog_s=1.0)
    try:
        assert isinstance(core.ml_client, MLServerPool)
        job = await core.pipeline.submit_file(make_silent_video(tmp_path / "a.mp4", 1.0))
        for _ in range(100):
            if (await core.store.get(job.job_id)).stage is Stage.ANALYZING:
                break
            await asyncio.sleep(0.1)
        key = (await core.store.get(job.job_id)).file_key
        await dying.stop()  # the server dies with the job
        await asyncio.sleep(1.1)
        outcomes = await core.recovery.check_silent_jobs()
        done = await core.pipeline.wait_for(job.job_id, timeout_s=20)
    finally:
        await core.close()
    assert outcomes == {job.job_id: "moved"}
    assert done.status is JobStatus.COMPLETED
    assert done.ml_server == other.url and done.file_key == key  # the same object, no upload
    assert other.jobs[str(job.job_id)].video_sha256 is not None


async def test_a_late_result_from_the_first_server_counts_once_and_the_other_is_told_to_stop(
    peers: list[PoolPeer], make_core: Callable[..., Any], tmp_path: Path
) -> None:
    first, second = peers
    second.queue = 5
    first.behaviour = "silent"
    second.gate.clear()  # the second server holds the job before its download
    core: Core = await make_core([first.url, second.url], callback_watchdog_s=1.0)
    back = PoolPeer(port=int(first.url.rsplit(":", 1)[1]))  # the first server, once it returns
    try:
        job = await core.pipeline.submit_file(make_silent_video(tmp_path / "a.mp4", 1.0))
        for _ in range(100):
            if (await core.store.get(job.job_id)).stage is Stage.ANALYZING:
                break
            await asyncio.sleep(0.1)
        await first.stop()
        await asyncio.sleep(1.1)
        assert await core.recovery.check_silent_jobs() == {job.job_id: "moved"}
        for _ in range(100):
            if str(job.job_id) in second.jobs:
                break
            await asyncio.sleep(0.1)
        await back.start()
        late = first.jobs[str(job.job_id)]
        await back._callback(late, {"status": "completed", "progress": 100, "result": RESULT})
        done = await core.pipeline.wait_for(job.job_id, timeout_s=10)
        for _ in range(100):
            if second.canceled:
                break
            await asyncio.sleep(0.05)
        second.gate.set()  # the second server's own result comes too, later
        for _ in range(100):
            if any(body.get("status") for _, body in second.jobs[str(job.job_id)].callbacks[1:]):
                break
            await asyncio.sleep(0.1)
        final = await core.store.get(job.job_id)
    finally:
        await core.close()
        await back.stop()
    assert late.callbacks[0][0] == 200 and done.status is JobStatus.COMPLETED
    assert second.canceled == [str(job.job_id)]
    assert final.completed_at == done.completed_at  # the second result changed nothing
    answers = [body.get("status") for _, body in second.jobs[str(job.job_id)].callbacks]
    assert answers[-1] == "already_completed", answers


async def _stored(make_core: Callable[..., Any], job_id: Any) -> Any:
    core: Core = await make_core([f"http://127.0.0.1:{free_port()}"] * 1)
    try:
        return await core.store.get(job_id)
    finally:
        await core.close()


async def test_a_list_makes_a_pool_whose_list_changes_apply_at_once(
    peers: list[PoolPeer], make_core: Callable[..., Any]
) -> None:
    one, two = peers
    core: Core = await make_core([one.url, two.url])
    try:
        assert isinstance(core.ml_client, MLServerPool)
        old = core.settings
        assert core.apply_live_settings(old, old.with_changes(model_server_url=two.url)) is False
        assert core.apply_live_settings(old, old.with_changes(
            model_server_url=f"{two.url} {one.url}"))
        assert core.ml_client.urls == (two.url, one.url)
    finally:
        await core.close()


async def test_serve_takes_a_list_and_reports_each_server(
    peers: list[PoolPeer], tmp_settings: Any, tmp_path: Path
) -> None:
    import os

    import httpx

    from tests.services.serve import start_serve_async

    peers[0].queue = 3
    dead = f"http://127.0.0.1:{free_port()}"
    env = dict(os.environ, MODEL_SERVER_URL=f"{peers[0].url}, {dead}", WEBHOOK_SECRET_KEY=SECRET)
    served = await start_serve_async(env, tmp_path / "serve.log")
    try:
        async with httpx.AsyncClient() as http:
            response = await http.get(served.url + "/api/upload-video/ml-server/health")
    finally:
        await served.stop()
    assert response.status_code == 200  # one of the two answers
    servers = {s["url"]: s for s in response.json()["servers"]}
    assert servers[peers[0].url]["status"] == "healthy"
    assert servers[peers[0].url]["queue_length"] == 3
    assert servers[dead]["status"] == "unreachable"


async def test_canceling_a_dispatched_job_asks_its_server_to_stop(
    peers: list[PoolPeer], make_core: Callable[..., Any], tmp_path: Path
) -> None:
    single, _ = peers
    single.behaviour = "silent"
    core: Core = await make_core([single.url])  # one server: the plain HTTP client
    try:
        job = await core.pipeline.submit_file(make_silent_video(tmp_path / "a.mp4", 1.0))
        for _ in range(100):
            if (await core.store.get(job.job_id)).stage is Stage.ANALYZING:
                break
            await asyncio.sleep(0.1)
        canceled = await core.pipeline.cancel(job.job_id)
        for _ in range(50):
            if single.canceled:
                break
            await asyncio.sleep(0.1)
    finally:
        await core.close()
    assert canceled.status is JobStatus.CANCELED
    assert single.canceled == [str(job.job_id)]


async def test_a_job_its_server_canceled_on_its_own_fails_instead_of_waiting_forever(
    peers: list[PoolPeer], make_core: Callable[..., Any], tmp_path: Path
) -> None:
    server, _ = peers
    server.behaviour = "silent"
    core: Core = await make_core([server.url])
    try:
        job = await core.pipeline.submit_file(make_silent_video(tmp_path / "a.mp4", 1.0))
        for _ in range(100):
            if (await core.store.get(job.job_id)).stage is Stage.ANALYZING:
                break
            await asyncio.sleep(0.1)
        server.records[str(job.job_id)] = {"job_id": str(job.job_id), "status": "canceled"}
        outcome = await core.recovery.reconcile(await core.store.get(job.job_id))
        ended = await core.store.get(job.job_id)
    finally:
        await core.close()
    assert outcome == "failed" and ended.status is JobStatus.FAILED
    assert "canceled this job" in (ended.error_message or "")
