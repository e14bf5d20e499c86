"""Storing transcript edits on a 40,000-word transcript (2,000 segments of 20 words).

Baseline, measured in the same run: a word correction (one word row and its segment's text,
the cheapest edit). Against it: a split near the start (every later segment and word row
moves one index: the worst case), a split near the end, and loading the transcript once a
split made its packed words unusable (it is then read from the word rows). Each with the
longest stall of the event loop meanwhile, since the review pane shares that loop.

    python bench/review_edits.py                         # SQLite in a temporary folder
    python bench/review_edits.py postgresql+psycopg://user:pw@127.0.0.1/db   # also PostgreSQL
"""

from __future__ import annotations

import asyncio
import functools
import statistics
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from _common import loop_stall
from store_bulk import make_result

from ecg_desktop.app.ports import ResultRecord
from ecg_desktop.domain import Job, normalize
from ecg_desktop.domain.editing import split_segment
from ecg_desktop.store import SqlJobStore, open_store

ROUNDS = 5


async def _completed(store: SqlJobStore, raw: dict[str, Any]) -> uuid.UUID:
    job = Job.new(filename="bench.mp4")
    await store.add(job)
    await store.update(job.job_id, lambda j: j.start_dispatch())
    await store.update(job.job_id, lambda j: j.complete(4),
                       result=ResultRecord(raw, normalize(raw)))
    return job.job_id


async def _measure(work: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """(median seconds, longest stall) of ``ROUNDS`` runs of ``work``."""
    times, stalls = [], []
    for _ in range(ROUNDS):
        took, stall = await loop_stall(work)
        times.append(took)
        stalls.append(stall)
    return statistics.median(times), max(stalls)


async def bench(url: str, label: str) -> None:
    store = await open_store(url)
    try:
        job_id = await _completed(store, make_result())
        transcript = await store.get_transcript(job_id)
        assert transcript is not None

        async def correct() -> None:
            await store.set_word_text(job_id, 1000, 3, "corrected")

        async def split_and_join(at: int) -> None:
            current = await store.get_transcript(job_id)
            assert current is not None
            edit = split_segment(current, at, 10)
            await store.replace_segments(job_id, edit.first, 1, edit.new)
            await store.replace_segments(job_id, edit.first, 2, edit.old)  # undo

        async def load() -> None:
            await store.get_transcript(job_id)

        base, base_stall = await _measure(correct)
        print(f"{label:10} word correction  median {base * 1000:7.1f} ms"
              f"  max loop stall {base_stall * 1000:5.1f} ms   (baseline)")
        loaded, loaded_stall = await _measure(load)
        print(f"{label:10} load             median {loaded * 1000:7.1f} ms"
              f"  max loop stall {loaded_stall * 1000:5.1f} ms   (packed words)")
        for where, at in (("start", 5), ("end", 1990)):
            # each round: load (rows), split, undo: the load is measured on its own below
            took, stall = await _measure(functools.partial(split_and_join, at))
            reload, _ = await _measure(load)
            per_write = (took - reload) / 2
            print(f"{label:10} split at {where:5}   median {per_write * 1000:7.1f} ms"
                  f"  max loop stall {stall * 1000:5.1f} ms   "
                  f"({per_write / base:.1f}x the correction, per write)")
        rows, rows_stall = await _measure(load)
        print(f"{label:10} load             median {rows * 1000:7.1f} ms"
              f"  max loop stall {rows_stall * 1000:5.1f} ms   (word rows, after a split)")
    finally:
        await store.close()


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        await bench(f"sqlite+aiosqlite:///{Path(folder) / 'jobs.db'}", "SQLite")
    if len(sys.argv) > 1:
        await bench(sys.argv[1], "PostgreSQL")


if __name__ == "__main__":
    asyncio.run(main())
