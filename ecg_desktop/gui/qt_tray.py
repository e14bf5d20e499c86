"""``QtTray``: the system tray icon and its notifications. A job that completes or fails
shows a message with its file name; clicking the message selects that job."""

from __future__ import annotations

import uuid
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from ecg_desktop.domain import Job, JobStatus

from .i18n import tr


class QtTray(QObject):
    """``job_clicked(job_id)`` fires when the user clicks the last notification."""

    job_clicked = Signal(object)
    show_window = Signal()

    def __init__(self, icon: QIcon, parent: Any = None) -> None:
        super().__init__(parent)
        self.tray = QSystemTrayIcon(icon, self)
        self.tray.setToolTip("ECG Desktop")
        self.menu = QMenu()
        self.show_action = self.menu.addAction(tr("Show window"))
        self.show_action.triggered.connect(self.show_window)
        self.tray.setContextMenu(self.menu)
        self.tray.messageClicked.connect(self._on_message_clicked)
        self.tray.activated.connect(lambda _reason: self.show_window.emit())
        self.last_job_id: uuid.UUID | None = None
        self.last_message: tuple[str, str] | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray.show()

    def notify_job(self, job: Job) -> None:
        if job.status == JobStatus.COMPLETED:
            title = tr("Transcript ready")
            text = tr("{name} is analysed.").format(name=job.filename)
            icon = QSystemTrayIcon.MessageIcon.Information
        elif job.status == JobStatus.FAILED:
            title = tr("Analysis failed")
            text = tr("{name}: {reason}").format(name=job.filename,
                                                  reason=job.error_message or job.error_code or "")
            icon = QSystemTrayIcon.MessageIcon.Warning
        else:
            return
        self.last_job_id = job.job_id
        self.last_message = (title, text)
        self.tray.showMessage(title, text, icon, 8000)

    def _on_message_clicked(self) -> None:
        if self.last_job_id is not None:
            self.show_window.emit()
            self.job_clicked.emit(self.last_job_id)

    def hide(self) -> None:
        self.tray.hide()
