"""The pool of ML servers against real HTTP servers on loopback: choice by load, moving on
after a 503, a refused connection or a timeout, no retry after a 4xx, one report per server."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ecg_desktop.app.ports import MLError, MLServersBusy
from ecg_desktop.config import Settings
from ecg_desktop.mlclient import MLServerPool
from ecg_desktop.server.runner import free_port


class FakeAnalyzer:
    """The reference analyzer's routes as far as the pool sees them: ``/health`` with its
    queue (``waiting`` plus the jobs it accepted), dispatch answered by ``answers`` first
    (status, headers) then 202, status and cancel of the jobs it took."""

    def __init__(self, waiting: int = 0, concurrency: int = 1) -> None:
        self.waiting = waiting
        self.concurrency = concurrency
        self.answers: list[tuple[int, dict[str, str]]] = []
        self.attempts = 0
        self.accepted: list[str] = []
        self.canceled: list[str] = []
        self.hang = False
        self.server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/health", self._health)
        app.router.add_post("/api/upload-video/process-video", self._process)
        app.router.add_get("/api/upload-video/status/{job_id}", self._status)
        app.router.add_post("/api/upload-video/cancel/{job_id}", self._cancel)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({
            "status": "healthy",
            "queue_length": self.waiting + max(0, len(self.accepted) - self.concurrency),
            "active_jobs": min(len(self.accepted), self.concurrency),
            "concurrency": self.concurrency,
        })

    async def _process(self, request: web.Request) -> web.Response:
        self.attempts += 1
        if self.hang:
            await asyncio.sleep(30)
        if self.answers:
            status, headers = self.answers.pop(0)
            return web.json_response({"detail": "scripted"}, status=status, headers=headers)
        body = json.loads(await request.read())
        self.accepted.append(body["job_id"])
        return web.json_response({"job_id": body["job_id"], "status": "accepted"}, status=202)

    async def _status(self, request: web.Request) -> web.Response:
        job_id = request.match_info["job_id"]
        if job_id not in self.accepted:
            return web.json_response({"detail": "not found"}, status=404)
        return web.json_response({"job_id": job_id, "status": "processing", "progress": 30})

    async def _cancel(self, request: web.Request) -> web.Response:
        job_id = request.match_info["job_id"]
        if job_id not in self.accepted:
            return web.json_response({"detail": "not found"}, status=404)
        self.canceled.append(job_id)
        return web.json_response({"job_id": job_id, "status": "canceled"})


@pytest.fixture
async def servers() -> AsyncIterator[list[FakeAnalyzer]]:
    started = [FakeAnalyzer() for _ in range(3)]
    for server in started:
        await server.start()
    yield started
    for server in started:
        assert server.server is not None
        await server.server.close()


def pool_of(*urls: str, **changes: Any) -> MLServerPool:
    values: dict[str, Any] = {"ml_retry_delays": (0.05, 0.1), "ml_api_timeout": 10.0}
    values.update(changes)
    return MLServerPool(Settings(model_server_url=" , ".join(urls), **values))


async def dispatch(pool: MLServerPool) -> dict[str, Any]:
    answer = await pool.dispatch(uuid.uuid4(), "http://store.test/v.mp4", "http://cb.test", "en")
    return dict(answer)


async def test_jobs_go_to_the_least_loaded_servers(servers: list[FakeAnalyzer]) -> None:
    busy, idle_1, idle_2 = servers
    busy.waiting = 2
    pool = pool_of(*(s.url for s in servers))
    try:
        taken = [(await dispatch(pool))["ml_server"] for _ in range(4)]
    finally:
        await pool.close()
    assert busy.attempts == 0
    assert len(idle_1.accepted) == len(idle_2.accepted) == 2
    assert sorted(taken) == sorted([idle_1.url] * 2 + [idle_2.url] * 2)


async def test_a_503_moves_the_job_on_at_once_and_keeps_that_server_out_for_retry_after(
    servers: list[FakeAnalyzer],
) -> None:
    first, second, third = servers
    second.waiting = third.waiting = 1  # the first is the natural choice
    first.answers = [(503, {"Retry-After": "30"})]
    pool = pool_of(*(s.url for s in servers))
    try:
        answer = await asyncio.wait_for(dispatch(pool), 5)
        again = await dispatch(pool)
    finally:
        await pool.close()
    assert answer["ml_server"] in (second.url, third.url)
    assert again["ml_server"] in (second.url, third.url)
    assert first.attempts == 1  # not asked again within its Retry-After


async def test_a_refused_connection_or_a_timeout_moves_the_job_on(
    servers: list[FakeAnalyzer],
) -> None:
    hanging, working, _ = servers
    hanging.hang = True
    hanging.waiting = 0
    working.waiting = servers[2].waiting = 5
    dead = f"http://127.0.0.1:{free_port()}"
    pool = pool_of(dead, hanging.url, working.url, ml_api_timeout=0.5)
    try:
        answer = await asyncio.wait_for(dispatch(pool), 10)
        report = await pool.health()
    finally:
        await pool.close()
    assert answer["ml_server"] == working.url
    assert hanging.attempts == 1
    assert report.healthy
    states = {r.url: r.status for r in report.servers}
    assert states[dead] == "unreachable"
    assert states[working.url] == "healthy"


async def test_a_4xx_fails_the_job_without_trying_another_server(
    servers: list[FakeAnalyzer],
) -> None:
    refusing, other, _ = servers
    other.waiting = servers[2].waiting = 3
    refusing.answers = [(422, {})]
    pool = pool_of(*(s.url for s in servers))
    try:
        with pytest.raises(MLError) as raised:
            await dispatch(pool)
    finally:
        await pool.close()
    assert not isinstance(raised.value, MLServersBusy)
    assert raised.value.http_status == 422
    assert other.attempts == servers[2].attempts == 0


async def test_when_no_server_takes_the_job_it_says_why_for_each_and_when_to_ask_again(
    servers: list[FakeAnalyzer],
) -> None:
    full, _, _ = servers
    full.answers = [(503, {"Retry-After": "7"})]
    dead = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    pool = pool_of(full.url, *dead)
    try:
        with pytest.raises(MLServersBusy) as raised:
            await dispatch(pool)
    finally:
        await pool.close()
    message = str(raised.value)
    assert "all 3 ML servers" in message
    assert f"{full.url} busy, retry after 7 s" in message
    assert all(url in message for url in dead)
    assert raised.value.retry_after_s == pytest.approx(0.1)  # the dead ones: the last delay


async def test_health_reports_each_server_with_its_queue(servers: list[FakeAnalyzer]) -> None:
    servers[1].waiting = 4
    dead = f"http://127.0.0.1:{free_port()}"
    pool = pool_of(servers[0].url, servers[1].url, dead)
    try:
        report = await pool.health()
    finally:
        await pool.close()
    assert report.healthy and report.status == "healthy"
    assert [r.url for r in report.servers] == [servers[0].url, servers[1].url, dead]
    assert [r.queue_length for r in report.servers] == [0, 4, None]
    assert [r.healthy for r in report.servers] == [True, True, False]
    assert all(r.response_time_ms is not None for r in report.servers[:2])


async def test_status_and_cancel_go_to_the_server_that_took_the_job(
    servers: list[FakeAnalyzer],
) -> None:
    pool = pool_of(*(s.url for s in servers))
    job_id = uuid.uuid4()
    try:
        answer = await pool.dispatch(job_id, "http://store.test/v.mp4", "http://cb.test", "en")
        taker = next(s for s in servers if s.url == answer["ml_server"])
        status = await pool.job_status_on(taker.url, job_id)
        stopped = await pool.cancel_on(taker.url, job_id)
        elsewhere = next(s for s in servers if s is not taker)
        unknown_there = await pool.job_status_on(elsewhere.url, job_id)
    finally:
        await pool.close()
    assert status is not None and status.status == "processing"
    assert stopped and taker.canceled == [str(job_id)]
    assert unknown_there is None
    assert pool.can_move_from(taker.url)


async def test_a_changed_list_keeps_what_is_known_of_the_servers_still_in_it(
    servers: list[FakeAnalyzer],
) -> None:
    settings = Settings(model_server_url=f"{servers[0].url} {servers[1].url}")
    pool = MLServerPool(settings)
    try:
        await pool.health()
        kept = pool.members[1]
        pool.use_settings(settings.with_changes(
            model_server_url=f"{servers[1].url},{servers[2].url}"))
        assert pool.urls == (servers[1].url, servers[2].url)
        assert pool.members[0] is kept and kept.report is not None
        assert pool.members[1].report is None
    finally:
        await pool.close()


def test_the_setting_accepts_a_list_separated_by_commas_or_spaces() -> None:
    settings = Settings(model_server_url="http://a:8001, http://b:8001\n http://c:8001 http://a:8001")
    assert settings.model_server_urls == ("http://a:8001", "http://b:8001", "http://c:8001")
    with pytest.raises(ValueError, match="MODEL_SERVER_URL"):
        Settings(model_server_url="http://a:8001, ftp://b").validate()
