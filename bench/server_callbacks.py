"""Callback ingest of the embedded backend.

(a) Small signed ``processing`` callbacks per second through ``POST /api/upload-video/result``
    (verify, validate, one locked store update, publish) on SQLite and on PostgreSQL, against
    the ceiling measured in the same run on the same aiohttp server: a route that reads the
    body, verifies the same signature and answers (no store). Goal: at least 50 % of it.
    The server runs in a child process; the load comes from this one.
(b) One ``completed`` callback carrying a generated three-hour transcript (40,000 words,
    4 speakers, about 8 MB of JSON) verified, normalised and stored on SQLite, timed from the
    request to the answer, while a 1 ms ticker on the server's loop records the loop's
    longest stall (the GUI shares that loop). Goal: under 1 s, stall at most 16 ms. Measured
    as the app runs it (a worker process does the work) and, as the baseline of the same run,
    with the work in threads of the server's process (the former path); then each of those
    thread phases alone, with the stall it causes.

    python bench/server_callbacks.py                      # SQLite; PostgreSQL via the test
                                                          # service when it can start
    python bench/server_callbacks.py postgresql+psycopg://user:pw@127.0.0.1/db
    python bench/server_callbacks.py --big                # (b) only
"""

from __future__ import annotations

import asyncio
import gc
import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from _common import LOOP_TICK_S, loop_stall
from aiohttp import web

from ecg_desktop.app import big_results
from ecg_desktop.app.bus import EventBus
from ecg_desktop.app.callbacks import CallbackReceiver
from ecg_desktop.app.metrics import Metrics
from ecg_desktop.app.ports import JobStore, ResultRecord, parse_json_yielding
from ecg_desktop.config import Settings
from ecg_desktop.domain import Job, normalize
from ecg_desktop.domain.signatures import Verdict, sign_headers, verify
from ecg_desktop.mlclient import HttpMLClient
from ecg_desktop.server.app import create_app
from ecg_desktop.server.runner import EmbeddedServer, free_port
from ecg_desktop.store import open_store
from ecg_desktop.store.result_worker import ResultWorker

SECRET = "bench-webhook-secret"
JOBS = 64
# Callbacks spread over 64 running jobs (one transaction each), and over 4 (a GPU box's
# usual concurrency, where bursts for one job are merged into one transaction).
JOB_SPREADS = (64, 4)
REQUESTS = 1500
CONCURRENCY = 16
ROUNDS = 5
WORDS, SPEAKERS, WORDS_PER_SEGMENT = 40_000, 4, 20


# -- the server side -----------------------------------------------------------------------


class _NoStorage:
    def describe(self) -> str:
        return "none (benchmark)"


@dataclass
class _BenchCore:
    settings: Settings
    store: JobStore
    storage: Any
    ml_client: Any
    bus: EventBus
    pipeline: None = None
    local_files: None = None


@dataclass
class _Bench:
    app: web.Application
    store: JobStore
    ml_client: HttpMLClient
    worker: ResultWorker | None

    async def close(self) -> None:
        if self.worker is not None:
            await self.worker.close()
        await self.ml_client.close()
        await self.store.close()


async def build_app(url: str, data_dir: Path, *, in_process: bool = False) -> _Bench:
    """The app as ``bootstrap`` builds it (big results in a worker process), or with big
    results handled in threads of this process (``in_process``, the former path)."""
    settings = Settings(webhook_secret_key=SECRET, data_dir=data_dir)
    store = await open_store(url)
    metrics, bus = Metrics(), EventBus()
    ml_client = HttpMLClient(settings)
    worker = (None if in_process
              else ResultWorker.for_store(store, initializer=big_results.warm_up))
    receiver = CallbackReceiver(store, bus, settings, metrics, result_worker=worker)
    app = create_app(_BenchCore(settings, store, _NoStorage(), ml_client, bus),
                     metrics=metrics, callbacks=receiver)

    async def noop(request: web.Request) -> web.Response:
        body = await request.read()
        verdict, _ = verify([SECRET], body, request.headers, now=time.time())
        ok = verdict is Verdict.VALID
        return web.json_response({"status": "received"}, status=200 if ok else 401)

    app.router.add_post("/bench/noop", noop)
    writes: list[tuple[int, float]] = []  # (jobs in the transaction, seconds as the loop saw)
    group_commit = store.update_many

    async def timed_update_many(changes: Any) -> Any:
        start = time.perf_counter()
        try:
            return await group_commit(changes)
        finally:
            writes.append((len(changes), time.perf_counter() - start))

    async def write_stats(request: web.Request) -> web.Response:
        taken = list(writes)
        writes.clear()
        return web.json_response({
            "transactions": len(taken),
            "jobs": sum(n for n, _ in taken),
            "median_ms": statistics.median(t for _, t in taken) * 1000 if taken else 0.0,
        })

    store.update_many = timed_update_many  # type: ignore[method-assign]
    app.router.add_get("/bench/writes", write_stats)
    return _Bench(app, store, ml_client, worker)


