"""``update_many``: several jobs changed in one transaction (the callbacks' group commit)."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable

import pytest

from ecg_desktop.domain import IllegalTransition, Job, JobNotFound, JobStatus
from ecg_desktop.store import SqlJobStore, open_store
from tests.store.test_notify import _listening


async def _running_jobs(store: SqlJobStore, count: int) -> list[Job]:
    jobs = []
    for n in range(count):
        job = Job.new(filename=f"job{n}.mp4")
        job.mark_dispatched("http://v")
        await store.add(job)
        jobs.append(job)
    return jobs


async def test_each_job_gets_its_change_in_one_call(store: SqlJobStore) -> None:
    jobs = await _running_jobs(store, 5)

    def progress(value: int) -> Callable[[Job], None]:
        return lambda j: j.report_progress(value, f"step {value}")

    outcome = await store.update_many(
        {job.job_id: progress(10 * n) for n, job in enumerate(jobs, start=1)}
    )

    for n, job in enumerate(jobs, start=1):
        written = outcome[job.job_id]
        assert isinstance(written, Job) and written.progress == 10 * n
        stored = await store.get(job.job_id)
        assert (stored.progress, stored.message) == (10 * n, f"step {10 * n}")
        assert stored.updated_at >= job.updated_at


async def test_a_refused_change_or_a_missing_job_does_not_stop_the_others(
    store: SqlJobStore,
) -> None:
    first, ended, last = await _running_jobs(store, 3)
    await store.update(ended.job_id, lambda j: j.cancel())
    missing = uuid.uuid4()

    def boom(job: Job) -> None:
        job.report_progress(99, "half applied")
        raise RuntimeError("the change failed midway")

    outcome = await store.update_many({
        first.job_id: lambda j: j.report_progress(30),
        ended.job_id: lambda j: j.report_progress(40),  # canceled: illegal
        missing: lambda j: j.report_progress(50),
        last.job_id: boom,
    })

    assert isinstance(outcome[first.job_id], Job)
    assert isinstance(outcome[ended.job_id], IllegalTransition)
    assert isinstance(outcome[missing], JobNotFound)
    assert isinstance(outcome[last.job_id], RuntimeError)
    assert (await store.get(first.job_id)).progress == 30
    canceled = await store.get(ended.job_id)
    assert (canceled.status, canceled.progress) == (JobStatus.CANCELED, 0)
    untouched = await store.get(last.job_id)
    assert (untouched.progress, untouched.message) == (0, last.message)
    with pytest.raises(JobNotFound):
        await store.get(missing)


async def test_an_empty_call_writes_nothing(store: SqlJobStore) -> None:
    assert await store.update_many({}) == {}


async def test_overlapping_group_commits_from_several_stores_never_deadlock_or_lose_a_rise(
    database_url: str,
) -> None:
    stores = [await open_store(database_url) for _ in range(4)]
    try:
        jobs = await _running_jobs(stores[0], 8)
        rng = random.Random(3)
        sent: dict[uuid.UUID, list[int]] = {job.job_id: [] for job in jobs}

        async def writer(index: int) -> None:
            store = stores[index % len(stores)]
            for _ in range(6):
                picked = rng.sample(jobs, 5)
                rng.shuffle(picked)  # each call names its jobs in another order
                changes = {}
                for job in picked:
                    progress = rng.randint(1, 99)
                    sent[job.job_id].append(progress)
                    changes[job.job_id] = lambda j, p=progress: j.report_progress(
                        max(j.progress, p))
                outcome = await store.update_many(changes)
                assert all(isinstance(o, Job) for o in outcome.values()), outcome
            # a single-job update racing the group commits
            await store.update(picked[0].job_id, lambda j: j.report_progress(j.progress))

        await asyncio.wait_for(asyncio.gather(*(writer(i) for i in range(8))), 60)

        for job in jobs:
            stored = await stores[1].get(job.job_id)
            assert stored.progress == max(sent[job.job_id], default=0)
    finally:
        for store in stores:
            await store.close()


async def test_each_written_job_is_announced_once_and_a_refused_one_not_at_all(
    postgres_url: str,
) -> None:
    writer = await open_store(postgres_url)
    try:
        written, ended = await _running_jobs(writer, 2)
        await writer.update(ended.job_id, lambda j: j.cancel())
        async with _listening(postgres_url) as (_listener, queue):
            await writer.update_many({written.job_id: lambda j: j.report_progress(20),
                                      ended.job_id: lambda j: j.report_progress(20)})
            assert await asyncio.wait_for(queue.get(), 1.0) == written.job_id
            await asyncio.sleep(0.3)
            assert queue.empty()
    finally:
        await writer.close()


async def test_a_connection_ended_by_the_server_is_replaced_without_an_error(
    postgres_url: str,
) -> None:
    import psycopg

    store = await open_store(postgres_url)
    try:
        [job] = await _running_jobs(store, 1)
        await store.update_many({job.job_id: lambda j: j.report_progress(10)})
        admin_url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
        async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as admin:
            ended = await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert len(await ended.fetchall()) >= 1

        outcome = await store.update_many({job.job_id: lambda j: j.report_progress(20)})

        assert isinstance(outcome[job.job_id], Job)
        assert (await store.get(job.job_id)).progress == 20
    finally:
        await store.close()
