"""``SqlJobStore``: the ``JobStore`` port on SQLite (WAL) or PostgreSQL, SQLAlchemy 2 async.

The store is put together from its parts, each in its own module over one ``SqlDatabase``
(``database.py``: engine, transactions, error translation, change notices): the jobs
(``jobs.py``), reading transcripts (``transcripts.py``) and editing them
(``transcript_edits.py``). This module opens the store and keeps its schema at head.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from .errors import StoreCorrupted, StoreUnavailable
from .jobs import JobTable
from .transcript_edits import TranscriptEdits
from .transcripts import TranscriptReads

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_MIGRATION_LOCK_ID = 0x0EC6_0001  # pg_advisory_xact_lock key: one migrator at a time


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


class SqlJobStore(JobTable, TranscriptReads, TranscriptEdits):
    """Jobs and transcripts in one database. Open it with ``await SqlJobStore.open(url)``."""

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> SqlJobStore:
        """Open (creating an SQLite file where none exists) and bring the schema to head."""
        store = cls(url)
        try:
            await store._prepare_sqlite_file()
            if migrate:
                await store.upgrade()
            else:
                await store.ping()
        except BaseException:
            await store.close()
            raise
        return store

    async def _prepare_sqlite_file(self) -> None:
        if self._sqlite_path is None:
            return
        try:
            self._sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = f"cannot create {self._sqlite_path.parent}: {exc}"
            raise StoreUnavailable(self._url, reason) from None
        if self._sqlite_path.exists():
            async with self._transaction(write=False) as conn:
                problems = (await conn.exec_driver_sql("PRAGMA quick_check")).scalars().all()
            if problems != ["ok"]:
                raise StoreCorrupted(str(self._sqlite_path), "; ".join(map(str, problems[:3])))

    # -- migrations ----------------------------------------------------------------------

    async def upgrade(self, revision: str = "head") -> None:
        """Run the pending migrations in one transaction; existing jobs are kept."""
        async with self._transaction(write=True) as conn:
            if self.is_postgresql:
                await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK_ID)))
            before = await conn.run_sync(_current_revision)
            await conn.run_sync(_alembic_upgrade, revision)
            after = await conn.run_sync(_current_revision)
        if before != after:
            log.info("job store %s migrated from %s to %s", self.describe(), before, after)

    async def current_revision(self) -> str | None:
        async with self._transaction(write=False) as conn:
            return await conn.run_sync(_current_revision)


def _current_revision(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _alembic_upgrade(connection: sa.Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def open_store(url: str, *, migrate: bool = True) -> SqlJobStore:
    """Open the job store at ``url`` (``sqlite+aiosqlite:///...`` or ``postgresql+psycopg://``)."""
    return await SqlJobStore.open(url, migrate=migrate)
