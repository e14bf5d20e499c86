"""Group commit of ``processing`` callbacks across jobs: one transaction for all the callbacks
that arrived while a write was in flight, and no answer before the write that holds it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from ecg_desktop.app.ports import JobStore
from ecg_desktop.domain import Job, JobChanged, JobStatus

from .conftest import Server, ServerFactory, callback_body


class _GatedWrites:
    """Wraps the store's ``update_many``: counts the transactions and holds each until the
    test opens the gate, so a test can see what was answered before a commit."""

    def __init__(self, server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[set[uuid.UUID]] = []
        self.started = asyncio.Event()  # a write is in flight
        self.gate = asyncio.Event()
        self.gate.set()
        real = server.store.update_many

        async def update_many(
            changes: Mapping[uuid.UUID, Callable[[Job], None]],
        ) -> dict[uuid.UUID, Job | Exception]:
            self.calls.append(set(changes))
            self.started.set()
            await self.gate.wait()
            return await real(changes)

        monkeypatch.setattr(server.store, "update_many", update_many)


@pytest.mark.parametrize("writers", [1, 3])
async def test_progress_for_many_jobs_shares_one_transaction_and_waits_for_its_commit(
    make_server: ServerFactory, job_store: JobStore, monkeypatch: pytest.MonkeyPatch,
    writers: int,
) -> None:
    monkeypatch.setattr(type(job_store), "write_concurrency", property(lambda _: writers))
    server = await make_server()
    jobs = [await server.add_job() for _ in range(6)]
    writes = _GatedWrites(server, monkeypatch)
    writes.gate.clear()

    first = asyncio.create_task(server.callback(callback_body(jobs[0].job_id, progress=5)))
    await writes.started.wait()  # the first write is in flight (held at the gate)
    rest = [asyncio.create_task(server.callback(callback_body(job.job_id, progress=10 + n,
                                                              message=f"job {n}")))
            for n, job in enumerate(jobs)]
    await asyncio.sleep(0.3)

    assert not first.done() and not any(task.done() for task in rest)  # nothing committed yet
    writes.gate.set()
    answers: list[Any] = await asyncio.gather(first, *rest)

    assert [a.status for a in answers] == [200] * 7
    # One writer: the first write, then one for all six. Several: up to
    # ``write_concurrency`` writes at once, each with the jobs not already in one.
    assert writes.calls[0] == {jobs[0].job_id}
    assert len(writes.calls) <= server.store.write_concurrency + 1
    assert set().union(*writes.calls) == {job.job_id for job in jobs}
    if server.store.write_concurrency == 1:
        assert writes.calls == [{jobs[0].job_id}, {job.job_id for job in jobs}]
    for n, job in enumerate(jobs):
        stored = await server.store.get(job.job_id)
        assert (stored.progress, stored.message) == (10 + n, f"job {n}")
    changed = {e.job.job_id for e in server.events if isinstance(e, JobChanged)}
    assert changed == {job.job_id for job in jobs}
    assert server.metrics.value("callbacks_total", result="accepted", reason="processing") == 7


async def test_a_refused_job_in_a_shared_write_gets_its_own_answer(
    make_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = await make_server()
    running = await server.add_job()
    canceled = await server.add_job(JobStatus.CANCELED)
    failed = await server.add_job(JobStatus.FAILED)
    writes = _GatedWrites(server, monkeypatch)
    writes.gate.clear()
    blocker = await server.add_job()
    held = asyncio.create_task(server.callback(callback_body(blocker.job_id, progress=1)))
    await writes.started.wait()

    unknown = uuid.uuid4()
    tasks = [asyncio.create_task(server.callback(callback_body(job_id, progress=50)))
             for job_id in (running.job_id, canceled.job_id, unknown, failed.job_id)]
    await asyncio.sleep(0.2)
    writes.gate.set()
    ok, ended, missing, broken = await asyncio.gather(*tasks)
    assert (await held).status == 200

    assert 2 <= len(writes.calls) <= server.store.write_concurrency + 1
    assert (ok.status, await ok.json()) == (200, {"status": "received"})
    assert (ended.status, await ended.json()) == (200, {"status": "already_canceled"})
    assert missing.status == 404
    assert (broken.status, await broken.json()) == (200, {"status": "already_failed"})
    assert (await server.store.get(running.job_id)).progress == 50
    assert (await server.store.get(canceled.job_id)).status is JobStatus.CANCELED


async def test_one_job_is_never_in_two_writes_at_once(
    make_server: ServerFactory, job_store: JobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(type(job_store), "write_concurrency", property(lambda _: 3))
    server = await make_server()
    job = await server.add_job()
    writes = _GatedWrites(server, monkeypatch)
    writes.gate.clear()

    first = asyncio.create_task(server.callback(callback_body(job.job_id, progress=5)))
    await writes.started.wait()
    burst = [asyncio.create_task(server.callback(callback_body(job.job_id, progress=p,
                                                               message=f"step {p}")))
             for p in (30, 10, 20)]
    await asyncio.sleep(0.3)
    assert len(writes.calls) == 1  # the others wait for the write in flight, merged
    writes.gate.set()
    answers = await asyncio.gather(first, *burst)

    assert [a.status for a in answers] == [200] * 4
    assert writes.calls == [{job.job_id}, {job.job_id}]
    stored = await server.store.get(job.job_id)
    assert (stored.progress, stored.message) == (30, "step 20")
