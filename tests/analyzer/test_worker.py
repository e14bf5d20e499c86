"""The analysis runs in a worker process: a crash there fails only that job."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import psutil

from ecg_desktop.domain import ErrorCode
from tests.analyzer.harness import Parties, analyzer_config, dispatch, job_payload, start_analyzer
from tests.media import make_speech_video

TALK = [
    (
        "en-us",
        "The quick brown fox jumps over the lazy dog. We should all go and see a musical.",
        0,
    ),
    ("en-us+f3", "I would rather stay home and read a good book by the fire tonight.", 0),
] * 3


def _workers() -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process(os.getpid()).children()
        if "multiprocessing" in " ".join(child.cmdline())
        and "resource_tracker" not in " ".join(child.cmdline())
    ]


async def test_a_killed_worker_fails_its_job_and_the_next_job_runs(
    parties: Parties, tmp_path: Path
) -> None:
    make_speech_video(parties.media.folder / "talk.mp4", TALK)
    analyzer = await start_analyzer(analyzer_config(tmp_path / "analyzer"))
    parties.analyzers.append(analyzer)
    doomed = job_payload(parties.media.url("talk.mp4"), parties.receiver.base_url)
    await dispatch(parties.session, analyzer.url, doomed)
    deadline = time.monotonic() + 60
    while not any(
        a.body["message"] == "Recognising speech" for a in parties.receiver.of(doomed["job_id"])
    ):
        assert time.monotonic() < deadline, "recognition never started"
        await asyncio.sleep(0.1)
    workers = _workers()
    assert len(workers) == 1
    os.kill(workers[0].pid, signal.SIGKILL)
    failed = await parties.receiver.wait_terminal(doomed["job_id"], within_s=30)
    assert failed.body["status"] == "failed"
    assert failed.body["error_code"] == ErrorCode.PROCESSING_ERROR
    assert "worker process died" in failed.body["error_message"]

    after = job_payload(parties.media.url("talk.mp4"), parties.receiver.base_url)
    await dispatch(parties.session, analyzer.url, after)
    done = await parties.receiver.wait_terminal(after["job_id"], within_s=60)
    assert done.body["status"] == "completed"
    assert done.body["result"]["segments"]
    # The new worker's progress still reaches the server (the queue survived the crash).
    messages = {a.body["message"] for a in parties.receiver.of(after["job_id"], "processing")}
    assert "Recognising speech" in messages
