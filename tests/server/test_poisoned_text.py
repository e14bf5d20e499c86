"""One bad message never hurts others: text no database can store (a lone surrogate, valid
JSON) is cleaned at validation, and a group commit that fails is written again job by job so
that only the guilty callback fails."""

from __future__ import annotations

import asyncio
import json

import pytest

from ecg_desktop.app.callback_schema import CallbackMessage
from ecg_desktop.app.ports import JobStore
from ecg_desktop.app.progress_writer import ProgressWriter
from ecg_desktop.domain import Job, JobStatus

from .conftest import ServerFactory, callback_body, seed_result

POISON = "Transcribing \udc80"  # json.dumps writes it as the escape "\udc80"


async def test_a_lone_surrogate_is_cleaned_and_no_other_job_is_answered_5xx(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    jobs = [await server.add_job() for _ in range(40)]
    bodies = [callback_body(job.job_id, progress=20, message="Aligning") for job in jobs]
    bodies[7]["message"] = POISON

    answers = await asyncio.gather(*(server.callback(b) for b in bodies))

    assert [a.status for a in answers] == [200] * len(jobs)
    stored = await server.store.get(jobs[7].job_id)
    assert stored.message == "Transcribing \ufffd"
    assert [(await server.store.get(j.job_id)).progress for j in jobs] == [20] * len(jobs)


async def test_a_result_holding_a_lone_surrogate_completes_and_can_be_read_back(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    job = await server.add_job()
    result = seed_result()
    result["segments"][0]["words"][0]["word"] = "You\udc80"
    result["segments"][0]["text"] = "\ud800 You know"

    answer = await server.callback(callback_body(job.job_id, "completed", result=result,
                                                 error_message="\udfff"))

    assert answer.status == 200, await answer.text()
    assert (await server.store.get(job.job_id)).status is JobStatus.COMPLETED
    status = await server.client.get(f"/api/upload-video/status/{job.job_id}")
    assert status.status == 200
    words = (await status.json())["result"]["segments"][0]["words"]
    assert words[0]["word"] == "You\ufffd"
    transcript = await server.store.get_transcript(job.job_id)
    assert transcript is not None and "\udc80" not in json.dumps(str(transcript))


async def test_a_failed_group_commit_is_written_job_by_job(job_store: JobStore) -> None:
    jobs = []
    for _ in range(6):
        job = Job.new(file_key="videos/a/b.mp4", filename="b.mp4")
        job.start_dispatch()
        job.mark_dispatched("http://storage.invalid/b.mp4")
        await job_store.add(job)
        jobs.append(job)
    written: list[Job] = []
    writer = ProgressWriter(job_store, on_written=written.append)

    def message(job: Job, text: str) -> CallbackMessage:  # past validation, as a bug would be
        return CallbackMessage(job.job_id, "processing", 30, text, None, None, None)

    first = asyncio.create_task(writer.record(message(jobs[0], "first")))
    await asyncio.sleep(0)  # its write is in flight: the rest are grouped into the next one
    rest = [asyncio.create_task(writer.record(message(job, POISON if n == 2 else "fine")))
            for n, job in enumerate(jobs[1:], start=1)]
    outcomes = await asyncio.gather(first, *rest, return_exceptions=True)

    failed = [n for n, outcome in enumerate(outcomes) if isinstance(outcome, Exception)]
    assert failed == [2]
    for n, job in enumerate(jobs):
        if n != 2:
            assert (await job_store.get(job.job_id)).progress == 30
    assert {j.job_id for j in written} == {j.job_id for n, j in enumerate(jobs) if n != 2}


@pytest.mark.parametrize("text", ["ok", "\U0001f600 emoji, as a surrogate pair in JSON"])
async def test_text_without_lone_surrogates_is_stored_unchanged(
    make_server: ServerFactory, text: str
) -> None:
    server = await make_server()
    job = await server.add_job()
    assert (await server.callback(callback_body(job.job_id, progress=5, message=text))).ok
    assert (await server.store.get(job.job_id)).message == text
