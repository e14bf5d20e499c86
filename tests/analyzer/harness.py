"""Loopback parties for analyzer tests: a media server, a signature-checking callback
receiver (the backend's side of PROTOCOL section 1.3), and the analyzer itself."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from ecg_desktop.analyzer import AnalyzerConfig, create_app
from ecg_desktop.domain.signatures import Verdict, sign_headers, verify
from ecg_desktop.server.runner import bound_port, free_port

SECRET = "test-webhook-secret"
DISPATCH_PATH = "/api/upload-video/process-video"


async def _serve(app: web.Application, port: int = 0) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on loopback; the runner and the port (port 0: the kernel picks one,
    bound at once, so no other process can take it in between)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    bound = bound_port(runner)
    assert bound is not None
    return runner, bound


@dataclass
class Arrival:
    body: dict[str, Any]
    headers: dict[str, str]
    verdict: Verdict
    at: float
    answered: int
    raw: bytes = b""


class CallbackReceiver:
    """Accepts callbacks only with a valid signature; can be stopped and started again on the
    same port, and told to answer with given statuses first. Its port is chosen up front,
    since a test may hand its address to the analyzer before it is started."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.port = free_port()
        self.arrivals: list[Arrival] = []
        self.scripted: list[int] = []
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        verdict, _ = verify([self.secret], body, request.headers, now=time.time())
        status = 401 if verdict is not Verdict.VALID else 200
        if status == 200 and self.scripted:
            status = self.scripted.pop(0)
        self.arrivals.append(
            Arrival(
                json.loads(body), dict(request.headers), verdict, time.monotonic(), status, body
            )
        )
        self._changed.set()
        return web.json_response({"status": "received" if status == 200 else "no"}, status=status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/upload-video/result", self._handle)
        self._runner, _ = await _serve(app, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def of(self, job_id: str, *statuses: str) -> list[Arrival]:
        return [
            a
            for a in self.arrivals
            if a.body.get("job_id") == job_id and (not statuses or a.body["status"] in statuses)
        ]

    async def wait_terminal(self, job_id: str, within_s: float = 120.0) -> Arrival:
        deadline = time.monotonic() + within_s
        while True:
            done = [a for a in self.of(job_id, "completed", "failed") if a.answered == 200]
            if done:
                return done[0]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no terminal callback for {job_id}: {self.of(job_id)}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))


class MediaServer:
    """Serves files from ``folder`` at ``/media/<name>``; ``/stall/<name>`` never finishes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = 0  # known once started
        self._runner: web.AppRunner | None = None
        self.release = asyncio.Event()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/media/{name}?X-Amz-Signature=secretbits"

    def stall_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/stall/{name}"

    async def _media(self, request: web.Request) -> web.StreamResponse:
        path = self.folder / request.match_info["name"]
        if not path.is_file():
            return web.Response(status=404, text="NoSuchKey: the object does not exist")
        return web.FileResponse(path)

    async def _stall(self, request: web.Request) -> web.StreamResponse:
        await self.release.wait()
        return web.Response(status=410)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/media/{name}", self._media)
        app.router.add_get("/stall/{name}", self._stall)
        self._runner, self.port = await _serve(app)

    async def stop(self) -> None:
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()


def analyzer_config(results_dir: Path, **changes: Any) -> AnalyzerConfig:
    values: dict[str, Any] = {
        "results_dir": results_dir,
        "webhook_secret": SECRET,
        "callback_first_delay_s": 0.2,
        "callback_max_delay_s": 1.0,
        "callback_retry_for_s": 60.0,
        "callback_timeout_s": 5.0,
        "download_timeout_s": 30.0,
        "interrupted_report_delay_s": 0.5,
    }
    values.update(changes)
    return AnalyzerConfig(**values)


@dataclass
class RunningAnalyzer:
    config: AnalyzerConfig
    runner: web.AppRunner
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_analyzer(config: AnalyzerConfig) -> RunningAnalyzer:
    runner, port = await _serve(create_app(config))
    return RunningAnalyzer(config, runner, port)


def job_payload(video_url: str, callback_base: str, **extra: Any) -> dict[str, Any]:
    return {
        "job_id": str(uuid.uuid4()),
        "video_url": video_url,
        "fastapi_base_url": callback_base,
        "language": "auto",
        **extra,
    }


async def dispatch(
    session: aiohttp.ClientSession,
    analyzer_url: str,
    payload: dict[str, Any],
    *,
    secret: str | None = SECRET,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """POST a job the way the backend does (signed with the compatible scheme)."""
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if secret:
        headers.update(
            sign_headers(
                secret, body, msg_id="dispatch", timestamp=int(time.time()), compat_only=True
            )
        )
    async with session.post(analyzer_url + DISPATCH_PATH, data=body, headers=headers) as response:
        return response.status, await response.json(), dict(response.headers)


@dataclass
class Parties:
    """Everything one scenario needs, on loopback."""

    media: MediaServer
    receiver: CallbackReceiver
    session: aiohttp.ClientSession
    analyzers: list[RunningAnalyzer] = field(default_factory=list)

    async def close(self) -> None:
        for analyzer in self.analyzers:
            await analyzer.stop()
        await self.receiver.stop()
        await self.media.stop()
        await self.session.close()
