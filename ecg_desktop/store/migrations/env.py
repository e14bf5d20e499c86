"""Alembic environment. The store runs migrations itself (``SqlJobStore.upgrade``) on a
connection it passes in ``config.attributes["connection"]``; the ``alembic`` command line
(with ``sqlalchemy.url`` set) works too, for developers writing a new revision.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from ecg_desktop.store.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def _sync_url(url: str) -> str:
    return url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(_sync_url(context.config.get_main_option("sqlalchemy.url") or ""))
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()
