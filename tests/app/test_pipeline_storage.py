"""The pipeline with the real storage adapters: the S3-compatible server (Swift + s3api) and
the local store behind the embedded server's signed /storage URLs. The protocol peer
downloads the dispatched URL, so each test also proves the presigned GET works."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ecg_desktop.app.ports import ObjectStorage
from ecg_desktop.config import Settings
from ecg_desktop.domain import ErrorCode, Job, JobStatus, UploadProgress
from ecg_desktop.storage.s3 import S3Storage
from tests.app.conftest import CoreFactory
from tests.app.cores import s3_settings
from tests.app.peer import ProtocolPeer, sha256_of
from tests.media import make_silent_video

WAIT_S = 60
MIB = 1024 * 1024


def padded_video(path: Path, size: int) -> Path:
    """A real, probe-able mp4 followed by random bytes up to ``size`` (demuxers ignore the
    tail), so multipart uploads have several parts whose order matters."""
    make_silent_video(path, duration_s=1.0)
    with path.open("ab") as handle:
        handle.write(os.urandom(size - path.stat().st_size))
    return path


async def test_through_the_s3_compatible_server(
    make_core: CoreFactory,
    peer: ProtocolPeer,
    s3_service: Any,
    s3_bucket: str,
    tmp_path: Path,
    database_url: str,
) -> None:
    video = await asyncio.to_thread(padded_video, tmp_path / "talk.mp4", 12 * MIB)
    core = await make_core(
        database_url=database_url,
        **s3_settings(s3_service, s3_bucket, upload_part_size=5 * MIB),
    )
    job = await core.pipeline.submit_file(video, "auto")
    done = await core.pipeline.wait_for(job.job_id, timeout_s=WAIT_S)

    assert done.status is JobStatus.COMPLETED, done.error_message
    assert peer.jobs[str(job.job_id)].video_sha256 == sha256_of(video)
    head = s3_service.client().head_object(Bucket=s3_bucket, Key=done.file_key)
    assert head["ContentLength"] == 12 * MIB


async def test_through_the_local_store(
    make_core: CoreFactory, peer: ProtocolPeer, tmp_path: Path
) -> None:
    video = await asyncio.to_thread(padded_video, tmp_path / "talk.mp4", 11 * MIB)
    core = await make_core(upload_part_size=5 * MIB)
    assert "Local" in core.storage.describe()
    job = await core.pipeline.submit_file(video, "auto")
    done = await core.pipeline.wait_for(job.job_id, timeout_s=WAIT_S)
    assert done.status is JobStatus.COMPLETED, done.error_message
    assert peer.jobs[str(job.job_id)].video_sha256 == sha256_of(video)
    assert peer.jobs[str(job.job_id)].request["video_url"].startswith(f"{core.server_url}/storage/")


async def test_wrong_s3_credentials_fail_the_job_with_the_servers_reason(
    make_core: CoreFactory, peer: ProtocolPeer, s3_service: Any, s3_bucket: str, video: Path
) -> None:
    core = await make_core(
        **s3_settings(s3_service, s3_bucket, aws_secret_access_key="not-the-secret")
    )
    job = await core.pipeline.submit_file(video, "auto")
    done = await core.pipeline.wait_for(job.job_id, timeout_s=WAIT_S)
    assert done.error_code is ErrorCode.UPLOAD_ERROR
    assert "403" in (done.error_message or "") or "Signature" in (done.error_message or "")
    assert peer.attempts == []


async def test_a_missing_bucket_fails_the_job_with_the_servers_reason(
    make_core: CoreFactory, peer: ProtocolPeer, s3_service: Any, video: Path
) -> None:
    core = await make_core(**s3_settings(s3_service, "no-such-bucket-here"))
    job = await core.pipeline.submit_file(video, "auto")
    done = await core.pipeline.wait_for(job.job_id, timeout_s=WAIT_S)
    assert done.error_code is ErrorCode.UPLOAD_ERROR
    assert "NoSuchBucket" in (done.error_message or "") or "404" in (done.error_message or "")


async def test_cancel_during_a_multipart_upload_aborts_it_on_the_server(
    make_core: CoreFactory, peer: ProtocolPeer, s3_service: Any, s3_bucket: str, tmp_path: Path
) -> None:
    video = await asyncio.to_thread(padded_video, tmp_path / "big.mp4", 40 * MIB)
    core = await make_core(
        **s3_settings(s3_service, s3_bucket, upload_part_size=5 * MIB, upload_concurrency=1)
    )
    cancel: asyncio.Future[asyncio.Task[Job]] = asyncio.get_running_loop().create_future()

    def cancel_at_the_first_bytes(event: object) -> None:
        if isinstance(event, UploadProgress) and event.bytes_done > 0 and not cancel.done():
            cancel.set_result(asyncio.create_task(core.pipeline.cancel(event.job_id)))

    core.bus.subscribe(cancel_at_the_first_bytes)
    await core.pipeline.submit_file(video, "auto")
    canceled = await asyncio.wait_for(await asyncio.wait_for(cancel, WAIT_S), WAIT_S)

    assert canceled.status is JobStatus.CANCELED
    await _assert_bucket_is_empty(s3_service, s3_bucket)
    assert peer.attempts == []


class CompletesThenHangs:
    """The S3 adapter, except that ``upload`` never returns after the upload completed: the
    state of a cancel that arrives while CompleteMultipartUpload is on its way back."""

    def __init__(self, storage: ObjectStorage) -> None:
        self._storage = storage
        self.completed = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)

    async def upload(self, *args: Any, **kwargs: Any) -> None:
        await self._storage.upload(*args, **kwargs)
        self.completed.set()
        await asyncio.Event().wait()


async def test_a_cancel_racing_the_completing_request_leaves_no_object(
    make_core: CoreFactory,
    peer: ProtocolPeer,
    s3_service: Any,
    s3_bucket: str,
    tmp_path: Path,
    settings_factory: Callable[..., Settings],
) -> None:
    video = await asyncio.to_thread(padded_video, tmp_path / "big.mp4", 11 * MIB)
    values = s3_settings(s3_service, s3_bucket, upload_part_size=5 * MIB)
    storage = CompletesThenHangs(S3Storage(settings_factory(**values)))
    core = await make_core(storage=storage, **values)

    job = await core.pipeline.submit_file(video, "auto")
    await asyncio.wait_for(storage.completed.wait(), WAIT_S)
    canceled = await core.pipeline.cancel(job.job_id)

    assert canceled.status is JobStatus.CANCELED
    await _assert_bucket_is_empty(s3_service, s3_bucket)
    assert peer.attempts == []


async def _assert_bucket_is_empty(s3_service: Any, bucket: str) -> None:
    client = s3_service.client()
    listing = await asyncio.to_thread(client.list_multipart_uploads, Bucket=bucket)
    assert listing.get("Uploads", []) == []
    objects = await asyncio.to_thread(client.list_objects_v2, Bucket=bucket)
    assert objects.get("KeyCount", 0) == 0


async def test_an_expired_video_url_fails_the_job_with_the_download_error(
    make_core: CoreFactory, peer: ProtocolPeer, s3_service: Any, s3_bucket: str, video: Path
) -> None:
    peer.download_delay_s = 2.5  # the ML server's queue outlasts the URL
    core = await make_core(**s3_settings(s3_service, s3_bucket, s3_presigned_url_expire=1))
    job = await core.pipeline.submit_file(video, "auto")
    done = await core.pipeline.wait_for(job.job_id, timeout_s=WAIT_S)
    assert done.error_code is ErrorCode.DOWNLOAD_ERROR
    assert "403" in (done.error_message or "")
