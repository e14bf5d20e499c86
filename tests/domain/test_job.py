"""The job state machine: every legal and illegal move."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from ecg_desktop.domain import (
    ErrorCode,
    IllegalTransition,
    Job,
    JobStatus,
    Stage,
    UploadState,
)

KEY = "videos/ana/20250101_000000_abcd1234_a.mp4"


def _upload() -> UploadState:
    return UploadState("up-1", 5 * 2**20, 12 * 2**20, 1)


def _pending() -> Job:
    return Job.new(filename="a.mp4")


def _processing() -> Job:
    job = _pending()
    job.start_upload(KEY, _upload())
    job.mark_uploaded(KEY)
    job.mark_dispatched("https://storage/a.mp4")
    return job


def _completed() -> Job:
    job = _processing()
    job.complete(2)
    return job


def _failed() -> Job:
    job = _processing()
    job.fail(ErrorCode.TRANSCRIPTION_ERROR, "model crashed")
    return job


def _canceled() -> Job:
    job = _pending()
    job.cancel()
    return job


STATES: dict[JobStatus, Callable[[], Job]] = {
    JobStatus.PENDING: _pending,
    JobStatus.PROCESSING: _processing,
    JobStatus.COMPLETED: _completed,
    JobStatus.FAILED: _failed,
    JobStatus.CANCELED: _canceled,
}

MOVES: dict[str, Callable[[Job], None]] = {
    "start_upload": lambda j: j.start_upload(KEY, _upload()),
    "mark_uploaded": lambda j: j.mark_uploaded(KEY),
    "start_dispatch": lambda j: j.start_dispatch(),
    "mark_dispatched": lambda j: j.mark_dispatched("https://v"),
    "report_progress": lambda j: j.report_progress(40, "transcribing"),
    "complete": lambda j: j.complete(3),
    "fail": lambda j: j.fail(ErrorCode.PROCESSING_ERROR, "x"),
    "cancel": lambda j: j.cancel(),
}

# (status before, move) -> status after; anything missing must raise IllegalTransition.
LEGAL: dict[tuple[JobStatus, str], JobStatus] = {
    (JobStatus.PENDING, "start_upload"): JobStatus.PENDING,
    (JobStatus.PENDING, "mark_uploaded"): JobStatus.PENDING,
    (JobStatus.PENDING, "start_dispatch"): JobStatus.PROCESSING,
    (JobStatus.PENDING, "mark_dispatched"): JobStatus.PROCESSING,
    (JobStatus.PENDING, "report_progress"): JobStatus.PROCESSING,
    (JobStatus.PENDING, "fail"): JobStatus.FAILED,
    (JobStatus.PENDING, "cancel"): JobStatus.CANCELED,
    (JobStatus.PROCESSING, "start_upload"): JobStatus.PROCESSING,
    (JobStatus.PROCESSING, "mark_uploaded"): JobStatus.PROCESSING,
    (JobStatus.PROCESSING, "start_dispatch"): JobStatus.PROCESSING,
    (JobStatus.PROCESSING, "mark_dispatched"): JobStatus.PROCESSING,
    (JobStatus.PROCESSING, "report_progress"): JobStatus.PROCESSING,
    (JobStatus.PROCESSING, "complete"): JobStatus.COMPLETED,
    (JobStatus.PROCESSING, "fail"): JobStatus.FAILED,
    (JobStatus.PROCESSING, "cancel"): JobStatus.CANCELED,
}


@pytest.mark.parametrize("status", list(STATES))
@pytest.mark.parametrize("move", list(MOVES))
def test_every_move_from_every_status(status: JobStatus, move: str) -> None:
    job = STATES[status]()
    assert job.status is status
    expected = LEGAL.get((status, move))
    if expected is None:
        before = copy.copy(job)
        with pytest.raises(IllegalTransition):
            MOVES[move](job)
        assert job == before  # an illegal move changes nothing
    else:
        MOVES[move](job)
        assert job.status is expected


@pytest.mark.parametrize("status", [s for s in JobStatus if s.is_terminal])
def test_a_terminal_job_never_changes(status: JobStatus) -> None:
    job = STATES[status]()
    snapshot = repr(job)
    for move in MOVES.values():
        with pytest.raises(IllegalTransition):
            move(job)
    with pytest.raises(IllegalTransition):
        job.record_part(1, "e")
    assert repr(job) == snapshot


def test_progress_only_rises_and_keeps_the_stage_message() -> None:
    job = _processing()
    job.report_progress(60, "diarizing")
    job.report_progress(30, "late callback")
    assert job.progress == 60 and job.message == "late callback"
    job.report_progress(80)
    assert job.progress == 80 and job.message == "late callback"
    with pytest.raises(ValueError):
        job.report_progress(101)
    with pytest.raises(ValueError):
        job.report_progress(-1)
    job.complete()
    assert job.progress == 100 and job.stage is Stage.DONE


def test_failure_records_code_and_message() -> None:
    job = _processing()
    job.fail(ErrorCode.DIARIZATION_ERROR, "no speakers")
    assert (job.error_code, job.error_message) == (ErrorCode.DIARIZATION_ERROR, "no speakers")
    assert job.completed_at is not None


def test_upload_parts_are_recorded_for_resume() -> None:
    job = _pending()
    with pytest.raises(IllegalTransition):
        job.record_part(1, "e1")  # no upload started
    job.start_upload(KEY, UploadState("up", 4, 10, 7))
    job.record_part(1, "e1")
    job.record_part(3, "e3")
    assert job.upload is not None and job.upload.parts == {1: "e1", 3: "e3"}
    assert job.upload.bytes_done == 4 + 2  # a full part and the 2-byte tail
    job.mark_uploaded(KEY)
    assert job.upload is None and job.stage is Stage.UPLOADED


def test_retry_is_a_new_job_that_keeps_the_stored_video() -> None:
    failed = _failed()
    retry = failed.retry()
    assert retry.job_id != failed.job_id and retry.retry_of == failed.job_id
    assert retry.status is JobStatus.PENDING and retry.stage is Stage.UPLOADED
    assert retry.file_key == failed.file_key == KEY
    assert retry.progress == 0 and retry.error_code is None and retry.video_url is None
    assert failed.status is JobStatus.FAILED  # the old attempt is untouched


def test_retry_of_an_interrupted_upload_resumes_it() -> None:
    job = _pending()
    job.start_upload(KEY, _upload())
    job.record_part(1, "e1")
    job.cancel()
    retry = job.retry()
    assert retry.stage is Stage.QUEUED and retry.upload == job.upload
    assert retry.file_key == KEY


@pytest.mark.parametrize("make", [_pending, _processing, _completed])
def test_only_failed_or_canceled_jobs_retry(make: Callable[[], Job]) -> None:
    with pytest.raises(IllegalTransition):
        make().retry()
