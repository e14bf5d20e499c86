"""POST /api/upload-video/result against the real job store: PROTOCOL.md 1.3 rules 1-8."""

from __future__ import annotations

import asyncio
import time
import uuid

from ecg_desktop.domain import ErrorCode, JobChanged, JobStatus, Stage

from .conftest import OLD_SECRET, SECRET, ServerFactory, callback_body, seed_result


async def test_processing_callback_records_progress_and_stage_message(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    job = await server.add_job()

    response = await server.callback(callback_body(job.job_id, progress=35,
                                                   message="Transcribing"))

    assert response.status == 200
    assert await response.json() == {"status": "received"}
    stored = await server.store.get(job.job_id)
    assert (stored.status, stored.progress, stored.message) == (
        JobStatus.PROCESSING, 35, "Transcribing")
    assert [e.job.progress for e in server.events if isinstance(e, JobChanged)] == [35]


async def test_progress_only_rises_but_the_stage_message_is_kept(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    job = await server.add_job()
    await server.callback(callback_body(job.job_id, progress=60, message="Diarizing"))

    response = await server.callback(callback_body(job.job_id, progress=20, message="Features"))

    assert response.status == 200
    stored = await server.store.get(job.job_id)
    assert (stored.progress, stored.message) == (60, "Features")


async def test_completed_callback_stores_raw_and_normalised_result(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    job = await server.add_job()
    result = seed_result()

    response = await server.callback(callback_body(job.job_id, "completed", progress=100,
                                                   message="Processing completed", result=result))

    assert response.status == 200, await response.text()
    stored = await server.store.get(job.job_id)
    assert (stored.status, stored.stage, stored.progress) == (JobStatus.COMPLETED, Stage.DONE, 100)
    assert stored.speakers == 2
    assert await server.store.get_raw_result(job.job_id) == result
    transcript = await server.store.get_transcript(job.job_id)
    assert transcript is not None
    assert [(s.start, s.end, s.speaker_id) for s in transcript.segments] == [
        (4.908, 8.754, "SPEAKER_01"), (9.0, 10.5, "SPEAKER_00")]
    assert transcript.segments[0].words[0].pitch_hz == 851.09

    status = await server.client.get(f"/api/upload-video/status/{job.job_id}")
    answer = await status.json()
    assert (answer["status"], answer["progress"], answer["result"]) == ("completed", 100, result)


async def test_completed_callback_for_a_job_never_marked_dispatched_completes_it(
    make_server: ServerFactory,
) -> None:
    # A fast ML server can answer before the dispatch's own write lands.
    server = await make_server()
    job = await server.add_job(JobStatus.PENDING)

    response = await server.callback(callback_body(job.job_id, "completed", result=seed_result()))

    assert response.status == 200
    assert (await server.store.get(job.job_id)).status is JobStatus.COMPLETED


async def test_failed_callback_stores_code_and_message_and_keeps_progress(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    job = await server.add_job()
    await server.callback(callback_body(job.job_id, progress=40))

    response = await server.callback(callback_body(
        job.job_id, "failed", progress=0, error_code="AUDIO_EXTRACTION_ERROR",
        error_message="no audio stream"))

    assert response.status == 200
    stored = await server.store.get(job.job_id)
    assert (stored.status, stored.error_code, stored.error_message, stored.progress) == (
        JobStatus.FAILED, ErrorCode.AUDIO_EXTRACTION_ERROR, "no audio stream", 40)
    assert server.metrics.value("jobs_total", outcome="failed",
                                error_code="AUDIO_EXTRACTION_ERROR") == 1


async def test_failed_callback_with_an_unknown_code_keeps_it_in_the_message(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    job = await server.add_job()

    await server.callback(callback_body(job.job_id, "failed", error_code="GPU_ON_FIRE",
                                        error_message="out of memory"))

    stored = await server.store.get(job.job_id)
    assert stored.error_code is ErrorCode.UNKNOWN_ERROR
    assert stored.error_message == "GPU_ON_FIRE: out of memory"


async def test_terminal_jobs_never_change_again(make_server: ServerFactory) -> None:
    server = await make_server()
    done = await server.add_job()
    await server.callback(callback_body(done.job_id, "completed", result=seed_result()))
    failed = await server.add_job(JobStatus.FAILED)
    canceled = await server.add_job(JobStatus.CANCELED)
    before = await server.snapshot()

    answers: dict[str, set[str]] = {}
    for job, name in ((done, "completed"), (failed, "failed"), (canceled, "canceled")):
        for late in (callback_body(job.job_id, progress=99, message="late"),
                     callback_body(job.job_id, "completed", result=seed_result()),
                     callback_body(job.job_id, "failed", error_code="PROCESSING_ERROR")):
            response = await server.callback(late)
            assert response.status == 200
            answers.setdefault(name, set()).add((await response.json())["status"])

    assert answers == {"completed": {"already_completed"}, "failed": {"already_failed"},
                       "canceled": {"already_canceled"}}
    assert await server.snapshot() == before


async def test_concurrent_callbacks_for_one_job_never_interleave(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    job = await server.add_job()
    late_progress = [callback_body(job.job_id, progress=p, message=f"step {p}")
                     for p in range(10, 100, 10)]

    responses = await asyncio.gather(
        *(server.callback(b) for b in late_progress[:4]),
        server.callback(callback_body(job.job_id, "completed", result=seed_result())),
        *(server.callback(b) for b in late_progress[4:]),
    )

    assert all(r.status == 200 for r in responses)
    stored = await server.store.get(job.job_id)
    assert (stored.status, stored.progress) == (JobStatus.COMPLETED, 100)
    assert await server.store.get_transcript(job.job_id) is not None


# -- signatures (PROTOCOL.md 4) ------------------------------------------------------------


async def test_standard_webhooks_signature_is_accepted(make_server: ServerFactory) -> None:
    server = await make_server()
    job = await server.add_job()

    response = await server.callback(callback_body(job.job_id, progress=10), scheme="webhook")

    assert response.status == 200
    assert (await server.store.get(job.job_id)).progress == 10


async def test_both_schemes_accept_a_rotated_key(make_server: ServerFactory) -> None:
    server = await make_server(webhook_secret_key=f"{SECRET} {OLD_SECRET}")
    job = await server.add_job()

    compat = await server.callback(callback_body(job.job_id, progress=10), secret=OLD_SECRET)
    webhook = await server.callback(callback_body(job.job_id, progress=20), secret=OLD_SECRET,
                                    scheme="webhook")

    assert (compat.status, webhook.status) == (200, 200)
    assert (await server.store.get(job.job_id)).progress == 20


async def test_a_sender_may_offer_several_signatures(make_server: ServerFactory) -> None:
    from ecg_desktop.domain.signatures import webhook_signature

    server = await make_server()
    job = await server.add_job()
    body = callback_body(job.job_id, progress=30)
    raw = __import__("json").dumps(body).encode()
    now = int(time.time())
    both = " ".join((webhook_signature("retired", "msg_1", now, raw),
                     webhook_signature(SECRET, "msg_1", now, raw)))

    response = await server.callback(body, secret=None, raw=raw, headers={
        "webhook-id": "msg_1", "webhook-timestamp": str(now), "webhook-signature": both})

    assert response.status == 200


async def test_replayed_webhook_id_is_answered_as_duplicate_without_side_effects(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    job = await server.add_job()
    first = callback_body(job.job_id, progress=40, message="first")
    await server.callback(first, scheme="webhook", msg_id="msg_replayed")
    await server.callback(callback_body(job.job_id, progress=50, message="second"),
                          scheme="webhook")
    before = await server.snapshot()

    replay = await server.callback(first, scheme="webhook", msg_id="msg_replayed")

    assert replay.status == 200
    assert await replay.json() == {"status": "duplicate"}
    assert await server.snapshot() == before
    assert server.metrics.value("callbacks_total", result="duplicate",
                                reason="webhook_id_seen") == 1


async def test_the_same_webhook_id_in_flight_twice_is_applied_once(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    job = await server.add_job()
    body = callback_body(job.job_id, "completed", result=seed_result())

    first, second = await asyncio.gather(
        server.callback(body, scheme="webhook", msg_id="msg_twice"),
        server.callback(body, scheme="webhook", msg_id="msg_twice"),
    )

    assert sorted([(await first.json())["status"], (await second.json())["status"]]) == [
        "duplicate", "received"]
    assert sum(isinstance(e, JobChanged) for e in server.events) == 1


async def test_a_webhook_id_answered_with_an_error_may_be_sent_again(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    unknown = uuid.uuid4()
    body = callback_body(unknown, progress=5)
    assert (await server.callback(body, scheme="webhook", msg_id="msg_retry")).status == 404

    # The job exists now (say the store was behind): the retry is processed, not a duplicate.
    job = await server.add_job()
    body = callback_body(job.job_id, progress=5)
    response = await server.callback(body, scheme="webhook", msg_id="msg_retry")
    assert await response.json() == {"status": "received"}


async def test_unsigned_callbacks_are_accepted_only_with_the_switch_on(
    make_server: ServerFactory,
) -> None:
    strict = await make_server()
    job = await strict.add_job()
    refused = await strict.callback(callback_body(job.job_id, progress=10), secret=None)
    assert refused.status == 401
    assert (await refused.json())["reason"] == "signature_missing"
    assert (await strict.store.get(job.job_id)).progress == 0

    lenient = await make_server(allow_unsigned_callbacks=True)
    accepted = await lenient.callback(callback_body(job.job_id, progress=10), secret=None)
    assert accepted.status == 200
    assert (await lenient.store.get(job.job_id)).progress == 10
    # A wrong signature is refused even then.
    forged = await lenient.callback(callback_body(job.job_id, progress=20), secret="forged")
    assert forged.status == 401


async def test_front_end_misuse_is_told_where_to_poll(make_server: ServerFactory) -> None:
    server = await make_server()
    job = await server.add_job()

    response = await server.callback({"job_id": str(job.job_id)}, secret=None,
                                     headers={"User-Agent": "node"})

    assert response.status == 401
    answer = await response.json()
    assert answer["correct_endpoint"] == "GET /api/upload-video/status/{job_id}"
    assert "ML server" in answer["error"]

    signed_but_no_status = await server.callback({"job_id": str(job.job_id)})
    assert signed_but_no_status.status == 422
    assert (await signed_but_no_status.json())["correct_endpoint"].startswith("GET ")


async def test_metrics_count_accepted_and_rejected_callbacks_by_reason(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    job = await server.add_job()
    await server.callback(callback_body(job.job_id, progress=10))
    await server.callback(callback_body(job.job_id, progress=10), secret="forged")
    await server.callback(callback_body(job.job_id, progress=10), secret=None)

    text = await (await server.client.get("/metrics")).text()

    assert 'callbacks_total{reason="processing",result="accepted"} 1.0' in text
    assert 'callbacks_total{reason="signature_invalid",result="rejected"} 1.0' in text
    assert 'callbacks_total{reason="signature_missing",result="rejected"} 1.0' in text


async def test_a_burst_of_progress_for_one_job_is_written_in_few_transactions(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    job = await server.add_job()
    burst = [callback_body(job.job_id, progress=p, message="Transcribing")
             for p in (5, 40, 10, 35, 20, 25, 30, 15, 45, 0) * 2]

    responses = await asyncio.gather(*(server.callback(b) for b in burst))

    assert [r.status for r in responses] == [200] * len(burst)
    stored = await server.store.get(job.job_id)
    assert (stored.progress, stored.message) == (45, "Transcribing")
    writes = [e for e in server.events if isinstance(e, JobChanged)]
    assert 0 < len(writes) < len(burst)
    assert writes[-1].job.progress == 45
    assert server.metrics.value("callbacks_total", result="accepted",
                                reason="processing") == len(burst)
