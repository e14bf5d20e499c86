"""Changes are ordered by the row's version, which every committed change raises by one, not
by ``updated_at``, which comes from the writer's clock: a desktop whose clock is behind does
not make the others miss its changes (a completion, say)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

import ecg_desktop.domain.job as job_module
import ecg_desktop.store.rows as rows_module
from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.team import TeamSync
from ecg_desktop.domain import ErrorCode, Job, JobChanged, JobStatus
from ecg_desktop.store import open_store


class Notices:
    """The listener's job ids, as ``pg_notify`` would deliver them."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[object] = asyncio.Queue()

    async def __aiter__(self) -> AsyncIterator[object]:
        while True:
            yield await self.queue.get()


async def test_each_change_raises_the_version(tmp_path: Path) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}")
    try:
        job = Job.new(file_key="videos/a/b.mp4", filename="b.mp4")
        await store.add(job)
        first = await store.update(job.job_id, lambda j: j.start_dispatch())
        second = await store.update(job.job_id, lambda j: j.mark_dispatched("u"))
        assert (first.version, second.version) == (1, 2)
        assert (await store.get(job.job_id)).version == 2
    finally:
        await store.close()


async def test_a_completion_from_a_writer_whose_clock_is_behind_is_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}")
    bus, notices = EventBus(), Notices()
    published: asyncio.Queue[Job] = asyncio.Queue()
    bus.subscribe(lambda e: published.put_nowait(e.job) if isinstance(e, JobChanged) else None)
    sync = TeamSync(store, bus, notices)
    await sync.start()
    try:
        job = Job.new(file_key="videos/a/b.mp4", filename="b.mp4")
        await store.add(job)
        await store.update(job.job_id, lambda j: j.start_dispatch())
        await notices.queue.put(job.job_id)
        await _published_with(published, JobStatus.PROCESSING)

        behind = job_module.utcnow() - timedelta(hours=1)  # another desktop, clock set back
        monkeypatch.setattr(rows_module, "utcnow", lambda: behind)
        monkeypatch.setattr(job_module, "utcnow", lambda: behind)
        failed = await store.update(job.job_id, lambda j: j.fail(ErrorCode.DOWNLOAD_ERROR, "x"))
        await notices.queue.put(job.job_id)

        assert (await _published_with(published, JobStatus.FAILED)).version == failed.version
    finally:
        await sync.stop()
        await store.close()


async def _published_with(published: asyncio.Queue[Job], status: JobStatus) -> Job:
    async with asyncio.timeout(5):
        while (job := await published.get()).status is not status:
            pass
    return job


def test_versions_are_per_job() -> None:
    assert Job.new().version == 0 and Job(job_id=uuid.uuid4()).version == 0
