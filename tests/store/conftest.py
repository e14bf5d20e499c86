from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ecg_desktop.store import SqlJobStore, open_store


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlJobStore]:
    opened = await open_store(database_url)
    try:
        yield opened
    finally:
        await opened.close()
