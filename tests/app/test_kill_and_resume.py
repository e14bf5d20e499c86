"""The app killed with SIGKILL halfway through a multipart upload to the S3-compatible server:
at the next start the upload resumes, at most one part is sent again, and the stored object
is byte for byte the file."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import httpx

from ecg_desktop.domain import Job, JobStatus, UploadProgress
from ecg_desktop.storage import S3Storage
from ecg_desktop.store import open_store
from tests.app.conftest import SECRET, CoreFactory
from tests.app.cores import s3_settings
from tests.app.peer import ProtocolPeer, sha256_of
from tests.app.test_pipeline_storage import padded_video

MIB = 1024 * 1024
PART = 5 * MIB
SIZE = 160 * MIB


async def _job_when_half_uploaded(database_url: str, child: asyncio.subprocess.Process) -> Job:
    store = None
    try:
        for _ in range(3000):
            if child.returncode is not None:
                raise AssertionError("the app ended before it could be killed")
            try:
                store = store or await open_store(database_url, migrate=False)
                jobs = await store.list()
            except Exception:
                await asyncio.sleep(0.01)
                continue
            if jobs and jobs[0].upload and len(jobs[0].upload.parts) >= SIZE // PART // 2:
                return jobs[0]
            await asyncio.sleep(0.005)
        raise AssertionError("the upload never got halfway")
    finally:
        if store is not None:
            await store.close()


async def test_sigkill_halfway_then_resume_sends_at_most_one_part_again(
    make_core: CoreFactory,
    peer: ProtocolPeer,
    s3_service: Any,
    s3_bucket: str,
    tmp_path: Path,
    sqlite_url: str,
    settings_factory: Any,
) -> None:
    video = await asyncio.to_thread(padded_video, tmp_path / "long-meeting.mp4", SIZE)
    settings = s3_settings(s3_service, s3_bucket, upload_part_size=PART, upload_concurrency=1)
    env = dict(os.environ)
    env.update(
        MODEL_SERVER_URL=peer.url,
        WEBHOOK_SECRET_KEY=SECRET,
        DATABASE_URL=sqlite_url,
        S3_BUCKET_NAME=s3_bucket,
        S3_ENDPOINT_URL=s3_service.endpoint_url,
        AWS_ACCESS_KEY_ID=s3_service.access_key,
        AWS_SECRET_ACCESS_KEY=s3_service.secret_key,
        AWS_REGION=s3_service.region,
        ECG_UPLOAD_PART_SIZE=str(PART),
        ECG_UPLOAD_CONCURRENCY="1",
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ecg_desktop",
        "process",
        str(video),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        halfway = await _job_when_half_uploaded(sqlite_url, child)
    finally:
        if child.returncode is None:
            os.kill(child.pid, signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL

    part_puts: list[str] = []

    async def count_part_puts(request: httpx.Request) -> None:
        if request.method == "PUT" and "partNumber" in request.url.params:
            part_puts.append(request.url.params["partNumber"])

    http = httpx.AsyncClient(event_hooks={"request": [count_part_puts]}, timeout=60)
    storage = S3Storage(settings_factory(**settings), http=http)
    core = await make_core(storage=storage, **settings)
    interrupted = await core.store.get(halfway.job_id)
    assert interrupted.status is JobStatus.PENDING  # never silently canceled
    assert interrupted.upload is not None
    recorded = len(interrupted.upload.parts)
    first_progress: list[int] = []
    core.bus.subscribe(
        lambda e: (
            first_progress.append(e.bytes_done)
            if isinstance(e, UploadProgress) and not first_progress
            else None
        )
    )

    await core.start_services()
    done = await core.pipeline.wait_for(halfway.job_id, timeout_s=120)

    assert done.status is JobStatus.COMPLETED, done.error_message
    await http.aclose()
    total_parts = -(-SIZE // PART)
    # Recorded parts are never sent again; the one in flight at the kill (concurrency 1)
    # either finished on the server (kept) or is sent again: at most one part repeated.
    assert total_parts - recorded - 1 <= len(part_puts) <= total_parts - recorded
    assert first_progress[0] >= recorded * PART
    assert peer.jobs[str(done.job_id)].video_sha256 == sha256_of(video)
