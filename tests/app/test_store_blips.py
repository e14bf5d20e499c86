"""A job store blip during an upload does not fail the job: the run starts again from the
stored stage after a short wait; and a job left stalled in any stage before analysis (the
store stayed away) is taken up again by the watchdog, as at start-up."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import ecg_desktop.app.pipeline as pipeline_module
from ecg_desktop.domain import Job, JobStatus, Stage
from ecg_desktop.store import StoreUnavailable
from tests.app.conftest import CoreFactory
from tests.app.peer import SlowDirStorage

WAIT_S = 30


async def test_a_store_blip_during_the_upload_is_retried_not_failed(
    make_core: CoreFactory, fake_storage: SlowDirStorage, video: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pipeline_module, "STORE_RETRY_DELAYS_S", (0.05, 0.1))
    core = await make_core(storage=fake_storage)
    real_update = core.store.update
    blips: list[uuid.UUID] = []

    async def update(job_id: uuid.UUID, change: Callable[[Job], None], **kw: Any) -> Job:
        current = await core.store.get(job_id)
        if current.stage is Stage.UPLOADING and len(blips) < 2:
            blips.append(job_id)  # the database restarts just as the upload reports
            raise StoreUnavailable("sqlite:///jobs.db", "database is restarting")
        return await real_update(job_id, change, **kw)

    monkeypatch.setattr(core.store, "update", update)

    job = await core.pipeline.submit_file(video, "auto")
    done = await core.pipeline.wait_for(job.job_id, timeout_s=WAIT_S)

    assert len(blips) == 2
    assert done.status is JobStatus.COMPLETED, (done.error_code, done.error_message)


async def test_the_watchdog_takes_up_a_job_stalled_before_analysis(
    make_core: CoreFactory, fake_storage: SlowDirStorage, video: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    core = await make_core(storage=fake_storage)
    pipeline = core.pipeline
    stalled = Job.new(local_path=str(video), filename=video.name, owner=pipeline_owner(core),
                      host=pipeline.host, installation=pipeline.installation)
    await core.store.add(stalled)
    assert stalled.stage is Stage.QUEUED  # never started: its run gave up on the store
    assert not pipeline.is_running(stalled.job_id)
    later = core.recovery._now() + timedelta(seconds=core.settings.callback_watchdog_s + 1)
    monkeypatch.setattr(core.recovery, "_now", lambda: later)

    outcomes = await core.recovery.check_silent_jobs()

    assert outcomes[stalled.job_id] == "resumed"
    done = await pipeline.wait_for(stalled.job_id, timeout_s=WAIT_S)
    assert done.status is JobStatus.COMPLETED


def pipeline_owner(core: Any) -> str:
    from ecg_desktop.app.pipeline import os_user_name

    return str(core.settings.user_name or os_user_name())
