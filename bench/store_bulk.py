"""Storing and loading a 40,000-word transcript in the job store.

Baseline, measured in the same run: ``json.loads`` of the same result payload (what any
receiver pays just to read the callback). Also reports the longest stall of the event loop
while storing, since the GUI shares that loop. Two ways of storing: ``SqlJobStore.update`` on
the loop (JSON encoding and rows in a worker thread), and ``BlockingJobWriter.update`` in a
worker process (how the app stores a big callback's result, given the result's JSON text as
received), with the stall of this process's loop meanwhile. Loading (``get_transcript``) is
measured from the packed words and, for the same job once they are dropped, from the word
rows (how a transcript stored before revision 0003 loads), each with its longest stall.

    python bench/store_bulk.py                         # SQLite in a temporary folder
    python bench/store_bulk.py postgresql+psycopg://user:pw@127.0.0.1/db   # also PostgreSQL
"""

from __future__ import annotations

import asyncio
import gc
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from _common import loop_stall

from ecg_desktop.app.ports import ResultRecord
from ecg_desktop.domain import Job, Transcript, normalize
from ecg_desktop.store import SqlJobStore, open_store
from ecg_desktop.store.blocking_writer import BlockingJobWriter
from ecg_desktop.store.schema import transcripts

SEGMENTS, WORDS_PER_SEGMENT, ROUNDS = 2000, 20, 5


def make_result() -> dict[str, Any]:
    segments, clock = [], 0.0
    for s in range(SEGMENTS):
        start, words = clock, []
        for w in range(WORDS_PER_SEGMENT):
            words.append({"word": f"word{s}_{w}", "start": round(clock, 3),
                          "end": round(clock + 0.2, 3), "volume_db": -18.5 - w % 7,
                          "pitch_hz": 110.0 + w, "spectral_centroid": 1450.0 + w,
                          "confidence": 0.91})
            clock += 0.25
        segments.append({"start": round(start, 3), "end": round(clock, 3),
                         "speaker": {"speaker_id": f"SPEAKER_{s % 4:02d}"},
                         "text": " ".join(str(w["word"]) for w in words), "words": words})
    return {"metadata": {"filename": "bench.mp4"}, "segments": segments}


async def bench(url: str, payload: bytes) -> None:
    raw = json.loads(payload)
    record = ResultRecord(raw, normalize(raw))
    store = await open_store(url)
    stores, stalls = [], []
    loads: dict[str, list[tuple[float, float]]] = {"packed": [], "rows": []}
    try:
        for _ in range(ROUNDS):
            job = Job.new(filename="bench.mp4")
            await store.add(job)
            await store.update(job.job_id, lambda j: j.start_dispatch())

            async def save(job: Job = job) -> None:
                await store.update(job.job_id, lambda j: j.complete(4), result=record)

            elapsed, stall = await loop_stall(save)
            stores.append(elapsed)
            stalls.append(stall)
            for way in ("packed", "rows"):
                if way == "rows":  # as a transcript stored before revision 0003 loads
                    await _drop_packed_words(store, job.job_id)
                loads[way].append(await _timed_load(store, job.job_id, record.transcript))
    finally:
        await store.close()
    baseline = _json_loads_time(payload)
    name = store.describe().split()[0]
    print(f"{name:10s} store  median {statistics.median(stores) * 1000:7.1f} ms  "
          f"({statistics.median(stores) / baseline:4.1f}x json.loads)  "
          f"max loop stall {max(stalls) * 1000:5.1f} ms")
    for way, label in (("packed", "packed words"), ("rows", "word rows, as before")):
        took = statistics.median(elapsed for elapsed, _ in loads[way])
        stall = max(gap for _, gap in loads[way])
        print(f"{name:10s} load   median {took * 1000:7.1f} ms  "
              f"({took / baseline:4.2f}x json.loads)  max loop stall {stall * 1000:5.1f} ms"
              f"   ({label})")


