"""Pieces several benchmarks share (imported as ``_common``: a script's own folder is on
``sys.path`` when it runs as ``python bench/<name>.py``)."""

from __future__ import annotations

import asyncio
import functools
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from ecg_desktop.domain import Job
from ecg_desktop.store import SqlJobStore, open_store

LOOP_TICK_S = 0.001


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def loop_stall(
    work: Callable[[], Awaitable[Any]], *, settle_s: float = 0.0
) -> tuple[float, float]:
    """(seconds ``work`` took, longest gap between ``LOOP_TICK_S`` ticks of the loop meanwhile).

    ``settle_s``: let the ticker run that long before ``work`` starts.
    """
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(LOOP_TICK_S)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    if settle_s:
        await asyncio.sleep(settle_s)
    start = time.perf_counter()
    await work()
    elapsed = time.perf_counter() - start
    done.set()
    await task
    return elapsed, max(gaps, default=0.0)


class TimedWriters:
    """``count`` stores, each with its own dispatched job, updating it and timing each commit.

    ``starts[job_id]`` holds when each update of that job began; ``commits`` how long each
    ``store.update`` took (the baseline the notification benchmarks compare against).
    """

    def __init__(self, stores: list[SqlJobStore], jobs: list[Job]) -> None:
        self.stores = stores
        self.jobs = jobs
        self.starts: dict[uuid.UUID, list[float]] = defaultdict(list)
        self.commits: list[float] = []

    @classmethod
    async def open(cls, url: str, count: int) -> TimedWriters:
        stores: list[SqlJobStore] = [await open_store(url) for _ in range(count)]
        jobs = [Job.new(filename=f"bench{i}.mp4") for i in range(count)]
        for store, job in zip(stores, jobs, strict=True):
            await store.add(job)
            await store.update(job.job_id, lambda j: j.start_dispatch())
        return cls(stores, jobs)

    async def write(self, updates: int, message: Callable[[int], str]) -> None:
        """Every store updates its job ``updates`` times, 5 ms apart, all at once."""

        async def one(store: SqlJobStore, job: Job) -> None:
            for step in range(updates):
                self.starts[job.job_id].append(time.perf_counter())
                await store.update(job.job_id, functools.partial(_progress, step, message))
                self.commits.append(time.perf_counter() - self.starts[job.job_id][-1])
                await asyncio.sleep(0.005)

        await asyncio.gather(*(one(s, j) for s, j in zip(self.stores, self.jobs, strict=True)))

    async def close(self) -> None:
        for store in self.stores:
            await store.close()


def print_delays(commits: list[float], delays: list[float], label: str) -> None:
    """The baseline (commit time) and the measured delay, median and p99, in ms."""
    ms = 1000
    width = max(len(label), len("commit time (baseline)"))
    print(f"{'commit time (baseline)':<{width}}  median {statistics.median(commits) * ms:6.1f} ms"
          f"  p99 {percentile(commits, 0.99) * ms:6.1f} ms")
    print(f"{label:<{width}}  median {statistics.median(delays) * ms:6.1f} ms  "
          f"p99 {percentile(delays, 0.99) * ms:6.1f} ms  "
          f"(median {statistics.median(delays) / statistics.median(commits):.2f}x commit time)")


def _progress(step: int, message: Callable[[int], str], job: Job) -> None:
    job.report_progress(step % 100, message(step))
