"""The settings dialog validates as you type, its changes are applied at once and survive a
restart; the Korean translation loads and can be switched to and from while running."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QDialogButtonBox, QLineEdit
from pytestqt.qtbot import QtBot

from ecg_desktop.config import Settings
from ecg_desktop.gui.app import load_full_settings
from ecg_desktop.gui.i18n import Translations
from ecg_desktop.gui.qt_job_model import Column
from ecg_desktop.gui.qt_settings_dialog import QtSettingsDialog
from tests.gui.conftest import Runner


def test_an_invalid_value_is_named_and_blocks_ok_until_fixed(qtbot: QtBot) -> None:
    dialog = QtSettingsDialog(Settings(), env={})
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    url = dialog.editors["model_server_url"]
    assert isinstance(url, QLineEdit)

    url.setText("ftp://gpu-box:9000")

    assert "MODEL_SERVER_URL" in dialog.error_label.text()
    assert not ok.isEnabled()
    assert "d64541" in url.styleSheet()  # the field is marked
    url.setText("http://gpu-box:9000")
    assert dialog.error_label.text() == "" and ok.isEnabled()
    assert dialog.candidate.model_server_url == "http://gpu-box:9000"


def test_a_setting_from_the_environment_is_read_only(qtbot: QtBot) -> None:
    dialog = QtSettingsDialog(Settings(bind_port=9100), env={"ECG_BIND_PORT": "9100"})
    qtbot.addWidget(dialog)
    port = dialog.editors["bind_port"]
    assert not port.isEnabled() and "ECG_BIND_PORT" in port.toolTip()


def test_unsigned_callbacks_show_their_warning(qtbot: QtBot) -> None:
    dialog = QtSettingsDialog(Settings(), env={})
    qtbot.addWidget(dialog)
    dialog.show()
    tabs = dialog.tabs
    tabs.setCurrentIndex(next(i for i in range(tabs.count())
                              if tabs.tabText(i) == "Callback server"))
    assert not dialog.unsigned_warning.isVisible()
    dialog.editors["allow_unsigned_callbacks"].setChecked(True)  # type: ignore[union-attr]
    assert dialog.unsigned_warning.isVisible()


def test_settings_are_applied_and_survive_a_restart(
    run: Runner, start_desktop: Callable[..., Any], peer: Any,
) -> None:
    desktop = start_desktop(MODEL_SERVER_URL=peer.url)
    first_core = desktop.services.core
    desktop.open_settings()
    dialog = desktop.settings_dialog
    dialog.editors["ml_api_timeout"].setValue(42.0)
    dialog.editors["default_language"].setCurrentIndex(
        dialog.editors["default_language"].findData("ko"))
    dialog.editors["aws_secret_access_key"].setText("s3-secret-from-the-dialog")
    dialog.editors["allow_unsigned_callbacks"].setChecked(True)

    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    run.until(lambda: desktop.services.core is not None
              and desktop.services.core is not first_core and desktop.window.core is not None)
    run(desktop.window.wait_idle())

    assert desktop.services.core.settings.ml_api_timeout == 42.0  # applied without a restart
    assert desktop.window.batch_language() == "ko"
    assert "unsigned accepted" in desktop.window.status.callback_label.text()
    run(desktop.stop())
    desktop.window.close()

    reloaded = load_full_settings()  # what the next start reads: file + keyring
    assert reloaded.ml_api_timeout == 42.0
    assert reloaded.default_language == "ko"
    assert reloaded.allow_unsigned_callbacks is True
    assert reloaded.aws_secret_access_key == "s3-secret-from-the-dialog"
    again = start_desktop(MODEL_SERVER_URL=peer.url)
    again.open_settings()
    assert again.settings_dialog.editors["ml_api_timeout"].value() == 42.0
    assert again.window.batch_language() == "ko"


def test_the_korean_translation_loads_and_switches_while_running(
    run: Runner, start_desktop: Callable[..., Any], peer: Any,
) -> None:
    window = start_desktop(MODEL_SERVER_URL=peer.url).window
    translations = Translations()
    try:
        assert translations.apply("ko") == "ko" and translations.loaded
        run(asyncio.sleep(0.05))  # Qt delivers LanguageChange through the event loop
        assert window.menus["&File"].title() == "파일(&F)"
        assert window.actions_by_name["add"].text() == "동영상 추가(&A)…"
        assert window.model.headerData(Column.FILE, _horizontal()) == "파일"
        assert window.status.health.text().startswith("ML 서버")
        assert window.status.storage_label.text().startswith("저장소: 이 컴퓨터, ")
    finally:
        translations.apply("en")
        run(asyncio.sleep(0.05))
    assert window.menus["&File"].title() == "&File"
    assert window.status.storage_label.text().startswith("Storage: this computer, ")
    assert window.model.headerData(Column.FILE, _horizontal()) == "File"


def _horizontal() -> Any:
    from PySide6.QtCore import Qt

    return Qt.Orientation.Horizontal


def test_test_connection_reports_reachable_and_unreachable_stores(
    run: Runner, qtbot: QtBot, tmp_path: Any,
) -> None:
    from ecg_desktop.gui.app import _test_database

    dialog = QtSettingsDialog(Settings(data_dir=tmp_path), env={})
    qtbot.addWidget(dialog)
    dialog.test_database = _test_database
    url = dialog.editors["database_url"]
    assert isinstance(url, QLineEdit)

    url.setText(f"sqlite+aiosqlite:///{tmp_path / 'team.db'}")
    dialog.test_button.click()
    run.until(lambda: dialog.test_button.isEnabled())
    assert dialog.test_result.text().startswith("Connected to SQLite")

    url.setText("postgresql+psycopg://nobody:wrong@127.0.0.1:9/none")
    dialog.test_button.click()
    run.until(lambda: dialog.test_result.text().startswith("Failed"), timeout=20)
    assert "wrong" not in dialog.test_result.text()  # the password is not shown


def test_every_text_of_the_window_has_a_korean_translation(tmp_path: Any) -> None:
    """pyside6-lupdate over the code (window and review pane) finds no text the committed
    Korean file lacks."""
    import shutil
    import subprocess
    import sys
    import xml.etree.ElementTree as ET
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    ts = tmp_path / "check_ko.ts"
    shutil.copy(root / "resources" / "translations" / "ecg_desktop_ko.ts", ts)
    gui = root / "ecg_desktop" / "gui"
    sources = sorted(str(p) for p in [*gui.glob("*.py"), *gui.glob("review/*.py")]
                     if p.name != "__init__.py")
    lupdate = Path(sys.executable).with_name("pyside6-lupdate")
    subprocess.run([str(lupdate), *sources, "-ts", str(ts)], check=True, capture_output=True)
    unfinished = [m.findtext("source") for m in ET.parse(ts).iter("message")
                  if (m.find("translation") is None
                      or m.find("translation").get("type") == "unfinished")]  # type: ignore[union-attr]
    assert unfinished == []


def test_a_job_uploading_while_settings_change_still_completes(
    run: Runner, start_desktop: Callable[..., Any], peer: Any, tmp_path: Any,
) -> None:
    from ecg_desktop.domain import JobStatus, Stage
    from tests.gui.test_real_analyzer import _big_video

    desktop = start_desktop(MODEL_SERVER_URL=peer.url)
    window = desktop.window
    window.add_paths([_big_video(tmp_path / "long talk.mp4", 300 * 1024 * 1024)])
    run.until(lambda: window.model.rowCount() == 1
              and window.model.job_at(0).stage == Stage.UPLOADING)
    job_id = window.model.job_at(0).job_id

    core = desktop.services.core
    changed = desktop.settings.with_changes(rate_limit_per_minute=55)  # read by the server
    run(desktop.apply_settings(changed), timeout=60)  # the services restart under the upload

    assert desktop.services.core is not core
    assert desktop.services.core.settings.rate_limit_per_minute == 55
    run.until(lambda: window.model.job(job_id) is not None
              and window.model.job(job_id).status.is_terminal, timeout=120)
    assert window.model.job(job_id).status == JobStatus.COMPLETED


def test_settings_read_at_each_use_apply_without_restarting_the_services(
    run: Runner, start_desktop: Callable[..., Any], peer: Any, tmp_path: Any,
) -> None:
    from ecg_desktop.domain import JobStatus
    from tests.media import make_silent_video

    desktop = start_desktop(MODEL_SERVER_URL=peer.url)
    window, core = desktop.window, desktop.services.core
    assert "unsigned" not in window.status.callback_label.text()
    changed = desktop.settings.with_changes(user_name="bo", ml_api_timeout=55.0,
                                            allow_unsigned_callbacks=True)
    run(desktop.apply_settings(changed), timeout=60)

    assert desktop.services.core is core and core.server is not None
    assert core.settings.ml_api_timeout == 55.0
    assert "unsigned" in window.status.callback_label.text()
    window.add_paths([make_silent_video(tmp_path / "talk.mp4", duration_s=1.0)])
    run.until(lambda: window.model.rowCount() == 1
              and window.model.job_at(0).status == JobStatus.COMPLETED, timeout=60)
    assert window.model.job_at(0).owner == "bo"
