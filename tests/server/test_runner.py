"""``EmbeddedServer``: a clear error for a taken port, graceful stop."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web

from ecg_desktop.server.runner import EmbeddedServer, PortInUseError


def _slow_app(started: asyncio.Event) -> web.Application:
    async def slow(request: web.Request) -> web.Response:
        started.set()
        await asyncio.sleep(0.5)
        return web.json_response({"finished": True})

    app = web.Application()
    app.router.add_get("/slow", slow)
    return app


async def test_start_picks_a_free_port_and_reports_its_url() -> None:
    server = EmbeddedServer(_slow_app(asyncio.Event()))
    await server.start("127.0.0.1", 0)
    try:
        assert server.port > 0
        assert server.base_url == f"http://127.0.0.1:{server.port}"
    finally:
        await server.stop()
    assert not server.running


async def test_a_taken_port_raises_port_in_use() -> None:
    first = EmbeddedServer(_slow_app(asyncio.Event()))
    await first.start("127.0.0.1", 0)
    second = EmbeddedServer(_slow_app(asyncio.Event()))
    try:
        with pytest.raises(PortInUseError) as caught:
            await second.start("127.0.0.1", first.port)
        assert (caught.value.host, caught.value.port) == ("127.0.0.1", first.port)
        assert f"127.0.0.1:{first.port} is already in use" in str(caught.value)
        assert not second.running
    finally:
        await first.stop()


async def test_stop_lets_requests_in_flight_finish() -> None:
    started = asyncio.Event()
    server = EmbeddedServer(_slow_app(started))
    await server.start("127.0.0.1", 0)
    async with aiohttp.ClientSession() as session:
        request = asyncio.create_task(session.get(f"{server.base_url}/slow"))
        await started.wait()
        await server.stop()
        response = await request
        assert response.status == 200
        assert await response.json() == {"finished": True}
