"""Fixtures for the backend server: the real job store (SQLite and PostgreSQL), the real app
over real HTTP (``aiohttp_client``), and helpers to sign callbacks and snapshot the store."""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.callbacks import CallbackReceiver
from ecg_desktop.app.metrics import Metrics
from ecg_desktop.app.ports import (
    JobQuery,
    JobStore,
    LocalFiles,
    MLClient,
    ObjectStorage,
    WorkerProcess,
)
from ecg_desktop.config import Settings
from ecg_desktop.domain import Job, JobStatus
from ecg_desktop.domain.signatures import sign_headers
from ecg_desktop.mlclient.http import HttpMLClient
from ecg_desktop.server.app import JobSubmitter, create_app
from ecg_desktop.store import open_store

SECRET = "test-webhook-secret"
OLD_SECRET = "previous-webhook-secret"


@dataclass
class ServerCore:
    """The parts of ``bootstrap.Core`` the server reads."""

    settings: Settings
    store: JobStore
    storage: ObjectStorage
    ml_client: MLClient
    bus: EventBus
    pipeline: JobSubmitter | None = None
    local_files: LocalFiles | None = None


class NoStorage:
    """For tests that never reach object storage: every call is a test failure."""

    def __getattr__(self, name: str) -> Any:
        if name == "describe":
            return lambda: "none (test)"
        raise AssertionError(f"object storage was used ({name}) in a test that must not use it")


