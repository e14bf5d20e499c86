"""Fixtures for team mode: desktops (app cores) and backends sharing one PostgreSQL database,
a protocol peer standing in for the GPU ML server, and a real ``ecg-desktop serve`` process."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ecg_desktop.app.ports import ObjectStorage
from ecg_desktop.bootstrap import Core, build_core
from ecg_desktop.domain import Event, Job, JobChanged, JobDeleted, JobStatus
from ecg_desktop.domain.events import TeamConnectionChanged
from tests.app.cores import peer_core_settings, running_peer
from tests.app.peer import ProtocolPeer, SlowDirStorage
from tests.media import make_silent_video
from tests.services.serve import ServeProcess, start_serve_async

SECRET = "team-test-secret"
DESKTOP_TOKEN = "desktop-token"  # a loopback backend asks for none; one is still configured

CoreFactory = Callable[..., Awaitable[Core]]


class BusRecorder:
    """Every event a core's bus carries, with the wall-clock time it arrived."""

    def __init__(self, core: Core) -> None:
        self.events: list[tuple[datetime, Event]] = []
        core.bus.subscribe(lambda event: self.events.append((datetime.now(UTC), event)))

    def changes(self, job_id: Any) -> list[tuple[datetime, Job]]:
        return [
            (at, e.job) for at, e in self.events
            if isinstance(e, JobChanged) and e.job.job_id == job_id
        ]

    def states(self) -> list[str]:
        return [e.state for _, e in self.events if isinstance(e, TeamConnectionChanged)]

    async def first(
        self, job_id: Any, status: JobStatus, timeout_s: float = 30.0
    ) -> tuple[datetime, Job]:
        """When the job was first seen in ``status`` on this bus, and as what."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for at, job in self.changes(job_id):
                if job.status is status:
                    return at, job
            await asyncio.sleep(0.01)
        seen = [job.status.value for _, job in self.changes(job_id)]
        raise AssertionError(f"job {job_id} not {status.value} within {timeout_s} s; saw {seen}")

    async def deleted(self, job_id: Any, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(isinstance(e, JobDeleted) and e.job_id == job_id for _, e in self.events):
            assert time.monotonic() < deadline, f"job {job_id} not deleted within {timeout_s} s"
            await asyncio.sleep(0.01)

    async def state(self, wanted: str, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while wanted not in self.states():
            assert time.monotonic() < deadline, f"never {wanted}; states {self.states()}"
            await asyncio.sleep(0.02)


@pytest.fixture
async def peer() -> AsyncIterator[ProtocolPeer]:
    async for server in running_peer(SECRET):
        yield server


@pytest.fixture
def shared_storage(tmp_path: Path) -> Callable[[], SlowDirStorage]:
    """Storage adapters over one folder: what every desktop of a team sees in the bucket."""
    root = tmp_path / "bucket"
    root.mkdir()
    return lambda: SlowDirStorage(root)


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return make_silent_video(tmp_path / "meeting.mp4", duration_s=1.0)


@pytest.fixture
async def make_core(
    settings_factory: Callable[..., Any], peer: ProtocolPeer, postgres_url: str, tmp_path: Path
) -> AsyncIterator[CoreFactory]:
    """``await make_core(user=..., backend=False, storage=..., **settings)``.

    A desktop (``backend`` false) runs its services and team sync and starts no server: in
    team mode it asks the shared backend (``fastapi_base_url``) to dispatch, with an API
    token, and the ML server calls that backend back. A backend (``backend`` true) is what
    ``serve`` builds: a core with its server on a free port. Each core is an installation of
    its own (its own data folder).
    """
    cores: list[Core] = []

    async def make(
        *,
        user: str = "",
        backend: bool = False,
        storage: ObjectStorage | None = None,
        **overrides: Any,
    ) -> Core:
        data_dir = tmp_path / f"installation-{len(cores)}"
        desktop = {"team_token": DESKTOP_TOKEN} if not backend else {}
        values = peer_core_settings(peer, SECRET, postgres_url, **{
            "user_name": user, "data_dir": data_dir, **desktop, **overrides})
        core = await build_core(settings_factory(**values), storage=storage)
        cores.append(core)
        if backend:  # on loopback, whatever bind_host its access rules are made for
            await core.start_server(host="127.0.0.1")
        await core.start_services()
        assert core.team is not None, "a PostgreSQL store must start team sync"
        await core.team.wait_connected()
        return core

    yield make
    for core in reversed(cores):
        await core.close()


# -- the `serve` process ---------------------------------------------------------------------


@pytest.fixture
async def serve(
    peer: ProtocolPeer, postgres_url: str, settings_factory: Callable[..., Any], tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[ServeProcess]]]:
    """``await serve(**env)``: ``ecg-desktop serve`` on the shared database, its ML server the
    peer; stopped with SIGTERM after the test."""
    settings_factory()  # isolates the data, config and keyring folders (in os.environ)
    running: list[ServeProcess] = []

    async def start(**env_changes: str) -> ServeProcess:
        env = {**os.environ, "WEBHOOK_SECRET_KEY": SECRET, "ECG_BIND_HOST": "127.0.0.1",
               "DATABASE_URL": postgres_url, "MODEL_SERVER_URL": peer.url, **env_changes}
        log_path = tmp_path / f"serve-{uuid.uuid4().hex[:8]}.log"
        served = await start_serve_async(env, log_path)
        running.append(served)
        return served

    yield start
    for served in running:
        await served.stop()
