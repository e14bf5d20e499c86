"""What logs and an unauthenticated caller may not see: signed storage links in ``-v``
database lines, and the absolute paths of ``/health`` on a non-loopback bind."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ecg_desktop.domain import Job
from ecg_desktop.store import open_store

from .conftest import ServerFactory

SIGNED = ("http://127.0.0.1:8000/storage/videos/a/b.mp4?expires=1700000000"
          "&signature=6f1ed002ab5595859014ebf0951522d9")


async def test_verbose_database_lines_never_hold_a_signed_link(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # what -v does
    store = await open_store(f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}")
    try:
        job = Job.new(file_key="videos/a/b.mp4", filename="b.mp4")
        job.start_dispatch()
        job.mark_dispatched(SIGNED)
        await store.add(job)
        await store.update(job.job_id, lambda j: j.report_progress(10, "x"))
        assert (await store.get(job.job_id)).video_url == SIGNED
    finally:
        await store.close()

    database_lines = [r for r in caplog.records if r.name.startswith(("aiosqlite", "sqlalchemy"))]
    assert database_lines  # the statements were logged ...
    assert "6f1ed002ab5595859014ebf0951522d9" not in caplog.text  # ... without the signature


async def test_health_shows_paths_only_to_a_caller_with_a_token_off_loopback(
    make_server: ServerFactory, tmp_path: Path
) -> None:
    server = await make_server(bind_host="0.0.0.0", api_tokens=("ana:a-token",))
    anonymous = await (await server.client.get("/health")).json()
    with_token = await (await server.client.get(
        "/health", headers={"Authorization": "Bearer a-token"})).json()

    folder = str(server.settings.data_dir)
    assert folder not in str(anonymous) and "/" not in anonymous["store"]["where"]
    assert anonymous["store"]["reachable"] is True
    assert with_token["store"]["where"] == server.store.describe()

    local = await make_server()  # a loopback bind: the local user sees them
    assert (await (await local.client.get("/health")).json())["store"]["where"] == (
        local.store.describe())
