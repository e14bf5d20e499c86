"""``SqlDatabase``: what every part of ``SqlJobStore`` stands on.

The engine, its transactions (SQLite's writers queued in this process, driver errors
translated to store errors) and the notice that tells the team a job changed. The parts
(``jobs.py``, ``transcripts.py``, ``transcript_edits.py``) derive from it, and
``SqlJobStore`` (``sql_store.py``) puts them together.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from .engine import WRITE_OPTION, create_engine, normalize_url, parse_url, sqlite_path, translate
from .notify import JOBS_CHANNEL


class SqlDatabase:
    """One SQLite file or PostgreSQL database, through SQLAlchemy 2 async."""

    def __init__(self, url: str) -> None:
        self._url = normalize_url(url)
        self._parsed = parse_url(self._url)
        self._sqlite_path = sqlite_path(self._parsed)
        self._engine = create_engine(self._parsed)
        # SQLite has one writer: writers of this process queue here, not in SQLite's busy
        # handler (which sleeps up to 100 ms between tries and made concurrent writes ~5x
        # slower than sequential ones).
        self._sqlite_writer = asyncio.Lock()

    @property
    def is_postgresql(self) -> bool:
        return self._parsed.get_backend_name() == "postgresql"

    @property
    def url(self) -> str:
        """The URL with any password hidden."""
        return self._parsed.render_as_string(hide_password=True)

    def describe(self) -> str:
        if self._sqlite_path is not None:
            return f"SQLite {self._sqlite_path}"
        return f"PostgreSQL {self._parsed.host or 'localhost'}/{self._parsed.database or ''}"

    async def close(self) -> None:
        await self._engine.dispose()

    async def ping(self) -> None:
        async with self._transaction(write=False) as conn:
            await conn.execute(sa.select(1))

    @asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        try:
            yield
        except (sa.exc.SQLAlchemyError, OSError, TimeoutError) as exc:
            translated = translate(exc, self._url, self._sqlite_path)
            if translated is None:
                raise
            raise translated from exc

    @asynccontextmanager
    async def _transaction(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        queue = write and self._sqlite_path is not None
        async with (self._sqlite_writer if queue else contextlib.nullcontext()), \
                self._guard(), self._engine.connect() as conn:
            if write:
                await conn.execution_options(**{WRITE_OPTION: True})
            async with conn.begin():
                yield conn

    async def _notify(self, conn: AsyncConnection, job_id: uuid.UUID) -> None:
        """Tell LISTENing desktops; PostgreSQL delivers it only if the transaction commits."""
        if self.is_postgresql:
            await conn.execute(
                sa.select(sa.func.pg_notify(JOBS_CHANNEL, str(job_id)))
            )