@dataclass
class Server:
    client: TestClient[web.Request, web.Application]
    store: JobStore
    settings: Settings
    metrics: Metrics
    bus: EventBus
    events: list[Any] = field(default_factory=list)
    # A second app over the same parts, for a test that runs it with ``EmbeddedServer``.
    new_app: Callable[[], web.Application] | None = None

    async def add_job(self, status: JobStatus = JobStatus.PROCESSING, **fields: Any) -> Job:
        job = Job.new(file_key="videos/anonymous/20240101_000000_abcd1234_v.mp4",
                      filename="v.mp4", **fields)
        if status is not JobStatus.PENDING:
            job.start_dispatch()
            job.mark_dispatched("http://storage.invalid/v.mp4")
        if status is JobStatus.FAILED:
            from ecg_desktop.domain import ErrorCode

            job.fail(ErrorCode.DOWNLOAD_ERROR, "could not download")
        elif status is JobStatus.CANCELED:
            job.cancel()
        elif status is JobStatus.COMPLETED:
            raise ValueError("complete a job through a callback")
        await self.store.add(job)
        return job

    async def callback(
        self,
        payload: Any,
        *,
        secret: str | None = SECRET,
        scheme: str = "compat",
        msg_id: str | None = None,
        timestamp: int | None = None,
        clock_skew_s: int = 0,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> ClientResponse:
        body = raw if raw is not None else json.dumps(payload).encode()
        sent = {"Content-Type": "application/json", "User-Agent": "ml-server/1.0"}
        if secret is not None:
            signed = sign_headers(
                secret, body, msg_id=msg_id or f"msg_{uuid.uuid4().hex}",
                timestamp=int(time.time()) + clock_skew_s if timestamp is None else timestamp,
                compat_only=scheme == "compat",
            )
            if scheme == "webhook":
                signed.pop("X-Signature-256")
            sent.update(signed)
        sent.update(headers or {})
        return await self.client.post("/api/upload-video/result", data=body, headers=sent)

    async def snapshot(self) -> list[dict[str, Any]]:
        """Everything the store holds about every job, to compare before and after."""
        jobs = await self.store.list(JobQuery(limit=10_000))
        state = []
        for job in sorted(jobs, key=lambda j: str(j.job_id)):
            transcript = await self.store.get_transcript(job.job_id)
            state.append({
                "job": dataclasses.asdict(job),
                "raw": await self.store.get_raw_result(job.job_id),
                "transcript": None if transcript is None else dataclasses.asdict(transcript),
            })
        return state


ServerFactory = Callable[..., Awaitable[Server]]


def callback_body(
    job_id: uuid.UUID | str, status: str = "processing", **fields: Any
) -> dict[str, Any]:
    """The seven keys the original ML server always sends."""
    body: dict[str, Any] = {"job_id": str(job_id), "status": status, "progress": 0,
                            "message": None, "result": None, "error_message": None,
                            "error_code": None}
    body.update(fields)
    return body


def seed_result() -> dict[str, Any]:
    """The seed's result shape: start_time/end_time segments, features on the word."""
    return {
        "metadata": {"filename": "video.mp4", "duration": 143.39, "total_segments": 2,
                     "unique_speakers": 2},
        "segments": [
            {"start_time": 4.908, "end_time": 8.754, "speaker": {"speaker_id": "SPEAKER_01"},
             "text": "You know, we should all do.",
             "words": [{"word": "You", "start": 4.908, "end": 4.988, "volume_db": -19.87,
                        "pitch_hz": 851.09},
                       {"word": "know,", "start": 5.0, "end": 5.3, "volume_db": -21.0,
                        "pitch_hz": 140.2}]},
            {"start_time": 9.0, "end_time": 10.5, "speaker": "SPEAKER_00",
             "text": "Go see a musical.",
             "words": [{"word": "Go", "start": 9.0, "end": 9.2, "volume_db": -18.5,
                        "pitch_hz": None}]},
        ],
    }


@pytest.fixture
async def job_store(database_url: str) -> AsyncIterator[JobStore]:
    store = await open_store(database_url)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def make_server(
    aiohttp_client: Callable[..., Awaitable[TestClient[web.Request, web.Application]]],
    job_store: JobStore,
    settings_factory: Callable[..., Settings],
) -> AsyncIterator[ServerFactory]:
    clients: list[HttpMLClient] = []

    async def make(
        *,
        storage: ObjectStorage | None = None,
        pipeline: JobSubmitter | None = None,
        clock: Callable[[], float] = time.time,
        result_worker: WorkerProcess | None = None,
        **overrides: Any,
    ) -> Server:
        overrides.setdefault("webhook_secret_key", SECRET)
        settings = settings_factory(**overrides)
        bus = EventBus()
        metrics = Metrics()
        ml_client = HttpMLClient(settings)
        clients.append(ml_client)
        core = ServerCore(settings, job_store, storage or NoStorage(), ml_client, bus, pipeline)
        receiver = CallbackReceiver(job_store, bus, settings, metrics, clock,
                                    result_worker=result_worker)
        app = create_app(core, metrics=metrics, callbacks=receiver)
        server = Server(await aiohttp_client(app), job_store, settings, metrics, bus,
                        new_app=lambda: create_app(core, metrics=metrics, callbacks=receiver))
        bus.subscribe(server.events.append)
        return server

    yield make
    for client in clients:
        await client.close()


# -- a live backend built by bootstrap, with a protocol peer as its ML server ----------------


@dataclass
class Live:
    core: Any  # bootstrap.Core
    peer: Any  # tests.app.peer.ProtocolPeer
    http: Any  # aiohttp.ClientSession
    base_url: str

    def url(self, path: str) -> str:
        return self.base_url + path


LiveFactory = Callable[..., Awaitable[Live]]


@pytest.fixture
async def make_live(
    settings_factory: Callable[..., Settings], database_url: str
) -> AsyncIterator[LiveFactory]:
    """``await make_live(**settings)``: ``build_core`` on the real store and the local object
    store, its server on a free loopback port, a ``ProtocolPeer`` (a WhisperX stand-in
    speaking the real protocol over HTTP) as the ML server."""
    import aiohttp

    from ecg_desktop.bootstrap import build_core
    from tests.app.peer import ProtocolPeer

    started: list[Live] = []

    async def make(*, host: str = "127.0.0.1", **overrides: Any) -> Live:
        peer = ProtocolPeer(SECRET)
        await peer.start()
        values: dict[str, Any] = {
            "model_server_url": peer.url, "webhook_secret_key": SECRET,
            "ml_retry_delays": (0.05, 0.1), "ml_api_timeout": 10.0,
            "database_url": database_url, "bind_host": host, "bind_port": 0, **overrides,
        }
        core = await build_core(settings_factory(**values))
        http = aiohttp.ClientSession()
        live = Live(core, peer, http, "")
        started.append(live)
        live.base_url = await core.start_server(host, 0)
        return live

    yield make
    for live in reversed(started):
        await live.http.close()
        await live.core.close()
        await live.peer.stop()
