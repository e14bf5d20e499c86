"""The job pipeline end to end over real HTTP: the real job store, the real embedded backend
receiving signed callbacks, and a protocol peer standing in for the ML server. Storage is a
folder-backed fake here (use-case tests); the real adapters are in test_pipeline_storage."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from ecg_desktop.app.errors import PipelineError
from ecg_desktop.app.ports import InvalidInputFile
from ecg_desktop.bootstrap import Core
from ecg_desktop.domain import (
    ErrorCode,
    Event,
    Job,
    JobChanged,
    JobStatus,
    Stage,
    UploadProgress,
)
from ecg_desktop.store.job_locks import FileJobLocks
from tests.app.conftest import CoreFactory
from tests.app.cores import FAST_RETRIES
from tests.app.peer import ProtocolPeer, SlowDirStorage, sha256_of, size_of
from tests.media import make_corrupt_file, make_silent_video, make_video_without_audio

WAIT_S = 20


async def finished(core: Core, video: Path) -> Job:
    """The job of ``video`` once it has ended (completed, failed or canceled)."""
    job = await core.pipeline.submit_file(video, "auto")
    return await core.pipeline.wait_for(job.job_id, timeout_s=WAIT_S)


async def retried(core: Core, job_id: uuid.UUID) -> Job:
    """The retry of the ended job ``job_id``, once it has ended too."""
    retry = await core.pipeline.retry(job_id)
    return await core.pipeline.wait_for(retry.job_id, timeout_s=WAIT_S)


async def test_a_video_goes_through_upload_dispatch_and_callbacks_to_a_stored_transcript(
    make_core: CoreFactory,
    peer: ProtocolPeer,
    fake_storage: SlowDirStorage,
    video: Path,
    database_url: str,
) -> None:
    core = await make_core(storage=fake_storage, database_url=database_url)
    events: list[Event] = []
    core.bus.subscribe(events.append)

    job = await core.pipeline.submit_file(video, "en", owner="ana")
    done = await core.pipeline.wait_for(job.job_id, timeout_s=WAIT_S)

    assert done.status is JobStatus.COMPLETED, done.error_message
    assert done.stage is Stage.DONE and done.progress == 100 and done.speakers == 2
    assert done.file_key is not None and done.file_key.startswith("videos/ana/")
    assert done.file_key.endswith("_clip.mp4")
    sent = peer.jobs[str(job.job_id)]
    assert sent.request["language"] == "en"
    assert sent.request["fastapi_base_url"] == core.server_url
    # The peer downloaded exactly the bytes of the file through the dispatched URL.
    assert sent.video_sha256 == sha256_of(video)
    await _until(lambda: len(sent.callbacks) == 2)  # the peer reads the last answer
    assert [answer for _, answer in sent.callbacks] == [{"status": "received"}] * 2
    transcript = await core.store.get_transcript(job.job_id)
    assert transcript is not None and transcript.speaker_ids == ["SPEAKER_00", "SPEAKER_01"]

    stages = [
        e.job.stage for e in events if isinstance(e, JobChanged) and e.job.job_id == job.job_id
    ]
    for expected in (Stage.QUEUED, Stage.UPLOADING, Stage.UPLOADED, Stage.DISPATCHING, Stage.DONE):
        assert expected in stages
    progress = [e for e in events if isinstance(e, UploadProgress)]
    assert progress and progress[-1].bytes_done == progress[-1].bytes_total == size_of(video)


@pytest.mark.parametrize(
    "make",
    [
        lambda d: d / "missing.mp4",
        lambda d: make_corrupt_file(d / "noise.mp4"),
        lambda d: make_video_without_audio(d / "mute.mp4"),
        lambda d: _empty(d / "empty.mp4"),
    ],
    ids=["missing", "not-a-video", "no-audio", "empty"],
)
async def test_bad_input_is_refused_before_upload_and_stores_nothing(
    make_core: CoreFactory, fake_storage: SlowDirStorage, tmp_path: Path, make: object
) -> None:
    core = await make_core(storage=fake_storage)
    with pytest.raises(InvalidInputFile):
        await core.pipeline.submit_file(make(tmp_path), "auto")  # type: ignore[operator]
    assert fake_storage.uploads == []
    assert await core.store.count() == 0


async def test_a_job_locked_by_another_process_is_left_to_it_until_it_lets_go(
    make_core: CoreFactory, peer: ProtocolPeer, fake_storage: SlowDirStorage, video: Path
) -> None:
    # The window, ``serve`` and ``process`` share one store: a job runs where its lock is held.
    core = await make_core(storage=fake_storage)
    job = Job.new(filename=video.name, local_path=str(video), size_bytes=size_of(video),
                  content_type="video/mp4", language="en", owner="ana", host=core.pipeline.host,
                  installation=core.pipeline.installation, message="Waiting to upload")
    await core.store.add(job)
    other_process = FileJobLocks(core.settings.data_dir / "running")
    assert other_process.acquire(job.job_id)

    core.pipeline.resume(job.job_id)
    await _until(lambda: not core.pipeline.is_running(job.job_id))
    assert (await core.store.get(job.job_id)).stage is Stage.QUEUED
    assert fake_storage.uploads == [] and str(job.job_id) not in peer.jobs

    other_process.release(job.job_id)
    assert core.pipeline.resume(job.job_id)
    done = await core.pipeline.wait_for(job.job_id, timeout_s=WAIT_S)
    assert done.status is JobStatus.COMPLETED, done.error_message


async def _until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


async def test_ml_server_down_means_three_attempts_then_connection_error(
    make_core: CoreFactory, fake_storage: SlowDirStorage, video: Path
) -> None:
    core = await make_core(storage=fake_storage, model_server_url="http://127.0.0.1:9")
    done = await finished(core, video)
    assert done.status is JobStatus.FAILED
    assert done.error_code is ErrorCode.CONNECTION_ERROR
    assert "after 3 attempts" in (done.error_message or "")
    assert core.metrics.render().count("CONNECTION_ERROR") >= 1


async def test_ml_server_500_is_retried_then_fails_with_status_and_body(
    make_core: CoreFactory, peer: ProtocolPeer, fake_storage: SlowDirStorage, video: Path
) -> None:
    peer.dispatch_statuses = [500, 500, 500]
    core = await make_core(storage=fake_storage)
    done = await finished(core, video)
    assert len(peer.attempts) == 3
    gaps = [b - a for a, b in zip(peer.attempts, peer.attempts[1:], strict=False)]
    assert gaps[0] >= FAST_RETRIES[0] and gaps[1] >= FAST_RETRIES[1]
    assert done.error_code is ErrorCode.ML_SERVER_ERROR
    assert "HTTP 500" in (done.error_message or "")
    assert "peer refuses with 500" in (done.error_message or "")


async def test_ml_server_422_is_not_retried(
    make_core: CoreFactory, peer: ProtocolPeer, fake_storage: SlowDirStorage, video: Path
) -> None:
    peer.dispatch_statuses = [422]
    core = await make_core(storage=fake_storage)
    done = await finished(core, video)
    assert len(peer.attempts) == 1
    assert done.error_code is ErrorCode.ML_SERVER_ERROR
    assert "HTTP 422" in (done.error_message or "")


async def test_a_failed_callback_fails_the_job_with_the_servers_code(
    make_core: CoreFactory, peer: ProtocolPeer, fake_storage: SlowDirStorage, video: Path
) -> None:
    peer.behaviour = "fail"
    core = await make_core(storage=fake_storage)
    done = await finished(core, video)
    assert done.error_code is ErrorCode.DOWNLOAD_ERROR
    assert done.error_message == "HTTP 403 from the video URL"


async def test_retry_after_a_dispatch_failure_does_not_upload_again(
    make_core: CoreFactory, peer: ProtocolPeer, fake_storage: SlowDirStorage, video: Path
) -> None:
    peer.dispatch_statuses = [503, 503, 503]
    core = await make_core(storage=fake_storage)
    failed = await finished(core, video)
    assert failed.status is JobStatus.FAILED
    assert len(fake_storage.uploads) == 1

    done = await retried(core, failed.job_id)

    assert done.status is JobStatus.COMPLETED
    assert done.retry_of == failed.job_id and done.job_id != failed.job_id
    assert done.file_key == failed.file_key
    assert len(fake_storage.uploads) == 1  # the stored object was reused
    assert (await core.store.get(failed.job_id)).status is JobStatus.FAILED  # terminal stays


async def test_retry_uploads_again_when_the_object_is_gone(
    make_core: CoreFactory, peer: ProtocolPeer, fake_storage: SlowDirStorage, video: Path
) -> None:
    peer.dispatch_statuses = [422]
    core = await make_core(storage=fake_storage)
    failed = await finished(core, video)
    assert failed.file_key is not None
    await fake_storage.delete(failed.file_key)
    done = await retried(core, failed.job_id)
    assert done.status is JobStatus.COMPLETED
    assert len(fake_storage.uploads) == 2


async def test_a_running_job_cannot_be_retried(
    make_core: CoreFactory, peer: ProtocolPeer, fake_storage: SlowDirStorage, video: Path
) -> None:
    peer.behaviour = "silent"
    core = await make_core(storage=fake_storage)
    job = await core.pipeline.submit_file(video, "auto")
    with pytest.raises(PipelineError):
        await core.pipeline.retry(job.job_id)


async def test_cancel_during_upload_aborts_it_and_nothing_is_dispatched(
    make_core: CoreFactory, peer: ProtocolPeer, tmp_path: Path
) -> None:
    storage = SlowDirStorage(tmp_path / "objects", step_delay_s=0.1, part_size=1024)
    (tmp_path / "objects").mkdir()
    big = make_silent_video(tmp_path / "long.mp4", duration_s=20.0)
    core = await make_core(storage=storage)
    first_progress = asyncio.Event()
    core.bus.subscribe(lambda e: first_progress.set() if isinstance(e, UploadProgress) else None)

    job = await core.pipeline.submit_file(big, "auto")
    await asyncio.wait_for(first_progress.wait(), WAIT_S)
    canceled = await core.pipeline.cancel(job.job_id)

    assert canceled.status is JobStatus.CANCELED
    assert storage.aborted == [canceled.file_key]
    assert not (storage.root / str(canceled.file_key)).exists()
    assert peer.jobs == {} and peer.attempts == []
    assert not core.pipeline.is_running(job.job_id)


async def test_cancel_while_analyzing_marks_canceled_and_late_callbacks_change_nothing(
    make_core: CoreFactory, peer: ProtocolPeer, fake_storage: SlowDirStorage, video: Path
) -> None:
    peer.behaviour = "silent"
    core = await make_core(storage=fake_storage)
    job = await core.pipeline.submit_file(video, "auto")
    for _ in range(200):
        if (await core.store.get(job.job_id)).stage is Stage.ANALYZING:
            break
        await asyncio.sleep(0.05)
    canceled = await core.pipeline.cancel(job.job_id)
    assert canceled.status is JobStatus.CANCELED
    peer_job = peer.jobs[str(job.job_id)]
    await peer._callback(peer_job, {"status": "completed", "result": {"segments": []}})
    assert peer_job.callbacks == [(200, {"status": "already_canceled"})]
    assert (await core.store.get(job.job_id)).status is JobStatus.CANCELED


async def test_uploads_respect_the_parallel_limit(make_core: CoreFactory, tmp_path: Path) -> None:
    (tmp_path / "objects").mkdir()
    storage = SlowDirStorage(tmp_path / "objects", step_delay_s=0.05, part_size=16 * 1024)
    core = await make_core(storage=storage, max_parallel_uploads=1)
    videos = [make_silent_video(tmp_path / f"v{i}.mp4", duration_s=1.0) for i in range(3)]
    jobs = [await core.pipeline.submit_file(v, "auto") for v in videos]
    done = [await core.pipeline.wait_for(j.job_id, timeout_s=WAIT_S) for j in jobs]
    assert all(d.status is JobStatus.COMPLETED for d in done)
    assert storage.most_in_flight == 1


async def test_a_storage_failure_fails_the_job_with_the_servers_reason(
    make_core: CoreFactory, fake_storage: SlowDirStorage, video: Path
) -> None:
    fake_storage.fail_with = "403 SignatureDoesNotMatch: the request signature is wrong"
    core = await make_core(storage=fake_storage)
    done = await finished(core, video)
    assert done.error_code is ErrorCode.UPLOAD_ERROR
    assert "SignatureDoesNotMatch" in (done.error_message or "")


async def test_delete_removes_the_job_and_its_object(
    make_core: CoreFactory, fake_storage: SlowDirStorage, video: Path
) -> None:
    core = await make_core(storage=fake_storage)
    job = await core.pipeline.submit_file(video, "auto")
    done = await core.pipeline.wait_for(job.job_id, timeout_s=WAIT_S)
    assert done.file_key and await fake_storage.exists(done.file_key)
    await core.pipeline.delete(job.job_id, delete_object=True)
    assert await core.store.count() == 0
    assert not await fake_storage.exists(done.file_key)


async def test_submit_object_dispatches_without_upload(
    make_core: CoreFactory, peer: ProtocolPeer, fake_storage: SlowDirStorage, video: Path
) -> None:
    key = "videos/anonymous/20250101_000000_abcd1234_clip.mp4"
    (fake_storage.root / key).parent.mkdir(parents=True)
    shutil.copyfile(video, fake_storage.root / key)
    core = await make_core(storage=fake_storage)
    job = await core.pipeline.submit_object(key, "ko")
    done = await core.pipeline.wait_for(job.job_id, timeout_s=WAIT_S)
    assert done.status is JobStatus.COMPLETED
    assert fake_storage.uploads == []
    assert peer.jobs[str(job.job_id)].request["language"] == "ko"


async def test_retry_after_an_upload_failure_uploads_and_completes(
    make_core: CoreFactory, fake_storage: SlowDirStorage, video: Path
) -> None:
    fake_storage.fail_with = "503 SlowDown"
    core = await make_core(storage=fake_storage)
    failed = await finished(core, video)
    assert failed.error_code is ErrorCode.UPLOAD_ERROR
    fake_storage.fail_with = None
    done = await retried(core, failed.job_id)
    assert done.status is JobStatus.COMPLETED
    assert len(fake_storage.uploads) == 2


async def test_deleting_a_failed_job_keeps_the_video_its_retry_uses(
    make_core: CoreFactory, peer: ProtocolPeer, fake_storage: SlowDirStorage, video: Path
) -> None:
    peer.dispatch_statuses = [422]
    core = await make_core(storage=fake_storage)
    failed = await finished(core, video)
    second = await core.pipeline.retry(failed.job_id)
    await core.pipeline.wait_for(second.job_id, timeout_s=WAIT_S)
    await core.pipeline.delete(failed.job_id, delete_object=True)
    assert failed.file_key is not None and await fake_storage.exists(failed.file_key)
    await core.pipeline.delete(second.job_id, delete_object=True)
    assert not await fake_storage.exists(failed.file_key)
