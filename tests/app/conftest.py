"""Fixtures for the pipeline tests: a protocol peer, a core on the real store with its
embedded server on a free loopback port, and small generated videos."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from ecg_desktop.app.ports import ObjectStorage
from ecg_desktop.bootstrap import Core, build_core
from tests.app.cores import peer_core_settings, running_peer
from tests.app.peer import ProtocolPeer, SlowDirStorage
from tests.media import make_silent_video

SECRET = "pipeline-test-secret"

CoreFactory = Callable[..., Awaitable[Core]]


@pytest.fixture
async def peer() -> AsyncIterator[ProtocolPeer]:
    async for server in running_peer(SECRET):
        yield server


@pytest.fixture
def fake_storage(tmp_path: Path) -> SlowDirStorage:
    root = tmp_path / "objects"
    root.mkdir()
    return SlowDirStorage(root)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"


@pytest.fixture
async def make_core(
    settings_factory: Callable[..., Any], peer: ProtocolPeer, sqlite_url: str
) -> AsyncIterator[CoreFactory]:
    """``await make_core(storage=..., database_url=..., **settings)``: a core whose ML server
    is ``peer``, with its embedded server started on a free port (callbacks arrive there)."""
    cores: list[Core] = []

    async def make(
        *, storage: ObjectStorage | None = None, start_server: bool = True, **overrides: Any
    ) -> Core:
        values = peer_core_settings(peer, SECRET, sqlite_url, **overrides)
        core = await build_core(settings_factory(**values), storage=storage)
        cores.append(core)
        if start_server:
            await core.start_server()
        return core

    yield make
    for core in reversed(cores):
        await core.close()


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return make_silent_video(tmp_path / "clip.mp4", duration_s=1.0)
