"""Recovery at start-up and the callback watchdog, over the real store and real HTTP."""

from __future__ import annotations

import asyncio
import copy
import os
from pathlib import Path
from typing import Any

import pytest

from ecg_desktop.app.big_results import FetchedResult
from ecg_desktop.app.callbacks import LARGE_BODY
from ecg_desktop.bootstrap import Core
from ecg_desktop.domain import ErrorCode, Job, JobStatus, Stage, UploadProgress, normalize
from ecg_desktop.store.result_worker import ResultWorker
from tests.app.conftest import CoreFactory
from tests.app.peer import RESULT, ProtocolPeer, SlowDirStorage, sha256_of
from tests.media import make_silent_video
from tests.store.helpers import make_result

WAIT_S = 20


async def _analyzing(core: object, job_id: object) -> None:
    for _ in range(400):
        job = await core.store.get(job_id)  # type: ignore[attr-defined]
        if job.stage is Stage.ANALYZING:
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the job never reached the analyzing stage")


async def _submitted_and_analyzing(core: Core, video: Path) -> Job:
    """``video`` submitted and accepted by the ML server."""
    job = await core.pipeline.submit_file(video, "auto")
    await _analyzing(core, job.job_id)
    return job


async def test_watchdog_fetches_the_result_when_the_callback_never_arrived(
    make_core: CoreFactory,
    peer: ProtocolPeer,
    fake_storage: SlowDirStorage,
    video: Path,
    database_url: str,
) -> None:
    peer.behaviour = "silent"
    core = await make_core(storage=fake_storage, callback_watchdog_s=0.3, database_url=database_url)
    core.recovery.start_watchdog(interval_s=0.1)
    job = await _submitted_and_analyzing(core, video)
    peer.records[str(job.job_id)] = {"status": "completed", "result": RESULT}
    done = await core.pipeline.wait_for(job.job_id, timeout_s=WAIT_S)
    assert done.status is JobStatus.COMPLETED
    transcript = await core.store.get_transcript(job.job_id)
    assert transcript is not None and len(transcript.segments) == 2


async def test_watchdog_marks_callback_lost_when_the_server_has_no_record(
    make_core: CoreFactory, peer: ProtocolPeer, fake_storage: SlowDirStorage, video: Path
) -> None:
    peer.behaviour = "silent"
    core = await make_core(storage=fake_storage, callback_watchdog_s=0.3)
    core.recovery.start_watchdog(interval_s=0.1)
    job = await _submitted_and_analyzing(core, video)
    peer.records.clear()  # the ML server restarted and forgot its jobs
    done = await core.pipeline.wait_for(job.job_id, timeout_s=WAIT_S)
    assert done.error_code is ErrorCode.CALLBACK_LOST
    assert "no record" in (done.error_message or "")


async def test_a_server_that_works_on_the_job_keeps_it_alive(
    make_core: CoreFactory, peer: ProtocolPeer, fake_storage: SlowDirStorage, video: Path
) -> None:
    peer.behaviour = "silent"
    core = await make_core(storage=fake_storage, callback_watchdog_s=0.05)
    job = await _submitted_and_analyzing(core, video)
    await asyncio.sleep(0.1)
    peer.records[str(job.job_id)] = {"status": "processing", "progress": 55, "message": "Diarizing"}
    outcomes = await core.recovery.check_silent_jobs()
    assert outcomes == {job.job_id: "working"}
    now = await core.store.get(job.job_id)
    assert now.status is JobStatus.PROCESSING and now.progress == 55
    assert now.message == "Diarizing"


async def test_original_server_completed_without_offering_the_result_is_callback_lost(
    make_core: CoreFactory, peer: ProtocolPeer, fake_storage: SlowDirStorage, video: Path
) -> None:
    peer.behaviour = "silent"
    core = await make_core(storage=fake_storage, callback_watchdog_s=0.05)
    job = await _submitted_and_analyzing(core, video)
    peer.offer_result = False  # only /jobs/{id}, like the original WhisperX server
    peer.records[str(job.job_id)] = {"status": "completed"}
    await asyncio.sleep(0.1)
    assert await core.recovery.check_silent_jobs() == {job.job_id: "lost"}
    done = await core.store.get(job.job_id)
    assert done.error_code is ErrorCode.CALLBACK_LOST
    assert "never arrived" in (done.error_message or "")


