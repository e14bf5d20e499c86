"""Test doubles for the pipeline's tests.

``ProtocolPeer`` stands in for a GPU WhisperX server (a party that cannot run here): a real
aiohttp server on loopback speaking PROTOCOL.md 2.1-2.3, which downloads ``video_url`` and
sends real signed callbacks (both schemes) to the backend's real callback route.

``SlowDirStorage`` is an in-memory-speed fake of the ``ObjectStorage`` port for use-case
tests (cancel timing, concurrency limits, re-upload counting); the real adapters are
exercised against the S3-compatible server and the local store in ``test_pipeline_storage``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from aiohttp.test_utils import TestServer

from ecg_desktop.app.ports import (
    PartCallback,
    ProgressCallback,
    RestartCallback,
    StorageError,
)
from ecg_desktop.domain import UploadState
from ecg_desktop.domain.signatures import sign_headers


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def size_of(path: Path) -> int:
    return path.stat().st_size


RESULT: dict[str, Any] = {
    "metadata": {"duration": 4.0, "language_detected": "en", "model_version": "peer-1"},
    "segments": [
        {
            "start": 0.5,
            "end": 1.5,
            "speaker": {"speaker_id": "SPEAKER_00"},
            "text": "hello there",
            "words": [
                {
                    "word": "hello",
                    "start": 0.5,
                    "end": 0.9,
                    "volume_db": -18.0,
                    "pitch_hz": 110.0,
                    "spectral_centroid": 1200.0,
                    "confidence": 0.9,
                },
                {
                    "word": "there",
                    "start": 1.0,
                    "end": 1.5,
                    "volume_db": -19.0,
                    "pitch_hz": 105.0,
                    "spectral_centroid": 1100.0,
                    "confidence": 0.8,
                },
            ],
        },
        {
            "start": 2.0,
            "end": 3.0,
            "speaker": "SPEAKER_01",
            "text": "hi",
            "words": [
                {
                    "word": "hi",
                    "start": 2.1,
                    "end": 2.6,
                    "volume_db": -12.0,
                    "pitch_hz": 210.0,
                    "spectral_centroid": 1900.0,
                }
            ],
        },
    ],
}


@dataclass
class PeerJob:
    request: dict[str, Any]
    video_sha256: str | None = None
    callbacks: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


class ProtocolPeer:
    """``behaviour``: ``complete`` (download, progress, result), ``fail`` (a failed callback
    with DOWNLOAD_ERROR), ``silent`` (accepts and never calls back). ``dispatch_statuses``
    are answered, in order, before the peer accepts. ``records`` is what the status routes
    answer; ``offer_result`` false makes the peer behave like the original server (no result
    in its status answer). Clearing ``gate`` holds every job before its download until it
    is set again."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.behaviour = "complete"
        self.dispatch_statuses: list[int] = []
        self.attempts: list[float] = []
        self.jobs: dict[str, PeerJob] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.offer_result = True
        self.download_delay_s = 0.0
        self.gate = asyncio.Event()
        self.gate.set()
        self._server: TestServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._http = httpx.AsyncClient(timeout=30)

    @property
    def url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/upload-video/process-video", self._process)
        app.router.add_get("/health", self._health)
        app.router.add_get("/api/upload-video/status/{job_id}", self._status)
        app.router.add_get("/jobs/{job_id}", self._jobs)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        await self._http.aclose()
        if self._server is not None:
            await self._server.close()

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "healthy", "backend": "peer"})

    async def _process(self, request: web.Request) -> web.Response:
        self.attempts.append(time.monotonic())
        if self.dispatch_statuses:
            status = self.dispatch_statuses.pop(0)
            return web.Response(status=status, text=f"peer refuses with {status}")
        body = await request.json()
        job = PeerJob(request=body)
        self.jobs[body["job_id"]] = job
        self.records[body["job_id"]] = {"job_id": body["job_id"], "status": "accepted"}
        if self.behaviour != "silent":
            task = asyncio.create_task(self._work(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return web.json_response(
            {"job_id": body["job_id"], "status": "accepted", "message": "Queued on the peer"},
            status=202,
        )

    async def _status(self, request: web.Request) -> web.Response:
        record = self.records.get(request.match_info["job_id"])
        if record is None:
            return web.json_response({"detail": "job not found"}, status=404)
        if not self.offer_result:
            return web.json_response({"detail": "Not Found"}, status=404)
        return web.json_response(record)

    async def _jobs(self, request: web.Request) -> web.Response:
        record = self.records.get(request.match_info["job_id"])
        if record is None:
            return web.json_response({"detail": "job not found"}, status=404)
        return web.json_response({k: v for k, v in record.items() if k != "result"})

    async def _work(self, job: PeerJob) -> None:
        job_id = job.request["job_id"]
        try:
            await self.gate.wait()
            await asyncio.sleep(self.download_delay_s)
            job.video_sha256 = await self._download(job.request["video_url"])
        except Exception as exc:
            await self._callback(
                job,
                {
                    "status": "failed",
                    "error_code": "DOWNLOAD_ERROR",
                    "error_message": f"download failed: {exc}",
                },
            )
            return
        if self.behaviour == "fail":
            await self._callback(
                job,
                {
                    "status": "failed",
                    "error_code": "DOWNLOAD_ERROR",
                    "error_message": "HTTP 403 from the video URL",
                },
            )
            return
        await self._callback(
            job, {"status": "processing", "progress": 40, "message": "Transcribing"}
        )
        result = json.loads(json.dumps(RESULT))
        self.records[job_id] = {"job_id": job_id, "status": "completed", "result": result}
        await self._callback(
            job, {"status": "completed", "progress": 100, "message": "Done", "result": result}
        )

    async def _download(self, url: str) -> str:
        digest = hashlib.sha256()
        if url.startswith("file://"):
            return await asyncio.to_thread(sha256_of, Path(url.removeprefix("file://")))
        async with self._http.stream("GET", url) as response:
            response.raise_for_status()
            async for chunk in response.aiter_bytes():
                digest.update(chunk)
        return digest.hexdigest()

    async def _callback(self, job: PeerJob, fields: Mapping[str, Any]) -> None:
        body_fields = {
            "job_id": job.request["job_id"],
            "status": None,
            "progress": 0,
            "message": None,
            "result": None,
            "error_message": None,
            "error_code": None,
            **fields,
        }
        body = json.dumps(body_fields).encode()
        headers = {
            "Content-Type": "application/json",
            **sign_headers(
                self.secret, body, msg_id=f"msg_{uuid.uuid4().hex}", timestamp=int(time.time())
            ),
        }
        url = job.request["fastapi_base_url"].rstrip("/") + "/api/upload-video/result"
        response = await self._http.post(url, content=body, headers=headers)
        job.callbacks.append((response.status_code, response.json()))


class SlowDirStorage:
    """Files under a folder, copied in 1 MiB steps with ``step_delay_s`` between them, one
    "part" per ``part_size`` bytes. Records uploads, aborts and the most uploads in flight."""

    def __init__(self, root: Path, *, step_delay_s: float = 0.0, part_size: int = 1 << 20):
        self.root = root
        self.step_delay_s = step_delay_s
        self.part_size = part_size
        self.uploads: list[str] = []
        self.resumed_from: list[UploadState | None] = []
        self.aborted: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.fail_with: str | None = None
        self.parts_sent = 0

    async def upload(
        self,
        key: str,
        path: Path,
        content_type: str,
        *,
        resume: UploadState | None = None,
        on_progress: ProgressCallback | None = None,
        on_part: PartCallback | None = None,
        on_restart: RestartCallback | None = None,
    ) -> None:
        self.uploads.append(key)
        self.resumed_from.append(resume)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.fail_with:
                raise StorageError(self.fail_with)
            stat = await asyncio.to_thread(path.stat)
            size = stat.st_size
            state = resume or UploadState("fake-upload", self.part_size, size, stat.st_mtime_ns)
            target = self.root / key
            target.parent.mkdir(parents=True, exist_ok=True)
            done_parts = set(state.parts) if resume else set()
            mode = "r+b" if done_parts else "wb"
            partial = self.root / (key + ".partial")
            if mode == "r+b" and not partial.exists():
                partial.touch()
            with path.open("rb") as source, partial.open(mode) as sink:
                number = 0
                while chunk := source.read(self.part_size):
                    number += 1
                    if number in done_parts:
                        sink.seek(len(chunk), 1)
                        continue
                    sink.write(chunk)
                    self.parts_sent += 1
                    await asyncio.sleep(self.step_delay_s)
                    state = state.with_part(number, f"etag-{number}")
                    if on_part:
                        await on_part(state)
                    if on_progress:
                        on_progress(min(number * self.part_size, size), size)
            (self.root / (key + ".partial")).rename(target)
        finally:
            self.in_flight -= 1

    async def abort(self, key: str, state: UploadState | None) -> None:
        self.aborted.append(key)
        (self.root / (key + ".partial")).unlink(missing_ok=True)

    async def presign_put(self, key: str, content_type: str, expires_s: int) -> str:
        return f"file://{self.root / key}"

    async def presign_get(self, key: str, expires_s: int) -> str:
        return f"file://{self.root / key}"

    async def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    async def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def describe(self) -> str:
        return f"test folder {self.root}"

    async def close(self) -> None:
        shutil.rmtree(self.root / "never-used", ignore_errors=True)
