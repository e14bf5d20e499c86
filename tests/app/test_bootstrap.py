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