async def test_a_failure_the_server_reports_is_recorded_with_its_code(
    make_core: CoreFactory, peer: ProtocolPeer, fake_storage: SlowDirStorage, video: Path
) -> None:
    peer.behaviour = "silent"
    core = await make_core(storage=fake_storage, callback_watchdog_s=0.05)
    job = await _submitted_and_analyzing(core, video)
    peer.records[str(job.job_id)] = {
        "status": "failed",
        "error_code": "TRANSCRIPTION_ERROR",
        "error_message": "decoder crashed",
    }
    await asyncio.sleep(0.1)
    await core.recovery.check_silent_jobs()
    done = await core.store.get(job.job_id)
    assert done.error_code is ErrorCode.TRANSCRIPTION_ERROR
    assert done.error_message == "decoder crashed"


async def test_an_unreachable_server_changes_nothing(
    make_core: CoreFactory, peer: ProtocolPeer, fake_storage: SlowDirStorage, video: Path
) -> None:
    peer.behaviour = "silent"
    core = await make_core(storage=fake_storage, callback_watchdog_s=0.05)
    job = await _submitted_and_analyzing(core, video)
    await peer.stop()
    await asyncio.sleep(0.1)
    assert await core.recovery.check_silent_jobs() == {job.job_id: "unreachable"}
    assert (await core.store.get(job.job_id)).status is JobStatus.PROCESSING


