"""The status bar with several ML servers: one dot, queue and response time per server, a
sum-up on the button; one server shows as one line, as before."""

from __future__ import annotations

from datetime import UTC, datetime

from pytestqt.qtbot import QtBot

from ecg_desktop.app.ports import HealthReport
from ecg_desktop.gui.qt_status_bar import QtStatusBar


def server(url: str, queue: int | None, ms: float | None, status: str = "healthy") -> HealthReport:
    body = None if queue is None else {"status": "healthy", "queue_length": queue}
    return HealthReport(status == "healthy", status, url, ms, response=body,
                        reason=None if status == "healthy" else "ConnectError: refused")


def test_each_server_shows_its_state_queue_and_response_time(qtbot: QtBot) -> None:
    bar = QtStatusBar()
    qtbot.addWidget(bar)
    bar.show()
    servers = (
        server("http://gpu1.team.lan:8001", 0, 12.0),
        server("http://gpu2.team.lan:8001", 3, 48.0),
        server("http://gpu3.team.lan:8001", None, None, "unreachable"),
    )
    pool = HealthReport(True, "healthy", "three", 12.0, servers=servers)
    bar.health.show_report(pool, datetime.now(UTC))

    label = bar.health.servers_label
    assert label.isVisible()
    assert bar.health.text().startswith("ML servers: 2 of 3 healthy")
    assert label.accessibleName() == (
        "gpu1.team.lan:8001 · queue 0 · 12 ms · gpu2.team.lan:8001 · queue 3 · 48 ms · "
        "gpu3.team.lan:8001 unreachable"
    )
    assert "#d64541" in label.text() and "#2e9d4f" in label.text()  # red and green dots
    assert "ConnectError: refused" in label.toolTip()


def test_one_server_is_one_line_as_before(qtbot: QtBot) -> None:
    bar = QtStatusBar()
    qtbot.addWidget(bar)
    bar.show()
    bar.health.show_report(server("http://gpu1.team.lan:8001", 2, 30.0), datetime.now(UTC))
    assert not bar.health.servers_label.isVisible()
    assert bar.health.text().startswith("ML server: healthy · 30 ms")


def test_the_settings_field_takes_a_list_of_servers(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QDialogButtonBox, QLineEdit

    from ecg_desktop.config import Settings
    from ecg_desktop.gui.qt_settings_dialog import QtSettingsDialog

    dialog = QtSettingsDialog(Settings(), env={})
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    url = dialog.editors["model_server_url"]
    assert isinstance(url, QLineEdit)

    url.setText("http://gpu1.team.lan:8001, ftp://gpu2.team.lan")
    assert "MODEL_SERVER_URL" in dialog.error_label.text() and not ok.isEnabled()
    url.setText("http://gpu1.team.lan:8001, http://gpu2.team.lan:8001")
    assert dialog.error_label.text() == "" and ok.isEnabled()
    assert dialog.candidate.model_server_urls == (
        "http://gpu1.team.lan:8001", "http://gpu2.team.lan:8001")
