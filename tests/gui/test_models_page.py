"""Settings -> Speech recognition: the models page over the real model manager, downloading
from the local Hugging Face Hub stand-in on the app's qasync loop."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtWidgets import QComboBox
from pytestqt.qtbot import QtBot

from ecg_desktop.analyzer import whisper_models as wm
from ecg_desktop.analyzer.whisper_download import download_model
from ecg_desktop.config import Settings
from ecg_desktop.gui.qt_job_model import PROGRESS_ROLE
from ecg_desktop.gui.qt_models_page import QtModelsPage, QtModelsTable
from tests.gui.conftest import AnsweringPrompts, Runner
from tests.media import make_silent_video
from tests.services.hub import FakeHub, tiny_en_files

ENGLISH = "base.en"  # served with tiny.en's files: the page is under test, not the model
BROKEN = "small.en"  # served with model.bin damaged


@pytest.fixture(scope="module")
def hub() -> Iterator[FakeHub]:
    with FakeHub() as server:
        server.add_repo(wm.CATALOG[ENGLISH].repo_id, tiny_en_files())
        server.add_repo(wm.CATALOG[BROKEN].repo_id, tiny_en_files())
        server.corrupt(wm.CATALOG[BROKEN].repo_id, "model.bin")
        yield server


@pytest.fixture
def page(qtbot: QtBot, tmp_path: Path, hub: FakeHub) -> QtModelsPage:
    widget = QtModelsPage(tmp_path / "models", endpoint=hub.url)
    qtbot.addWidget(widget)
    widget.resize(760, 520)
    widget.show()
    return widget


def cell(page: QtModelsPage, name: str, column: int) -> str:
    return str(page.table.index(page.table.row_of(name), column).data())


def choices(page: QtModelsPage) -> list[str]:
    return [page.choice.itemData(i) for i in range(page.choice.count())]


def test_lists_every_model_with_size_languages_and_state(page: QtModelsPage) -> None:
    assert page.table.rowCount() == len(wm.CATALOG)
    assert cell(page, "tiny.en", QtModelsTable.STATUS) == "Bundled"
    assert cell(page, "tiny.en", 0) == "tiny.en  (new jobs)"
    assert cell(page, "base", 1) == "145 MB"
    assert cell(page, "base", 2) == "99 languages"
    assert cell(page, "base.en", 2) == "English"
    assert cell(page, "large-v3", QtModelsTable.STATUS) == "Not installed"
    assert choices(page) == ["tiny.en"]
    page.select("tiny.en")  # bundled: nothing to download or remove
    assert not page.download_button.isEnabled() and not page.remove_button.isEnabled()
    page.select("large-v3")
    assert page.download_button.isEnabled() and not page.remove_button.isEnabled()


def test_download_shows_progress_without_blocking_and_installs(
    page: QtModelsPage, qtbot: QtBot, run: Runner
) -> None:
    shown: list[float] = []
    texts: list[str] = []

    def record(top_left: QModelIndex, bottom_right: QModelIndex) -> None:
        value = page.table.index(page.table.row_of(ENGLISH), QtModelsTable.STATUS).data(
            PROGRESS_ROLE)
        if value:
            shown.append(value[0])
            texts.append(value[1])

    page.table.dataChanged.connect(record)
    ticks: list[int] = []
    timer = QTimer(page)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    page.select(ENGLISH)
    with qtbot.waitSignal(page.models_changed, timeout=60_000):
        qtbot.mouseClick(page.download_button, Qt.MouseButton.LeftButton)
        assert ENGLISH in page.tasks
        assert not page.download_button.isEnabled() and page.cancel_button.isEnabled()
        run.until(lambda: ENGLISH not in page.tasks, timeout=60)
    timer.stop()
    assert shown and shown[-1] == pytest.approx(100.0)
    assert texts[0].startswith("Downloading ") and texts[-1] == "Checking the download…"
    assert shown == sorted(shown) and len(set(shown)) >= 3
    assert len(ticks) >= 5  # the event loop kept running while the model came in
    assert cell(page, ENGLISH, QtModelsTable.STATUS) == "Installed"
    assert choices(page) == ["tiny.en", ENGLISH]
    assert wm.is_installed(ENGLISH, page.models_dir)
    assert page.message.text() == f"{ENGLISH} is installed."
    assert page.remove_button.isEnabled()

    page.set_chosen(ENGLISH)
    qtbot.mouseClick(page.remove_button, Qt.MouseButton.LeftButton)
    assert cell(page, ENGLISH, QtModelsTable.STATUS) == "Not installed"
    assert not wm.is_installed(ENGLISH, page.models_dir)
    # new jobs go back to the bundled model rather than fail for want of the removed one
    assert choices(page) == ["tiny.en"]
    assert page.choice.currentData() == "tiny.en"


def test_a_damaged_download_shows_why_and_installs_nothing(
    page: QtModelsPage, qtbot: QtBot, run: Runner
) -> None:
    page.select(BROKEN)
    qtbot.mouseClick(page.download_button, Qt.MouseButton.LeftButton)
    run.until(lambda: BROKEN not in page.tasks, timeout=60)
    assert cell(page, BROKEN, QtModelsTable.STATUS).startswith("Failed: model.bin: sha256")
    assert "was not installed" in page.message.text()
    assert not wm.is_installed(BROKEN, page.models_dir)
    assert page.download_button.isEnabled()  # it may be tried again


def test_cancel_stops_a_download_and_installs_nothing(
    page: QtModelsPage, qtbot: QtBot, run: Runner
) -> None:
    def cancel_once_started(top_left: QModelIndex, bottom_right: QModelIndex) -> None:
        row = page.table.rows[page.table.row_of(ENGLISH)]
        if row.progress and row.progress[0] > 0 and page.cancel_button.isEnabled():
            qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)

    page.table.dataChanged.connect(cancel_once_started)
    page.select(ENGLISH)
    qtbot.mouseClick(page.download_button, Qt.MouseButton.LeftButton)
    run.until(lambda: ENGLISH not in page.tasks, timeout=60)
    assert "canceled" in page.message.text()
    assert cell(page, ENGLISH, QtModelsTable.STATUS).startswith("Stopped at ")
    assert not wm.is_installed(ENGLISH, page.models_dir)
    assert page.download_button.isEnabled()  # and a new download goes on from there


def test_the_settings_dialog_saves_the_model_new_jobs_use(
    qtbot: QtBot, tmp_settings: Settings, hub: FakeHub
) -> None:
    from ecg_desktop.gui.qt_settings_dialog import QtSettingsDialog

    download_model(ENGLISH, tmp_settings.models_dir, endpoint=hub.url)
    dialog = QtSettingsDialog(tmp_settings, env={})
    qtbot.addWidget(dialog)
    page = dialog.models_page
    assert dialog.tabs.tabText(dialog.tabs.indexOf(page)) == "Speech recognition"
    assert choices(page) == ["tiny.en", ENGLISH]
    assert page.choice.currentData() == "tiny.en"
    page.choice.setCurrentIndex(page.choice.findData(ENGLISH))
    assert cell(page, ENGLISH, 0) == f"{ENGLISH}  (new jobs)"
    with qtbot.waitSignal(dialog.applied) as applied:
        assert dialog.apply()
    assert applied.args[0].whisper_model == ENGLISH


def test_a_chosen_model_that_is_not_installed_is_shown_as_such(
    qtbot: QtBot, tmp_settings: Settings
) -> None:
    from ecg_desktop.gui.qt_settings_dialog import QtSettingsDialog

    dialog = QtSettingsDialog(tmp_settings.with_changes(whisper_model="medium"), env={})
    qtbot.addWidget(dialog)
    assert dialog.models_page.choice.currentData() == "medium"
    assert "medium" in dialog.models_page.choice.currentText()
    assert cell(dialog.models_page, "medium", 0) == "medium  (new jobs)"


def test_the_language_menus_offer_what_the_installed_models_cover(
    qtbot: QtBot, tmp_settings: Settings, hub: FakeHub
) -> None:
    from PySide6.QtCore import QSettings

    from ecg_desktop.gui.qt_main_window import QtMainWindow
    from ecg_desktop.gui.qt_settings_dialog import QtSettingsDialog
    from tests.services.hub import whisper_base_files

    def codes(box: QComboBox) -> list[str]:
        return [box.itemData(i) for i in range(box.count())]

    qsettings = QSettings(str(tmp_settings.data_dir / "gui.ini"), QSettings.Format.IniFormat)
    window = QtMainWindow(tmp_settings, qsettings=qsettings)
    qtbot.addWidget(window)
    dialog = QtSettingsDialog(tmp_settings, env={})
    qtbot.addWidget(dialog)
    # English models only (and vosk's Korean, installed on the test machines)
    assert codes(window.language_box) == ["auto", "ko", "en"]
    assert codes(dialog.editors["default_language"]) == ["auto", "ko", "en"]  # type: ignore[arg-type]

    if wm.CATALOG["base"].repo_id not in hub.repos:
        hub.add_repo(wm.CATALOG["base"].repo_id, whisper_base_files())
    download_model("base", tmp_settings.models_dir, endpoint=hub.url)
    window.set_batch_language("ja")  # what applying the settings does
    assert codes(window.language_box) == ["auto", "ko", "en", "ja", "zh"]
    assert window.batch_language() == "ja"
    assert window.language_box.currentText() == "Japanese (ja)"


def test_a_video_no_installed_model_can_recognise_is_refused_before_upload(
    run: Runner, start_desktop: Callable[..., Any], prompts: AnsweringPrompts, tmp_path: Path,
) -> None:
    """New jobs are to use a model that is not installed (chosen, then removed from a
    terminal): the window refuses the video, naming what to download, and uploads nothing."""
    desktop = start_desktop(ECG_WHISPER_MODEL="small")
    video = make_silent_video(tmp_path / "talk.mp4", duration_s=1.0)
    desktop.window.add_paths([video], "auto")
    run.until(lambda: bool(prompts.refused))
    run(desktop.window.wait_idle())
    [refused] = prompts.refused
    assert (refused.path, refused.kind) == (video, "no_model")
    assert refused.reason == "no speech model installed for this language"
    assert "ecg-desktop models download small" in refused.detail
    assert desktop.window.model.rowCount() == 0
    assert not list(desktop.settings.storage_dir.rglob("*talk*"))  # nothing uploaded
