"""Jobs in the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ecg_desktop.app.ports import JobQuery
from ecg_desktop.domain import (
    ErrorCode,
    IllegalTransition,
    Job,
    JobNotFound,
    JobStatus,
    Stage,
    UploadState,
)
from ecg_desktop.store import JobExists, SqlJobStore, head_revision
from tests.store.helpers import make_result, record


def _full_job() -> Job:
    job = Job.new(
        filename="Interview 3 (final).mp4",
        local_path="/home/ana/videos/Interview 3 (final).mp4",
        size_bytes=5_000_000_000,
        content_type="video/mp4",
        duration_s=3600.5,
        language="ko",
        owner="ana",
        host="laptop-7",
    )
    job.start_upload(
        "videos/ana/20250101_000000_abcd1234_Interview_3.mp4",
        UploadState("upload-1", 64 * 2**20, 5_000_000_000, 1_700_000_000_123_456_789),
    )
    job.record_part(1, '"etag-1"')
    job.record_part(3, '"etag-3"')
    return job


async def test_a_job_comes_back_as_it_was_stored(store: SqlJobStore) -> None:
    job = _full_job()
    await store.add(job)
    assert await store.get(job.job_id) == job


async def test_the_schema_is_at_the_newest_migration(store: SqlJobStore) -> None:
    assert await store.current_revision() == head_revision()


async def test_an_unknown_job_raises_job_not_found(store: SqlJobStore) -> None:
    missing = uuid.uuid4()
    with pytest.raises(JobNotFound):
        await store.get(missing)
    with pytest.raises(JobNotFound):
        await store.update(missing, lambda job: job.cancel())
    with pytest.raises(JobNotFound):
        await store.delete(missing)
    with pytest.raises(JobNotFound):
        await store.get_transcript(missing)
    with pytest.raises(JobNotFound):
        await store.get_raw_result(missing)


async def test_adding_the_same_job_twice_is_refused(store: SqlJobStore) -> None:
    job = Job.new(filename="a.mp4")
    await store.add(job)
    with pytest.raises(JobExists):
        await store.add(job)
    assert await store.count() == 1


async def test_update_applies_a_move_and_stamps_the_time(store: SqlJobStore) -> None:
    job = _full_job()
    await store.add(job)
    await store.update(job.job_id, lambda j: j.mark_uploaded(j.file_key or ""))
    updated = await store.update(job.job_id, lambda j: j.mark_dispatched("https://x/v.mp4"))
    assert updated.status is JobStatus.PROCESSING and updated.stage is Stage.ANALYZING
    stored = await store.get(job.job_id)
    assert stored == updated
    assert stored.upload is None and stored.video_url == "https://x/v.mp4"
    assert stored.updated_at >= job.updated_at


async def test_an_illegal_move_changes_nothing(store: SqlJobStore) -> None:
    job = Job.new(filename="a.mp4")
    await store.add(job)
    await store.update(job.job_id, lambda j: j.fail(ErrorCode.UPLOAD_ERROR, "disk gone"))
    before = await store.get(job.job_id)
    with pytest.raises(IllegalTransition):
        await store.update(job.job_id, lambda j: j.report_progress(50))
    with pytest.raises(IllegalTransition):
        await store.update(job.job_id, lambda j: j.complete(), result=record(make_result()))
    assert await store.get(job.job_id) == before
    assert await store.get_transcript(job.job_id) is None
    assert await store.get_raw_result(job.job_id) is None


async def test_a_change_that_raises_midway_is_rolled_back(store: SqlJobStore) -> None:
    job = Job.new(filename="a.mp4")
    await store.add(job)

    def half_done(j: Job) -> None:
        j.message = "half"
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await store.update(job.job_id, half_done)
    assert (await store.get(job.job_id)).message == ""


async def test_delete_removes_the_job_and_its_transcript(store: SqlJobStore) -> None:
    keep, gone = Job.new(filename="keep.mp4"), Job.new(filename="gone.mp4")
    for job in (keep, gone):
        await store.add(job)
        await store.update(job.job_id, lambda j: j.start_dispatch())
        await store.update(job.job_id, lambda j: j.complete(2), result=record(make_result()))
    await store.delete(gone.job_id)
    with pytest.raises(JobNotFound):
        await store.get(gone.job_id)
    with pytest.raises(JobNotFound):
        await store.get_transcript(gone.job_id)
    assert [j.job_id for j in await store.list()] == [keep.job_id]
    assert await store.get_transcript(keep.job_id) is not None


async def test_list_filters_pages_and_counts(store: SqlJobStore) -> None:
    base = datetime(2025, 1, 1, tzinfo=UTC)
    jobs = []
    for i in range(12):
        job = Job.new(
            filename=f"{'Meeting' if i % 3 == 0 else 'clip'}_{i:02d}.mp4",
            owner="ana" if i % 2 else "ben",
            created_at=base + timedelta(minutes=i),
            file_key=f"videos/{'ana' if i % 2 else 'ben'}/k{i:02d}_x.mp4",
        )
        if i % 4 == 0:
            job.cancel()
        jobs.append(job)
        await store.add(job)
    newest_first = [j.job_id for j in sorted(jobs, key=lambda j: j.created_at, reverse=True)]

    assert [j.job_id for j in await store.list()] == newest_first
    page1 = await store.list(JobQuery(limit=5))
    page2 = await store.list(JobQuery(limit=5, offset=5))
    page3 = await store.list(JobQuery(limit=5, offset=10))
    assert [j.job_id for j in page1 + page2 + page3] == newest_first
    assert len(page3) == 2

    canceled = await store.list(JobQuery(status=JobStatus.CANCELED))
    assert {j.job_id for j in canceled} == {jobs[i].job_id for i in (0, 4, 8)}
    assert await store.count(JobQuery(status=JobStatus.CANCELED)) == 3
    assert await store.count(JobQuery(status=JobStatus.COMPLETED)) == 0

    mine = await store.list(JobQuery(owner="ana"))
    assert all(j.owner == "ana" for j in mine) and len(mine) == 6

    meetings = await store.list(JobQuery(text="meeting"))  # case-insensitive
    assert {j.filename for j in meetings} == {"Meeting_00.mp4", "Meeting_03.mp4",
                                              "Meeting_06.mp4", "Meeting_09.mp4"}
    by_key = await store.list(JobQuery(text="K07_"))
    assert [j.filename for j in by_key] == ["clip_07.mp4"]
    assert await store.count(JobQuery(text="%")) == 0  # wildcards are literal
    assert await store.count(JobQuery(owner="ben", status=JobStatus.CANCELED)) == 3


async def test_changed_since_lists_what_a_reconnected_desktop_missed(
    store: SqlJobStore,
) -> None:
    old, changed = Job.new(filename="old.mp4"), Job.new(filename="changed.mp4")
    await store.add(old)
    await store.add(changed)
    seen_until = (await store.get(changed.job_id)).updated_at
    await store.update(changed.job_id, lambda j: j.cancel())
    assert [j.job_id for j in await store.changed_since(seen_until)] == [changed.job_id]


def test_describe_never_shows_a_password() -> None:
    store = SqlJobStore("postgresql+psycopg://ana:s3cret@db.example:5432/ecg")
    assert store.describe() == "PostgreSQL db.example/ecg"
    assert "s3cret" not in store.url and "s3cret" not in repr(store)


def test_sqlite_describe_names_the_file(tmp_path: object) -> None:
    store = SqlJobStore(f"sqlite:///{tmp_path}/jobs.db")
    assert store.describe() == f"SQLite {tmp_path}/jobs.db"
