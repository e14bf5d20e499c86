"""``JobFeed`` alone: the stored jobs page in, events during the first page wait and win over
the stored state, and a job that ends is reported once (for the tray's notification)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ecg_desktop.domain import ErrorCode, Job, JobChanged, JobStatus
from ecg_desktop.gui import qt_job_feed
from ecg_desktop.gui.qt_job_feed import JobFeed
from ecg_desktop.gui.qt_job_model import QtJobModel
from ecg_desktop.store import SqlJobStore, open_store
from tests.gui.conftest import Runner


@pytest.fixture
def store(run: Runner, tmp_path: Path) -> Iterator[SqlJobStore]:
    opened = run(open_store(f"sqlite:///{tmp_path / 'jobs.db'}"))
    yield opened
    run(opened.close())


def test_pages_of_jobs_and_events_held_while_the_first_page_loads(
    run: Runner, store: SqlJobStore, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(qt_job_feed, "FIRST_PAGE", 3)
    monkeypatch.setattr(qt_job_feed, "PAGE", 4)
    jobs = [Job.new(filename=f"v{i}.mp4") for i in range(10)]
    for job in jobs:
        run(store.add(job))
    model = QtJobModel()
    ended: list[Job] = []
    feed = JobFeed(model, ended.append)
    newer = replace(jobs[0])
    newer.fail(ErrorCode.UPLOAD_ERROR, "the file is gone")

    async def load_with_an_event_meanwhile() -> None:
        loading = run.loop.create_task(feed.load(store))
        await asyncio.sleep(0)  # the load has started and waits for the store
        feed.apply(JobChanged(newer))  # arrives while the first page is read
        await loading

    run(load_with_an_event_meanwhile())
    assert model.rowCount() == 10
    shown = model.job(jobs[0].job_id)
    assert shown is not None and shown.status is JobStatus.FAILED  # the event's state won
    assert [j.job_id for j in ended] == [jobs[0].job_id]
    feed.apply(JobChanged(newer))
    assert len(ended) == 1, "an ended job is reported once"
