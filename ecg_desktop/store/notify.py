"""Live job changes for team mode: PostgreSQL ``LISTEN/NOTIFY``.

Every committed job change in a PostgreSQL store sends ``pg_notify('ecg_jobs', job_id)`` in
its own transaction, so a notice arrives only for a change that committed. A
``JobChangeListener`` yields those job ids. When its connection drops it reconnects with
back-off and yields ``RECONNECTED``: notices sent meanwhile are lost, so the subscriber
re-reads the jobs changed since the last ``updated_at`` it saw
(``SqlJobStore.changed_since``). On SQLite (one desktop) the listener yields nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from enum import Enum
from typing import Final

import psycopg
from sqlalchemy.engine import make_url

from .engine import connect_postgres, postgres_conninfo

log = logging.getLogger(__name__)

JOBS_CHANNEL: Final = "ecg_jobs"


class ListenerSignal(Enum):
    RECONNECTED = "reconnected"


RECONNECTED: Final = ListenerSignal.RECONNECTED
JobChange = uuid.UUID | ListenerSignal


def _conninfo(url: str) -> str | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return None
    return postgres_conninfo(parsed)


class JobChangeListener:
    """``async for change in listener``: job ids (``uuid.UUID``) and ``RECONNECTED``.

    ``listening`` is set while LISTEN is in force (wait on it before relying on notices);
    ``on_state`` is called with ``"listening"`` or ``"reconnecting"`` for a status bar.
    """

    def __init__(
        self,
        url: str,
        *,
        min_backoff_s: float = 0.2,
        max_backoff_s: float = 10.0,
        health_check_s: float = 5.0,
        on_state: Callable[[str], None] | None = None,
    ) -> None:
        self._conninfo = _conninfo(url)
        self._min_backoff = min_backoff_s
        self._max_backoff = max_backoff_s
        self._health_check_s = health_check_s
        self._on_state = on_state
        self._closed = asyncio.Event()
        self._conn: psycopg.AsyncConnection[object] | None = None
        self.listening = asyncio.Event()

    @property
    def enabled(self) -> bool:
        """False on SQLite, where there is nobody else to hear from."""
        return self._conninfo is not None

    def _state(self, state: str) -> None:
        if self._on_state is not None:
            self._on_state(state)

    async def close(self) -> None:
        self._closed.set()
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def _connect(self) -> psycopg.AsyncConnection[object]:
        assert self._conninfo is not None
        conn = await connect_postgres(self._conninfo, autocommit=True)
        try:
            await conn.execute(f"LISTEN {JOBS_CHANNEL}")
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _sleep_or_close(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), timeout=seconds)

    async def __aiter__(self) -> AsyncIterator[JobChange]:
        if not self.enabled:
            return
        backoff = self._min_backoff
        connected_before = False
        while not self._closed.is_set():
            try:
                self._conn = await self._connect()
            except psycopg.Error as exc:
                log.warning("job change listener: cannot connect (%s); retrying in %.1f s",
                            str(exc).strip().splitlines()[0] if str(exc) else exc, backoff)
                self._state("reconnecting")
                await self._sleep_or_close(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = self._min_backoff
            self.listening.set()
            self._state("listening")
            if connected_before:
                yield RECONNECTED
            connected_before = True
            try:
                async for job_id in self._notices(self._conn):
                    yield job_id
            except psycopg.Error as exc:
                if self._closed.is_set():
                    break
                log.warning("job change listener lost its connection: %s", exc)
                self._state("reconnecting")
            finally:
                self.listening.clear()
                conn, self._conn = self._conn, None
                if conn is not None and not conn.closed:
                    await conn.close()

    async def _notices(self, conn: psycopg.AsyncConnection[object]) -> AsyncIterator[uuid.UUID]:
        while not self._closed.is_set():
            async for notice in conn.notifies(timeout=self._health_check_s):
                try:
                    yield uuid.UUID(notice.payload)
                except ValueError:
                    log.warning("ignoring a job notice that is not a job id: %r",
                                notice.payload[:80])
            if not self._closed.is_set():
                # A quiet spell: make sure the connection is still alive.
                await conn.execute("SELECT 1")
