"""A pool of three real reference analyzers (``ecg-desktop ml-server`` processes): jobs spread
by load, a server killed mid-job has its job finished by another, and ``process`` takes the
list. Recognition quality does not matter here, so the analyzers run pocketsphinx."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ecg_desktop.bootstrap import Core, build_core
from ecg_desktop.domain import JobStatus, Stage
from ecg_desktop.mlclient.embedded import READY_PREFIX
from ecg_desktop.server.runner import free_port
from tests.app.cores import FAST_RETRIES
from tests.media import make_silent_video, make_speech_video

SECRET = "pool-analyzers-secret"
SPEECH = [
    ("en-us", "The quarterly numbers are in and they look better than we expected.", 0.0),
    ("en-us+f3", "That is good news. Shall we go through the regions one by one?", 0.0),
] * 2


@dataclass
class Analyzer:
    process: asyncio.subprocess.Process
    url: str

    def kill(self) -> None:
        """Like a machine that dies: the server and its worker processes, at once."""
        os.killpg(self.process.pid, signal.SIGKILL)


async def start_analyzer(folder: Path, port: int = 0, **env_changes: str) -> Analyzer:
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    env = dict(os.environ, WEBHOOK_SECRET_KEY=SECRET, ECG_ANALYZER_BACKEND="pocketsphinx",
               ECG_ANALYZER_CONCURRENCY="1", ECG_ANALYZER_PROGRESS_INTERVAL="0.2",
               **env_changes)
    with (folder / "analyzer.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ecg_desktop", "ml-server", "--host", "127.0.0.1",
            "--port", str(port), "--results-dir", str(folder / "results"),
            env=env, stdout=asyncio.subprocess.PIPE, stderr=log, start_new_session=True,
        )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 120)).decode()
    assert line.startswith(READY_PREFIX), (folder / "analyzer.log").read_text()
    return Analyzer(process, line.removeprefix(READY_PREFIX).strip())


@pytest.fixture
async def analyzers(tmp_path: Path) -> AsyncIterator[list[Analyzer]]:
    started = await asyncio.gather(
        *(start_analyzer(tmp_path / f"analyzer-{n}") for n in range(3)))
    yield list(started)
    for analyzer in started:
        if analyzer.process.returncode is None:
            analyzer.kill()
            await analyzer.process.wait()


@pytest.fixture
def make_core(settings_factory: Callable[..., Any], tmp_path: Path) -> Callable[..., Any]:
    async def make(urls: list[str], **overrides: Any) -> Core:
        core = await build_core(settings_factory(**{
            "model_server_url": ", ".join(urls),
            "webhook_secret_key": SECRET,
            "ml_retry_delays": FAST_RETRIES,
            "database_url": f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}",
            "bind_host": "127.0.0.1",
            "bind_port": 0,
            **overrides,
        }))
        await core.start_server()
        return core

    return make


@pytest.mark.slow
async def test_jobs_spread_over_three_analyzers_by_load(
    analyzers: list[Analyzer], make_core: Callable[..., Any], tmp_path: Path
) -> None:
    core: Core = await make_core([a.url for a in analyzers])
    try:
        videos = [make_silent_video(tmp_path / f"clip-{n}.mp4", 1.0) for n in range(6)]
        jobs = [await core.pipeline.submit_file(v, "en") for v in videos]
        done = [await core.pipeline.wait_for(j.job_id, timeout_s=240) for j in jobs]
    finally:
        await core.close()
    assert [j.status for j in done] == [JobStatus.COMPLETED] * 6, [j.error_message for j in done]
    taken = collections.Counter(j.ml_server for j in done)
    assert set(taken) == {a.url for a in analyzers}
    assert sorted(taken.values()) == [2, 2, 2]


@pytest.mark.slow
async def test_a_server_killed_mid_job_has_its_job_finished_by_another(
    analyzers: list[Analyzer], make_core: Callable[..., Any], tmp_path: Path
) -> None:
    core: Core = await make_core([a.url for a in analyzers[:2]], callback_watchdog_s=3.0)
    await core.start_services(health_interval_s=60)
    try:
        video = make_speech_video(tmp_path / "meeting.mp4", SPEECH).path
        job = await core.pipeline.submit_file(video, "en")
        deadline = time.monotonic() + 180
        while True:  # wait until the analysis itself runs (past the download)
            running = await core.store.get(job.job_id)
            if running.stage is Stage.ANALYZING and running.progress > 10:
                break
            assert not running.status.is_terminal, running.error_message
            assert time.monotonic() < deadline, running
            await asyncio.sleep(0.1)
        first = next(a for a in analyzers if a.url == running.ml_server)
        first.kill()
        done = await core.pipeline.wait_for(job.job_id, timeout_s=240)
        transcript = await core.store.get_transcript(job.job_id)
    finally:
        await core.close()
    assert done.status is JobStatus.COMPLETED, done.error_message
    assert done.ml_server != first.url and done.ml_server in {a.url for a in analyzers[:2]}
    assert done.file_key == running.file_key  # dispatched again from storage, not re-uploaded
    assert transcript is not None and transcript.segments


@pytest.mark.slow
async def test_process_takes_a_list_of_servers(
    analyzers: list[Analyzer], tmp_settings: Any, tmp_path: Path
) -> None:
    video = make_silent_video(tmp_path / "interview.mp4", duration_s=1.0)
    dead = f"http://127.0.0.1:{free_port()}"
    env = dict(os.environ, MODEL_SERVER_URL=f"{dead}, {analyzers[0].url}",
               WEBHOOK_SECRET_KEY=SECRET, ECG_ML_RETRY_DELAYS="0.05,0.1")
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ecg_desktop", "process", str(video), "--language", "en",
        "-o", str(tmp_path / "result.json"), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), 180)
    assert child.returncode == 0, out.decode() + err.decode()
    assert "interview.mp4: completed" in out.decode()
    assert (tmp_path / "result.json").is_file()


@pytest.mark.slow
async def test_a_server_that_returns_after_its_job_moved_on_does_not_fail_it(
    make_core: Callable[..., Any], tmp_path: Path
) -> None:
    from tests.app.test_pool_faults import PoolPeer

    port = free_port()
    first = await start_analyzer(tmp_path / "first", port, ECG_ANALYZER_INTERRUPTED_DELAY="8")
    holder = PoolPeer()  # the second server: holds the job until told to go on
    holder.secret = SECRET
    holder.queue = 5
    holder.gate.clear()
    await holder.start()
    holder_url = holder.url
    core: Core = await make_core([first.url, holder_url], callback_watchdog_s=2.0)
    back: Analyzer | None = None
    try:
        job = await core.pipeline.submit_file(
            make_speech_video(tmp_path / "meeting.mp4", SPEECH).path, "en")
        deadline = time.monotonic() + 180
        while True:
            running = await core.store.get(job.job_id)
            if running.stage is Stage.ANALYZING and running.progress > 10:
                break
            assert time.monotonic() < deadline and not running.status.is_terminal, running
            await asyncio.sleep(0.1)
        assert running.ml_server == first.url
        first.kill()
        await first.process.wait()
        await asyncio.sleep(2.1)
        assert await core.recovery.check_silent_jobs() == {job.job_id: "moved"}
        while str(job.job_id) not in holder.jobs:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        # The first server returns (same address, same records): it would report the job
        # it was running as failed after 8 s; the app withdraws that report first.
        back = await start_analyzer(tmp_path / "first", port, ECG_ANALYZER_INTERRUPTED_DELAY="8")
        await asyncio.sleep(12)
        waiting = await core.store.get(job.job_id)
        async with httpx.AsyncClient() as http:
            there = (await http.get(f"{back.url}/jobs/{job.job_id}")).json()
        holder.gate.set()
        done = await core.pipeline.wait_for(job.job_id, timeout_s=30)
    finally:
        await core.close()
        await holder.stop()
        if back is not None:
            back.kill()
            await back.process.wait()
    assert not waiting.status.is_terminal, waiting.error_message
    assert there["status"] == "canceled"
    assert done.status is JobStatus.COMPLETED and done.ml_server == holder_url
