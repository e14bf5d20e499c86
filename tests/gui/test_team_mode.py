"""Team mode on a real PostgreSQL store: the queue shows a job another desktop adds, and the
status bar says "reconnecting" while the live link to the database is down."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from ecg_desktop.domain import Job
from ecg_desktop.domain.events import TeamConnectionChanged
from ecg_desktop.store import open_store
from tests.gui.conftest import Runner


def test_other_desktops_jobs_appear_and_a_lost_link_shows_reconnecting(
    run: Runner, start_desktop: Callable[..., Any], peer: Any, postgres_url: str,
) -> None:
    desktop = start_desktop(MODEL_SERVER_URL=peer.url, DATABASE_URL=postgres_url)
    window = desktop.window
    label = window.status.store_label
    run.until(lambda: "live" in label.text(), timeout=20)
    assert "PostgreSQL" in label.text()

    async def add_from_another_desktop() -> Job:
        other = await open_store(postgres_url)
        try:
            job = Job.new(filename="from a colleague.mp4", size_bytes=1234)
            await other.add(job)
            return job
        finally:
            await other.close()

    job = run(add_from_another_desktop())
    run.until(lambda: window.model.job(job.job_id) is not None, timeout=20)

    shown: list[str] = []
    desktop.services.core.bus.subscribe(
        lambda event: shown.append(label.text()) if isinstance(event, TeamConnectionChanged)
        else None)
    conninfo = make_url(postgres_url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = current_database() AND query LIKE 'LISTEN%' "
                      "AND pid <> pg_backend_pid()")
    run.until(lambda: any("reconnecting" in text for text in shown), timeout=30)
    run.until(lambda: "live" in label.text(), timeout=30)
