"""The app's embedded analyzer: a real child process on loopback, restarted when it dies."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import psutil
import pytest

from ecg_desktop.config.settings import Settings
from ecg_desktop.domain.signatures import Verdict
from ecg_desktop.mlclient.embedded import EmbeddedAnalyzer
from tests.analyzer.harness import CallbackReceiver, Parties, dispatch, job_payload
from tests.media import make_speech_video

SECRET = "embedded-test-secret-value"


@pytest.fixture
def settings(settings_factory: object) -> Settings:
    return settings_factory(webhook_secret_key=SECRET)  # type: ignore[operator,no-any-return]


async def test_child_serves_signs_with_the_app_secret_and_stops(
    settings: Settings, parties: Parties
) -> None:
    analyzer = EmbeddedAnalyzer(settings)
    await analyzer.start()
    try:
        assert analyzer.url.startswith("http://127.0.0.1:")
        child = psutil.Process(analyzer.pid)
        assert SECRET not in " ".join(child.cmdline())
        assert SECRET not in repr(analyzer)
        async with parties.session.get(analyzer.url + "/health") as response:
            assert (await response.json())["status"] == "healthy"

        receiver = CallbackReceiver(secret=SECRET)
        await receiver.start()
        try:
            make_speech_video(parties.media.folder / "hi.mp4", [("en-us", "Good morning.", 0.0)])
            payload = job_payload(parties.media.url("hi.mp4"), receiver.base_url)
            status, _, _ = await dispatch(parties.session, analyzer.url, payload, secret=SECRET)
            assert status == 202
            arrival = await receiver.wait_terminal(payload["job_id"], within_s=60)
            assert arrival.verdict is Verdict.VALID
            assert arrival.body["status"] == "completed"
        finally:
            await receiver.stop()
        assert (settings.data_dir / "analyzer" / "jobs").is_dir()
    finally:
        await analyzer.stop()
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE


async def test_a_dead_child_is_restarted_and_reported(settings: Settings, parties: Parties) -> None:
    restarted: asyncio.Queue[str] = asyncio.Queue()

    async def on_restart(url: str) -> None:
        await restarted.put(url)

    analyzer = EmbeddedAnalyzer(settings, on_restart=on_restart)
    await analyzer.start()
    try:
        first_pid = analyzer.pid
        assert first_pid is not None
        os.kill(first_pid, signal.SIGKILL)
        url = await asyncio.wait_for(restarted.get(), 60)
        assert url == analyzer.url
        assert analyzer.pid != first_pid
        assert analyzer.restarts == 1
        async with parties.session.get(url + "/health") as response:
            assert response.status == 200
    finally:
        await analyzer.stop()


async def test_a_child_that_cannot_start_is_a_clear_error(
    settings: Settings, tmp_path: Path
) -> None:
    from ecg_desktop.mlclient.embedded import AnalyzerStartError

    analyzer = EmbeddedAnalyzer(
        settings, environment={"ECG_ANALYZER_CONCURRENCY": "zero"}, startup_timeout_s=30
    )
    with pytest.raises(AnalyzerStartError, match="ECG_ANALYZER_CONCURRENCY"):
        await analyzer.start()
    assert analyzer.pid is not None
    assert not psutil.pid_exists(analyzer.pid) or (
        psutil.Process(analyzer.pid).status() == psutil.STATUS_ZOMBIE
    )


async def test_a_killed_child_takes_its_analysis_worker_with_it(
    settings: Settings, parties: Parties
) -> None:
    """The worker holds the speech model (hundreds of MB): when the analyzer is killed (a
    crash, the OOM killer), it must not run on re-parented to init while the app starts a
    new analyzer with a new worker beside it."""
    analyzer = EmbeddedAnalyzer(settings)
    await analyzer.start()
    receiver = CallbackReceiver(secret=SECRET)
    await receiver.start()
    try:
        assert analyzer.pid is not None
        child = psutil.Process(analyzer.pid)
        make_speech_video(parties.media.folder / "long.mp4",
                          [("en-us", "The quick brown fox jumps over the lazy dog. " * 6, 0.0)])
        payload = job_payload(parties.media.url("long.mp4"), receiver.base_url)
        await dispatch(parties.session, analyzer.url, payload, secret=SECRET)
        workers: list[psutil.Process] = []
        for _ in range(300):
            workers = [p for p in child.children(recursive=True)
                       if "resource_tracker" not in " ".join(p.cmdline())]
            if workers:
                break
            await asyncio.sleep(0.1)
        assert workers, "the analysis never reached a worker process"
        await asyncio.sleep(2.0)  # the worker has set itself up (and its parent check)

        os.kill(child.pid, signal.SIGKILL)
        _gone, alive = await asyncio.to_thread(psutil.wait_procs, workers, timeout=10)

        assert alive == [], [(p.pid, p.cmdline()[:3]) for p in alive]
    finally:
        await receiver.stop()
        await analyzer.stop()
