"""``ecg-desktop team status`` checks each part for real and fails for each missing piece:
the database and its schema, the bucket (a signed write and delete), the backend and this
desktop's token, and the ML server as the backend sees it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from ecg_desktop.cli import main
from tests.app.cores import s3_settings

from .conftest import CoreFactory

pytestmark = pytest.mark.timeout(120)

TOKEN = "token-of-ana"
Status = Callable[..., Awaitable[tuple[int, dict[str, str]]]]


@pytest.fixture
async def status(
    make_core: CoreFactory,
    postgres_url: str,
    s3_service: Any,
    s3_bucket: str,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> Status:
    """``await status(**env changes)``: the exit code and each check's line by its part, for
    a desktop of a team whose parts all work unless ``env`` breaks one."""
    bucket = s3_settings(s3_service, s3_bucket)
    backend = await make_core(backend=True, bind_host="0.0.0.0", api_tokens=(f"ana:{TOKEN}",),
                              **bucket)
    desktop_env = {
        "DATABASE_URL": postgres_url, "FASTAPI_BASE_URL": backend.callback_base_url(),
        "S3_BUCKET_NAME": s3_bucket, "S3_ENDPOINT_URL": s3_service.endpoint_url,
        "AWS_REGION": s3_service.region, "AWS_ACCESS_KEY_ID": s3_service.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_service.secret_key, "ECG_TEAM_TOKEN": TOKEN,
        "ECG_USER": "ana",
    }

    async def run(**changes: str | None) -> tuple[int, dict[str, str]]:
        for name, value in {**desktop_env, **changes}.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        code = await asyncio.to_thread(main, ["team", "status"])
        out = capfd.readouterr().out
        lines = {}
        for line in out.splitlines():
            verdict, _, rest = line.partition("  ")
            lines[rest.strip().split(":", 1)[0]] = verdict.strip()
        return code, lines

    return run


async def test_every_part_working_passes(status: Status) -> None:
    code, lines = await status()
    assert code == 0, lines
    assert lines == {"job store": "ok", "live updates": "ok", "storage": "ok", "backend": "ok",
                     "backend token": "ok", "ML server": "ok"}


async def test_no_s3_secret_key_fails_the_bucket(status: Status) -> None:
    code, lines = await status(AWS_SECRET_ACCESS_KEY=None)
    assert code == 1
    assert lines["storage"] == "FAIL"
    assert [part for part, verdict in lines.items() if verdict == "FAIL"] == ["storage"]


async def test_a_wrong_s3_secret_key_fails_the_signed_probe(status: Status) -> None:
    code, lines = await status(AWS_SECRET_ACCESS_KEY="not-the-secret")
    assert code == 1
    assert lines["storage"] == "FAIL" and lines["job store"] == "ok"


async def test_no_bucket_fails(status: Status) -> None:
    code, lines = await status(S3_BUCKET_NAME=None)
    assert (code, lines["storage"]) == (1, "FAIL")


async def test_a_missing_or_refused_token_fails(status: Status) -> None:
    code, lines = await status(ECG_TEAM_TOKEN=None)
    assert (code, lines["backend"], lines["backend token"]) == (1, "ok", "FAIL")
    code, lines = await status(ECG_TEAM_TOKEN="revoked")
    assert (code, lines["backend token"]) == (1, "FAIL")


async def test_a_backend_that_does_not_answer_fails(status: Status) -> None:
    code, lines = await status(FASTAPI_BASE_URL="http://127.0.0.1:9")
    assert (code, lines["backend"]) == (1, "FAIL")


async def test_an_unreachable_database_fails(status: Status, postgres_url: str) -> None:
    unreachable = postgres_url.rsplit("@", 1)[0] + "@127.0.0.1:9/ecg"
    code, lines = await status(DATABASE_URL=unreachable)
    assert (code, lines["job store"], lines["live updates"]) == (1, "FAIL", "FAIL")


async def test_an_ml_server_the_backend_cannot_reach_fails(
    make_core: CoreFactory, status: Status, s3_service: Any, s3_bucket: str
) -> None:
    lonely = await make_core(backend=True, bind_host="0.0.0.0", api_tokens=(f"ana:{TOKEN}",),
                             model_server_url="http://127.0.0.1:9",
                             **s3_settings(s3_service, s3_bucket))
    code, lines = await status(FASTAPI_BASE_URL=lonely.callback_base_url())
    assert code == 1
    assert (lines["backend token"], lines["ML server"]) == ("ok", "FAIL")


async def test_a_database_without_the_schema_fails(status: Status, postgres_service: Any) -> None:
    empty = postgres_service.create_database()
    try:
        code, lines = await status(DATABASE_URL=postgres_service.url(empty))
    finally:
        postgres_service.drop_database(empty)
    assert (code, lines["job store"], lines["live updates"]) == (1, "FAIL", "ok")
