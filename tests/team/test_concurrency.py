"""Two desktops (and two backends) acting on the same job at the same moment, on one real
PostgreSQL database: every case ends in one legal state, with no duplicate dispatch and no
result stored twice."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from ecg_desktop.analyzer.callbacks import callback_body
from ecg_desktop.app.ports import JobQuery
from ecg_desktop.app.retries import retry_job_id
from ecg_desktop.bootstrap import Core
from ecg_desktop.domain import Job, JobStatus, Stage
from ecg_desktop.domain.signatures import sign_headers
from tests.app.peer import RESULT, ProtocolPeer

from .conftest import SECRET, BusRecorder, CoreFactory

pytestmark = pytest.mark.timeout(180)


async def team(make_core: CoreFactory, shared_storage: Any) -> tuple[Core, Core, Core]:
    """A backend (what ``serve`` runs) and two desktops that dispatch with its address."""
    backend = await make_core(backend=True, storage=shared_storage())
    url = backend.callback_base_url()
    desktop_a = await make_core(user="ana", fastapi_base_url=url, storage=shared_storage())
    desktop_b = await make_core(user="bo", fastapi_base_url=url, storage=shared_storage())
    return backend, desktop_a, desktop_b


async def analyzing(core: Core, video: Path, peer: ProtocolPeer) -> Job:
    """A job the ML server has accepted and not called back for (the peer is silent)."""
    peer.behaviour = "silent"
    job = await core.pipeline.submit_file(video)
    deadline = time.monotonic() + 30
    while (job := await core.store.get(job.job_id)).stage is not Stage.ANALYZING:
        assert time.monotonic() < deadline, f"never dispatched: {job.stage}"
        await asyncio.sleep(0.02)
    return job


def signed(body: dict[str, Any], msg_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        **sign_headers(SECRET, raw, msg_id=msg_id or f"msg_{uuid.uuid4().hex}",
                       timestamp=int(time.time())),
    }
    return raw, headers


def completed(job_id: uuid.UUID) -> dict[str, Any]:
    return callback_body(str(job_id), "completed", progress=100, message="Done",
                         result=json.loads(json.dumps(RESULT)))


async def post(client: httpx.AsyncClient, base_url: str, raw: bytes,
               headers: dict[str, str]) -> tuple[int, str]:
    response = await client.post(base_url + "/api/upload-video/result", content=raw,
                                 headers=headers)
    return response.status_code, response.json().get("status", "")


async def test_two_desktops_retrying_one_failed_job_dispatch_one_new_job(
    make_core: CoreFactory, shared_storage: Any, peer: ProtocolPeer, video: Path
) -> None:
    _, desktop_a, desktop_b = await team(make_core, shared_storage)
    for round_ in range(3):
        peer.behaviour = "fail"
        failed = await desktop_a.pipeline.submit_file(video)
        await BusRecorder(desktop_b).first(failed.job_id, JobStatus.FAILED)
        peer.behaviour = "silent"
        dispatches_before = len(peer.attempts)

        first, second = await asyncio.gather(
            desktop_a.pipeline.retry(failed.job_id), desktop_b.pipeline.retry(failed.job_id)
        )

        stored_failed = await desktop_a.store.get(failed.job_id)
        assert first.job_id == second.job_id == retry_job_id(stored_failed, 0), round_
        retries = [j for j in await desktop_a.store.list(JobQuery(limit=1000))
                   if j.retry_of == failed.job_id]
        assert len(retries) == 1
        deadline = time.monotonic() + 10
        while (await desktop_a.store.get(first.job_id)).stage is not Stage.ANALYZING:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # a second dispatch, if any, would have gone out by now
        assert len(peer.attempts) - dispatches_before == 1
        assert list(peer.jobs).count(str(first.job_id)) == 1


async def test_a_job_retried_again_after_its_retry_failed_gets_a_second_retry(
    make_core: CoreFactory, shared_storage: Any, peer: ProtocolPeer, video: Path
) -> None:
    _, desktop_a, desktop_b = await team(make_core, shared_storage)
    peer.behaviour = "fail"
    failed = await desktop_a.pipeline.submit_file(video)
    await desktop_a.pipeline.wait_for(failed.job_id, timeout_s=30)
    retry = await desktop_a.pipeline.retry(failed.job_id)
    assert (await desktop_a.pipeline.wait_for(retry.job_id, timeout_s=30)).status \
        is JobStatus.FAILED

    again = await desktop_b.pipeline.retry(failed.job_id)

    assert again.job_id not in (failed.job_id, retry.job_id)
    assert again.retry_of == failed.job_id


async def test_a_deleted_retry_never_gives_its_id_to_a_later_retry(
    make_core: CoreFactory, shared_storage: Any, peer: ProtocolPeer, video: Path
) -> None:
    _, desktop_a, desktop_b = await team(make_core, shared_storage)
    peer.behaviour = "fail"
    failed = await desktop_a.pipeline.submit_file(video)
    await desktop_a.pipeline.wait_for(failed.job_id, timeout_s=30)
    retry = await desktop_a.pipeline.retry(failed.job_id)
    await desktop_a.pipeline.wait_for(retry.job_id, timeout_s=30)
    await desktop_a.pipeline.delete(retry.job_id)
    peer.behaviour = "silent"

    again = await desktop_b.pipeline.retry(failed.job_id)

    assert again.job_id != retry.job_id
    deadline = time.monotonic() + 10
    while str(again.job_id) not in peer.jobs:
        assert time.monotonic() < deadline, "the new retry was not dispatched"
        await asyncio.sleep(0.02)


async def test_two_desktops_cancelling_one_job_end_in_one_canceled_state(
    make_core: CoreFactory, shared_storage: Any, peer: ProtocolPeer, video: Path
) -> None:
    _, desktop_a, desktop_b = await team(make_core, shared_storage)
    for _ in range(3):
        job = await analyzing(desktop_a, video, peer)

        first, second = await asyncio.gather(
            desktop_a.pipeline.cancel(job.job_id), desktop_b.pipeline.cancel(job.job_id)
        )

        stored = await desktop_b.store.get(job.job_id)
        assert first.status is second.status is stored.status is JobStatus.CANCELED
        # One cancel was applied; the other desktop got the job as the first one left it.
        assert first.completed_at == second.completed_at == stored.completed_at


async def test_a_result_arriving_while_a_desktop_cancels_ends_in_one_legal_state(
    make_core: CoreFactory, shared_storage: Any, peer: ProtocolPeer, video: Path
) -> None:
    backend, desktop_a, desktop_b = await team(make_core, shared_storage)
    url = backend.callback_base_url()
    outcomes: set[JobStatus] = set()
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(6):
            job = await analyzing(desktop_a, video, peer)
            raw, headers = signed(completed(job.job_id))

            (code, answer), canceled = await asyncio.gather(
                post(client, url, raw, headers), desktop_b.pipeline.cancel(job.job_id)
            )

            stored = await desktop_a.store.get(job.job_id)
            outcomes.add(stored.status)
            assert code == 200
            assert canceled.status is stored.status
            if stored.status is JobStatus.COMPLETED:
                assert answer == "received"
                assert await desktop_a.store.get_raw_result(job.job_id) == RESULT
            else:
                assert stored.status is JobStatus.CANCELED
                assert answer == "already_canceled"
                assert await desktop_a.store.get_raw_result(job.job_id) is None
                assert await desktop_a.store.get_transcript(job.job_id) is None
    assert outcomes <= {JobStatus.COMPLETED, JobStatus.CANCELED}


async def test_two_serve_instances_receiving_one_result_twice_complete_the_job_once(
    make_core: CoreFactory, serve: Any, shared_storage: Any, peer: ProtocolPeer, video: Path
) -> None:
    # Two `ecg-desktop serve` processes behind a load balancer (no shared memory at all).
    instances = await asyncio.gather(serve(), serve())
    urls = [instance.url for instance in instances]
    desktop = await make_core(user="ana", fastapi_base_url=urls[0], storage=shared_storage())
    async with httpx.AsyncClient(timeout=30) as client:
        # Behind a load balancer: the ML server's retry of one callback (same webhook-id)
        # lands on both instances, twice each, at the same time.
        job = await analyzing(desktop, video, peer)
        raw, headers = signed(completed(job.job_id), msg_id="msg_retried_callback")
        answers = await asyncio.gather(*(post(client, u, raw, headers) for u in urls * 2))
        assert {code for code, _ in answers} == {200}
        statuses = sorted(status for _, status in answers)
        assert statuses.count("received") == 1, statuses
        assert "already_completed" in statuses
        assert set(statuses) <= {"received", "already_completed", "duplicate"}

        # One after the other, with fresh webhook-ids (a sender that does not keep them).
        job = await analyzing(desktop, video, peer)
        statuses = []
        for base_url in urls:
            raw, headers = signed(completed(job.job_id))
            statuses.append((await post(client, base_url, raw, headers))[1])
        assert statuses == ["received", "already_completed"]

    transcript = await desktop.store.get_transcript(job.job_id)
    assert transcript is not None and len(transcript.segments) == len(RESULT["segments"])
    completed_jobs = await desktop.store.list(JobQuery(status=JobStatus.COMPLETED))
    assert len(completed_jobs) == 2


async def test_a_job_canceled_on_another_desktop_stops_uploading_here(
    make_core: CoreFactory, shared_storage: Any, peer: ProtocolPeer, video: Path
) -> None:
    backend, _, desktop_b = await team(make_core, shared_storage)
    slow = shared_storage()
    slow.part_size, slow.step_delay_s = 1024, 0.1
    desktop_a = await make_core(user="ana", fastapi_base_url=backend.callback_base_url(),
                                storage=slow)
    job = await desktop_a.pipeline.submit_file(video)
    deadline = time.monotonic() + 10
    while (await desktop_b.store.get(job.job_id)).stage is not Stage.UPLOADING:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)

    canceled = await desktop_b.pipeline.cancel(job.job_id)

    assert canceled.status is JobStatus.CANCELED
    deadline = time.monotonic() + 5
    while desktop_a.pipeline.is_running(job.job_id) or not slow.aborted:
        assert time.monotonic() < deadline, "desktop A kept uploading a canceled job"
        await asyncio.sleep(0.02)
    assert slow.aborted == [canceled.file_key]
    parts = slow.parts_sent
    await asyncio.sleep(0.5)
    assert slow.parts_sent == parts
    assert peer.attempts == []  # never dispatched
