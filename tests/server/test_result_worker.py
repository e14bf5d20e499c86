"""Big callbacks handled by the worker process (``store.result_worker``): the same answers and the
same stored rows as the in-process path, and a crash that writes nothing and answers 5xx."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ecg_desktop.app import big_results
from ecg_desktop.app.callbacks import LARGE_BODY
from ecg_desktop.app.json_spans import loads_keeping_result_text
from ecg_desktop.app.ports import JobStore, OffersJobWriter
from ecg_desktop.domain import JobChanged, JobStatus
from ecg_desktop.store.result_worker import ResultWorker

from .conftest import Server, ServerFactory, callback_body


def big_result(segments: int = 120, words_per_segment: int = 20) -> dict[str, Any]:
    """A result whose callback body is over the in-process limit (about 400 KB)."""
    out, clock = [], 0.0
    for s in range(segments):
        start, words = clock, []
        for w in range(words_per_segment):
            words.append({"word": f"w{s}_{w}", "start": round(clock, 3),
                          "end": round(clock + 0.2, 3), "confidence": 0.9,
                          "acoustic_features": {"volume_db": -18.5 - w % 7,
                                                "pitch_hz": None if w % 5 == 0 else 110.0 + w,
                                                "spectral_centroid": 1450.0 + w}})
            clock += 0.25
        out.append({"start_time": round(start, 3), "end_time": round(clock, 3),
                    "speaker": {"speaker_id": f"SPEAKER_{s % 3:02d}"},
                    "text": " ".join(str(w["word"]) for w in words), "words": words})
    return {"metadata": {"filename": "long.mp4", "language_detected": "en"}, "segments": out}


def _completed(job_id: uuid.UUID | str, result: Any) -> dict[str, Any]:
    body = callback_body(job_id, "completed", progress=100, message="Done", result=result)
    assert len(json.dumps(body)) > LARGE_BODY
    return body


@pytest.fixture
async def worker(job_store: JobStore, tmp_path: Path) -> AsyncIterator[ResultWorker]:
    made = ResultWorker.for_store(job_store, initializer=big_results.warm_up)
    assert made is not None
    try:
        yield made
    finally:
        await made.close()


async def _stored(server: Server, job_id: uuid.UUID) -> dict[str, Any]:
    job = await server.store.get(job_id)
    transcript = await server.store.get_transcript(job_id)
    assert transcript is not None
    return {
        "status": job.status, "stage": job.stage, "progress": job.progress,
        "message": job.message, "speakers": job.speakers,
        "raw": await server.store.get_raw_result(job_id),
        "transcript": dataclasses.asdict(transcript),
    }


async def test_a_result_stored_by_the_worker_is_the_one_stored_in_process(
    make_server: ServerFactory, worker: ResultWorker
) -> None:
    in_process = await make_server()
    offloaded = await make_server(result_worker=worker)
    result = big_result()
    first, second = await in_process.add_job(), await in_process.add_job()

    answers = [await in_process.callback(_completed(first.job_id, result)),
               await offloaded.callback(_completed(second.job_id, result))]

    assert [(a.status, await a.json()) for a in answers] == [(200, {"status": "received"})] * 2
    here, there = await _stored(in_process, first.job_id), await _stored(offloaded, second.job_id)
    assert here == there
    assert there["status"] is JobStatus.COMPLETED and there["raw"] == result
    assert len(there["transcript"]["segments"]) == 120
    [event] = [e for e in offloaded.events if isinstance(e, JobChanged)]
    assert event.job.status is JobStatus.COMPLETED and event.job.job_id == second.job_id
    assert offloaded.metrics.value("callbacks_total", result="accepted",
                                   reason="completed") == 1
    assert offloaded.metrics.value("jobs_total", outcome="completed", error_code="") == 1


async def test_the_worker_keeps_the_rules_and_their_order(
    make_server: ServerFactory, worker: ResultWorker
) -> None:
    server = await make_server(result_worker=worker)
    job = await server.add_job()
    canceled = await server.add_job(JobStatus.CANCELED)
    result = big_result()
    broken = big_result()
    broken["segments"][3]["end_time"] = -1.0  # ends before it starts
    before = await server.snapshot()
    not_json = json.dumps(_completed(job.job_id, result)).encode()[:-1]

    assert (await server.callback(None, raw=not_json)).status == 400
    # The signature is checked before the body is parsed.
    assert (await server.callback(None, raw=not_json, secret="forged")).status == 401
    forged = await server.callback(_completed(job.job_id, result), secret="forged",
                                   headers={"User-Agent": "node"})
    assert forged.status == 401 and "correct_endpoint" in await forged.json()
    invalid = await server.callback(_completed(job.job_id, broken))
    assert invalid.status == 422
    assert (await invalid.json())["errors"][0]["loc"][:3] == ["body", "result", "segments"]
    unknown = await server.callback(_completed(uuid.uuid4(), result))
    assert unknown.status == 404
    ended = await server.callback(_completed(canceled.job_id, result))
    assert (ended.status, await ended.json()) == (200, {"status": "already_canceled"})
    schema = await server.callback({**_completed(job.job_id, result), "progress": 101})
    assert schema.status == 422
    assert await server.snapshot() == before

    sent = await server.callback(_completed(job.job_id, result), scheme="webhook",
                                 msg_id="msg_big_1")
    again = await server.callback(_completed(job.job_id, result), scheme="webhook",
                                  msg_id="msg_big_1")
    assert (sent.status, again.status) == (200, 200)
    assert await again.json() == {"status": "duplicate"}
    assert (await server.store.get(job.job_id)).status is JobStatus.COMPLETED
    metric = server.metrics.value
    assert metric("callbacks_total", result="rejected", reason="not_json") == 1
    assert metric("callbacks_total", result="rejected", reason="signature_invalid") == 2
    assert metric("callbacks_total", result="rejected", reason="invalid_result") == 1
    assert metric("callbacks_total", result="duplicate", reason="webhook_id_seen") == 1


async def test_a_big_processing_callback_is_applied_by_the_loop(
    make_server: ServerFactory, worker: ResultWorker
) -> None:
    server = await make_server(result_worker=worker)
    job = await server.add_job()
    body = callback_body(job.job_id, progress=60, message="Aligning",
                         result=big_result())  # a result the status does not use

    response = await server.callback(body)

    assert (response.status, await response.json()) == (200, {"status": "received"})
    stored = await server.store.get(job.job_id)
    assert (stored.status, stored.progress, stored.message) == (
        JobStatus.PROCESSING, 60, "Aligning")
    assert await server.store.get_raw_result(job.job_id) is None


def crash_while_writing(marker: str) -> None:
    """Installed in the worker process: the first write of a result (while the marker file
    exists) dies after inserting the transcript rows, inside the open transaction."""
    from ecg_desktop.store.blocking_writer import BlockingJobWriter

    replace_transcript = BlockingJobWriter._replace_transcript

    def dying(self: BlockingJobWriter, *args: Any) -> None:
        replace_transcript(self, *args)
        if os.path.exists(marker):
            os.unlink(marker)
            os._exit(1)

    BlockingJobWriter._replace_transcript = dying  # type: ignore[method-assign,assignment]


async def test_a_worker_that_dies_midway_answers_503_writes_nothing_and_the_retry_succeeds(
    make_server: ServerFactory, job_store: JobStore, tmp_path: Path,
) -> None:
    marker = tmp_path / "crash-once"
    marker.touch()
    assert isinstance(job_store, OffersJobWriter)
    factory = job_store.blocking_writer_factory()
    worker = ResultWorker(factory,
                          initializer=functools.partial(crash_while_writing, str(marker)))
    try:
        server = await make_server(result_worker=worker)
        spill = server.settings.data_dir / "spill"  # where big bodies are written as they come
        job = await server.add_job()
        await server.callback(callback_body(job.job_id, progress=40))
        before = await server.snapshot()
        body = _completed(job.job_id, big_result())

        crashed = await server.callback(body, scheme="webhook", msg_id="msg_retry")

        assert crashed.status == 503
        assert not marker.exists()  # it did die inside the write
        assert await server.snapshot() == before
        assert server.metrics.value("callbacks_total", result="failed", reason="worker") == 1

        retried = await server.callback(body, scheme="webhook", msg_id="msg_retry")

        assert (retried.status, await retried.json()) == (200, {"status": "received"})
        stored = await server.store.get(job.job_id)
        assert (stored.status, stored.progress) == (JobStatus.COMPLETED, 100)
        transcript = await server.store.get_transcript(job.job_id)
        assert transcript is not None and len(transcript.segments) == 120
        assert list(spill.iterdir()) == []  # the bodies handed to the worker are removed
    finally:
        await worker.close()


@pytest.mark.parametrize("text", [
    '{"job_id": "x", "result": {"a": [1, 2.50, "\\u00e9"]}, "status": "completed"}',
    ' \n{ "result" :{"b":{}} , "result": {"c": null} }\n',
    '{"result": null}',
    '{}',
])
def test_the_result_text_is_kept_exactly_as_received(text: str) -> None:
    payload, kept = loads_keeping_result_text(text.encode())

    assert payload == json.loads(text)
    if isinstance(payload.get("result"), dict):
        assert kept is not None and kept in text and json.loads(kept) == payload["result"]
        assert text.count(kept) == 1 or kept == '{"c": null}'
    else:
        assert kept is None


@pytest.mark.parametrize("text", ['{"result": {}', '{"a": 1} x', '[1]', '{"a" 1}', '"s"', ""])
def test_what_is_not_a_json_object_parses_as_json_loads_says(text: str) -> None:
    try:
        expected: Any = json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):
            loads_keeping_result_text(text.encode())
    else:
        assert loads_keeping_result_text(text.encode()) == (expected, None)
