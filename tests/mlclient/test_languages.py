"""The languages offered follow the installed speech models, and a job no model can recognise
is refused before anything is uploaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ecg_desktop.analyzer import whisper_models as wm
from ecg_desktop.analyzer.whisper_download import download_model
from ecg_desktop.config import LANGUAGES, Settings
from ecg_desktop.mlclient.languages import language_problem, offered_languages
from tests.media import make_silent_video
from tests.services.hub import FakeHub, whisper_base_files


@pytest.fixture(scope="module")
def hub() -> Iterator[FakeHub]:
    with FakeHub() as server:
        server.add_repo(wm.CATALOG["base"].repo_id, whisper_base_files())
        yield server


def test_english_models_offer_english_and_korean_through_vosk(tmp_settings: Settings) -> None:
    # the vosk Korean model is installed on the test machines (the `korean` extra)
    assert offered_languages(tmp_settings) == ("auto", "ko", "en")
    assert language_problem(tmp_settings, "en") is None
    assert language_problem(tmp_settings, "auto") is None
    problem = language_problem(tmp_settings, "ja")
    assert problem is not None
    assert "'ja'" in problem and "ecg-desktop models download base" in problem


def test_a_multilingual_model_offers_every_language(
    tmp_settings: Settings, hub: FakeHub
) -> None:
    download_model("base", tmp_settings.models_dir, endpoint=hub.url)
    assert offered_languages(tmp_settings) == LANGUAGES
    assert language_problem(tmp_settings, "ja") is None
    assert language_problem(tmp_settings, "zh") is None


def test_a_chosen_model_that_is_not_installed_is_a_problem(tmp_settings: Settings) -> None:
    settings = tmp_settings.with_changes(whisper_model="small")
    problem = language_problem(settings, "en")
    assert problem is not None and "ecg-desktop models download small" in problem


def test_an_ml_server_of_ones_own_decides_the_languages(tmp_settings: Settings) -> None:
    settings = tmp_settings.with_changes(model_server_url="http://127.0.0.1:9")
    assert offered_languages(settings) == LANGUAGES
    assert language_problem(settings, "ja") is None


def test_process_refuses_a_language_no_model_covers_before_uploading(
    tmp_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ecg_desktop.cli import main

    video = make_silent_video(tmp_path / "talk.mp4", duration_s=1.0)
    assert main(["process", str(video), "--language", "ja"]) == 1
    error = capsys.readouterr().err
    assert "no installed speech model recognises 'ja'" in error
    assert "ecg-desktop models download base" in error and "nothing was uploaded" in error
    assert not tmp_settings.storage_dir.exists() or not any(tmp_settings.storage_dir.rglob("*"))
    assert not (tmp_settings.data_dir / "jobs.db").exists()
