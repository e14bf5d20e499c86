"""The analyzer's HTTP API: admission, signatures on dispatch, status, restarts."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from ecg_desktop.domain import ErrorCode
from tests.analyzer.harness import (
    DISPATCH_PATH,
    SECRET,
    Parties,
    RunningAnalyzer,
    analyzer_config,
    dispatch,
    job_payload,
    start_analyzer,
)
from tests.media import make_speech_video

SHORT = [("en-us", "Hello there, this is a short test.", 0.0)]


async def _get(parties: Parties, url: str) -> tuple[int, dict[str, Any]]:
    async with parties.session.get(url) as response:
        return response.status, await response.json()


async def _wait_for(parties: Parties, analyzer: RunningAnalyzer, job_id: str, wanted: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        _, body = await _get(parties, f"{analyzer.url}/jobs/{job_id}")
        if body.get("status") == wanted:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{job_id} never became {wanted}")


async def test_full_queue_answers_503_with_retry_after(parties: Parties, tmp_path: Path) -> None:
    analyzer = await start_analyzer(analyzer_config(tmp_path / "a", concurrency=1, queue_size=1))
    parties.analyzers.append(analyzer)
    base = parties.receiver.base_url
    first = job_payload(parties.media.stall_url("one.mp4"), base)
    second = job_payload(parties.media.stall_url("two.mp4"), base)
    third = job_payload(parties.media.stall_url("three.mp4"), base)
    assert (await dispatch(parties.session, analyzer.url, first))[0] == 202
    assert (await dispatch(parties.session, analyzer.url, second))[0] == 202
    await _wait_for(parties, analyzer, first["job_id"], "processing")
    status, body, headers = await dispatch(parties.session, analyzer.url, third)
    assert status == 503
    assert int(headers["Retry-After"]) > 0
    assert body["retry_after"] == int(headers["Retry-After"])
    _, health = await _get(parties, analyzer.url + "/health")
    assert health["active_jobs"] == 1 and health["queue_length"] == 1
    _, unknown = await _get(parties, f"{analyzer.url}/jobs/{third['job_id']}")
    assert "status" not in unknown


async def test_jobs_start_in_the_order_they_were_accepted_even_when_a_save_is_slow(
    parties: Parties, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecg_desktop.analyzer.server import SERVICE

    analyzer = await start_analyzer(analyzer_config(tmp_path / "a", concurrency=1))
    parties.analyzers.append(analyzer)
    files = analyzer.runner.app[SERVICE].files
    save = files.save
    first = job_payload(parties.media.stall_url("one.mp4"), parties.receiver.base_url)
    second = job_payload(parties.media.stall_url("two.mp4"), parties.receiver.base_url)

    def slow_for_the_first(job: Any) -> None:
        if job.job_id == first["job_id"] and job.status == "accepted":
            time.sleep(0.5)  # a slow disk, in the saving thread
        save(job)

    monkeypatch.setattr(files, "save", slow_for_the_first)
    assert (await dispatch(parties.session, analyzer.url, first))[0] == 202
    assert (await dispatch(parties.session, analyzer.url, second))[0] == 202
    statuses: dict[str, str] = {}
    deadline = time.monotonic() + 20
    while "processing" not in statuses.values():
        assert time.monotonic() < deadline, statuses
        for job in (first, second):
            _, brief = await _get(parties, f"{analyzer.url}/jobs/{job['job_id']}")
            statuses[job["job_id"]] = brief["status"]
        await asyncio.sleep(0.05)
    assert statuses == {first["job_id"]: "processing", second["job_id"]: "accepted"}


async def test_repeated_dispatch_of_a_job_does_not_run_it_twice(
    parties: Parties, tmp_path: Path
) -> None:
    analyzer = await start_analyzer(analyzer_config(tmp_path / "a", queue_size=0))
    parties.analyzers.append(analyzer)
    payload = job_payload(parties.media.stall_url("one.mp4"), parties.receiver.base_url)
    assert (await dispatch(parties.session, analyzer.url, payload))[0] == 202
    status, body, _ = await dispatch(parties.session, analyzer.url, payload)
    assert status == 202  # the backend's retry after a timeout: same job, not a full queue
    assert body["job_id"] == payload["job_id"]
    _, health = await _get(parties, analyzer.url + "/health")
    assert health["active_jobs"] + health["queue_length"] == 1


async def test_dispatch_signatures_are_checked(parties: Parties, tmp_path: Path) -> None:
    analyzer = await start_analyzer(analyzer_config(tmp_path / "a"))
    parties.analyzers.append(analyzer)
    payload = job_payload(parties.media.stall_url("x.mp4"), parties.receiver.base_url)
    status, body, _ = await dispatch(parties.session, analyzer.url, payload, secret="wrong")
    assert status == 401 and "invalid" in body["detail"]
    status, body, _ = await dispatch(parties.session, analyzer.url, payload, secret=None)
    assert status == 401 and "missing" in body["detail"]
    _, state = await _get(parties, f"{analyzer.url}/jobs/{payload['job_id']}")
    assert "status" not in state  # nothing was queued


async def test_unsigned_dispatch_is_accepted_only_when_allowed(
    parties: Parties, tmp_path: Path
) -> None:
    analyzer = await start_analyzer(analyzer_config(tmp_path / "a", allow_unsigned_dispatch=True))
    parties.analyzers.append(analyzer)
    payload = job_payload(parties.media.stall_url("x.mp4"), parties.receiver.base_url)
    assert (await dispatch(parties.session, analyzer.url, payload, secret=None))[0] == 202
    other = job_payload(parties.media.stall_url("y.mp4"), parties.receiver.base_url)
    assert (await dispatch(parties.session, analyzer.url, other, secret="wrong"))[0] == 401


async def test_bad_payloads_are_invalid_requests(parties: Parties, tmp_path: Path) -> None:
    analyzer = await start_analyzer(analyzer_config(tmp_path / "a", webhook_secret=""))
    parties.analyzers.append(analyzer)
    url = analyzer.url + DISPATCH_PATH
    async with parties.session.post(url, data=b"{not json") as response:
        assert response.status == 400
        assert (await response.json())["error_code"] == ErrorCode.INVALID_REQUEST
    bad = {
        "job_id": "undefined",
        "video_url": "ftp://x/y.mp4",
        "fastapi_base_url": "",
        "language": "english",
        "min_speakers": 3,
        "max_speakers": 2,
    }
    async with parties.session.post(url, data=json.dumps(bad)) as response:
        assert response.status == 422
        body = await response.json()
    assert body["error_code"] == ErrorCode.INVALID_REQUEST
    fields = {tuple(e["loc"]) for e in body["detail"]}
    assert fields == {
        ("job_id",),
        ("video_url",),
        ("fastapi_base_url",),
        ("language",),
        ("min_speakers",),
    }


async def test_status_of_unknown_and_malformed_job_ids(parties: Parties, tmp_path: Path) -> None:
    analyzer = await start_analyzer(analyzer_config(tmp_path / "a"))
    parties.analyzers.append(analyzer)
    for path in ("/jobs/", "/api/upload-video/status/"):
        assert (await _get(parties, f"{analyzer.url}{path}{uuid.uuid4()}"))[0] == 404
        assert (await _get(parties, f"{analyzer.url}{path}undefined"))[0] == 400


async def test_status_survives_a_restart(parties: Parties, tmp_path: Path) -> None:
    make_speech_video(parties.media.folder / "short.mp4", SHORT)
    results = tmp_path / "analyzer"
    analyzer = await start_analyzer(analyzer_config(results))
    payload = job_payload(parties.media.url("short.mp4"), parties.receiver.base_url)
    await dispatch(parties.session, analyzer.url, payload)
    arrival = await parties.receiver.wait_terminal(payload["job_id"], within_s=60)
    status_url = f"{analyzer.url}/api/upload-video/status/{payload['job_id']}"
    assert (await _get(parties, status_url))[1]["result"] == arrival.body["result"]
    interrupted = job_payload(parties.media.stall_url("long.mp4"), parties.receiver.base_url)
    await dispatch(parties.session, analyzer.url, interrupted)
    await _wait_for(parties, analyzer, interrupted["job_id"], "processing")
    await analyzer.stop()

    again = await start_analyzer(analyzer_config(results))
    parties.analyzers.append(again)
    status, body = await _get(parties, f"{again.url}/api/upload-video/status/{payload['job_id']}")
    assert status == 200
    assert body["status"] == "completed"
    assert body["result"] == arrival.body["result"]
    _, brief = await _get(parties, f"{again.url}/jobs/{payload['job_id']}")
    assert brief["status"] == "completed" and "result" not in brief
    # The job cut off by the stop is reported failed, to the backend too, exactly once.
    failed = await parties.receiver.wait_terminal(interrupted["job_id"], within_s=20)
    assert failed.body["status"] == "failed"
    assert failed.body["error_code"] == ErrorCode.PROCESSING_ERROR
    assert len(parties.receiver.of(payload["job_id"], "completed", "failed")) == 1


async def test_a_job_file_holding_its_result_inline_still_answers_and_is_split(
    parties: Parties, tmp_path: Path
) -> None:
    # The layout of an analyzer from before results had files of their own.
    jobs = tmp_path / "analyzer" / "jobs"
    jobs.mkdir(parents=True)
    job_id, result = str(uuid.uuid4()), {"segments": [], "language_detected": "en"}
    (jobs / f"{job_id}.json").write_text(json.dumps({
        "job_id": job_id, "fastapi_base_url": parties.receiver.base_url, "status": "completed",
        "progress": 100.0, "message": "Done", "result": result, "callback_state": "delivered",
        "updated_ts": time.time(),
    }))
    analyzer = await start_analyzer(analyzer_config(tmp_path / "analyzer"))
    parties.analyzers.append(analyzer)

    status, body = await _get(parties, f"{analyzer.url}/api/upload-video/status/{job_id}")
    assert status == 200 and body["status"] == "completed" and body["result"] == result
    assert "result" not in json.loads((jobs / f"{job_id}.json").read_text())
    assert json.loads((jobs / "results" / f"{job_id}.json").read_text()) == result
    assert parties.receiver.of(job_id) == []  # delivered before: not sent again


async def test_results_expire_after_their_time(parties: Parties, tmp_path: Path) -> None:
    make_speech_video(parties.media.folder / "short.mp4", SHORT)
    results = tmp_path / "analyzer"
    analyzer = await start_analyzer(analyzer_config(results))
    payload = job_payload(parties.media.url("short.mp4"), parties.receiver.base_url)
    await dispatch(parties.session, analyzer.url, payload)
    await parties.receiver.wait_terminal(payload["job_id"], within_s=60)
    await analyzer.stop()
    await asyncio.sleep(1.2)
    again = await start_analyzer(analyzer_config(results, result_ttl_s=1.0))
    parties.analyzers.append(again)
    status, _ = await _get(parties, f"{again.url}/api/upload-video/status/{payload['job_id']}")
    assert status == 404
    assert not list((results / "jobs").rglob("*.json"))


async def test_health_reports_version_queue_and_backend(parties: Parties, tmp_path: Path) -> None:
    analyzer = await start_analyzer(analyzer_config(tmp_path / "a"))
    parties.analyzers.append(analyzer)
    status, body = await _get(parties, analyzer.url + "/health")
    assert status == 200
    assert body["status"] == "healthy"
    assert body["version"]
    assert body["queue_length"] == 0
    assert (body["backend"], body["model"]) == ("faster-whisper", "tiny.en")
    assert body["backends"][:2] == ["faster-whisper", "pocketsphinx"]
    assert body["signed_callbacks"] is True
    assert SECRET not in json.dumps(body)


def test_filename_is_the_video_name_without_the_file_key_prefix() -> None:
    from ecg_desktop.analyzer.service import JobRequest

    key_url = "http://s3/bucket/videos/anonymous/20240101_120000_abc12345_my%20talk.mp4?X-Sig=1"
    assert JobRequest("j", key_url, "http://b").filename == "my talk.mp4"
    assert JobRequest("j", "http://host/plain.mov", "http://b").filename == "plain.mov"
