"""A store made by the seed's backend (revision 0001) upgrades in place and keeps every job."""

from __future__ import annotations

import json
import uuid
from typing import TypedDict

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from ecg_desktop.domain import JobStatus, Stage, normalize
from ecg_desktop.store import SqlJobStore, head_revision, open_store
from tests.store.helpers import make_result


class SeedRow(TypedDict):
    """A row of the seed's ``jobs`` table (revision 0001)."""

    job_id: uuid.UUID
    status: str
    progress: int | None
    video_url: str | None
    file_key: str | None
    result: str | None
    error_message: str | None


async def _seed_rows(url: str, rows: list[SeedRow]) -> None:
    engine = create_async_engine(url)
    is_pg = engine.dialect.name == "postgresql"
    statement = sa.text(
        "INSERT INTO jobs (job_id, status, progress, video_url, file_key, result, error_message)"
        " VALUES (:job_id, :status, :progress, :video_url, :file_key, "
        + ("CAST(:result AS jsonb)" if is_pg else ":result")
        + ", :error_message)"
    )
    async with engine.begin() as conn:
        for row in rows:
            key = row["job_id"] if is_pg else row["job_id"].hex
            await conn.execute(statement, {**row, "job_id": key})
    await engine.dispose()


async def test_upgrading_a_seed_store_keeps_every_job(database_url: str) -> None:
    store = await SqlJobStore.open(database_url, migrate=False)
    await store.upgrade("0001")
    await store.close()
    raw = make_result(segments=3)
    seed_jobs: list[SeedRow] = [
        {"job_id": uuid.uuid4(), "status": "completed", "progress": 100,
         "video_url": "https://s3/v1", "file_key": "videos/a/1.mp4", "result": json.dumps(raw),
         "error_message": None},
        {"job_id": uuid.uuid4(), "status": "processing", "progress": 45,
         "video_url": "https://s3/v2", "file_key": "videos/a/2.mp4", "result": None,
         "error_message": None},
        {"job_id": uuid.uuid4(), "status": "failed", "progress": 0, "video_url": None,
         "file_key": "videos/b/3.mp4", "result": None,
         "error_message": "TIMEOUT_ERROR: ML server did not answer"},
        {"job_id": uuid.uuid4(), "status": "pending", "progress": None, "video_url": None,
         "file_key": None, "result": None, "error_message": None},
    ]
    await _seed_rows(database_url, seed_jobs)

    store = await open_store(database_url)
    try:
        assert await store.current_revision() == head_revision()
        assert await store.count() == len(seed_jobs)
        for seed in seed_jobs:
            job = await store.get(seed["job_id"])
            assert job.status == JobStatus(seed["status"])
            assert job.progress == (seed["progress"] or 0)
            assert job.file_key == seed["file_key"]
            assert job.video_url is None  # a stored download link is dropped (revision 0006)
            assert job.error_message == seed["error_message"]
        completed = seed_jobs[0]["job_id"]
        assert (await store.get(completed)).stage is Stage.DONE
        assert await store.get_raw_result(completed) == raw
        assert await store.get_transcript(completed) == normalize(raw)
        # The upgraded jobs move on as new ones do.
        processing = seed_jobs[1]["job_id"]
        moved = await store.update(processing, lambda j: j.report_progress(60))
        assert moved.progress == 60
    finally:
        await store.close()


async def test_opening_again_is_a_no_op(database_url: str) -> None:
    first = await open_store(database_url)
    from ecg_desktop.domain import Job

    job = Job.new(filename="a.mp4")
    await first.add(job)
    await first.close()
    second = await open_store(database_url)
    try:
        assert await second.get(job.job_id) == job
    finally:
        await second.close()
