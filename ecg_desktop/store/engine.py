"""Engines for both back ends, and the translation of driver errors into store errors."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ecg_desktop.config.private_files import ensure_private_file
from ecg_desktop.config.redaction import redact_logger

from .errors import StoreCorrupted, StoreError, StoreUnavailable

SQLITE_BUSY_TIMEOUT_S = 30.0
PG_CONNECT_TIMEOUT_S = 5
WRITE_OPTION = "ecg_write"  # execution option: this transaction writes (BEGIN IMMEDIATE)
_CORRUPT_MARKERS = ("file is not a database", "malformed", "file is encrypted")


def normalize_url(url: str) -> str:
    """Accept the usual spellings and pick the drivers this app ships."""
    for prefix, replacement in (
        ("postgres://", "postgresql+psycopg://"),
        ("postgresql://", "postgresql+psycopg://"),
        ("sqlite:///", "sqlite+aiosqlite:///"),
    ):
        if url.startswith(prefix):
            return replacement + url[len(prefix):]
    return url


def parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        raise StoreUnavailable(url, "not a database URL") from None
    if parsed.drivername not in ("sqlite+aiosqlite", "postgresql+psycopg"):
        raise StoreUnavailable(
            url,
            f"unsupported database {parsed.drivername!r} "
            "(use sqlite+aiosqlite:///path or postgresql+psycopg://user@host/db)",
        )
    if parsed.drivername.startswith("sqlite") and not parsed.database:
        raise StoreUnavailable(url, "an SQLite URL needs a file path")
    return parsed


def sqlite_path(url: URL) -> Path | None:
    if not url.drivername.startswith("sqlite") or not url.database:
        return None
    return Path(url.database)


def postgres_conninfo(url: URL) -> str:
    """The libpq connection string of a ``postgresql+psycopg`` URL."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def connect_postgres(conninfo: str, **options: Any) -> psycopg.AsyncConnection[Any]:
    """psycopg's connect, except that a cancel in the middle of it closes the connection
    being made. Left to the garbage collector, its socket keeps a server backend waiting in
    authentication for ``authentication_timeout`` (a minute), which also holds up any
    ``DROP DATABASE`` of that database. The wait is bounded by the connect timeout."""
    attempt = asyncio.ensure_future(
        psycopg.AsyncConnection.connect(
            conninfo, connect_timeout=PG_CONNECT_TIMEOUT_S, **options
        )
    )
    try:
        return await asyncio.shield(attempt)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await (await attempt).close()
        raise


# With -v, aiosqlite (and SQLAlchemy, when asked) log each statement's parameters: signed
# storage links (a job's video_url), messages. Their records are masked whichever handler
# writes them.
for _database_logger in ("aiosqlite", "sqlalchemy.engine.Engine"):
    redact_logger(_database_logger)


def create_engine(url: URL) -> AsyncEngine:
    if url.drivername.startswith("sqlite"):
        return _sqlite_engine(url)
    conninfo = postgres_conninfo(url)
    return create_async_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        async_creator=lambda: connect_postgres(conninfo),
    )


def _private_database(url: URL) -> None:
    # Created 0600 in a 0700 folder before SQLite opens it (SQLite would create it with the
    # umask's 0644); its -wal and -shm files take the database file's mode.
    path = sqlite_path(url)
    if path is not None and url.database != ":memory:" and not str(url.database).startswith(
            "file:"):
        with contextlib.suppress(OSError):  # SQLite's own open then says what is wrong
            ensure_private_file(path)


def _sqlite_engine(url: URL) -> AsyncEngine:
    _private_database(url)
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
    _install_sqlite_hooks(engine.sync_engine)
    return engine


def create_blocking_engine(url: URL, *, connections: int = 1) -> sa.Engine:
    """A synchronous engine on the same database with the same connection settings (WAL,
    busy timeout, ``BEGIN IMMEDIATE`` for writers), for a worker process with no event loop."""
    if url.drivername.startswith("sqlite"):
        _private_database(url)
        engine = sa.create_engine(
            url.set(drivername="sqlite"), connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}
        )
        _install_sqlite_hooks(engine)
        return engine
    # No pre-ping (a round trip per transaction): BlockingJobWriter retries once instead.
    return sa.create_engine(
        url,
        pool_size=connections,
        max_overflow=connections,
        connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S},
    )


def _install_sqlite_hooks(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # A writer takes the write lock up front, so two read-modify-write transactions
        # queue on the busy timeout instead of failing on a lock upgrade.
        writes = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def translate(exc: BaseException, url: str, path: Path | None) -> StoreError | None:
    """The store error a driver error means, or ``None`` when it is not the store's to explain."""
    orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    reason = _first_line(orig if orig is not None else exc)
    if isinstance(orig, sqlite3.DatabaseError) and path is not None:
        if any(marker in reason.lower() for marker in _CORRUPT_MARKERS):
            return StoreCorrupted(str(path), reason)
        if isinstance(orig, sqlite3.OperationalError):
            return StoreUnavailable(url, reason)
        return None
    if isinstance(exc, sa.exc.DBAPIError) and (
        exc.connection_invalidated
        or isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)
    ):
        return StoreUnavailable(url, reason)
    if isinstance(exc, OSError | TimeoutError):
        return StoreUnavailable(url, reason)
    return None
