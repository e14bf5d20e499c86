"""The signed ``/storage`` routes over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from ecg_desktop.server.storage_routes import OPENAPI_PATHS, add_storage_routes, is_storage_path
from ecg_desktop.storage import LocalFileStore
from ecg_desktop.storage.localfs import disk_error

KEY = "videos/tester/20260101_120000_abcdef12_talk.mp4"


@dataclass
class LocalServer:
    store: LocalFileStore
    base_url: str
    port: int

    def url(self, method: str, key: str = KEY, expires_s: int = 60, **kw: Any) -> str:
        return self.store.sign_url(method, key, expires_s, base_url=self.base_url, **kw)


@pytest.fixture
async def local_server(
    aiohttp_server: Callable[[web.Application], Awaitable[Any]], tmp_path: Path
) -> LocalServer:
    store = LocalFileStore.open(tmp_path / "storage", max_object_bytes=8 * 1024 * 1024)
    app = web.Application()
    add_storage_routes(app, store)
    server = await aiohttp_server(app)
    return LocalServer(store, str(server.make_url("")).rstrip("/"), server.port)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def raw_request(port: int, head: str, body: bytes = b"", *, close_early: bool = False
                      ) -> bytes:
    """Send bytes as they are (no client-side path normalisation); the answer's status line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head.encode() + body)
    await writer.drain()
    if close_early:
        await asyncio.sleep(0.5)  # let the server take in what was sent, then vanish
        writer.close()
        await writer.wait_closed()
        return b""
    answer = await reader.read()
    writer.close()
    return answer.split(b"\r\n", 1)[0]


async def test_a_signed_put_stores_the_object_and_a_signed_get_returns_it(
    local_server: LocalServer, http: httpx.AsyncClient
) -> None:
    data = os.urandom(300_000)
    put = await http.put(local_server.url("PUT"), content=data,
                         headers={"Content-Type": "video/mp4"})
    assert put.status_code == 201
    assert put.json() == {"key": KEY, "size": len(data),
                          "sha256": hashlib.sha256(data).hexdigest()}

    got = await http.get(local_server.url("GET"))
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["Content-Type"] == "video/mp4"
    assert got.headers["X-Content-SHA256"] == hashlib.sha256(data).hexdigest()
    head = await http.head(local_server.url("GET"))
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(data))


