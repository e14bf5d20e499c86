from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.analyzer.harness import CallbackReceiver, MediaServer, Parties


@pytest.fixture
async def parties(tmp_path: Path) -> AsyncIterator[Parties]:
    media = MediaServer(tmp_path / "media")
    media.folder.mkdir()
    await media.start()
    receiver = CallbackReceiver()
    await receiver.start()
    session = aiohttp.ClientSession()
    bundle = Parties(media, receiver, session)
    try:
        yield bundle
    finally:
        await bundle.close()
