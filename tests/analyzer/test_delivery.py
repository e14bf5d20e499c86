"""The terminal callback reaches the backend exactly once, even when the backend is away."""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any

from tests.analyzer.harness import (
    Parties,
    RunningAnalyzer,
    analyzer_config,
    dispatch,
    job_payload,
    start_analyzer,
)
from tests.media import make_speech_video

SHORT = [("en-us", "Hello there, this is a short test.", 0.0)]


async def _status(parties: Parties, analyzer: RunningAnalyzer, job_id: str) -> dict[str, Any]:
    async with parties.session.get(f"{analyzer.url}/api/upload-video/status/{job_id}") as response:
        assert response.status == 200
        body: dict[str, Any] = await response.json()
        return body


async def _wait_status(
    parties: Parties, analyzer: RunningAnalyzer, job_id: str, wanted: str
) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = await _status(parties, analyzer, job_id)
        if body["status"] == wanted:
            return body
        await asyncio.sleep(0.2)
    raise AssertionError(f"job {job_id} never reached {wanted}")


async def test_result_arrives_once_after_the_receiver_comes_back(
    parties: Parties, tmp_path: Path
) -> None:
    make_speech_video(parties.media.folder / "short.mp4", SHORT)
    analyzer = await start_analyzer(analyzer_config(tmp_path / "analyzer"))
    parties.analyzers.append(analyzer)
    await parties.receiver.stop()
    payload = job_payload(parties.media.url("short.mp4"), parties.receiver.base_url)
    status, _, _ = await dispatch(parties.session, analyzer.url, payload)
    assert status == 202
    done = await _wait_status(parties, analyzer, payload["job_id"], "completed")
    assert done["result"]["segments"]
    await asyncio.sleep(2.0)  # the analyzer keeps retrying meanwhile
    assert parties.receiver.arrivals == []
    await parties.receiver.start()
    arrival = await parties.receiver.wait_terminal(payload["job_id"], within_s=10)
    assert arrival.body["status"] == "completed"
    assert arrival.body["result"] == done["result"]
    await asyncio.sleep(2.5)  # longer than the longest back-off: nothing more may come
    assert len(parties.receiver.of(payload["job_id"], "completed", "failed")) == 1


async def test_server_errors_are_retried_with_the_same_message_id(
    parties: Parties, tmp_path: Path
) -> None:
    make_speech_video(parties.media.folder / "short.mp4", SHORT)
    analyzer = await start_analyzer(
        analyzer_config(tmp_path / "analyzer", progress_interval_s=600.0)
    )
    parties.analyzers.append(analyzer)
    payload = job_payload(parties.media.url("short.mp4"), parties.receiver.base_url)
    # The first (download) progress callback takes the 200; then the terminal one meets these.
    parties.receiver.scripted = [200, 503, 429, 408, 500]
    await dispatch(parties.session, analyzer.url, payload)
    arrival = await parties.receiver.wait_terminal(payload["job_id"], within_s=60)
    terminal = parties.receiver.of(payload["job_id"], "completed")
    assert [a.answered for a in terminal] == [503, 429, 408, 500, 200]
    assert len({a.headers["webhook-id"] for a in terminal}) == 1
    assert arrival is terminal[-1]
    # Back-off doubles from 0.2 s up to the 1 s cap.
    gaps = [b.at - a.at for a, b in itertools.pairwise(terminal)]
    assert gaps[0] >= 0.18 and gaps[1] >= 0.38 and gaps[2] >= 0.78
    assert all(gap < 1.5 for gap in gaps)


async def test_a_client_error_ends_the_retries(parties: Parties, tmp_path: Path) -> None:
    make_speech_video(parties.media.folder / "short.mp4", SHORT)
    analyzer = await start_analyzer(
        analyzer_config(tmp_path / "analyzer", progress_interval_s=600.0)
    )
    parties.analyzers.append(analyzer)
    payload = job_payload(parties.media.url("short.mp4"), parties.receiver.base_url)
    parties.receiver.scripted = [200, 404]
    await dispatch(parties.session, analyzer.url, payload)
    await _wait_status(parties, analyzer, payload["job_id"], "completed")
    await asyncio.sleep(1.5)
    assert [a.answered for a in parties.receiver.of(payload["job_id"], "completed")] == [404]


async def test_retries_stop_when_the_retry_time_is_over(parties: Parties, tmp_path: Path) -> None:
    make_speech_video(parties.media.folder / "short.mp4", SHORT)
    analyzer = await start_analyzer(
        analyzer_config(tmp_path / "analyzer", callback_retry_for_s=1.0)
    )
    parties.analyzers.append(analyzer)
    await parties.receiver.stop()
    payload = job_payload(parties.media.url("short.mp4"), parties.receiver.base_url)
    await dispatch(parties.session, analyzer.url, payload)
    await _wait_status(parties, analyzer, payload["job_id"], "completed")
    await asyncio.sleep(2.0)
    await parties.receiver.start()
    await asyncio.sleep(1.5)
    assert parties.receiver.of(payload["job_id"]) == []
    # The result is still there for the backend's reconciliation.
    body = await _status(parties, analyzer, payload["job_id"])
    assert body["status"] == "completed" and body["result"]["segments"]
