"""Hostile requests never get a 5xx: odd bytes in headers (invalid UTF-8, non-ASCII, huge
values) on every route, deep JSON bodies, and signature headers that cannot be ASCII. Sent
as raw bytes over a real loopback socket, since an HTTP client would refuse to send them."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecg_desktop.server.runner import EmbeddedServer

from .conftest import SECRET, Server, ServerFactory, callback_body

HOSTILE_HEADERS = ("Authorization", "webhook-id", "webhook-timestamp", "webhook-signature",
                   "X-Signature-256", "Origin", "Host", "User-Agent", "Content-Type")


async def raw_request(server: Server, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send ``head`` (request line and headers, without the blank line) and ``body`` as they
    are; the status code and the body of the answer."""
    host = server.client.host
    port = server.client.port
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(head + b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
        writer.write(body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def routes(server: Server) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, with path parameters filled in."""
    found = []
    for route in server.client.app.router.routes():
        if route.method in ("HEAD", "OPTIONS", "*"):
            continue
        path = route.resource.canonical if route.resource else "/"
        path = path.replace("{job_id}", str(uuid.uuid4())).replace("{key:.+}", "videos/a/b.mp4")
        found.append((route.method, path))
    return found


# Header values as bytes a header line can carry: printable ASCII, tab, and any byte over
# 0x7f (invalid UTF-8 included); control bytes would only meet the HTTP parser's own 400.
_HEADER_BYTES = [b for b in range(256) if b == 9 or 0x20 <= b < 0x7F or b >= 0x80]
header_bytes = st.lists(st.sampled_from(_HEADER_BYTES), max_size=200).map(bytes)
hostile_value = st.one_of(
    st.sampled_from([b"\xff\xfe", b"Bearer \xc3\x28", "Bearer ünï".encode(),
                     "sha256=é".encode(), "v1,ÿ".encode("latin-1"), b"x" * 9000,
                     b"v1,\xff" + b"A" * 5000]),
    header_bytes,
    st.builds(lambda prefix, tail: prefix + tail,
              st.sampled_from([b"Bearer ", b"sha256=", b"v1,", b"msg_", b"1700000000"]),
              header_bytes),
)


@pytest.fixture
async def open_server(make_server: ServerFactory) -> Server:
    # A non-loopback bind: every route checks the Authorization header.
    return await make_server(bind_host="0.0.0.0", api_tokens=("ana:a-token",))


@pytest.mark.timeout(300)
async def test_hostile_headers_on_every_route_never_give_a_server_error(
    open_server: Server,
) -> None:
    server = open_server
    job = await server.add_job()
    body = json.dumps(callback_body(job.job_id, progress=5)).encode()
    failures: list[Any] = []

    @settings(max_examples=120, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(route=st.sampled_from(routes(server)),
           headers=st.dictionaries(st.sampled_from(HOSTILE_HEADERS), hostile_value,
                                   min_size=1, max_size=4))
    def exercise(route: tuple[str, str], headers: dict[str, bytes]) -> None:
        method, path = route
        lines = [f"{method} {path} HTTP/1.1".encode()]
        if "Host" not in headers:
            lines.append(b"Host: 127.0.0.1")
        lines += [name.encode() + b": " + value for name, value in headers.items()]
        status, answer = asyncio.run_coroutine_threadsafe(
            raw_request(server, b"\r\n".join(lines), body if method != "GET" else b""), loop
        ).result()
        if status >= 500 and status not in (502, 503):
            failures.append((route, headers, status, answer[:200]))

    loop = asyncio.get_running_loop()
    await asyncio.to_thread(exercise)
    assert failures == []


@pytest.mark.parametrize("path", ["/api/upload-video/generate-url",
                                  "/api/upload-video/request-process",
                                  "/api/upload-video/result"])
async def test_deeply_nested_json_is_400(make_server: ServerFactory, path: str) -> None:
    server = await make_server(rate_limit_per_minute=1000)
    deep = b"[" * 10_000 + b"]" * 10_000
    nested_object = b'{"a":' * 10_000 + b"1" + b"}" * 10_000

    for body in (deep, nested_object):
        response = await server.callback(None, raw=body) if path.endswith("result") else (
            await server.client.post(path, data=body,
                                     headers={"Content-Type": "application/json"}))
        assert response.status == 400, await response.text()
        assert "detail" in await response.json()


async def test_invalid_utf8_in_authorization_is_401(open_server: Server) -> None:
    for value in (b"Bearer \xff\xfe", b"Bearer \xc3\x28", "Bearer ä-token".encode()):
        status, answer = await raw_request(
            open_server, b"GET /api/upload-video/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: " + value)
        assert status == 401
        assert "detail" in json.loads(answer)


@pytest.mark.parametrize("headers", [
    {b"webhook-id": b"msg_\xff\xfe", b"webhook-timestamp": b"%d", b"webhook-signature": b"v1,abc"},
    {b"webhook-id": b"msg_1", b"webhook-timestamp": b"%d", b"webhook-signature": "v1,ÿé".encode()},
    {b"webhook-id": b"msg_1", b"webhook-timestamp": b"%d",
     b"webhook-signature": b"v1,\xff\xfe\xfd"},
    {b"X-Signature-256": "sha256=é".encode()},
    {b"X-Signature-256": b"sha256=\xff"},
])
async def test_signature_headers_that_are_not_ascii_are_401(
    make_server: ServerFactory, headers: dict[bytes, bytes]
) -> None:
    import time

    server = await make_server()
    job = await server.add_job()
    body = json.dumps(callback_body(job.job_id, progress=50)).encode()
    before = await server.snapshot()
    lines = [b"POST /api/upload-video/result HTTP/1.1", b"Host: 127.0.0.1",
             b"Content-Type: application/json"]
    lines += [name + b": " + value.replace(b"%d", str(int(time.time())).encode())
              for name, value in headers.items()]

    status, answer = await raw_request(server, b"\r\n".join(lines), body)

    assert status == 401, answer
    assert json.loads(answer)["reason"].startswith("signature_")
    assert await server.snapshot() == before
    assert SECRET  # the server does have a secret: the refusal is about the headers


@pytest.mark.parametrize("runner", ["embedded", "test client"])
async def test_a_client_that_hangs_up_mid_body_is_logged_once_without_a_traceback(
    make_server: ServerFactory, caplog: pytest.LogCaptureFixture, runner: str
) -> None:
    server = await make_server(rate_limit_per_minute=1000)
    host, port = server.client.host, server.client.port
    embedded = None
    if runner == "embedded":  # as ``serve`` runs it (the test client's server differs)
        assert server.new_app is not None
        embedded = EmbeddedServer(server.new_app())
        await embedded.start("127.0.0.1", 0)
        port = embedded.port
    caplog.set_level(logging.DEBUG)
    try:
        for path in ("/api/upload-video/result", "/api/upload-video/generate-url"):
            _reader, writer = await asyncio.open_connection(host, port)
            writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
                         + b"X-Signature-256: sha256=00\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100000\r\n\r\n" + b'{"job_id": "' + b"x" * 1000)
            await writer.drain()
            await asyncio.sleep(0.2)
            writer.close()
            await asyncio.sleep(0.3)
    finally:
        if embedded is not None:
            await embedded.stop()

    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    access = [r.getMessage() for r in caplog.records if r.name.endswith("server.access")]
    assert len(access) == 2
    assert all("status=499" in line for line in access), access
