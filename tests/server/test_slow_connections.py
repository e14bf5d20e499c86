"""Slow and idle connections cannot starve the server: ``serve`` limited to 1,024 open files
keeps answering ``/health`` and signed callbacks within a second while 1,100 slow-loris
connections are held open, and headers or bodies that trickle in are cut off."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ecg_desktop.domain.signatures import sign_headers
from ecg_desktop.server import connections
from ecg_desktop.server.connections import raise_open_file_limit
from ecg_desktop.server.runner import EmbeddedServer
from tests.services.processes import start_process
from tests.services.serve import LISTENING, ServeProcess, _announced_url

from .conftest import SECRET, ServerFactory, callback_body

SLOW_CONNECTIONS = 1_100


@pytest.fixture
def serve_with_1024_files(settings_factory: Any, tmp_path: Path) -> Iterator[str]:
    settings_factory()  # isolated data and config folders
    env = {**os.environ, "MODEL_SERVER_URL": "http://127.0.0.1:9", "WEBHOOK_SECRET_KEY": SECRET,
           "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"}
    argv = ["prlimit", "--nofile=1024:1024", sys.executable, "-m", "ecg_desktop", "serve",
            "--port", "0"]
    child = start_process("serve (1,024 files)", argv, tmp_path / "serve.log", env)
    served = ServeProcess(child, _announced_url(child, 60))
    try:
        yield served.url
    finally:
        served.shut_down()
    assert LISTENING.pattern  # the log announced the address (read by _announced_url)
    assert "out of system resource" not in served.log()


async def _slow_loris(host: str, port: int) -> asyncio.StreamWriter | None:
    try:
        _reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        return None
    writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n")  # never ends
    return writer


@pytest.mark.timeout(180)
async def test_health_and_callbacks_answer_within_a_second_under_1100_slow_connections(
    serve_with_1024_files: str,
) -> None:
    url = serve_with_1024_files
    host, port = "127.0.0.1", int(url.rsplit(":", 1)[1])
    held: list[asyncio.StreamWriter] = []
    for _ in range(0, SLOW_CONNECTIONS, 100):
        batch = await asyncio.gather(*(_slow_loris(host, port) for _ in range(100)))
        held += [w for w in batch if w is not None]
    try:
        await asyncio.sleep(0.5)
        body = json.dumps(callback_body(uuid.uuid4(), progress=5)).encode()
        async with aiohttp.ClientSession() as session:
            for _ in range(3):
                started = time.monotonic()
                async with session.get(f"{url}/health", timeout=aiohttp.ClientTimeout(5)) as r:
                    assert r.status == 200
                health_s = time.monotonic() - started
                headers = {"Content-Type": "application/json", **sign_headers(
                    SECRET, body, msg_id=f"msg_{uuid.uuid4().hex}", timestamp=int(time.time()))}
                started = time.monotonic()
                async with session.post(f"{url}/api/upload-video/result", data=body,
                                        headers=headers, timeout=aiohttp.ClientTimeout(5)) as r:
                    assert r.status == 404  # verified, parsed, looked up: an unknown job
                callback_s = time.monotonic() - started
                assert health_s < 1 and callback_s < 1, (health_s, callback_s)
    finally:
        for writer in held:
            writer.close()


async def test_headers_that_never_end_are_cut_off(monkeypatch: pytest.MonkeyPatch,
                                                  make_server: ServerFactory) -> None:
    monkeypatch.setattr("ecg_desktop.server.runner.HEADER_TIMEOUT_S", 0.5)
    server = await make_server()
    assert server.new_app is not None
    embedded = EmbeddedServer(server.new_app())
    await embedded.start("127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", embedded.port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
        assert time.monotonic() - started < 3
        writer.close()
    finally:
        await embedded.stop()


async def test_a_body_that_stalls_is_408(monkeypatch: pytest.MonkeyPatch,
                                        make_server: ServerFactory) -> None:
    monkeypatch.setattr(connections, "BODY_IDLE_TIMEOUT_S", 0.5)
    server = await make_server(rate_limit_per_minute=1000)
    for path, extra in (("/api/upload-video/result", b"X-Signature-256: sha256=00\r\n"),
                        ("/api/upload-video/generate-url", b"")):
        reader, writer = await asyncio.open_connection(server.client.host, server.client.port)
        writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + extra
                     + b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        writer.close()
        assert head.split()[1] == b"408", head


def test_the_open_file_limit_is_raised_to_the_hard_limit() -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        assert raise_open_file_limit() == hard
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
