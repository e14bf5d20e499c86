"""Several reference analyzers behind one list: how the work spreads, and how fast a dead
server's job runs elsewhere.

1. Spread: ``JOBS`` short generated speech videos (espeak-ng, a few seconds each) go through
   an app core (real SQLite store, local storage behind the embedded server) to 1, 2 and 3
   ``ecg-desktop ml-server`` processes (one analysis slot each, pocketsphinx). Wall time from
   the first submit to the last result; speed-up against 1 analyzer, and against the ideal
   for the cores in use: min(analyzers, CPU cores), since each analysis is one busy process.
2. Fail-over: 2 analyzers, one job; its analyzer is killed (with its workers) mid-analysis.
   Time from the kill to the job analysing on the other one (its first progress there), with
   the callback watchdog at ``WATCHDOG_S``: the watchdog's time is the floor.

    python bench/pool.py [JOBS]
"""

from __future__ import annotations

import asyncio
import collections
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ecg_desktop.bootstrap import Core, build_core  # noqa: E402
from ecg_desktop.config import Settings  # noqa: E402
from ecg_desktop.domain import JobStatus, Stage  # noqa: E402
from ecg_desktop.mlclient.embedded import READY_PREFIX  # noqa: E402
from tests.media import make_speech_video  # noqa: E402

SECRET = "bench-pool-secret"
WATCHDOG_S = 5.0
CLIP = [("en-us", "Please send the report to the whole team by Friday.", 0.0)]
LONG = [("en-us", "The quarterly numbers are in and they look better than we expected.", 0.0),
        ("en-us+f3", "That is good news. Shall we go through the regions one by one?", 0.0)] * 3


async def start_analyzer(folder: Path) -> tuple[asyncio.subprocess.Process, str]:
    env = dict(os.environ, WEBHOOK_SECRET_KEY=SECRET, ECG_ANALYZER_BACKEND="pocketsphinx",
               ECG_ANALYZER_CONCURRENCY="1", ECG_ANALYZER_QUEUE_SIZE="64")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ecg_desktop", "ml-server", "--host", "127.0.0.1", "--port", "0",
        "--results-dir", str(folder), env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL, start_new_session=True)
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 120)).decode()
    assert line.startswith(READY_PREFIX), line
    return process, line.removeprefix(READY_PREFIX).strip()


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


async def core_for(scratch: Path, urls: list[str], **changes: Any) -> Core:
    data = scratch / f"core-{time.monotonic_ns()}"
    settings = Settings(
        model_server_url=", ".join(urls), webhook_secret_key=SECRET, data_dir=data,
        bind_port=0, ml_retry_delays=(0.2, 0.5), **changes)
    core = await build_core(settings)
    await core.start_server()
    return core


async def spread(scratch: Path, videos: list[Path], count: int) -> tuple[float, list[int]]:
    """Seconds for all ``videos`` through ``count`` analyzers (each warmed by one job), and
    how many jobs each analyzer took."""
    started = [await start_analyzer(scratch / f"a{count}-{n}") for n in range(count)]
    core = await core_for(scratch, [url for _, url in started])
    try:
        warm = [await core.pipeline.submit_file(videos[0], "en") for _ in range(count)]
        for job in warm:  # each analyzer's worker process is up before the clock starts
            await core.pipeline.wait_for(job.job_id, timeout_s=300)
        begin = time.perf_counter()
        jobs = [await core.pipeline.submit_file(v, "en") for v in videos]
        done = [await core.pipeline.wait_for(j.job_id, timeout_s=1800) for j in jobs]
        took = time.perf_counter() - begin
    finally:
        await core.close()
        for process, _ in started:
            await stop(process)
    failed = [j.error_message for j in done if j.status is not JobStatus.COMPLETED]
    assert not failed, failed
    taken = collections.Counter(j.ml_server for j in done)
    return took, sorted(taken.values(), reverse=True)


async def fail_over(scratch: Path, video: Path) -> tuple[float, float]:
    """(seconds from the kill to the job analysing elsewhere, seconds to its result)."""
    started = [await start_analyzer(scratch / f"f-{n}") for n in range(2)]
    core = await core_for(scratch, [url for _, url in started], callback_watchdog_s=WATCHDOG_S)
    await core.start_services(health_interval_s=60)
    try:
        job = await core.pipeline.submit_file(video, "en")
        while True:
            seen = await core.store.get(job.job_id)
            if seen.stage is Stage.ANALYZING and seen.progress > 15:
                break
            await asyncio.sleep(0.05)
        victim = next(p for p, url in started if url == seen.ml_server)
        os.killpg(victim.pid, signal.SIGKILL)
        killed = time.perf_counter()
        moved_at = None
        while True:
            now = await core.store.get(job.job_id)
            if moved_at is None and now.ml_server != seen.ml_server \
                    and now.stage is Stage.ANALYZING and now.last_callback_at != now.dispatched_at:
                moved_at = time.perf_counter()
            if now.status.is_terminal:
                break
            await asyncio.sleep(0.05)
        assert now.status is JobStatus.COMPLETED, now.error_message
        assert moved_at is not None
        return moved_at - killed, time.perf_counter() - killed
    finally:
        await core.close()
        for process, _ in started:
            await stop(process)


async def main() -> None:
    jobs = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    cores = os.cpu_count() or 1
    scratch = Path(tempfile.mkdtemp(prefix="bench-pool-"))
    try:
        clip = make_speech_video(scratch / "clip.mp4", CLIP).path
        videos = []
        for n in range(jobs):
            videos.append(scratch / f"clip-{n:02d}.mp4")
            shutil.copyfile(clip, videos[-1])
        long = make_speech_video(scratch / "long.mp4", LONG).path
        print(f"machine load average: {os.getloadavg()[0]:.1f} ({cores} cores)")
        print(f"{jobs} videos of {clip.stat().st_size // 1024} KB "
              f"(one generated {len(CLIP[0][1].split())}-word sentence), pocketsphinx, "
              "one slot per analyzer")
        times: dict[int, float] = {}
        for count in (1, 2, 3):
            times[count], taken = await spread(scratch, videos, count)
            speedup = times[1] / times[count]
            ideal = min(count, cores)
            print(f"{count} analyzer(s): {times[count]:6.1f} s  {jobs / times[count]:5.2f} jobs/s"
                  f"  speed-up {speedup:4.2f}x  ideal {ideal}x  ({speedup / ideal:4.0%} of ideal)"
                  f"  jobs per analyzer {'/'.join(map(str, taken))}")
        moved, finished = await fail_over(scratch, long)
        print(f"fail-over: watchdog {WATCHDOG_S:g} s; kill -> analysing on the other server "
              f"{moved:5.1f} s; kill -> result {finished:5.1f} s")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
