"""Team mode: how long until every listening desktop hears of a job change.

3 writers (store instances) update their own jobs; 10 ``JobChangeListener``s LISTEN on one
PostgreSQL. Delay = from the start of ``store.update`` to a listener receiving the job id,
for every (update, listener) pair; baseline = the same updates' commit time (the duration of
``store.update``), measured in the same run. All in one process and one event loop, as a
desktop would run.

    python bench/store_notify.py postgresql+psycopg://user:pw@127.0.0.1/db
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from collections import defaultdict

from ecg_desktop.domain import Job
from ecg_desktop.store import JobChangeListener, SqlJobStore, open_store

WRITERS, LISTENERS, UPDATES_PER_WRITER = 3, 10, 100


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run(url: str) -> None:
    writers: list[SqlJobStore] = [await open_store(url) for _ in range(WRITERS)]
    jobs = [Job.new(filename=f"bench{i}.mp4") for i in range(WRITERS)]
    for store, job in zip(writers, jobs, strict=True):
        await store.add(job)
        await store.update(job.job_id, lambda j: j.start_dispatch())

    starts: dict[uuid.UUID, list[float]] = defaultdict(list)
    commits: list[float] = []
    delays: list[float] = []
    expected = WRITERS * UPDATES_PER_WRITER
    listeners = [JobChangeListener(url) for _ in range(LISTENERS)]
    received = [0] * LISTENERS
    everyone_done = asyncio.Event()

    async def listen(index: int, listener: JobChangeListener) -> None:
        seen: dict[uuid.UUID, int] = defaultdict(int)
        async for change in listener:
            if not isinstance(change, uuid.UUID) or change not in starts:
                continue
            delays.append(time.perf_counter() - starts[change][seen[change]])
            seen[change] += 1
            received[index] += 1
            if sum(received) == expected * LISTENERS:
                everyone_done.set()

    tasks = [asyncio.create_task(listen(i, lst)) for i, lst in enumerate(listeners)]
    await asyncio.gather(*(asyncio.wait_for(lst.listening.wait(), 10) for lst in listeners))

    async def write(store: SqlJobStore, job: Job) -> None:
        for step in range(UPDATES_PER_WRITER):
            starts[job.job_id].append(time.perf_counter())
            await store.update(job.job_id, lambda j, s=step: j.report_progress(s % 100, "bench"))
            commits.append(time.perf_counter() - starts[job.job_id][-1])
            await asyncio.sleep(0.005)

    await asyncio.gather(*(write(s, j) for s, j in zip(writers, jobs, strict=True)))
    try:
        await asyncio.wait_for(everyone_done.wait(), 10)
    except TimeoutError:
        print(f"only {sum(received)} of {expected * LISTENERS} notices arrived")
    for listener in listeners:
        await listener.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for store in writers:
        await store.close()

    ms = 1000
    print(f"{WRITERS} writers x {UPDATES_PER_WRITER} updates, {LISTENERS} listeners: "
          f"{len(delays)} deliveries")
    print(f"commit time (baseline)  median {statistics.median(commits) * ms:6.1f} ms  "
          f"p99 {percentile(commits, 0.99) * ms:6.1f} ms")
    print(f"update -> listener      median {statistics.median(delays) * ms:6.1f} ms  "
          f"p99 {percentile(delays, 0.99) * ms:6.1f} ms  "
          f"(median {statistics.median(delays) / statistics.median(commits):.2f}x commit time)")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/store_notify.py postgresql+psycopg://user:pw@host/db")
    asyncio.run(run(sys.argv[1]))
