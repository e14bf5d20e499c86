"""The callback server under attack, as ``ecg-desktop serve`` runs (a child process, SQLite).

(a) 20 concurrent unsigned 60 MiB callbacks: the peak RSS of ``serve`` (and of ``serve`` with
    its children: the result worker), and the time of a genuine signed three-hour result
    (40,000 words, about 8 MB) sent meanwhile. Goals: RSS under 500 MB, the result within 2 s.
(b) The same with a forged signature header (so the bodies are read, hashed and refused):
    the reading slots bound them.
(c) 1,100 slow-loris connections held open (headers that never end) against ``serve`` limited
    to 1,024 open files: the latency of ``/health`` and of a signed callback. Goal: under 1 s.
The baseline of the same run: the time of the same genuine result with no attack.

    python bench/server_attack.py
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from server_callbacks import three_hour_result

from ecg_desktop.domain import Job
from ecg_desktop.domain.signatures import sign_headers
from ecg_desktop.store import open_store

SECRET = "bench-attack-secret"
ATTACKERS, ATTACK_BODY = 20, 60 * 1024 * 1024
SLOW_CONNECTIONS = 1_100
LISTENING = re.compile(r"ECG backend listening on (http://\S+)")


async def add_running_jobs(url: str, count: int) -> list[uuid.UUID]:
    store = await open_store(url)
    ids = []
    try:
        for n in range(count):
            job = Job.new(file_key=f"videos/bench/{n}.mp4", filename=f"{n}.mp4")
            job.start_dispatch()
            job.mark_dispatched("http://storage.invalid/v.mp4")
            await store.add(job)
            ids.append(job.job_id)
    finally:
        await store.close()
    return ids


def start_serve(folder: Path, db_url: str, *, files: int | None = None) -> tuple[Any, str]:
    env = {**os.environ, "WEBHOOK_SECRET_KEY": SECRET, "DATABASE_URL": db_url,
           "MODEL_SERVER_URL": "http://127.0.0.1:9", "ECG_DATA_DIR": str(folder / "data"),
           "ECG_CONFIG_DIR": str(folder / "config"), "ECG_LOG_DIR": str(folder / "logs")}
    argv = [sys.executable, "-m", "ecg_desktop", "serve", "--port", "0"]
    if files is not None:
        argv = ["prlimit", f"--nofile={files}:{files}", *argv]
    log = (folder / f"serve-{time.monotonic_ns()}.log").open("wb")
    child = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = LISTENING.search(Path(log.name).read_text(errors="replace"))
        if match:
            return child, match.group(1)
        time.sleep(0.1)
    child.kill()
    raise RuntimeError(Path(log.name).read_text(errors="replace")[-2000:])


class RssSampler:
    """Peak RSS of a process, alone and with its children, sampled every 20 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak_self = self.peak_tree = 0
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            try:
                own = self.process.memory_info().rss
                tree = own + sum(c.memory_info().rss for c in self.process.children(True))
            except psutil.Error:
                own = tree = 0
            self.peak_self, self.peak_tree = max(self.peak_self, own), max(self.peak_tree, tree)
            await asyncio.sleep(0.02)

    def __enter__(self) -> RssSampler:
        self._task = asyncio.create_task(self._sample())
        return self

    def __exit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def attacker(port: int, signature: bytes) -> None:
    """One 60 MiB callback sent as fast as the server takes it, given up when refused."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return
    chunk = b" " * (1024 * 1024)
    try:
        writer.write(b"POST /api/upload-video/result HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\n" + signature
                     + b"Content-Length: %d\r\n\r\n" % ATTACK_BODY)
        for _ in range(ATTACK_BODY // len(chunk)):
            if reader.at_eof() or writer.is_closing():
                break
            writer.write(chunk)
            await writer.drain()
        await asyncio.wait_for(reader.read(), 30)
    except (OSError, TimeoutError):
        pass
    finally:
        writer.close()


async def genuine_result(session: aiohttp.ClientSession, url: str, job_id: uuid.UUID,
                         result: dict[str, Any]) -> tuple[float, int]:
    """Seconds until the result is stored, and the attempts it took: like the ML server, a
    503 is sent again after its ``Retry-After``."""
    body = json.dumps({"job_id": str(job_id), "status": "completed", "progress": 100,
                       "message": "Done", "result": result, "error_code": None,
                       "error_message": None}).encode()
    started = time.perf_counter()
    for attempt in range(1, 20):
        headers = {"Content-Type": "application/json",
                   **sign_headers(SECRET, body, msg_id=f"msg_{uuid.uuid4().hex}",
                                  timestamp=int(time.time()))}
        async with session.post(f"{url}/api/upload-video/result", data=body,
                                headers=headers) as r:
            answer = await r.json()
        if r.status == 503:
            await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
            continue
        if answer != {"status": "received"}:
            raise RuntimeError(f"the genuine result was answered {r.status} {answer}")
        return time.perf_counter() - started, attempt
    raise RuntimeError("the genuine result was refused 19 times")


async def warm_up(session: aiohttp.ClientSession, url: str, job_id: uuid.UUID) -> None:
    """A first callback spawns the result worker: let it start before anything is timed."""
    body = json.dumps({"job_id": str(job_id), "status": "processing", "progress": 1}).encode()
    headers = {"Content-Type": "application/json", **sign_headers(
        SECRET, body, msg_id=f"msg_{uuid.uuid4().hex}", timestamp=int(time.time()))}
    async with session.post(f"{url}/api/upload-video/result", data=body, headers=headers) as r:
        assert r.status == 200, await r.text()
    await asyncio.sleep(5)


async def under_attack(url: str, job_id: uuid.UUID, result: dict[str, Any], child: Any,
                       signature: bytes) -> tuple[int, int, tuple[float, int]]:
    port = int(url.rsplit(":", 1)[1])
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(120)) as session:
        with RssSampler(child.pid) as rss:
            attack = [asyncio.create_task(attacker(port, signature)) for _ in range(ATTACKERS)]
            await asyncio.sleep(0.5)
            genuine = await genuine_result(session, url, job_id, result)
            await asyncio.gather(*attack)
    return rss.peak_self, rss.peak_tree, genuine


async def slow_loris(port: int) -> asyncio.StreamWriter | None:
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return None
    writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n")
    return writer


async def timed(work: Callable[[], Awaitable[int]], expected: int) -> float:
    started = time.perf_counter()
    status = await work()
    if status != expected:
        raise RuntimeError(f"answered {status}, expected {expected}")
    return time.perf_counter() - started


async def latencies_under_slow_loris(url: str) -> tuple[list[float], list[float], int]:
    port = int(url.rsplit(":", 1)[1])
    held: list[asyncio.StreamWriter] = []
    for _ in range(0, SLOW_CONNECTIONS, 100):
        batch = await asyncio.gather(*(slow_loris(port) for _ in range(100)))
        held += [w for w in batch if w is not None]
    await asyncio.sleep(1)
    health, callbacks = [], []
    body = json.dumps({"job_id": str(uuid.uuid4()), "status": "processing",
                       "progress": 5}).encode()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(30)) as session:
            async def get_health() -> int:
                async with session.get(f"{url}/health") as r:
                    return r.status

            async def post_callback() -> int:
                headers = {"Content-Type": "application/json", **sign_headers(
                    SECRET, body, msg_id=f"msg_{uuid.uuid4().hex}", timestamp=int(time.time()))}
                async with session.post(f"{url}/api/upload-video/result", data=body,
                                        headers=headers) as r:
                    return r.status

            for _ in range(5):
                health.append(await timed(get_health, 200))
                callbacks.append(await timed(post_callback, 404))  # an unknown job
    finally:
        for writer in held:
            writer.close()
    return health, callbacks, len(held)


async def main() -> None:
    result = three_hour_result()
    with tempfile.TemporaryDirectory(prefix="ecg-bench-attack-") as tmp:
        folder = Path(tmp)
        db_url = f"sqlite+aiosqlite:///{folder / 'jobs.db'}"
        jobs = await add_running_jobs(db_url, 3)
        child, url = start_serve(folder, db_url)
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(120)) as session:
                await warm_up(session, url, jobs[0])
                quiet_s, _ = await genuine_result(session, url, jobs[0], result)
            print(f"baseline: the genuine three-hour result with no attack: {quiet_s:.2f} s "
                  f"(load average {os.getloadavg()[0]:.1f}, 2 cores)")
            for name, signature, job_id in (
                ("(a) unsigned", b"", jobs[1]),
                ("(b) forged signature", b"X-Signature-256: sha256=" + b"0" * 64 + b"\r\n",
                 jobs[2]),
            ):
                own, tree, (genuine_s, attempts) = await under_attack(
                    url, job_id, result, child, signature)
                print(f"{name}: {ATTACKERS} x 60 MiB: peak RSS serve {own / 2**20:.0f} MiB, "
                      f"with its worker {tree / 2**20:.0f} MiB; genuine result "
                      f"{genuine_s:.2f} s ({genuine_s / quiet_s:.1f}x the quiet one, "
                      f"{attempts} attempt{'s' if attempts > 1 else ''})")
        finally:
            child.terminate()
            child.wait(30)
        child, url = start_serve(folder, db_url, files=1024)
        try:
            health, callbacks, held = await latencies_under_slow_loris(url)
        finally:
            child.terminate()
            child.wait(30)
        print(f"(c) {held} slow-loris connections, serve limited to 1,024 files: /health "
              f"median {statistics.median(health) * 1000:.0f} ms (max "
              f"{max(health) * 1000:.0f} ms), signed callback median "
              f"{statistics.median(callbacks) * 1000:.0f} ms (max {max(callbacks) * 1000:.0f} ms)")


if __name__ == "__main__":
    asyncio.run(main())
