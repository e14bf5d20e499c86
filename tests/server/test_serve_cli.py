"""``ecg-desktop serve`` as a user runs it: the seed's four curl commands, verbatim but for the
port, get the documented answers; SIGTERM shuts down cleanly; bad configuration exits 2."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ecg_desktop.config import Settings
from ecg_desktop.storage import LocalFileStore
from tests.app.peer import ProtocolPeer
from tests.services.serve import ServeProcess, start_serve_async

from .conftest import SECRET

# The seed's commands (section "테스트 및 디버깅"), exactly as written there.
SEED_HEALTH = "curl http://localhost:8000/api/upload-video/ml-server/health"
SEED_GENERATE_URL = """curl -X POST http://localhost:8000/api/upload-video/generate-url \\
  -H "Content-Type: application/json" \\
  -d '{"filename": "test.mp4", "content_type": "video/mp4"}'"""
SEED_REQUEST_PROCESS = """curl -X POST http://localhost:8000/api/upload-video/request-process \\
  -H "Content-Type: application/json" \\
  -H "Authorization: Bearer YOUR_JWT_TOKEN" \\
  -d '{"fileKey": "videos/test/file.mp4", "language": "auto"}'"""
SEED_STATUS = "curl http://localhost:8000/api/upload-video/status/JOB_ID"


@dataclass
class Served(ServeProcess):
    settings: Settings

    async def curl(self, command: str) -> tuple[int, Any]:
        """Run a seed command against our port; the answer's HTTP status and JSON body."""
        command = command.replace("localhost:8000", f"localhost:{self.port}")
        shell = await asyncio.create_subprocess_shell(
            command + " -s -w '\\n%{http_code}'",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await shell.communicate()
        assert shell.returncode == 0, err.decode()
        body, _, code = out.decode().rpartition("\n")
        return int(code), json.loads(body)


async def _spawn(settings: Settings, ml_url: str, database_url: str) -> Served:
    env = {**os.environ, "MODEL_SERVER_URL": ml_url, "WEBHOOK_SECRET_KEY": SECRET,
           "DATABASE_URL": database_url}
    started = await start_serve_async(env, settings.data_dir / "serve.log")
    return Served(started.child, started.url, settings)


@pytest.fixture
async def served(
    settings_factory: Any, database_url: str
) -> AsyncIterator[tuple[Served, ProtocolPeer]]:
    peer = ProtocolPeer(SECRET)
    await peer.start()
    try:
        # settings_factory isolates the data and config folders (in os.environ)
        running = await _spawn(settings_factory(), peer.url, database_url)
        try:
            yield running, peer
        finally:
            running.kill()
    finally:
        await peer.stop()


async def test_the_seeds_curl_commands_get_the_documented_answers(
    served: tuple[Served, ProtocolPeer], tmp_path: Path
) -> None:
    server, peer = served

    # 1. ML server health
    status, health = await server.curl(SEED_HEALTH)
    assert status == 200
    assert health["status"] == "healthy"
    assert health["ml_server_url"] == peer.url
    assert health["http_status"] == 200

    # 2. Presigned URL
    status, upload = await server.curl(SEED_GENERATE_URL)
    assert status == 200
    assert upload["file_key"].startswith("videos/anonymous/")
    assert upload["file_key"].endswith("_test.mp4")
    assert upload["fileKey"] == upload["file_key"]
    assert upload["url"] == upload["presigned_url"]
    assert upload["presigned_url"].startswith(f"http://127.0.0.1:{server.port}/storage/")
    assert upload["expires_in"] == 3600

    # 3. Processing request: the seed's key is not in storage yet, so 404 ...
    status, missing = await server.curl(SEED_REQUEST_PROCESS)
    assert status == 404
    assert "videos/test/file.mp4" in missing["detail"]
    # ... upload it with a signed URL, and the very same command starts a job.
    filestore = await asyncio.to_thread(LocalFileStore.open, server.settings.storage_dir)
    put_url = filestore.sign_url("PUT", "videos/test/file.mp4", 600,
                                 base_url=f"http://127.0.0.1:{server.port}")
    video = tmp_path / "file.mp4"
    await asyncio.to_thread(video.write_bytes, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 4096)
    uploader = await asyncio.create_subprocess_exec(
        "curl", "-s", "-f", "-T", str(video), put_url, stdout=asyncio.subprocess.DEVNULL)
    assert await uploader.wait() == 0
    status, started = await server.curl(SEED_REQUEST_PROCESS)
    assert status == 200
    assert started["message"] == "Video processing started."
    job_id = started["job_id"]
    assert uuid.UUID(job_id)

    # 4. Status: the placeholder JOB_ID is not a UUID (400); the real id is answered.
    status, placeholder = await server.curl(SEED_STATUS)
    assert status == 400
    assert "UUID" in placeholder["detail"]
    answer: dict[str, Any] = {}
    for _ in range(100):
        status, answer = await server.curl(SEED_STATUS.replace("JOB_ID", job_id))
        assert status == 200
        if answer["status"] == "completed":
            break
        await asyncio.sleep(0.1)
    assert answer["status"] == "completed"
    assert answer["progress"] == 100
    assert answer["result"]["segments"]
    assert peer.jobs[job_id].request["fastapi_base_url"] == f"http://127.0.0.1:{server.port}"

    code, log = await server.stop()
    assert code == 0
    assert "method=GET path=/api/upload-video/status/JOB_ID status=400" in log
    assert SECRET not in log
    assert "signature=" not in log
    assert "job store closed" in log


async def test_sigterm_lets_a_request_in_flight_finish(
    settings_factory: Any, tmp_path: Path
) -> None:
    asked = asyncio.Event()
    answered = asyncio.Event()

    async def slow_health(request: web.Request) -> web.Response:
        asked.set()
        await asyncio.sleep(1.0)
        answered.set()
        return web.json_response({"status": "healthy"})

    app = web.Application()
    app.router.add_get("/health", slow_health)
    ml_server = TestServer(app, host="127.0.0.1")
    await ml_server.start_server()
    server = await _spawn(settings_factory(), str(ml_server.make_url("")).rstrip("/"),
                          f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}")
    try:
        # serve's own health monitor checks once at start-up (then every 15 s): let that
        # check finish first, so the SIGTERM below follows our request, not the monitor's.
        await asyncio.wait_for(answered.wait(), 10)
        asked.clear()
        async with aiohttp.ClientSession() as session:
            request = asyncio.create_task(session.get(
                f"http://127.0.0.1:{server.port}/api/upload-video/ml-server/health"))
            await asyncio.wait_for(asked.wait(), 10)
            asked.clear()
            server.terminate()
            response = await request
            assert response.status == 200
            assert (await response.json())["status"] == "healthy"
        code, log = await server.stop()
        assert code == 0
        assert "shutting down" in log
    finally:
        server.kill()
        await ml_server.close()


async def test_a_taken_port_exits_2_with_one_line(settings_factory: Any) -> None:
    settings_factory()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ecg_desktop", "serve", "--port", str(port),
            env={**os.environ, "MODEL_SERVER_URL": "http://127.0.0.1:9"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert f"ecg-desktop serve: 127.0.0.1:{port} is already in use" in err.decode()


@pytest.mark.parametrize("variable, value", [("ECG_BIND_PORT", "eighty"),
                                             ("MODEL_SERVER_URL", "ftp://ml"),
                                             ("ECG_RATE_LIMIT", "0")])
async def test_bad_configuration_exits_2_with_one_line(
    settings_factory: Any, variable: str, value: str
) -> None:
    settings_factory()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ecg_desktop", "serve",
        env={**os.environ, variable: value},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode == 2
    ours = [line for line in err.decode().splitlines() if line.startswith("ecg-desktop serve")]
    assert len(ours) == 1 and variable in ours[0]
    assert "Traceback" not in err.decode()
