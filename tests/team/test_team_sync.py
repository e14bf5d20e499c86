"""TeamSync's rules with an in-memory store and a scripted listener (the real listener and
PostgreSQL are exercised in the other tests of this folder)."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.team import TeamSync
from ecg_desktop.domain import Event, Job, JobChanged, JobDeleted, JobNotFound
from ecg_desktop.domain.events import TeamConnectionChanged

pytestmark = pytest.mark.timeout(30)

RECONNECTED = object()


class MemoryStore:
    def __init__(self) -> None:
        self.jobs: dict[uuid.UUID, Job] = {}
        self.gate: asyncio.Event | None = None  # when set, reads wait for it
        self.reads = 0
        self.down = False

    def put(self, job: Job) -> Job:
        stamp = datetime.now(UTC)
        stored = self.jobs.get(job.job_id)
        version = (stored.version if stored else job.version) + 1  # as the store raises it
        job = dataclasses.replace(job, updated_at=stamp, version=version)
        self.jobs[job.job_id] = job
        return job

    async def get(self, job_id: uuid.UUID) -> Job:
        self.reads += 1
        if self.down:
            raise ConnectionError("database is away")
        snapshot = self.jobs.get(job_id)
        if self.gate is not None:
            await self.gate.wait()
        if snapshot is None:
            raise JobNotFound(job_id)
        return snapshot

    async def changed_since(self, since: datetime, limit: int = 1000) -> list[Job]:
        if self.down:
            raise ConnectionError("database is away")
        found = sorted((j for j in self.jobs.values() if j.updated_at >= since),
                       key=lambda j: j.updated_at)
        return found[:limit]


class ScriptedListener:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self.listening = asyncio.Event()
        self.listening.set()

    async def __aiter__(self) -> AsyncIterator[object]:
        while True:
            yield await self.queue.get()


class Harness:
    def __init__(self) -> None:
        self.store = MemoryStore()
        self.bus = EventBus()
        self.listener = ScriptedListener()
        self.events: list[Event] = []
        self.bus.subscribe(self.events.append)
        self.sync = TeamSync(self.store, self.bus, self.listener, retry_delay_s=0.05,
                             clock_margin_s=0.5)

    def changed(self, job_id: uuid.UUID) -> list[Job]:
        return [e.job for e in self.events
                if isinstance(e, JobChanged) and e.job.job_id == job_id]

    def deleted(self) -> list[uuid.UUID]:
        return [e.job_id for e in self.events if isinstance(e, JobDeleted)]

    async def settle(self) -> None:
        for _ in range(50):
            await asyncio.sleep(0.01)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness()
    await h.sync.start()
    h.sync.on_listener_state("listening")
    yield h
    await h.sync.stop()


def new_job(name: str) -> Job:
    return Job.new(filename=name, owner="ana", host="pc-1")


async def test_a_notice_publishes_the_job_as_stored(harness: Harness) -> None:
    job = harness.store.put(new_job("a.mp4"))
    await harness.listener.queue.put(job.job_id)
    await harness.settle()
    assert [j.updated_at for j in harness.changed(job.job_id)] == [job.updated_at]


async def test_a_notice_for_a_deleted_job_publishes_job_deleted(harness: Harness) -> None:
    gone = uuid.uuid4()
    await harness.listener.queue.put(gone)
    await harness.settle()
    assert harness.deleted() == [gone]


async def test_a_change_already_on_this_bus_is_not_published_again(harness: Harness) -> None:
    job = harness.store.put(new_job("mine.mp4"))
    harness.bus.publish(JobChanged(job))  # this desktop's own write
    await harness.listener.queue.put(job.job_id)  # ... comes back as a notice
    await harness.settle()
    assert len(harness.changed(job.job_id)) == 1


async def test_notices_during_a_read_are_not_lost(harness: Harness) -> None:
    job = harness.store.put(new_job("a.mp4"))
    harness.store.gate = asyncio.Event()
    await harness.listener.queue.put(job.job_id)
    await harness.settle()  # the read of the first version is in flight
    newer = harness.store.put(dataclasses.replace(job, message="Transcribing"))
    await harness.listener.queue.put(job.job_id)
    await harness.settle()
    harness.store.gate.set()
    await harness.settle()
    assert harness.changed(job.job_id)[-1].message == "Transcribing"
    assert harness.changed(job.job_id)[-1].updated_at == newer.updated_at


async def test_many_notices_for_one_job_are_merged_into_few_reads(harness: Harness) -> None:
    job = harness.store.put(new_job("a.mp4"))
    harness.store.gate = asyncio.Event()
    for _ in range(50):
        await harness.listener.queue.put(job.job_id)
    await harness.settle()
    harness.store.gate.set()
    await harness.settle()
    assert harness.store.reads <= 2


async def test_after_a_reconnection_missed_changes_and_deletions_are_published(
    harness: Harness,
) -> None:
    kept = harness.store.put(new_job("kept.mp4"))
    removed = harness.store.put(new_job("removed.mp4"))
    for job in (kept, removed):
        await harness.listener.queue.put(job.job_id)
    await harness.settle()
    # While notices could not arrive: one job changed, one was deleted, one was added.
    await asyncio.sleep(0.01)
    changed = harness.store.put(dataclasses.replace(kept, message="Done"))
    del harness.store.jobs[removed.job_id]
    added = harness.store.put(new_job("added.mp4"))

    await harness.listener.queue.put(RECONNECTED)
    await harness.settle()

    assert harness.changed(kept.job_id)[-1].updated_at == changed.updated_at
    assert harness.changed(added.job_id)
    assert harness.deleted() == [removed.job_id]


async def test_rows_shown_but_never_on_the_bus_are_checked_after_a_reconnection() -> None:
    h = Harness()
    listed = h.store.put(new_job("listed.mp4"))
    h.store.jobs[listed.job_id] = dataclasses.replace(
        listed, updated_at=listed.updated_at - timedelta(hours=1))
    h.sync = TeamSync(h.store, h.bus, h.listener, known_ids=lambda: [listed.job_id])
    await h.sync.start()
    try:
        del h.store.jobs[listed.job_id]
        await h.listener.queue.put(RECONNECTED)
        await h.settle()
        assert h.deleted() == [listed.job_id]
    finally:
        await h.sync.stop()


async def test_the_link_state_is_published_for_the_status_bar(harness: Harness) -> None:
    harness.sync.on_listener_state("reconnecting")
    harness.sync.on_listener_state("reconnecting")
    harness.sync.on_listener_state("listening")
    states = [e.state for e in harness.events if isinstance(e, TeamConnectionChanged)]
    assert states == ["connected", "reconnecting", "connected"]


async def test_a_store_that_cannot_be_read_shows_reconnecting_and_is_read_again(
    harness: Harness,
) -> None:
    job = harness.store.put(new_job("a.mp4"))
    harness.store.down = True
    await harness.listener.queue.put(job.job_id)
    await harness.settle()
    assert harness.sync.state == "reconnecting"
    assert not harness.changed(job.job_id)
    harness.store.down = False
    await harness.settle()
    assert harness.changed(job.job_id)
    assert harness.sync.state == "connected"
