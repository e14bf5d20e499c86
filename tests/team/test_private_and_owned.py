"""Each member's private data stays theirs (no download links in the shared store, no local
paths of another member's computer shown), and each installation looks after its own jobs
(a stable id in its data folder, not the host name)."""

from __future__ import annotations

import asyncio
import json
import socket
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from ecg_desktop.cli import main
from ecg_desktop.config.installation import INSTALLATION_FILE, installation_id
from ecg_desktop.domain import Job, JobStatus, Stage

from .conftest import BusRecorder, CoreFactory

pytestmark = pytest.mark.timeout(120)


def test_the_installation_id_is_made_once_private_and_kept(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    with ThreadPoolExecutor(4) as pool:  # four processes starting at once agree
        ids = set(pool.map(lambda _: installation_id(folder), range(4)))

    assert len(ids) == 1
    assert installation_id(folder) in ids  # and it is kept
    assert stat.S_IMODE((folder / INSTALLATION_FILE).stat().st_mode) == 0o600
    assert installation_id(tmp_path / "another user's data") not in ids
    assert [p.name for p in folder.iterdir()] == [INSTALLATION_FILE]  # no temporary left


async def test_recovery_leaves_another_installations_upload_alone_on_the_same_host(
    make_core: CoreFactory, shared_storage: Any, video: Path
) -> None:
    ana = await make_core(user="ana", storage=shared_storage())
    bo = await make_core(user="bo", storage=shared_storage())  # same computer name
    assert ana.pipeline.host == bo.pipeline.host == socket.gethostname()
    stuck = Job.new(filename=video.name, local_path=str(video), stage=Stage.UPLOADING,
                    owner="ana", host=socket.gethostname(),
                    installation=ana.pipeline.installation)
    await ana.store.add(stuck)

    report = await bo.recovery.recover()

    assert stuck.job_id not in report.resumed
    assert (await bo.store.get(stuck.job_id)).stage is Stage.UPLOADING
    assert not bo.pipeline.is_running(stuck.job_id)
    mine = await ana.recovery.recover()
    assert stuck.job_id in mine.resumed
    ended = await ana.pipeline.wait_for(stuck.job_id, timeout_s=30)  # (no backend to send to)
    assert ended.file_key is not None and ended.upload is None  # its upload was finished


async def test_a_job_from_before_installation_ids_goes_by_host_name(
    make_core: CoreFactory, shared_storage: Any, video: Path
) -> None:
    ana = await make_core(user="ana", storage=shared_storage())
    here = Job.new(filename=video.name, local_path=str(video), stage=Stage.UPLOADING,
                   owner="ana", host=socket.gethostname())
    elsewhere = Job.new(filename=video.name, local_path=str(video), stage=Stage.UPLOADING,
                        owner="ana", host="another-laptop")
    for job in (here, elsewhere):
        await ana.store.add(job)

    report = await ana.recovery.recover()

    assert here.job_id in report.resumed and elsewhere.job_id not in report.resumed


async def test_another_members_job_shows_no_local_path_and_no_link_is_stored(
    make_core: CoreFactory,
    shared_storage: Any,
    video: Path,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    backend = await make_core(backend=True, storage=shared_storage())
    url = backend.callback_base_url()
    ana = await make_core(user="ana", fastapi_base_url=url, storage=shared_storage())
    bo = await make_core(user="bo", fastapi_base_url=url, storage=shared_storage())
    seen_by_bo = BusRecorder(bo)

    job = await ana.pipeline.submit_file(video)
    await seen_by_bo.first(job.job_id, JobStatus.COMPLETED)
    path_on_anas_computer = job.local_path

    assert all(shown.local_path is None for _, shown in seen_by_bo.changes(job.job_id))
    assert path_on_anas_computer and path_on_anas_computer.endswith(video.name)
    assert (await ana.store.get(job.job_id)).local_path == path_on_anas_computer
    engine = create_async_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            links = (await connection.execute(sa.text("SELECT video_url FROM jobs"))).all()
    finally:
        await engine.dispose()
    assert links == [(None,)]

    listed = {}
    for user in ("bo", "ana"):
        monkeypatch.setenv("DATABASE_URL", postgres_url)
        monkeypatch.setenv("ECG_USER", user)
        assert await asyncio.to_thread(main, ["jobs", "list", "--json"]) == 0
        listed[user] = json.loads(capfd.readouterr().out)
    assert [(j["owner"], j["local_path"], j["video_url"]) for j in listed["bo"]] == [
        ("ana", None, None)]
    assert listed["ana"][0]["local_path"] == path_on_anas_computer


async def test_the_window_loads_another_members_job_without_its_local_path(qtbot: Any) -> None:
    from ecg_desktop.app.ports import JobQuery
    from ecg_desktop.gui.qt_job_feed import JobFeed
    from ecg_desktop.gui.qt_job_model import QtJobModel

    mine = Job.new(filename="a.mp4", owner="ana", local_path="/home/ana/a.mp4")
    theirs = Job.new(filename="b.mp4", owner="bo", local_path="/home/bo/private/b.mp4")

    class Store:
        async def list(self, query: JobQuery) -> list[Job]:
            return [mine, theirs][query.offset:query.offset + query.limit]

    model = QtJobModel()
    await JobFeed(model, lambda job: None).load(Store(), viewer="ana")  # type: ignore[arg-type]

    assert (model.job(mine.job_id) or mine).local_path == "/home/ana/a.mp4"
    shown = model.job(theirs.job_id)
    assert shown is not None and shown.local_path is None


async def test_a_teammates_video_plays_from_a_link_made_when_needed() -> None:
    from ecg_desktop.app.ports import StorageError
    from ecg_desktop.app.team import PLAYBACK_LINK_S, playable_source

    asked: list[tuple[str, int]] = []

    class Storage:
        fails = False

        async def presign_get(self, key: str, expires_s: int) -> str:
            if self.fails:
                raise StorageError("the bucket is away")
            asked.append((key, expires_s))
            return f"https://s3.example/{key}?signed"

    storage = Storage()
    theirs = Job.new(filename="b.mp4", owner="bo", file_key="videos/bo/b.mp4")

    link = await playable_source(theirs, storage)  # type: ignore[arg-type]

    assert link == "https://s3.example/videos/bo/b.mp4?signed"
    assert asked == [("videos/bo/b.mp4", PLAYBACK_LINK_S)]
    assert await playable_source(Job.new(owner="bo"), storage) is None  # type: ignore[arg-type]
    storage.fails = True
    assert await playable_source(theirs, storage) is None  # type: ignore[arg-type]
