"""``ecg-desktop process`` on a team desktop: it refuses to create a job while credentials are
missing (no failed job left in the store the team shares), and it follows the backend's
writes as live updates (LISTEN/NOTIFY) rather than reading the store over and over."""

from __future__ import annotations

import argparse
import asyncio
import io
from pathlib import Path
from typing import Any

import pytest

from ecg_desktop.cli import main
from ecg_desktop.cli.process import process
from ecg_desktop.store import open_store
from tests.app.cores import s3_settings

from .conftest import DESKTOP_TOKEN, CoreFactory

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize(("missing", "named"), [
    ("AWS_SECRET_ACCESS_KEY", "secrets set aws_secret_access_key"),
    ("ECG_TEAM_TOKEN", "secrets set team_token"),
])
async def test_process_refuses_to_create_a_job_while_a_credential_is_missing(
    missing: str,
    named: str,
    settings_factory: Any,
    postgres_url: str,
    video: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    settings_factory()
    team = {"DATABASE_URL": postgres_url, "S3_BUCKET_NAME": "team-videos",
            "AWS_ACCESS_KEY_ID": "ana-key", "AWS_SECRET_ACCESS_KEY": "ana-secret",
            "FASTAPI_BASE_URL": "http://127.0.0.1:9", "ECG_TEAM_TOKEN": "token"}
    for name, value in team.items():
        if name != missing:
            monkeypatch.setenv(name, value)

    code = await asyncio.to_thread(main, ["process", str(video)])

    assert code == 2
    assert named in capfd.readouterr().err
    store = await open_store(postgres_url)
    try:
        assert await store.count() == 0
    finally:
        await store.close()


async def test_the_pipeline_refuses_too_so_the_window_does(
    make_core: CoreFactory, video: Path
) -> None:
    from ecg_desktop.app.errors import PipelineError

    desktop = await make_core(user="ana", fastapi_base_url="http://127.0.0.1:9", team_token="")
    with pytest.raises(PipelineError, match="team_token"):
        await desktop.pipeline.submit_file(video)
    assert await desktop.store.count() == 0


async def test_process_sees_the_backends_result_as_a_live_update(
    make_core: CoreFactory,
    settings_factory: Any,
    postgres_url: str,
    s3_service: Any,
    s3_bucket: str,
    video: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bucket = s3_settings(s3_service, s3_bucket)
    backend = await make_core(backend=True, **bucket)
    # Reading the store again would take an hour: only live updates can end this in time.
    monkeypatch.setattr("ecg_desktop.app.pipeline.WAIT_POLL_S", 3600.0)
    monkeypatch.setattr("ecg_desktop.cli.process.LIVE_POLL_S", 3600.0, raising=False)
    settings = settings_factory(
        database_url=postgres_url, fastapi_base_url=backend.callback_base_url(),
        team_token=DESKTOP_TOKEN, user_name="ana", data_dir=tmp_path / "ana", **bucket)
    args = argparse.Namespace(files=[video], output=None, min_speakers=None, max_speakers=None)
    out = io.StringIO()

    code = await asyncio.wait_for(process(settings, args, out=out), timeout=60)

    assert code == 0, out.getvalue()
    assert "1 of 1 file(s) completed" in out.getvalue()
