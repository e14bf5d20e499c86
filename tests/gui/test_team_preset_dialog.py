"""The settings dialog's Team tab joins a team: the preset is validated by
``apply_team_preset``, fills the other tabs, and OK saves it like any other setting."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QDialogButtonBox, QLineEdit
from pytestqt.qtbot import QtBot

from ecg_desktop.config import Settings
from ecg_desktop.gui.app import load_full_settings, persist_settings
from ecg_desktop.gui.qt_settings_dialog import QtSettingsDialog


def _fill(dialog: QtSettingsDialog, **values: str) -> None:
    for name, value in values.items():
        dialog.team_fields[name].setText(value)


def _text(dialog: QtSettingsDialog, name: str) -> str:
    editor = dialog.editors[name]
    assert isinstance(editor, QLineEdit)
    return editor.text()


def test_joining_a_team_fills_the_settings_and_ok_saves_them(
    qtbot: QtBot, tmp_settings: Any,
) -> None:
    old = Settings(data_dir=tmp_settings.data_dir)
    dialog = QtSettingsDialog(old, env={})
    qtbot.addWidget(dialog)
    _fill(dialog, database_url="postgresql+psycopg://ana@db.team/ecg", bucket="team-videos",
          callback_url="http://backend.team:8080/", model_server_url="http://gpu.team:9000",
          user_name="ana")

    assert dialog.join_team()

    assert _text(dialog, "database_url") == "postgresql+psycopg://ana@db.team/ecg"
    assert _text(dialog, "s3_bucket_name") == "team-videos"
    assert _text(dialog, "fastapi_base_url") == "http://backend.team:8080"
    assert _text(dialog, "model_server_url") == "http://gpu.team:9000"
    assert _text(dialog, "user_name") == "ana"
    assert "OK or Apply" in dialog.team_result.text()
    with qtbot.waitSignal(dialog.applied) as blocker:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    saved: Settings = blocker.args[0]
    persist_settings(saved, old)  # what the application does with ``applied``

    reloaded = load_full_settings()
    assert reloaded.database_url == "postgresql+psycopg://ana@db.team/ecg"
    assert reloaded.s3_bucket_name == "team-videos"
    assert reloaded.fastapi_base_url == "http://backend.team:8080"
    assert reloaded.model_server_url == "http://gpu.team:9000"
    assert reloaded.user_name == "ana"


def test_a_preset_that_cannot_work_is_named_and_changes_nothing(qtbot: QtBot) -> None:
    dialog = QtSettingsDialog(Settings(), env={})
    qtbot.addWidget(dialog)
    _fill(dialog, database_url="sqlite:///jobs.db", bucket="team-videos",
          callback_url="http://backend.team:8080")

    assert not dialog.join_team()

    assert "DATABASE_URL" in dialog.team_result.text()
    assert _text(dialog, "database_url") == ""
    assert _text(dialog, "s3_bucket_name") == ""
    _fill(dialog, database_url="postgresql://ana@db.team/ecg", bucket=" ")
    assert not dialog.join_team()
    assert "S3_BUCKET_NAME" in dialog.team_result.text()


def test_joining_warns_about_a_loopback_backend(qtbot: QtBot) -> None:
    dialog = QtSettingsDialog(Settings(), env={})
    qtbot.addWidget(dialog)
    _fill(dialog, database_url="postgresql://ana@db.team/ecg", bucket="team-videos",
          callback_url="http://127.0.0.1:8080")

    assert dialog.join_team()

    result = dialog.team_result.text()
    assert "loopback" in result  # (the ML server is the team backend's: no warning for it)
