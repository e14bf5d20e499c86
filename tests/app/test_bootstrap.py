"""What build_core gives every entry point: addresses for callbacks and a clean shutdown."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ecg_desktop.bootstrap import CallbackUrlUnknown
from ecg_desktop.domain import ErrorCode, JobStatus
from tests.app.conftest import CoreFactory
from tests.app.peer import SlowDirStorage


async def test_callbacks_go_to_fastapi_base_url_when_it_is_set(make_core: CoreFactory) -> None:
    core = await make_core(fastapi_base_url="https://backend.example.org/")
    assert core.callback_base_url() == "https://backend.example.org"


async def test_without_a_server_or_fastapi_base_url_a_dispatch_fails_clearly(
    make_core: CoreFactory, fake_storage: SlowDirStorage, video: Path
) -> None:
    core = await make_core(storage=fake_storage, start_server=False)
    with pytest.raises(CallbackUrlUnknown):
        core.callback_base_url()
    job = await core.pipeline.submit_file(video, "auto")
    done = await core.pipeline.wait_for(job.job_id, timeout_s=20)
    assert done.status is JobStatus.FAILED and done.error_code is ErrorCode.UNKNOWN_ERROR
    assert "FASTAPI_BASE_URL" in (done.error_message or "")


async def test_a_remote_ml_server_with_a_loopback_callback_address_is_warned_about(
    make_core: CoreFactory, caplog: pytest.LogCaptureFixture
) -> None:
    core = await make_core(model_server_url="http://10.20.30.40:8001")
    with caplog.at_level(logging.WARNING, logger="ecg_desktop.bootstrap"):
        assert core.callback_base_url() == core.server_url
        core.callback_base_url()
    warnings = [r for r in caplog.records if "FASTAPI_BASE_URL" in r.getMessage()]
    assert len(warnings) == 1


async def test_close_twice_is_harmless(make_core: CoreFactory) -> None:
    core = await make_core()
    await core.close()
    await core.close()
    assert core.server is None


async def test_settings_the_parts_read_at_each_use_apply_without_a_restart(
    make_core: CoreFactory, fake_storage: SlowDirStorage, video: Path
) -> None:
    import json

    import httpx

    from tests.app.conftest import SECRET
    from tests.app.cores import running_peer

    core = await make_core(storage=fake_storage, user_name="ana")
    old = core.settings
    server = core.server
    async for second_peer in running_peer(SECRET):
        new = old.with_changes(model_server_url=second_peer.url, user_name="bo",
                               allow_unsigned_callbacks=True)
        assert core.apply_live_settings(old, new)

        assert core.server is server  # nothing restarted
        job = await core.pipeline.submit_file(video)
        done = await core.pipeline.wait_for(job.job_id, timeout_s=30)
        assert done.status is JobStatus.COMPLETED and done.owner == "bo"
        assert str(job.job_id) in second_peer.jobs  # dispatched to the new ML server
        async with httpx.AsyncClient() as client:  # the compatibility switch took effect
            answer = await client.post(
                f"{core.server_url}/api/upload-video/result",
                content=json.dumps({"job_id": str(job.job_id), "status": "completed",
                                    "progress": 100, "result": {"segments": []}}))
        assert answer.status_code == 200 and answer.json()["status"] == "already_completed"


async def test_a_setting_read_only_at_start_asks_for_a_restart_and_changes_nothing(
    make_core: CoreFactory,
) -> None:
    core = await make_core()
    old = core.settings
    assert not core.apply_live_settings(old, old.with_changes(rate_limit_per_minute=99,
                                                              user_name="bo"))
    assert not core.apply_live_settings(old, old.with_changes(model_server_url=""))
    assert core.settings == old
