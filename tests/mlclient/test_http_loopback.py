"""The ML client against a real HTTP server on loopback that speaks PROTOCOL.md section 2."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ecg_desktop.app.ports import MLError
from ecg_desktop.config import Settings
from ecg_desktop.domain.signatures import verify
from ecg_desktop.mlclient import HttpMLClient

SECRET = "loopback-secret"
FAST_RETRIES = (0.05, 0.1)


class ScriptedMLServer:
    """Answers the dispatch route with a scripted list of statuses, recording each request."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[dict[str, Any]] = []
        self.arrivals: list[float] = []
        self.jobs: dict[str, dict[str, Any]] = {}

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/upload-video/process-video", self.process)
        app.router.add_get("/health", self.health)
        app.router.add_get("/api/upload-video/status/{job_id}", self.status)
        return app

    async def process(self, request: web.Request) -> web.Response:
        raw = await request.read()
        verdict, _ = verify([SECRET], raw, request.headers, now=time.time())
        self.arrivals.append(time.monotonic())
        self.requests.append(
            {"body": json.loads(raw), "verdict": verdict, "ua": request.headers["User-Agent"]}
        )
        status = self.statuses.pop(0) if self.statuses else 202
        if status >= 400:
            return web.Response(status=status, text=f"scripted failure {status}")
        body = json.loads(raw)
        self.jobs[body["job_id"]] = {
            "job_id": body["job_id"],
            "status": "processing",
            "progress": 10,
            "message": "queued",
        }
        return web.json_response({"job_id": body["job_id"], "status": "accepted"}, status=status)

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "healthy", "version": "test"})

    async def status(self, request: web.Request) -> web.Response:
        job = self.jobs.get(request.match_info["job_id"])
        if job is None:
            return web.json_response({"detail": "unknown job"}, status=404)
        return web.json_response(job)


@asynccontextmanager
async def client_of(peer: ScriptedMLServer) -> AsyncIterator[HttpMLClient]:
    """``peer`` served on loopback and a client for it, both closed afterwards."""
    server = TestServer(peer.app(), host="127.0.0.1")
    await server.start_server()
    client = client_for(str(server.make_url("/")))
    try:
        yield client
    finally:
        await client.close()
        await server.close()


def client_for(url: str) -> HttpMLClient:
    settings = Settings(
        model_server_url=url,
        webhook_secret_key=SECRET,
        ml_retry_delays=FAST_RETRIES,
        ml_api_timeout=5.0,
    )
    return HttpMLClient(settings)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_two_500s_then_accepted_over_real_http() -> None:
    peer = ScriptedMLServer([500, 500])
    job_id = uuid.uuid4()
    async with client_of(peer) as client:
        answer = await client.dispatch(
            job_id, "http://127.0.0.1:1/v.mp4", "http://127.0.0.1:2", "ko"
        )
        status = await client.job_status(job_id)
        health = await client.health()
    assert answer["status"] == "accepted"
    assert len(peer.requests) == 3
    assert all(r["verdict"] == "valid" for r in peer.requests)
    assert peer.requests[0]["body"]["language"] == "ko"
    assert peer.requests[0]["ua"].startswith("ecg-desktop/")
    gaps = [b - a for a, b in zip(peer.arrivals, peer.arrivals[1:], strict=False)]
    assert gaps[0] >= FAST_RETRIES[0] and gaps[1] >= FAST_RETRIES[1]
    assert status is not None and status.status == "processing" and status.progress == 10
    assert health.healthy and health.response["version"] == "test"


async def test_500_every_time_fails_with_status_and_body() -> None:
    peer = ScriptedMLServer([500, 500, 500])
    async with client_of(peer) as client:
        with pytest.raises(MLError) as caught:
            await client.dispatch(uuid.uuid4(), "http://x/v.mp4", "http://cb", "auto")
    assert len(peer.requests) == 3
    assert caught.value.code == "ML_SERVER_ERROR" and caught.value.http_status == 500
    assert "scripted failure 500" in str(caught.value)


async def test_422_is_not_retried() -> None:
    peer = ScriptedMLServer([422])
    async with client_of(peer) as client:
        with pytest.raises(MLError) as caught:
            await client.dispatch(uuid.uuid4(), "http://x/v.mp4", "http://cb", "auto")
    assert len(peer.requests) == 1
    assert caught.value.http_status == 422 and "scripted failure 422" in str(caught.value)


async def test_server_down_means_three_attempts_then_connection_error() -> None:
    client = client_for(f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    try:
        with pytest.raises(MLError) as caught:
            await client.dispatch(uuid.uuid4(), "http://x/v.mp4", "http://cb", "auto")
        health = await client.health()
        with pytest.raises(MLError):
            await client.job_status(uuid.uuid4())
    finally:
        await client.close()
    assert caught.value.code == "CONNECTION_ERROR"
    assert "after 3 attempts" in str(caught.value)
    assert time.monotonic() - started >= sum(FAST_RETRIES)
    assert health.status == "unreachable"


async def test_unknown_job_has_no_record() -> None:
    peer = ScriptedMLServer([])
    async with client_of(peer) as client:
        assert await client.job_status(uuid.uuid4()) is None
