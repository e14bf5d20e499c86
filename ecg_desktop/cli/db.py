"""`ecg-desktop db upgrade|status`: the job store's schema.

Exit codes: 0 done, 2 bad configuration or a store that cannot be reached or is damaged.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from ecg_desktop.app.ports import JobStoreError as StoreError
from ecg_desktop.cli import fail
from ecg_desktop.config import ConfigError, load_settings
from ecg_desktop.store import head_revision


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "db",
        help="job store administration (schema migrations)",
        description="Administer the job store (DATABASE_URL, or SQLite in the data folder).",
    )
    parser.add_argument("--database-url", help="job store URL (default: DATABASE_URL or SQLite)")
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    actions.add_parser("upgrade", help="apply pending migrations (existing jobs are kept)")
    actions.add_parser("status", help="show the schema revision and the number of jobs")
    parser.set_defaults(handler=run)


def database_url(args: argparse.Namespace) -> str:
    """``--database-url``, else the settings' (raises ``ConfigError``)."""
    explicit: str | None = getattr(args, "database_url", None)
    return explicit or load_settings().effective_database_url


def run(args: argparse.Namespace) -> int:
    try:
        url = database_url(args)
        if args.db_action == "upgrade":
            return asyncio.run(_upgrade(url))
        return asyncio.run(_status(url))
    except (ConfigError, StoreError) as exc:
        return fail(str(exc))


async def _upgrade(url: str) -> int:
    from ecg_desktop.bootstrap import open_job_store

    store = await open_job_store(url, migrate=False)
    try:
        before = await store.current_revision()
        await store.upgrade()
        after = await store.current_revision()
        if before == after:
            print(f"{store.describe()}: already at revision {after} (newest)")
        else:
            print(f"{store.describe()}: upgraded from {before or 'empty'} to {after}; "
                  f"{await store.count()} jobs kept")
    finally:
        await store.close()
    return 0


async def _status(url: str) -> int:
    from ecg_desktop.bootstrap import open_job_store

    store = await open_job_store(url, migrate=False)
    try:
        current = await store.current_revision()
        head = head_revision()
        state = "newest" if current == head else f"needs `ecg-desktop db upgrade` to {head}"
        print(f"{store.describe()}: revision {current or 'none'} ({state})")
        if current == head:
            print(f"{await store.count()} jobs")
    finally:
        await store.close()
    return 0
