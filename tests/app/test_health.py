"""The ML health monitor against real HTTP servers on loopback."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestServer

from ecg_desktop.app.health import HealthMonitor
from ecg_desktop.app.ports import HealthReport
from ecg_desktop.config import Settings
from ecg_desktop.mlclient import HttpMLClient
from tests.app.peer import ProtocolPeer


async def test_reports_healthy_then_unreachable_when_the_server_goes_away(
    peer: ProtocolPeer,
) -> None:
    client = HttpMLClient(Settings(model_server_url=peer.url))
    reports: list[HealthReport] = []
    monitor = HealthMonitor(client, reports.append, interval_s=0.05)
    monitor.start()
    try:
        for _ in range(100):
            if reports:
                break
            await asyncio.sleep(0.02)
        assert reports[0].healthy and reports[0].response_time_ms is not None
        await peer.stop()
        report = await monitor.check_now()
        assert report.status == "unreachable"
        assert monitor.last_report is report
    finally:
        await monitor.stop()
        await client.close()


async def test_a_server_that_hangs_is_reported_within_the_timeout() -> None:
    async def slow_health(request: web.Request) -> web.Response:
        await asyncio.sleep(10)
        return web.json_response({"status": "healthy"})

    app = web.Application()
    app.router.add_get("/health", slow_health)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    client = HttpMLClient(Settings(model_server_url=str(server.make_url("")).rstrip("/")))
    monitor = HealthMonitor(client, timeout_s=0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        report = await monitor.check_now()
    finally:
        await client.close()
        await server.close()
    assert loop.time() - started < 2
    assert report.status == "unreachable" and "0.3" in (report.reason or "")
