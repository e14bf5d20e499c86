"""Conflicting callbacks at one job from several store instances (several processes' worth)."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ecg_desktop.domain import ErrorCode, IllegalTransition, Job, JobStatus
from ecg_desktop.store import SqlJobStore, open_store
from tests.store.helpers import make_result, record


@dataclass
class Move:
    name: str
    change: Callable[[Job], None]
    progress: int | None = None
    terminal: JobStatus | None = None
    with_result: bool = False


def _report(p: int) -> Callable[[Job], None]:
    return lambda j: j.report_progress(p, f"step {p}")


def _moves() -> list[Move]:
    moves = [Move(f"progress {p}", _report(p), progress=p) for p in range(1, 100, 2)]
    for n in range(3):
        moves.append(Move(f"complete {n}", lambda j: j.complete(2), terminal=JobStatus.COMPLETED,
                          with_result=True))
        moves.append(Move(f"fail {n}", lambda j: j.fail(ErrorCode.PROCESSING_ERROR, "x"),
                          terminal=JobStatus.FAILED))
        moves.append(Move(f"cancel {n}", lambda j: j.cancel(), terminal=JobStatus.CANCELED))
    random.Random(7).shuffle(moves)
    return moves


async def test_conflicting_updates_end_in_one_legal_terminal_state(database_url: str) -> None:
    stores: list[SqlJobStore] = [await open_store(database_url) for _ in range(4)]
    try:
        job = Job.new(filename="race.mp4")
        await stores[0].add(job)
        await stores[0].update(job.job_id, lambda j: j.mark_dispatched("http://v"))
        result = record(make_result(segments=20, words_per_segment=10))
        moves = _moves()

        async def attempt(index: int, move: Move) -> bool:
            store = stores[index % len(stores)]
            try:
                await store.update(job.job_id, move.change,
                                   result=result if move.with_result else None)
            except IllegalTransition:
                return False
            return True

        applied = await asyncio.gather(*(attempt(i, m) for i, m in enumerate(moves)))
        done = [m for m, ok in zip(moves, applied, strict=True) if ok]
        terminals = [m for m in done if m.terminal is not None]
        assert len(terminals) == 1, [m.name for m in terminals]

        final = await stores[1].get(job.job_id)
        assert final.status is terminals[0].terminal
        highest = max((m.progress for m in done if m.progress is not None), default=0)
        if final.status is JobStatus.COMPLETED:
            assert final.progress == 100
            assert await stores[2].get_transcript(job.job_id) == result.transcript
        else:
            assert final.progress == highest
            assert await stores[2].get_transcript(job.job_id) is None
        # Every progress callback that lost the race came after the terminal one.
        assert all(m.progress is not None for m in done if m.terminal is None)
    finally:
        for store in stores:
            await store.close()


async def test_claimers_share_a_queue_without_taking_a_job_twice(database_url: str) -> None:
    from ecg_desktop.domain import Stage

    stores: list[SqlJobStore] = [await open_store(database_url) for _ in range(3)]
    try:
        queued = [Job.new(filename=f"q{i}.mp4", stage=Stage.UPLOADED) for i in range(12)]
        for job in queued:
            await stores[0].add(job)
        done = Job.new(filename="done.mp4", stage=Stage.UPLOADED)
        done.cancel()
        await stores[0].add(done)

        async def worker(store: SqlJobStore) -> list[uuid.UUID]:
            taken: list[uuid.UUID] = []
            while batch := await store.claim(lambda j: j.start_dispatch(),
                                             stage=Stage.UPLOADED, limit=2):
                taken.extend(j.job_id for j in batch)
                await asyncio.sleep(0)
            return taken

        results = await asyncio.gather(*(worker(s) for s in stores))
        everything = [job_id for taken in results for job_id in taken]
        assert sorted(everything) == sorted(j.job_id for j in queued)  # each exactly once
        for job in queued:
            assert (await stores[1].get(job.job_id)).stage is Stage.DISPATCHING
        assert (await stores[1].get(done.job_id)).status is JobStatus.CANCELED
    finally:
        for store in stores:
            await store.close()
