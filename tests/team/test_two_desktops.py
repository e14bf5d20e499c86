"""The team set-up of docs/team.md on loopback: one PostgreSQL database, one S3-compatible
bucket, a real ``ecg-desktop serve`` as the team's backend, two desktops that start no server
of their own, and a protocol peer as the GPU ML server."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from ecg_desktop.app.ports import JobQuery
from ecg_desktop.domain import JobStatus
from tests.app.cores import s3_settings
from tests.app.peer import RESULT, ProtocolPeer, size_of

from .conftest import BusRecorder, CoreFactory

pytestmark = pytest.mark.timeout(180)


async def test_a_job_from_desktop_a_completes_through_serve_and_shows_on_both_within_a_second(
    make_core: CoreFactory,
    serve: Any,
    peer: ProtocolPeer,
    s3_service: Any,
    s3_bucket: str,
    video: Path,
) -> None:
    bucket = s3_settings(s3_service, s3_bucket)
    backend = await serve(
        S3_BUCKET_NAME=s3_bucket,
        S3_ENDPOINT_URL=s3_service.endpoint_url,
        AWS_ACCESS_KEY_ID=s3_service.access_key,
        AWS_SECRET_ACCESS_KEY=s3_service.secret_key,
        AWS_REGION=s3_service.region,
    )
    desktop_a = await make_core(user="ana", fastapi_base_url=backend.url, **bucket)
    desktop_b = await make_core(user="bo", fastapi_base_url=backend.url, **bucket)
    seen_a, seen_b = BusRecorder(desktop_a), BusRecorder(desktop_b)

    job = await desktop_a.pipeline.submit_file(video)

    # B sees A's new job without anyone asking the store for it.
    await seen_b.first(job.job_id, JobStatus.PENDING, timeout_s=5)
    arrived_a, done_a = await seen_a.first(job.job_id, JobStatus.COMPLETED, timeout_s=60)
    arrived_b, done_b = await seen_b.first(job.job_id, JobStatus.COMPLETED, timeout_s=5)
    assert done_a.completed_at is not None
    # Completed by the serve process (its clock is this machine's): on both desktops within 1 s.
    for arrived in (arrived_a, arrived_b):
        assert (arrived - done_a.completed_at).total_seconds() < 1.0

    # The ML server called the team backend, never a desktop (neither runs a server).
    assert desktop_a.server is None and desktop_b.server is None
    sent = peer.jobs[str(job.job_id)]
    assert sent.request["fastapi_base_url"].rstrip("/") == backend.url
    for _ in range(500):  # the peer notes an answer after the desktops may have the change
        if len(sent.callbacks) >= 2:
            break
        await asyncio.sleep(0.02)
    assert [answer["status"] for _, answer in sent.callbacks] == ["received", "received"]

    # Who made it, from where; the bucket key carries the user.
    assert (done_b.owner, done_b.host) == ("ana", socket.gethostname())
    assert done_b.file_key is not None and done_b.file_key.startswith("videos/ana/")
    head = s3_service.client().head_object(Bucket=s3_bucket, Key=done_b.file_key)
    assert head["ContentLength"] == size_of(video)

    # B reads the result the backend stored.
    transcript = await desktop_b.store.get_transcript(job.job_id)
    assert transcript is not None
    assert [s.text for s in transcript.segments] == [s["text"] for s in RESULT["segments"]]

    # Mine and everyone's.
    assert [j.job_id for j in await desktop_b.store.list(JobQuery(owner="ana"))] == [job.job_id]
    assert await desktop_b.store.list(JobQuery(owner="bo")) == []
    assert len(await desktop_b.store.list(JobQuery())) == 1


async def test_a_deletion_on_one_desktop_removes_the_row_on_the_other(
    make_core: CoreFactory, shared_storage: Any, video: Path
) -> None:
    backend = await make_core(backend=True, storage=shared_storage())
    url = backend.callback_base_url()
    desktop_a = await make_core(user="ana", fastapi_base_url=url, storage=shared_storage())
    desktop_b = await make_core(user="bo", fastapi_base_url=url, storage=shared_storage())
    seen_b = BusRecorder(desktop_b)
    job = await desktop_a.pipeline.submit_file(video)
    await seen_b.first(job.job_id, JobStatus.COMPLETED)

    await desktop_a.pipeline.delete(job.job_id)

    await seen_b.deleted(job.job_id, timeout_s=1.0)


async def test_a_job_without_a_configured_user_belongs_to_the_os_user(
    make_core: CoreFactory, shared_storage: Any, video: Path
) -> None:
    import getpass

    backend = await make_core(backend=True, storage=shared_storage())
    desktop = await make_core(fastapi_base_url=backend.callback_base_url(),
                              storage=shared_storage())
    job = await desktop.pipeline.submit_file(video)
    done = await desktop.pipeline.wait_for(job.job_id, timeout_s=30)
    assert done.owner == getpass.getuser()
    assert done.file_key is not None and done.file_key.startswith(f"videos/{done.owner}/")
