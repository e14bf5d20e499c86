"""Live job changes between store instances (team mode)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import psycopg
import pytest

from ecg_desktop.domain import IllegalTransition, Job
from ecg_desktop.store import RECONNECTED, JobChange, JobChangeListener, SqlJobStore, open_store


@contextlib.asynccontextmanager
async def _listening(url: str) -> AsyncIterator[tuple[JobChangeListener, asyncio.Queue[JobChange]]]:
    listener = JobChangeListener(url, min_backoff_s=0.05, health_check_s=0.5)
    queue: asyncio.Queue[JobChange] = asyncio.Queue()

    async def pump() -> None:
        async for change in listener:
            queue.put_nowait(change)

    task = asyncio.create_task(pump())
    try:
        await asyncio.wait_for(listener.listening.wait(), 5)
        yield listener, queue
    finally:
        await listener.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_change_from_another_store_arrives_within_a_second(postgres_url: str) -> None:
    writer: SqlJobStore = await open_store(postgres_url)
    try:
        async with _listening(postgres_url) as (_listener, queue):
            job = Job.new(filename="a.mp4")
            await writer.add(job)
            assert await asyncio.wait_for(queue.get(), 1.0) == job.job_id
            await writer.update(job.job_id, lambda j: j.start_dispatch())
            assert await asyncio.wait_for(queue.get(), 1.0) == job.job_id
            await writer.update(job.job_id, lambda j: j.cancel())
            assert await asyncio.wait_for(queue.get(), 1.0) == job.job_id

            # A rolled-back change announces nothing.
            with pytest.raises(IllegalTransition):
                await writer.update(job.job_id, lambda j: j.report_progress(10))
            await asyncio.sleep(0.3)
            assert queue.empty()

            await writer.delete(job.job_id)
            assert await asyncio.wait_for(queue.get(), 1.0) == job.job_id
    finally:
        await writer.close()


async def test_a_dropped_connection_reconnects_and_says_so(postgres_url: str) -> None:
    writer = await open_store(postgres_url)
    states: list[str] = []
    try:
        async with _listening(postgres_url) as (listener, queue):
            listener._on_state = states.append
            admin_url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
            async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as admin:
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND (query ILIKE 'LISTEN%' OR query = 'SELECT 1')"
                )
            assert await asyncio.wait_for(queue.get(), 5.0) is RECONNECTED
            assert "reconnecting" in states and states[-1] == "listening"
            job = Job.new(filename="after.mp4")
            await writer.add(job)
            assert await asyncio.wait_for(queue.get(), 1.0) == job.job_id
    finally:
        await writer.close()


async def test_on_sqlite_the_listener_is_silent(tmp_path: object) -> None:
    listener = JobChangeListener(f"sqlite+aiosqlite:///{tmp_path}/jobs.db")
    assert not listener.enabled
    changes = [change async for change in listener]
    assert changes == []

