"""A team desktop dispatches through the team backend (``request-process`` with the job's id
and the member's API token): the backend signs with the team's secret, the desktop holds
none, only a job's owner can have it sent, and a revoked token cuts a member off."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from ecg_desktop.bootstrap import Core
from ecg_desktop.domain import ErrorCode, Job, JobStatus, Stage
from ecg_desktop.mlclient.backend import BackendDispatcher
from tests.app.peer import ProtocolPeer

from .conftest import BusRecorder, CoreFactory

pytestmark = pytest.mark.timeout(120)

TOKENS = ("ana:token-of-ana", "bo:token-of-bo", "token-without-a-name")
REQUEST_PROCESS = "/api/upload-video/request-process"


async def network_backend(make_core: CoreFactory, shared_storage: Any) -> Core:
    """A backend whose access rules are those of a network bind: every API call needs one of
    ``TOKENS`` (it still listens on loopback only)."""
    return await make_core(backend=True, storage=shared_storage(), bind_host="0.0.0.0",
                           api_tokens=TOKENS)


async def uploaded_job(core: Core, owner: str) -> Job:
    """A job a desktop of ``owner`` created and uploaded, not sent yet."""
    job = Job.new(filename="talk.mp4", file_key=f"videos/{owner}/talk.mp4", stage=Stage.UPLOADED,
                  owner=owner, host="laptop", installation="their-installation")
    await core.store.add(job)
    return job


async def ask_backend(core: Core, job: Job, token: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(
            core.callback_base_url() + REQUEST_PROCESS,
            json={"job_id": str(job.job_id), "fileKey": job.file_key, "language": "en"},
            headers={"Authorization": f"Bearer {token}"},
        )


async def test_a_desktop_without_the_webhook_secret_has_its_job_sent_and_completed_by_the_backend(
    make_core: CoreFactory, shared_storage: Any, peer: ProtocolPeer, video: Path
) -> None:
    backend = await network_backend(make_core, shared_storage)
    desktop = await make_core(user="ana", fastapi_base_url=backend.callback_base_url(),
                              storage=shared_storage(), team_token="token-of-ana",
                              webhook_secret_key="this-desktop-s-own-secret",
                              model_server_url="")
    assert isinstance(desktop.ml_client, BackendDispatcher)
    assert desktop.analyzer is None  # no bundled analyzer either: the backend dispatches
    seen = BusRecorder(desktop)

    job = await desktop.pipeline.submit_file(video)
    _, done = await seen.first(job.job_id, JobStatus.COMPLETED, timeout_s=60)

    sent = peer.jobs[str(job.job_id)]  # one dispatch, the backend's, with its address
    assert len(peer.jobs) == 1
    assert sent.request["fastapi_base_url"].rstrip("/") == backend.callback_base_url()
    assert [answer["status"] for _, answer in sent.callbacks][-1] == "received"
    stored = await backend.store.get(job.job_id)
    assert stored.installation == backend.pipeline.installation  # its watchdog's now
    assert stored.video_url is None and done.video_url is None  # no download link kept
    assert (stored.owner, stored.file_key) == ("ana", done.file_key)


async def test_only_the_owner_of_a_job_can_have_the_backend_send_it(
    make_core: CoreFactory, shared_storage: Any, peer: ProtocolPeer
) -> None:
    peer.behaviour = "silent"
    backend = await network_backend(make_core, shared_storage)
    job = await uploaded_job(backend, owner="ana")

    for token, status in (("token-of-bo", 403), ("token-without-a-name", 403),
                          ("not-a-token", 401)):
        answer = await ask_backend(backend, job, token)
        assert answer.status_code == status, answer.text
    assert peer.jobs == {}
    assert (await backend.store.get(job.job_id)).stage is Stage.UPLOADED

    first = await ask_backend(backend, job, "token-of-ana")
    again = await ask_backend(backend, job, "token-of-ana")  # a desktop asking twice

    assert (first.status_code, again.status_code) == (200, 200), (first.text, again.text)
    assert first.json()["job_id"] == str(job.job_id)
    assert list(peer.jobs) == [str(job.job_id)]  # adopted, not copied; sent once
    assert len(peer.attempts) == 1
    assert (await backend.store.count()) == 1


async def test_a_job_of_another_video_or_not_uploaded_is_refused(
    make_core: CoreFactory, shared_storage: Any, peer: ProtocolPeer
) -> None:
    backend = await network_backend(make_core, shared_storage)
    job = await uploaded_job(backend, owner="ana")
    async with httpx.AsyncClient(timeout=30) as client:
        other_video = await client.post(
            backend.callback_base_url() + REQUEST_PROCESS,
            json={"job_id": str(job.job_id), "fileKey": "videos/ana/other.mp4"},
            headers={"Authorization": "Bearer token-of-ana"},
        )
    uploading = Job.new(filename="b.mp4", owner="ana", stage=Stage.UPLOADING)
    await backend.store.add(uploading)

    not_uploaded = await ask_backend(backend, uploading, "token-of-ana")

    assert other_video.status_code == 400
    assert not_uploaded.status_code == 409
    assert peer.jobs == {}


async def test_a_revoked_token_cuts_a_member_off_with_a_clear_reason(
    make_core: CoreFactory, shared_storage: Any, peer: ProtocolPeer, video: Path
) -> None:
    backend = await network_backend(make_core, shared_storage)
    desktop = await make_core(user="cy", fastapi_base_url=backend.callback_base_url(),
                              storage=shared_storage(), team_token="token-of-a-former-member")
    seen = BusRecorder(desktop)

    job = await desktop.pipeline.submit_file(video)
    _, failed = await seen.first(job.job_id, JobStatus.FAILED, timeout_s=30)

    assert failed.error_code is ErrorCode.INVALID_REQUEST
    assert "API token" in (failed.error_message or "")
    assert peer.jobs == {}
    report = await desktop.ml_client.health()  # the status bar says why, too
    assert not report.healthy and "token" in (report.reason or "")


async def test_a_refusal_by_the_ml_server_fails_the_job_with_the_servers_reason(
    make_core: CoreFactory, shared_storage: Any, peer: ProtocolPeer, video: Path
) -> None:
    backend = await network_backend(make_core, shared_storage)
    desktop = await make_core(user="ana", fastapi_base_url=backend.callback_base_url(),
                              storage=shared_storage(), team_token="token-of-ana")
    peer.dispatch_statuses = [422]
    seen = BusRecorder(desktop)

    job = await desktop.pipeline.submit_file(video)
    _, failed = await seen.first(job.job_id, JobStatus.FAILED, timeout_s=30)

    assert failed.error_code is ErrorCode.ML_SERVER_ERROR
    assert "422" in (failed.error_message or "")
    await asyncio.sleep(0.2)
    assert (await desktop.store.get(job.job_id)).status is JobStatus.FAILED


async def test_a_cancel_on_the_desktop_reaches_the_ml_server_through_the_backend(
    make_core: CoreFactory, shared_storage: Any, peer: ProtocolPeer, video: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    peer.behaviour = "silent"
    backend = await network_backend(make_core, shared_storage)
    desktop = await make_core(user="ana", fastapi_base_url=backend.callback_base_url(),
                              storage=shared_storage(), team_token="token-of-ana")
    asked: list[tuple[str, Any]] = []

    async def cancel_on(server: str, job_id: Any) -> bool:
        asked.append((server, job_id))
        return True

    monkeypatch.setattr(backend.ml_client, "cancel_on", cancel_on)
    job = await desktop.pipeline.submit_file(video)
    for _ in range(500):
        if (await desktop.store.get(job.job_id)).stage is Stage.ANALYZING:
            break
        await asyncio.sleep(0.02)

    canceled = await desktop.pipeline.cancel(job.job_id)

    assert canceled.status is JobStatus.CANCELED
    for _ in range(250):
        if asked:
            break
        await asyncio.sleep(0.02)
    assert asked == [(peer.url, job.job_id)]


async def test_a_backend_that_cannot_be_reached_fails_the_job_after_the_retries(
    make_core: CoreFactory, shared_storage: Any, peer: ProtocolPeer, video: Path
) -> None:
    desktop = await make_core(user="ana", fastapi_base_url="http://127.0.0.1:9",
                              storage=shared_storage(), team_token="token-of-ana")
    seen = BusRecorder(desktop)

    job = await desktop.pipeline.submit_file(video)
    _, failed = await seen.first(job.job_id, JobStatus.FAILED, timeout_s=30)

    assert failed.error_code is ErrorCode.CONNECTION_ERROR
    assert "team backend" in (failed.error_message or "")
    assert "after 3 attempts" in (failed.error_message or "")
    assert peer.jobs == {}
