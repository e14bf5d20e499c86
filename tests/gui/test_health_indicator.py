"""The status bar's ML server indicator against a real health endpoint on loopback that we
stop and start: red within one check after it stops, green after it returns, and a hanging
server never freezes the window."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.gui.conftest import AnsweringPrompts, Runner


class HealthServer:
    """``GET /health`` on a fixed loopback port that survives stop/start; ``delay_s`` makes
    it slow to answer."""

    def __init__(self) -> None:
        self.port = 0
        self.delay_s = 0.0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _health(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.delay_s)
        return web.json_response({"status": "healthy", "model": "test-asr"})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/health", self._health)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def test_indicator_turns_red_after_one_check_and_green_when_the_server_returns(
    run: Runner, start_desktop: Callable[..., Any], prompts: AnsweringPrompts,
) -> None:
    server = HealthServer()
    run(server.start())
    window = start_desktop(MODEL_SERVER_URL=server.url).window
    indicator = window.status.health
    window.check_health()
    run.until(lambda: indicator.state == "healthy")
    assert "ms" in indicator.text() and "checked" in indicator.text()

    run(server.stop())
    window.check_health()
    run.until(lambda: indicator.state == "unreachable", timeout=12)

    run(server.start())
    window.check_health()
    run.until(lambda: indicator.state == "healthy", timeout=12)

    indicator.click()  # checks now and shows the full answer
    run.until(lambda: bool(prompts.infos))
    title, summary, details = prompts.infos[-1]
    assert title == "ML server health"
    assert server.url in summary and "healthy" in summary
    assert '"response_time_ms"' in details and '"model": "test-asr"' in details
    run(server.stop())


def test_a_hanging_ml_server_does_not_freeze_the_window(
    run: Runner, start_desktop: Callable[..., Any],
) -> None:
    server = HealthServer()
    run(server.start())
    window = start_desktop(MODEL_SERVER_URL=server.url).window
    window.check_health()
    run.until(lambda: window.status.health.state == "healthy")
    server.delay_s = 3.0

    async def longest_stall_during_check() -> float:
        window.check_health()
        longest, last = 0.0, time.perf_counter()
        for _ in range(50):  # one second of 20 ms ticks while the check hangs
            await asyncio.sleep(0.02)
            now = time.perf_counter()
            longest, last = max(longest, now - last), now
        return longest

    stall = run(longest_stall_during_check())

    assert stall < 0.2, f"the loop stalled {stall * 1000:.0f} ms during a health check"
    server.delay_s = 0.0
    run.until(lambda: window.status.health.state == "healthy", timeout=15)
    run(server.stop())
