"""The window before and around its services: keyboard access to every action, the empty
queue's hint, files given at start-up queued until the services are up."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from ecg_desktop.config import Settings
from ecg_desktop.domain import JobStatus
from ecg_desktop.gui.qt_main_window import QtMainWindow
from tests.gui.conftest import SECRET, AnsweringPrompts, Runner
from tests.media import make_silent_video


def test_every_action_has_a_key_and_a_menu(qtbot: QtBot, qsettings: QSettings) -> None:
    window = QtMainWindow(Settings(), qsettings=qsettings)
    qtbot.addWidget(window)
    in_menus = {a for menu in window.menus.values() for a in menu.actions()}
    actions = [a for a in window.findChildren(QAction)
               if a.objectName() and not a.objectName().startswith("_q_")]  # Qt's own
    assert len(actions) >= 16
    for action in actions:
        assert not action.shortcut().isEmpty(), action.objectName()
        assert action in in_menus, action.objectName()
    keys = [a.shortcut().toString() for a in actions]
    assert len(keys) == len(set(keys)), "two actions share a key"
    for menu in window.menus.values():
        assert "&" in menu.title()


def test_the_empty_queue_says_what_to_do(qtbot: QtBot, qsettings: QSettings) -> None:
    window = QtMainWindow(Settings(), qsettings=qsettings)
    qtbot.addWidget(window)
    window.show()
    assert window.empty_hint.isVisible() and not window.queue.isVisible()
    assert "Drop videos" in window.empty_hint.text()


def test_files_given_at_start_wait_for_the_services_then_run(
    run: Runner, qapp: QApplication, prompts: AnsweringPrompts, qsettings: QSettings,
    settings_factory: Callable[..., Any], monkeypatch: Any, peer: Any, tmp_path: Path,
) -> None:
    from ecg_desktop.gui.app import DesktopApp, load_file_settings

    settings_factory()
    for name, value in {"ECG_BIND_PORT": "0", "WEBHOOK_SECRET_KEY": SECRET,
                        "MODEL_SERVER_URL": peer.url}.items():
        monkeypatch.setenv(name, value)
    desktop = DesktopApp(qapp, load_file_settings()[0], qsettings=qsettings)
    desktop.window.prompts = prompts
    desktop.window.show()
    video = make_silent_video(tmp_path / "from the command line.mp4", duration_s=1.0)

    assert desktop.window.add_paths([video]) == [video]  # as `ecg-desktop FILE` does
    assert desktop.window.pending and desktop.window.model.rowCount() == 0
    try:
        run(desktop.run(until_ready=True), timeout=60)
        run.until(lambda: desktop.window.model.rowCount() == 1)
        run.until(lambda: desktop.window.model.job_at(0).status == JobStatus.COMPLETED)
        assert desktop.window.pending == []
    finally:
        run(desktop.stop())
        desktop.window.close()


def test_pasted_paths_are_added_and_non_videos_refused(
    qtbot: QtBot, qsettings: QSettings, prompts: AnsweringPrompts, tmp_path: Path,
) -> None:
    from PySide6.QtGui import QGuiApplication

    window = QtMainWindow(Settings(), qsettings=qsettings, prompts=prompts)
    qtbot.addWidget(window)
    video = make_silent_video(tmp_path / "pasted.mp4", duration_s=1.0)
    notes = tmp_path / "notes.pdf"
    notes.write_bytes(b"%PDF-1.4")
    QGuiApplication.clipboard().setText(f"{video}\n{notes}\n")

    window.actions_by_name["paste"].trigger()

    assert [path for path, _language in window.pending] == [video]  # waits for the services
    assert [(r.path, r.reason, r.detail) for r in prompts.refused] == [
        (notes, "not a video or sound file", ".pdf extension")]
