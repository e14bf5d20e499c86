"""The reference analyzer's cancel (docs/analyzer.md, "Cancel"): the app's ML client asks,
the analyzer stops decoding and analysing within a second, sends no further callback, and
its slot takes the next job."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import aiohttp

from ecg_desktop.config import Settings
from ecg_desktop.mlclient import HttpMLClient
from tests.analyzer.harness import (
    SECRET,
    Parties,
    analyzer_config,
    dispatch,
    job_payload,
    start_analyzer,
)
from tests.media import make_silent_video, make_speech_video

TURNS = [
    ("en-us", "The quarterly numbers are in and they look better than we expected.", 0.0),
    ("en-us+f3", "That is good news. Shall we go through the regions one by one?", 0.0),
    ("en-us", "Yes. The north grew by eight percent, the south by three percent.", 0.0),
    ("en-us+f3", "And the west? Last time it was the weakest of all the regions.", 0.0),
] * 3  # about 50 s of speech: minutes of pocketsphinx on a busy machine


async def wait_for(condition, within_s: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def client_for(url: str, secret: str = SECRET) -> HttpMLClient:
    return HttpMLClient(Settings(model_server_url=url, webhook_secret_key=secret))


async def test_cancel_stops_the_analysis_within_a_second_and_frees_the_slot(
    parties: Parties, tmp_path: Path
) -> None:
    make_speech_video(parties.media.folder / "long.mp4", TURNS)
    make_silent_video(parties.media.folder / "next.mp4", 2.0)
    analyzer = await start_analyzer(analyzer_config(
        tmp_path / "results", backend="pocketsphinx", progress_interval_s=0.2, concurrency=1))
    parties.analyzers.append(analyzer)
    receiver = parties.receiver
    payload = job_payload(parties.media.url("long.mp4"), receiver.base_url, language="en")
    job_id = payload["job_id"]
    status, _, _ = await dispatch(parties.session, analyzer.url, payload)
    assert status == 202
    await wait_for(lambda: any(
        a.body.get("message") == "Recognising speech" for a in receiver.of(job_id)), 120)

    client = client_for(analyzer.url)
    try:
        assert await client.cancel(uuid.UUID(job_id))
        canceled_at = time.monotonic()
        assert not await client.cancel(uuid.UUID(job_id))  # once: it has ended now
        next_payload = job_payload(parties.media.url("next.mp4"), receiver.base_url)
        status, _, _ = await dispatch(parties.session, analyzer.url, next_payload)
        assert status == 202
        done = await receiver.wait_terminal(next_payload["job_id"], within_s=120)
        await asyncio.sleep(max(0.0, canceled_at + 2.0 - time.monotonic()))
        remote = await client.job_status(uuid.UUID(job_id))
    finally:
        await client.close()

    assert done.body["status"] == "completed"  # the freed slot ran the next job
    # The one worker process took it up at once: the canceled analysis had stopped.
    started = [a for a in receiver.of(next_payload["job_id"], "processing")
               if a.body["message"] != "Downloading the video"]
    assert started and started[0].at < canceled_at + 5.0
    late = [a for a in receiver.of(job_id) if a.at > canceled_at + 1.0]
    assert late == []
    assert not receiver.of(job_id, "completed", "failed")  # the backend wants no terminal one
    assert remote is not None and remote.status == "canceled"
    async with parties.session.get(analyzer.url + "/health") as response:
        health = await response.json()
    assert health["active_jobs"] == 0 and health["queue_length"] == 0


async def test_cancel_during_the_download_stops_it(parties: Parties, tmp_path: Path) -> None:
    analyzer = await start_analyzer(analyzer_config(tmp_path / "results", backend="pocketsphinx"))
    parties.analyzers.append(analyzer)
    payload = job_payload(parties.media.stall_url("never.mp4"), parties.receiver.base_url)
    status, _, _ = await dispatch(parties.session, analyzer.url, payload)
    assert status == 202
    client = client_for(analyzer.url)
    try:
        await asyncio.sleep(0.3)
        assert await client.cancel(uuid.UUID(payload["job_id"]))
        parties.media.release.set()  # the stalled download would now fail, if still running
        await asyncio.sleep(1.0)
        remote = await client.job_status(uuid.UUID(payload["job_id"]))
    finally:
        await client.close()
    assert remote is not None and remote.status == "canceled"
    assert not parties.receiver.of(payload["job_id"], "completed", "failed")


async def test_a_cancel_needs_the_backends_signature_and_names_its_job(
    parties: Parties, tmp_path: Path
) -> None:
    analyzer = await start_analyzer(analyzer_config(tmp_path / "results", backend="pocketsphinx"))
    parties.analyzers.append(analyzer)
    payload = job_payload(parties.media.stall_url("never.mp4"), parties.receiver.base_url)
    await dispatch(parties.session, analyzer.url, payload)
    url = f"{analyzer.url}/api/upload-video/cancel/{payload['job_id']}"
    async with parties.session.post(url, json={"job_id": payload["job_id"]}) as response:
        assert response.status == 401  # unsigned
    wrong = client_for(analyzer.url, secret="not-the-secret")
    other = client_for(analyzer.url)
    try:
        assert wrong.base_url == analyzer.url
        try:
            await wrong.cancel(uuid.UUID(payload["job_id"]))
        except Exception as exc:  # MLError: HTTP 401
            assert "401" in str(exc)
        else:
            raise AssertionError("a cancel with a wrong signature was accepted")
        assert not await other.cancel(uuid.uuid4())  # unknown job: nothing to stop
        remote = await other.job_status(uuid.UUID(payload["job_id"]))
    finally:
        await wrong.close()
        await other.close()
    assert remote is not None and remote.status in ("accepted", "processing")
    _ = aiohttp  # the session of ``parties`` posts the unsigned request