async def test_get_serves_byte_ranges(local_server: LocalServer, http: httpx.AsyncClient) -> None:
    data = bytes(range(256)) * 40
    await http.put(local_server.url("PUT"), content=data)
    url = local_server.url("GET")

    part = await http.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == data[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    tail = await http.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    beyond = await http.get(url, headers={"Range": f"bytes={len(data) + 5}-"})
    assert beyond.status_code == 416


async def test_expired_and_tampered_urls_are_forbidden(
    local_server: LocalServer, http: httpx.AsyncClient
) -> None:
    await http.put(local_server.url("PUT"), content=b"data")
    expired = local_server.url("GET", now=time.time() - 120)
    get_url = local_server.url("GET")
    refused = {
        "expired": await http.get(expired),
        "tampered": await http.get(get_url.replace("signature=", "signature=f")),
        "other key": await http.get(get_url.replace("talk.mp4", "other.mp4")),
        "unsigned": await http.get(get_url.split("?")[0]),
        "GET url used to PUT": await http.put(get_url, content=b"evil"),
        "expired PUT": await http.put(local_server.url("PUT", now=time.time() - 120),
                                      content=b"evil"),
        "GET url used to DELETE": await http.delete(get_url),
    }
    assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(refused, 403)
    assert refused["expired"].json() == {"detail": "the URL has expired"}
    stored = local_server.store.stat(KEY)
    assert stored is not None and stored.path.read_bytes() == b"data"


@pytest.mark.parametrize(
    "target",
    [
        "/storage/../../etc/passwd",
        "/storage/videos/x/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/storage/videos/x/..%2f..%2f..%2fetc%2fpasswd",
        "/storage//etc/passwd",
        "/storage/a%00b",
        "/storage/a%5c..%5cb",
    ],
)
async def test_path_traversal_is_refused(local_server: LocalServer, target: str) -> None:
    for method in ("GET", "PUT", "DELETE"):
        head = (f"{method} {target}?expires=99999999999&signature=x HTTP/1.1\r\n"
                "Host: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        assert await raw_request(local_server.port, head) == b"HTTP/1.1 400 Bad Request"


async def test_a_partial_upload_is_never_visible_and_can_be_continued(
    local_server: LocalServer, http: httpx.AsyncClient
) -> None:
    data = os.urandom(1_000_000)
    put_url = local_server.url("PUT")
    first = await http.put(put_url, content=data[:600_000],
                           headers={"Content-Range": "bytes 0-599999/1000000"})
    assert first.status_code == 202
    assert first.headers["Upload-Offset"] == "600000"
    upload_id = first.headers["Upload-Id"]

    assert (await http.get(local_server.url("GET"))).status_code == 404
    assert (await http.head(local_server.url("GET"))).status_code == 404
    status = await http.put(put_url, headers={"Content-Range": "bytes */1000000"})
    assert status.status_code == 200
    assert status.json() == {"upload_id": upload_id, "offset": 600_000, "total": 1_000_000}

    gap = await http.put(put_url, content=data[700_000:],
                         headers={"Content-Range": "bytes 700000-999999/1000000"})
    assert gap.status_code == 409 and gap.headers["Upload-Offset"] == "600000"

    last = await http.put(put_url, content=data[600_000:],
                          headers={"Content-Range": "bytes 600000-999999/1000000"})
    assert last.status_code == 201
    assert last.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert (await http.get(local_server.url("GET"))).content == data
    gone = await http.put(put_url, headers={"Content-Range": "bytes */1000000"})
    assert gone.status_code == 404


async def test_a_body_cut_short_keeps_what_arrived_and_stays_invisible(
    local_server: LocalServer, http: httpx.AsyncClient
) -> None:
    url = httpx.URL(local_server.url("PUT"))
    target = url.raw_path.decode()
    head = (f"PUT {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2000000\r\n"
            "Content-Type: video/mp4\r\n\r\n")
    await raw_request(local_server.port, head, b"x" * 1_500_000, close_early=True)

    for _ in range(50):  # the server notices the closed connection on its own time
        status = await http.put(str(url), headers={"Content-Range": "bytes */2000000"})
        if status.status_code == 200 and status.json()["offset"] > 0:
            break
        await asyncio.sleep(0.05)
    assert status.status_code == 200
    assert 1024 * 1024 <= status.json()["offset"] <= 1_500_000
    assert (await http.get(local_server.url("GET"))).status_code == 404


async def test_bad_uploads_get_their_documented_status(
    local_server: LocalServer, http: httpx.AsyncClient
) -> None:
    put_url = local_server.url("PUT")

    async def chunked() -> AsyncIterator[bytes]:
        yield b"no length"

    assert (await http.put(put_url, content=chunked())).status_code == 411
    too_big = await http.put(put_url, content=b"x" * 10,
                             headers={"Content-Range": f"bytes 0-9/{9 * 1024 * 1024}"})
    assert too_big.status_code == 413
    mismatch = await http.put(put_url, content=b"x" * 10,
                              headers={"Content-Range": "bytes 0-19/100"})
    assert mismatch.status_code == 400
    garbage = await http.put(put_url, content=b"x", headers={"Content-Range": "lots"})
    assert garbage.status_code == 400
    assert not local_server.store.exists(KEY)


async def test_delete_removes_the_object(
    local_server: LocalServer, http: httpx.AsyncClient
) -> None:
    await http.put(local_server.url("PUT"), content=b"data")
    assert (await http.delete(local_server.url("DELETE"))).status_code == 204
    assert not local_server.store.exists(KEY)
    assert (await http.get(local_server.url("GET"))).status_code == 404


def test_the_routes_are_described_for_openapi_and_recognisable() -> None:
    operations = OPENAPI_PATHS["/storage/{key}"]
    assert {"get", "put", "delete"} <= set(operations)
    assert is_storage_path("/storage/videos/a.mp4")
    assert not is_storage_path("/api/upload-video/status/x")


async def test_a_store_that_cannot_write_answers_500_with_the_reason(
    local_server: LocalServer, http: httpx.AsyncClient
) -> None:
    partial = local_server.store.root / "partial"
    partial.rmdir()
    partial.write_text("not a folder any more")  # a damaged data folder

    refused = await http.put(local_server.url("PUT"), content=b"data")

    assert refused.status_code == 500
    assert refused.json()["detail"].startswith("the local store cannot write: ")
    assert not local_server.store.exists(KEY)


def test_a_full_disk_is_told_apart_from_other_disk_errors() -> None:
    full = disk_error(OSError(errno.ENOSPC, "No space left on device"))
    other = disk_error(OSError(errno.EIO, "Input/output error"))
    assert (full.status, str(full)) == (507, "the disk of the local store is full")
    assert (other.status, str(other)) == (500, "the local store cannot write: Input/output error")
