"""The shared database goes away in the middle of a stream of ML callbacks: the ``serve``
process answers 503 with Retry-After while it is away, the ML server's sender (the reference
analyzer's, which retries 5xx) delivers everything once it is back, nothing is lost, and the
desktops show "reconnecting" and then catch up.

The outage is made for this test's database only (connections refused and ended), so other
tests sharing the PostgreSQL server are not disturbed."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from ecg_desktop.analyzer.callbacks import CallbackSender, callback_body, callback_url
from ecg_desktop.domain import JobStatus
from tests.app.peer import RESULT, ProtocolPeer

from .conftest import BusRecorder, CoreFactory
from .test_concurrency import analyzing, completed, signed

pytestmark = pytest.mark.timeout(240)


def _set_reachable(admin_url: str, database: str, reachable: bool) -> None:
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        allow = "true" if reachable else "false"
        conn.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {allow}'.encode())
        if not reachable:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            )


class RecordingSender(CallbackSender):
    """The analyzer's sender, noting every HTTP status it got."""

    statuses: list[int | None]

    async def _post(self, url: str, body: bytes, msg_id: str) -> int | None:
        status = await super()._post(url, body, msg_id)
        self.statuses.append(status)
        return status


async def test_a_database_outage_during_a_stream_of_callbacks_loses_nothing(
    make_core: CoreFactory,
    serve: Any,
    shared_storage: Any,
    peer: ProtocolPeer,
    postgres_service: Any,
    postgres_url: str,
    video: Path,
) -> None:
    database = make_url(postgres_url).database
    assert database
    backend = await serve()
    desktop_a = await make_core(user="ana", fastapi_base_url=backend.url,
                                storage=shared_storage())
    desktop_b = await make_core(user="bo", fastapi_base_url=backend.url,
                                storage=shared_storage())
    jobs = [await analyzing(desktop_a, video, peer) for _ in range(5)]
    seen_b = BusRecorder(desktop_b)
    url = callback_url(backend.url)

    async with aiohttp.ClientSession() as session:
        sender = RecordingSender(session, peer.secret, retry_for_s=90, first_delay_s=0.2,
                                 max_delay_s=1.0, timeout_s=15)
        sender.statuses = []

        async def stream(job_id: uuid.UUID) -> bool:
            for progress in range(10, 100, 10):
                body = callback_body(str(job_id), "processing", progress=progress,
                                     message=f"step {progress}")
                if not await sender.deliver(url, body):
                    return False
                await asyncio.sleep(0.05)
            return await sender.deliver(url, completed(job_id))

        streams = asyncio.gather(*(stream(job.job_id) for job in jobs))
        await asyncio.sleep(0.3)
        await asyncio.to_thread(_set_reachable, postgres_service.admin_url, database, False)
        try:
            # While the database is away: 503 with Retry-After, and the desktops know.
            async with httpx.AsyncClient(timeout=30) as client:
                raw, headers = signed(completed(jobs[0].job_id))
                response = await client.post(url, content=raw, headers=headers)
            assert response.status_code == 503, response.text
            assert int(response.headers["Retry-After"]) >= 1
            await seen_b.state("reconnecting", timeout_s=20)
            assert desktop_b.team is not None and desktop_b.team.state == "reconnecting"
            await asyncio.sleep(1.0)
        finally:
            await asyncio.to_thread(_set_reachable, postgres_service.admin_url, database, True)
        delivered = await asyncio.wait_for(streams, 120)

    assert delivered == [True] * len(jobs)
    assert 503 in sender.statuses  # the stream did run into the outage
    assert set(sender.statuses) <= {200, 503}
    for job in jobs:
        stored = await desktop_a.store.get(job.job_id)
        assert (stored.status, stored.progress) == (JobStatus.COMPLETED, 100)
        assert await desktop_a.store.get_raw_result(job.job_id) == json.loads(json.dumps(RESULT))
    # Desktop B reconnected and caught up with every job it could not hear about.
    deadline = time.monotonic() + 30
    for job in jobs:
        await seen_b.first(job.job_id, JobStatus.COMPLETED, timeout_s=deadline - time.monotonic())
    assert seen_b.states()[-1] == "connected"
    assert desktop_b.team is not None and desktop_b.team.state == "connected"
