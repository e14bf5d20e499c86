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


@pytest.fixture(scope="session")
def multilingual_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder with the multilingual Whisper base installed, assembled once per session
    from the two packages of the test extra (as a completed download leaves it)."""
    import json
    import shutil

    from ecg_desktop.analyzer import whisper_models
    from tests.services.hub import whisper_base_files

    models_dir = tmp_path_factory.mktemp("models")
    folder = models_dir / "base"
    folder.mkdir()
    for name, parts in whisper_base_files().items():
        with (folder / name).open("wb") as target:
            for part in parts:
                with part.open("rb") as source:
                    shutil.copyfileobj(source, target, 4 * 1024 * 1024)
    marker = {"name": "base", "repo_id": whisper_models.CATALOG["base"].repo_id}
    (folder / whisper_models.MARKER).write_text(json.dumps(marker))
    return models_dir
