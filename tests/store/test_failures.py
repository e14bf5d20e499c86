"""A store that cannot be reached or is damaged: one clear error, nothing lost or replaced."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from ecg_desktop.domain import Job
from ecg_desktop.store import StoreCorrupted, StoreUnavailable, open_store
from tests.services.postgres import PostgresServer


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_postgresql_is_unavailable_without_its_password() -> None:
    url = f"postgresql+psycopg://ana:hunter2@127.0.0.1:{_closed_port()}/ecg"
    with pytest.raises(StoreUnavailable) as caught:
        await open_store(url)
    error = caught.value
    assert "hunter2" not in str(error) and "hunter2" not in error.url
    assert "ana:***@127.0.0.1" in error.url
    assert "refused" in error.reason.lower() or "connect" in error.reason.lower()


async def test_a_wrong_password_is_unavailable_with_the_servers_reason(
    postgres_service: PostgresServer,
) -> None:
    url = postgres_service.url("postgres").replace(
        f":{postgres_service.password}@", ":not-the-password@"
    )
    with pytest.raises(StoreUnavailable) as caught:
        await open_store(url)
    assert "password authentication failed" in caught.value.reason
    assert "not-the-password" not in str(caught.value)


async def test_a_missing_database_is_unavailable(postgres_service: PostgresServer) -> None:
    with pytest.raises(StoreUnavailable) as caught:
        await open_store(postgres_service.url("ecg_no_such_database"))
    assert "ecg_no_such_database" in str(caught.value)


async def test_an_sqlite_file_in_an_impossible_folder_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(StoreUnavailable) as caught:
        await open_store(f"sqlite+aiosqlite:///{blocker}/jobs.db")
    assert "not-a-folder" in str(caught.value)


async def test_an_unsupported_url_is_named() -> None:
    with pytest.raises(StoreUnavailable, match="unsupported database 'mysql'"):
        await open_store("mysql://u@h/db")


async def test_a_file_that_is_not_a_database_is_reported_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    content = os.urandom(16384)
    path.write_bytes(content)
    with pytest.raises(StoreCorrupted) as caught:
        await open_store(f"sqlite+aiosqlite:///{path}")
    assert caught.value.path == str(path)
    assert "not a database" in caught.value.reason
    assert path.read_bytes() == content


def _damage(path: Path) -> bytes:
    """Overwrite two pages of the jobs table (the WAL was checkpointed on close)."""
    wal = Path(f"{path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 8 * page
    data[5 * page: 7 * page] = b"\xff" * (2 * page)
    path.write_bytes(bytes(data))
    return bytes(data)


async def test_a_damaged_database_is_reported_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    store = await open_store(f"sqlite+aiosqlite:///{path}")
    for i in range(300):
        await store.add(Job.new(filename=f"video_{i:03d}_" + "x" * 200 + ".mp4"))
    await store.close()
    data = _damage(path)

    with pytest.raises(StoreCorrupted) as caught:
        await open_store(f"sqlite+aiosqlite:///{path}")
    assert "move it aside" in str(caught.value)
    assert path.read_bytes() == data


async def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "jobs.db"
    store = await open_store(f"sqlite+aiosqlite:///{path}")
    await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_connections_dropped_by_the_server_are_replaced(postgres_url: str) -> None:
    import psycopg

    store = await open_store(postgres_url)
    try:
        job = Job.new(filename="a.mp4")
        await store.add(job)
        admin_url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
        async with await psycopg.AsyncConnection.connect(admin_url, autocommit=True) as admin:
            cursor = await admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert (await cursor.fetchone()) == (1,)  # the store's pooled connection
        assert (await store.get(job.job_id)).filename == "a.mp4"
    finally:
        await store.close()
