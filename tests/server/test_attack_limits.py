"""What an unsigned or slow sender can take from the callback server: an unsigned body is
refused before it is read, large bodies are read a few at a time, the rest answered 503."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from ecg_desktop.server.runner import EmbeddedServer

from .conftest import Server, ServerFactory, callback_body

SIXTY_MIB = 60 * 1024 * 1024


async def _open_callback(server: Server, headers: bytes, length: int,
                         first_bytes: bytes = b"") -> tuple[asyncio.StreamReader,
                                                            asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(server.client.host, server.client.port)
    writer.write(b"POST /api/upload-video/result HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 b"Content-Type: application/json\r\n" + headers
                 + b"Content-Length: %d\r\n\r\n" % length + first_bytes)
    await writer.drain()
    return reader, writer


async def _status(reader: asyncio.StreamReader, within_s: float) -> tuple[int, bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), within_s)
    return int(head.split()[1]), head


async def test_an_unsigned_callback_is_refused_before_its_body_is_read(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    # 60 MiB announced, not one byte sent: the answer cannot wait for the body.
    reader, writer = await _open_callback(server, b"User-Agent: attacker\r\n", SIXTY_MIB)
    try:
        status, _ = await _status(reader, within_s=5)
    finally:
        writer.close()

    assert status == 401
    assert server.metrics.value("callbacks_total", result="rejected",
                                reason="signature_missing") == 1


async def test_a_stale_or_malformed_signature_is_refused_before_the_body(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    stale = b"webhook-id: msg_1\r\nwebhook-timestamp: 1000\r\nwebhook-signature: v1,AAAA\r\n"
    reader, writer = await _open_callback(server, stale, SIXTY_MIB)
    try:
        status, _ = await _status(reader, within_s=5)
    finally:
        writer.close()

    assert status == 401
    assert server.metrics.value("callbacks_total", result="rejected",
                                reason="signature_stale") == 1


async def test_large_bodies_are_read_a_few_at_a_time_and_the_rest_told_to_retry(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    job = await server.add_job()
    forged = b"X-Signature-256: sha256=" + b"0" * 64 + b"\r\n"
    holding = [await _open_callback(server, forged, SIXTY_MIB, b'{"job_id": "')
               for _ in range(4)]  # the receiver's four slots, each reading slowly
    try:
        await asyncio.sleep(0.2)
        started = time.monotonic()
        reader, writer = await _open_callback(server, forged, SIXTY_MIB, b"{")
        status, head = await _status(reader, within_s=10)
        writer.close()
        waited = time.monotonic() - started

        assert status == 503
        assert b"Retry-After: " in head
        assert 1.5 < waited < 5  # it waited for a slot a little, then gave up
        # A small signed callback needs no slot: it is answered at once.
        small = await asyncio.wait_for(server.callback(callback_body(job.job_id, progress=7)), 2)
        assert small.status == 200
    finally:
        for _, held in holding:
            held.close()
    await asyncio.sleep(0.2)
    freed = await server.callback(callback_body(job.job_id, progress=9, message="x" * 300_000))
    assert freed.status == 200, await freed.text()
    assert (await server.store.get(job.job_id)).progress == 9
    assert json.loads(await freed.read()) == {"status": "received"}


async def test_a_refused_sender_is_cut_off_soon_not_drained_for_ten_seconds(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    assert server.new_app is not None
    embedded = EmbeddedServer(server.new_app())  # as serve runs it
    await embedded.start("127.0.0.1", 0)
    endless = 64 * 1024**3  # more than loopback carries in aiohttp's default 10 s of draining
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", embedded.port)
        writer.write(b"POST /api/upload-video/result HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"X-Signature-256: sha256=00\r\nContent-Length: %d\r\n\r\n" % endless)
        status, _ = await _status(reader, within_s=5)
        assert status == 413  # refused before reading, from Content-Length
        started, chunk = time.monotonic(), b" " * 65536
        with contextlib.suppress(ConnectionError):
            while time.monotonic() - started < 15:  # keep sending the refused body
                writer.write(chunk)
                await asyncio.wait_for(writer.drain(), 15)
        assert time.monotonic() - started < 4  # closed after LINGERING_S
        writer.close()
    finally:
        await embedded.stop()