async def test_an_interrupted_upload_is_never_canceled_and_resumes_at_the_next_start(
    make_core: CoreFactory, peer: ProtocolPeer, tmp_path: Path, database_url: str
) -> None:
    root = tmp_path / "objects"
    root.mkdir()
    big = make_silent_video(tmp_path / "long.mp4", duration_s=20.0)
    slow = SlowDirStorage(root, step_delay_s=0.05, part_size=2048)
    first = await make_core(storage=slow, database_url=database_url)
    parts_done = asyncio.Event()
    first.bus.subscribe(
        lambda e: (
            parts_done.set() if isinstance(e, UploadProgress) and e.bytes_done >= 4 * 2048 else None
        )
    )
    job = await first.pipeline.submit_file(big, "auto")
    await asyncio.wait_for(parts_done.wait(), WAIT_S)
    await first.close()  # the app quits mid-upload

    fast = SlowDirStorage(root, part_size=2048)
    second = await make_core(storage=fast, database_url=database_url)
    interrupted = await second.store.get(job.job_id)
    assert interrupted.status is JobStatus.PENDING and interrupted.stage is Stage.UPLOADING
    assert interrupted.upload is not None and len(interrupted.upload.parts) >= 4

    report = await second.recovery.recover()
    assert report.resumed == [job.job_id]
    done = await second.pipeline.wait_for(job.job_id, timeout_s=WAIT_S)

    assert done.status is JobStatus.COMPLETED
    assert fast.resumed_from[0] is not None
    total_parts = -(-big.stat().st_size // 2048)
    assert fast.parts_sent <= total_parts - len(interrupted.upload.parts) + 1
    assert done.file_key is not None
    assert sha256_of(root / done.file_key) == sha256_of(big)


async def test_a_known_script_and_speaker_bounds_survive_a_restart_and_a_retry(
    make_core: CoreFactory, peer: ProtocolPeer, tmp_path: Path, database_url: str
) -> None:
    root = tmp_path / "objects"
    root.mkdir()
    video = make_silent_video(tmp_path / "scripted.mp4", duration_s=2.0)
    asked = {"transcript": "hello there. hi.", "min_speakers": 2, "max_speakers": 3}
    first = await make_core(
        storage=SlowDirStorage(root, step_delay_s=0.05, part_size=2048), database_url=database_url
    )
    job = await first.pipeline.submit_file(
        video, "auto", transcript="hello there. hi.", min_speakers=2, max_speakers=3
    )
    await first.close()  # the app quits before the dispatch

    second = await make_core(storage=SlowDirStorage(root), database_url=database_url)
    await second.recovery.recover()
    peer.behaviour = "fail"
    failed = await second.pipeline.wait_for(job.job_id, timeout_s=WAIT_S)
    retry = await second.pipeline.retry(failed.job_id)
    await second.pipeline.wait_for(retry.job_id, timeout_s=WAIT_S)

    for attempt in (job, retry):
        request = peer.jobs[str(attempt.job_id)].request
        assert {name: request.get(name) for name in asked} == asked


async def test_an_interrupted_upload_whose_file_is_gone_fails_saying_so(
    make_core: CoreFactory, peer: ProtocolPeer, tmp_path: Path
) -> None:
    root = tmp_path / "objects"
    root.mkdir()
    big = make_silent_video(tmp_path / "long.mp4", duration_s=20.0)
    first = await make_core(storage=SlowDirStorage(root, step_delay_s=0.05, part_size=2048))
    started = asyncio.Event()
    first.bus.subscribe(lambda e: started.set() if isinstance(e, UploadProgress) else None)
    job = await first.pipeline.submit_file(big, "auto")
    await asyncio.wait_for(started.wait(), WAIT_S)
    await first.close()
    big.unlink()

    second = await make_core(storage=SlowDirStorage(root))
    report = await second.recovery.recover()
    assert report.failed == [job.job_id]
    failed = await second.store.get(job.job_id)
    assert failed.error_code is ErrorCode.UPLOAD_ERROR and "is gone" in (failed.error_message or "")


async def test_a_job_analyzing_when_the_app_stopped_is_reconciled_at_start(
    make_core: CoreFactory, peer: ProtocolPeer, fake_storage: SlowDirStorage, video: Path
) -> None:
    peer.behaviour = "silent"
    first = await make_core(storage=fake_storage)
    job = await _submitted_and_analyzing(first, video)
    await first.close()
    peer.records[str(job.job_id)] = {"status": "completed", "result": RESULT}
    second = await make_core(storage=fake_storage)
    await second.start_services()
    done = await second.store.get(job.job_id)
    assert done.status is JobStatus.COMPLETED and done.speakers == 2


async def test_a_second_app_on_this_computer_leaves_a_running_upload_alone(
    make_core: CoreFactory, peer: ProtocolPeer, tmp_path: Path
) -> None:
    root = tmp_path / "objects"
    root.mkdir()
    big = make_silent_video(tmp_path / "long.mp4", duration_s=20.0)
    working = SlowDirStorage(root, step_delay_s=0.02, part_size=2048)
    first = await make_core(storage=working)
    started = asyncio.Event()
    first.bus.subscribe(lambda e: started.set() if isinstance(e, UploadProgress) else None)
    job = await first.pipeline.submit_file(big, "auto")
    await asyncio.wait_for(started.wait(), WAIT_S)

    other_storage = SlowDirStorage(root, part_size=2048)
    second = await make_core(storage=other_storage)  # e.g. the window opened meanwhile
    await second.recovery.recover()
    done = await first.pipeline.wait_for(job.job_id, timeout_s=WAIT_S)

    assert done.status is JobStatus.COMPLETED
    assert other_storage.uploads == []
    assert working.uploads == [done.file_key]
    assert len(peer.jobs) == 1


async def test_a_big_fetched_result_is_stored_by_the_result_worker(
    make_core: CoreFactory,
    peer: ProtocolPeer,
    fake_storage: SlowDirStorage,
    video: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handed: list[int] = []  # the size of each fetched result handed to the worker process
    run = ResultWorker.run

    async def counted(self: ResultWorker, work: Any, item: Any) -> Any:
        if isinstance(item, FetchedResult):
            handed.append(await asyncio.to_thread(os.path.getsize, item.result_file))
        return await run(self, work, item)

    monkeypatch.setattr(ResultWorker, "run", counted)
    peer.behaviour = "silent"
    core = await make_core(storage=fake_storage, callback_watchdog_s=0.05,
                           database_url=database_url)
    job = await _submitted_and_analyzing(core, video)
    big = make_result(segments=300, words_per_segment=20, speakers=3)  # 6,000 words
    bad = copy.deepcopy(big)
    bad["segments"][7]["end"] = -1.0
    peer.records[str(job.job_id)] = {"status": "completed", "result": big, "message": "Done"}
    await asyncio.sleep(0.1)

    assert await core.recovery.check_silent_jobs() == {job.job_id: "completed"}
    assert handed and handed[0] > LARGE_BODY
    done = await core.store.get(job.job_id)
    assert done.status is JobStatus.COMPLETED and done.message == "Done" and done.speakers == 3
    assert await core.store.get_transcript(job.job_id) == normalize(big)
    assert await core.store.get_raw_result(job.job_id) == big

    second = await _submitted_and_analyzing(core, video)
    peer.records[str(second.job_id)] = {"status": "completed", "result": bad}
    await asyncio.sleep(0.1)
    assert await core.recovery.check_silent_jobs() == {second.job_id: "failed"}
    failed = await core.store.get(second.job_id)
    assert failed.error_code is ErrorCode.PROCESSING_ERROR
    assert "invalid" in (failed.error_message or "")
    assert await core.store.get_raw_result(second.job_id) is None