async def _timed_load(
    store: SqlJobStore, job_id: uuid.UUID, expected: Transcript
) -> tuple[float, float]:
    """``get_transcript`` with collection off, as in the app's window (where only the GUI
    thread collects, see ``gui_thread_gc``): the reader of long transcripts is the review pane."""
    loaded: list[Transcript | None] = []

    async def load() -> None:
        loaded.append(await store.get_transcript(job_id))

    gc.disable()
    try:
        timed = await loop_stall(load)
    finally:
        gc.enable()
    assert loaded[0] == expected
    return timed


async def _drop_packed_words(store: SqlJobStore, job_id: uuid.UUID) -> None:
    async with store._engine.begin() as conn:  # the bench reaches under the store
        await conn.execute(
            transcripts.update().where(transcripts.c.job_id == job_id).values(words_packed=None)
        )


async def _noise_floor(seconds: float = 2.0) -> float:
    """The longest gap between 1 ms ticks of an idle loop: what the machine alone causes."""
    return (await loop_stall(lambda: asyncio.sleep(seconds)))[1]


def _store_in_worker(url: str, job_id: str) -> float:
    """In the worker process: store the result as the app's callback worker does; the
    seconds ``BlockingJobWriter.update`` took."""
    raw = make_result()
    record = ResultRecord(raw, normalize(raw), raw_json=json.dumps(raw))
    writer = BlockingJobWriter(url)
    try:
        start = time.perf_counter()
        writer.update(uuid.UUID(job_id), lambda j: j.complete(4), result=record)
        return time.perf_counter() - start
    finally:
        writer.close()


def _nothing() -> None:
    """Submitted once so the worker process has started before the first round."""


async def bench_worker(url: str, payload: bytes) -> None:
    store = await open_store(url)
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    stores, stalls = [], []
    try:
        await asyncio.wrap_future(pool.submit(_nothing))
        for _ in range(ROUNDS):
            job = Job.new(filename="bench.mp4")
            await store.add(job)
            await store.update(job.job_id, lambda j: j.start_dispatch())
            took: list[float] = []

            async def save(job: Job = job, took: list[float] = took) -> None:
                future = pool.submit(_store_in_worker, url, str(job.job_id))
                took.append(await asyncio.wrap_future(future))

            _, stall = await loop_stall(save)
            stores.append(took[0])
            stalls.append(stall)
            transcript = await store.get_transcript(job.job_id)
            assert transcript == normalize(json.loads(payload))
    finally:
        pool.shutdown()
        await store.close()
    baseline = _json_loads_time(payload)
    name = store.describe().split()[0]
    print(f"{name:10s} store  median {statistics.median(stores) * 1000:7.1f} ms  "
          f"({statistics.median(stores) / baseline:4.1f}x json.loads)  "
          f"max loop stall {max(stalls) * 1000:5.1f} ms   (in a worker process)")


def _json_loads_time(payload: bytes) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        json.loads(payload)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    payload = json.dumps(make_result()).encode()
    words = SEGMENTS * WORDS_PER_SEGMENT
    print(f"machine load average: {os.getloadavg()[0]:.1f} (2 cores)")
    print(f"transcript: {words} words, {SEGMENTS} segments, {len(payload) / 1e6:.1f} MB JSON; "
          f"median of {ROUNDS} rounds")
    print(f"baseline   json.loads  median {_json_loads_time(payload) * 1000:7.1f} ms")
    print(f"noise floor: longest gap between an idle loop's 1 ms ticks over 2 s: "
          f"{asyncio.run(_noise_floor()) * 1000:.1f} ms")
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(bench(f"sqlite+aiosqlite:///{Path(folder) / 'jobs.db'}", payload))
        asyncio.run(bench_worker(f"sqlite+aiosqlite:///{Path(folder) / 'jobs.db'}", payload))
    for url in sys.argv[1:]:
        asyncio.run(bench(url, payload))
        asyncio.run(bench_worker(url, payload))


if __name__ == "__main__":
    main()
