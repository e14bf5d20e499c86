"""The Whisper model new jobs use is a setting the bundled analyzer reads at start."""

from __future__ import annotations

import asyncio

import httpx

from ecg_desktop.analyzer import whisper_models as wm
from ecg_desktop.analyzer.whisper_download import download_model
from ecg_desktop.config import Settings
from ecg_desktop.mlclient.embedded import EmbeddedAnalyzer
from tests.app.conftest import CoreFactory
from tests.services.hub import FakeHub, tiny_en_files


async def test_a_new_whisper_model_restarts_the_services(make_core: CoreFactory) -> None:
    core = await make_core()
    old = core.settings
    assert old.whisper_model == "tiny.en"
    # not applied in place: the app restarts the services, and so the analyzer with the model
    assert not core.apply_live_settings(old, old.with_changes(whisper_model="base"))
    assert core.settings == old


async def test_the_embedded_analyzer_runs_the_chosen_downloaded_model(
    tmp_settings: Settings,
) -> None:
    """A model downloaded into the app's models folder and chosen in the settings is the one
    the bundled analyzer reports, and so runs (its /health names the default model)."""
    with FakeHub() as hub:
        # the hub stand-in serves tiny.en's files as base.en's repository
        hub.add_repo(wm.CATALOG["base.en"].repo_id, tiny_en_files())
        await asyncio.to_thread(
            download_model, "base.en", tmp_settings.models_dir, endpoint=hub.url
        )
    analyzer = EmbeddedAnalyzer(tmp_settings.with_changes(whisper_model="base.en"))
    await analyzer.start()
    try:
        async with httpx.AsyncClient() as client:
            health = (await client.get(f"{analyzer.url}/health")).json()
    finally:
        await analyzer.stop()
    assert health["backend"] == "faster-whisper"
    assert health["model"] == "base.en"