async def add_running_jobs(store: JobStore, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        job = Job.new(filename="bench.mp4", file_key="videos/bench/x.mp4")
        job.start_dispatch()
        job.mark_dispatched("http://storage.invalid/x.mp4")
        await store.add(job)
        ids.append(str(job.job_id))
    return ids


async def serve_child(url: str, port: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        bench = await build_app(url, Path(folder))
        ids = await add_running_jobs(bench.store, JOBS)
        server = EmbeddedServer(bench.app)
        await server.start("127.0.0.1", port)
        print(json.dumps(ids), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until EOF
        await server.stop()
        await bench.close()


# -- (a) throughput ------------------------------------------------------------------------


def _signed(job_id: str, progress: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"job_id": job_id, "status": "processing", "progress": progress,
                       "message": "Transcribing", "result": None, "error_message": None,
                       "error_code": None}).encode()
    headers = {"Content-Type": "application/json",
               **sign_headers(SECRET, body, msg_id="", timestamp=0, compat_only=True)}
    return body, headers


async def load(base: str, path: str, ids: list[str]) -> float:
    """Callbacks per second for ``REQUESTS`` requests, ``CONCURRENCY`` at a time."""
    requests = [_signed(ids[i % len(ids)], min(99, i // len(ids))) for i in range(REQUESTS)]
    queue: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while not queue.empty():
                body, headers = queue.get_nowait()
                async with session.post(base + path, data=body, headers=headers) as response:
                    await response.read()
                    assert response.status == 200, (response.status, await response.text())

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return REQUESTS / (time.perf_counter() - start)


def throughput(url: str, name: str) -> None:
    port = free_port()
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", url, str(port)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdin is not None
        ids = json.loads(child.stdout.readline())
        base = f"http://127.0.0.1:{port}"

        async def rounds(jobs: list[str]) -> tuple[list[float], list[float], dict[str, Any]]:
            ceiling, real = [], []
            await load(base, "/bench/noop", jobs)  # warm-up
            async with aiohttp.ClientSession() as session:
                await (await session.get(base + "/bench/writes")).read()  # reset
                for _ in range(ROUNDS):
                    ceiling.append(await load(base, "/bench/noop", jobs))
                    real.append(await load(base, "/api/upload-video/result", jobs))
                stats = await (await session.get(base + "/bench/writes")).json()
            return ceiling, real, stats

        if url.startswith("postgresql"):
            commit = durable_commit_time(url)
            print(f"(a) {name:10s} a durable commit (1-row UPDATE + COMMIT, WAL flush): median "
                  f"{commit * 1000:.1f} ms, so {CONCURRENCY} senders that each wait for their "
                  f"commit get at most {CONCURRENCY / commit:.0f} callbacks/s")
        for count in JOB_SPREADS:
            ceiling, real, writes = asyncio.run(rounds(ids[:count]))
            top, got = statistics.median(ceiling), statistics.median(real)
            # Each round's ratio pairs two runs measured back to back, so a change of the
            # machine's load between rounds moves both; their median is the figure to compare.
            ratio = statistics.median(r / c for r, c in zip(real, ceiling, strict=True))
            print(f"(a) {name:10s} {count:2d} jobs: signed processing callbacks {got:6.0f}/s   "
                  f"signed no-op ceiling {top:6.0f}/s   ratio {ratio:5.1%}   "
                  f"(medians of {ROUNDS} paired rounds)")
            print(f"    group commit: {REQUESTS * ROUNDS} callbacks in {writes['transactions']} "
                  f"transactions ({writes['jobs'] / max(1, writes['transactions']):.1f} jobs each),"
                  f" median transaction {writes['median_ms']:.1f} ms as the loop sees it")
    finally:
        if child.stdin:
            child.stdin.close()
        child.wait(30)


def durable_commit_time(url: str) -> float:
    """Median time of a one-row update committed on PostgreSQL (it waits for the WAL flush):
    no callback can be answered sooner, since it is answered after its commit."""
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)
    times = []
    with psycopg.connect(conninfo) as conn:
        conn.execute("CREATE TABLE bench_commit_probe (id int PRIMARY KEY, v int)")
        conn.execute("INSERT INTO bench_commit_probe VALUES (1, 0)")
        conn.commit()
        for value in range(100):
            start = time.perf_counter()
            conn.execute("UPDATE bench_commit_probe SET v = %s WHERE id = 1", (value,))
            conn.commit()
            times.append(time.perf_counter() - start)
        conn.execute("DROP TABLE bench_commit_probe")
        conn.commit()
    return statistics.median(times)


def _burn(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def busy_core_floor() -> float:
    """The longest stall of an idle loop while another process keeps one core busy (no GIL,
    no work on this loop): what the machine's scheduler alone costs the loop."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        await asyncio.wrap_future(pool.submit(_burn, 0.01))
        _, stall = await measured(lambda: asyncio.wrap_future(pool.submit(_burn, 2.0)))
    return stall


# -- (b) a three-hour result -----------------------------------------------------------------


def three_hour_result() -> dict[str, Any]:
    segments: list[dict[str, Any]] = []
    clock, spoken = 0.0, 0
    step = 3 * 3600 / WORDS
    vocabulary = ("so", "the", "analysis", "shows", "that", "speakers", "overlap", "rarely",
                  "when", "they", "disagree", "about", "numbers", "yes", "exactly", "right")
    while spoken < WORDS:
        start, words = clock, []
        for w in range(WORDS_PER_SEGMENT):
            words.append({
                "word": vocabulary[(spoken + w) % len(vocabulary)],
                "start": round(clock, 3), "end": round(clock + step * 0.8, 3),
                "confidence": 0.912, "score": 0.912,
                "acoustic_features": {"volume_db": round(-18.5 - (w % 9) * 0.731, 2),
                                      "pitch_hz": round(110.0 + (spoken % 97) * 1.37, 2),
                                      "spectral_centroid": round(1450.0 + w * 13.1, 1)},
            })
            clock += step
        spoken += WORDS_PER_SEGMENT
        segments.append({"start_time": round(start, 3), "end_time": round(clock, 3),
                         "speaker": {"speaker_id": f"SPEAKER_{len(segments) % SPEAKERS:02d}"},
                         "text": " ".join(str(w["word"]) for w in words), "words": words})
    return {"metadata": {"filename": "three-hours.mp4", "duration": round(clock, 3),
                         "language_detected": "en"},
            "segments": segments}


async def measured(work: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """(seconds ``work`` took, longest stall of the loop meanwhile: the longest gap between
    its 1 ms ticks less the tick)."""
    elapsed, gap = await loop_stall(work, settle_s=0.01)
    return elapsed, gap - LOOP_TICK_S


def _post(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", "/api/upload-video/result", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


async def big_result(folder: Path) -> None:
    result = three_hour_result()
    _, idle_stall = await measured(lambda: asyncio.sleep(2.0))
    for in_process in (False, True):
        url = f"sqlite+aiosqlite:///{folder / ('threads' if in_process else 'worker')}.db"
        bench = await build_app(url, folder, in_process=in_process)
        server = EmbeddedServer(bench.app)
        await server.start("127.0.0.1", 0)
        try:
            if bench.worker is not None:  # the app spawns it with the first callback
                await bench.worker.ready()
            totals, stalls, size = await _big_rounds(server.port, bench.store, result)
            if not in_process:
                print(f"(b) three-hour result: {WORDS} words, {SPEAKERS} speakers, "
                      f"{size / 1e6:.1f} MB JSON, SQLite")
            where = "in threads (before)" if in_process else "worker process"
            print(f"    {where:20s} end to end (request -> 200): median "
                  f"{statistics.median(totals) * 1000:6.0f} ms (goal < 1000 ms)   longest loop "
                  f"stall {max(stalls) * 1000:5.1f} ms (goal <= 16 ms)   over {ROUNDS} rounds")
            if in_process:
                print(f"    noise floor: the same ticker on an idle loop for 2 s: longest stall "
                      f"{idle_stall * 1000:5.1f} ms; the same while another process keeps a "
                      f"core busy: {await busy_core_floor() * 1000:5.1f} ms")
                await phases(result, bench.store)
        finally:
            await server.stop()
            await bench.close()


async def _big_rounds(
    port: int, store: JobStore, result: dict[str, Any]
) -> tuple[list[float], list[float], int]:
    totals, stalls, size = [], [], 0
    for _ in range(ROUNDS):
        [job_id] = await add_running_jobs(store, 1)
        body = json.dumps({"job_id": job_id, "status": "completed", "progress": 100,
                           "message": "done", "result": result, "error_message": None,
                           "error_code": None}).encode()
        size = len(body)
        headers = {"Content-Type": "application/json",
                   **sign_headers(SECRET, body, msg_id=f"msg_{uuid.uuid4().hex}",
                                  timestamp=int(time.time()))}

        async def send(body: bytes = body, headers: dict[str, str] = headers) -> None:
            status, answer = await asyncio.to_thread(_post, port, body, headers)
            assert status == 200, answer

        elapsed, stall = await measured(send)
        totals.append(elapsed)
        stalls.append(stall)
    return totals, stalls, size


async def phases(raw: dict[str, Any], store: JobStore) -> None:
    """Each step alone, in a thread as the former path ran it, with the stall it causes."""
    body = json.dumps({"job_id": str(uuid.uuid4()), "status": "completed",
                       "result": raw}).encode()
    headers = sign_headers(SECRET, body, msg_id="msg_phases", timestamp=int(time.time()))
    transcript = normalize(raw)
    [job_id] = await add_running_jobs(store, 1)
    steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("verify (thread)", lambda: asyncio.to_thread(
            verify, [SECRET], body, headers, now=time.time())),
        ("json.loads, C decoder (thread)", lambda: asyncio.to_thread(json.loads, body)),
        ("parse with a Python hook (thread)", lambda: asyncio.to_thread(
            parse_json_yielding, body)),
        ("gc.freeze(), then the same", lambda: asyncio.to_thread(_frozen_parse, body)),
        ("normalize (thread)", lambda: asyncio.to_thread(normalize, raw)),
        ("JobStore.update with the result", lambda: store.update(
            uuid.UUID(job_id), lambda j: j.complete(4),
            result=ResultRecord(raw=raw, transcript=transcript))),
    ]
    for name, step in steps:
        elapsed, stall = await measured(step)
        print(f"    {name:36s} {elapsed * 1000:6.0f} ms   "
              f"longest loop stall {stall * 1000:6.1f} ms")


def _frozen_parse(body: bytes) -> Any:
    gc.freeze()  # as the receiver does before a big body
    return parse_json_yielding(body)


def _postgres_url() -> str | None:
    if len(sys.argv) > 1:
        return sys.argv[1]
    try:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.services.postgres import start_postgres

        server = start_postgres()
        return server.url(server.create_database())
    except Exception as exc:
        print(f"(PostgreSQL not measured: {exc})")
        return None


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        asyncio.run(serve_child(sys.argv[2], int(sys.argv[3])))
        return
    print(f"machine load average: {os.getloadavg()[0]:.1f} (2 cores)")
    if sys.argv[1:] == ["--big"]:  # (b) only
        with tempfile.TemporaryDirectory() as folder:
            asyncio.run(big_result(Path(folder)))
        return
    with tempfile.TemporaryDirectory() as folder:
        throughput(f"sqlite+aiosqlite:///{Path(folder) / 'jobs.db'}", "SQLite")
    postgres = _postgres_url()
    if postgres:
        throughput(postgres, "PostgreSQL")
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(big_result(Path(folder)))


if __name__ == "__main__":
    main()
