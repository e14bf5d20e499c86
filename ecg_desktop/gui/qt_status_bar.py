"""``QtStatusBar``: ML server health (a coloured dot, response time, time of the last check;
click to check now; with several servers, one dot, queue and response time per server), the
callback server's address and signing policy, the storage and the job store. It only shows
what it is given; the main window runs the checks."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import urlsplit

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QStatusBar, QToolButton

from ecg_desktop.app.ports import HealthReport

from .i18n import tr

HEALTH_COLORS = {
    "healthy": QColor("#2e9d4f"),
    "unhealthy": QColor("#e08a00"),
    "unreachable": QColor("#d64541"),
    "unknown": QColor("#8a8f98"),
}


def dot_icon(color: QColor, size: int = 12) -> QIcon:
    pixmap = QPixmap(QSize(size, size))
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(color)
    painter.setPen(color.darker(130))
    painter.drawEllipse(1, 1, size - 2, size - 2)
    painter.end()
    return QIcon(pixmap)


class QtHealthIndicator(QToolButton):
    """The ML server's health. ``state`` is "unknown", "checking", "healthy", "unhealthy"
    or "unreachable" (kept as a property so tests and screen readers can read it).

    With several servers (a report with ``servers``) the button sums up ("ML servers: 2 of
    3 healthy") and ``servers_label``, placed beside it by the status bar, shows each one:
    its dot, its queue and its response time."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.servers_label = QLabel(parent)
        self.servers_label.setObjectName("mlServers")
        self.servers_label.setTextFormat(Qt.TextFormat.RichText)
        self.servers_label.hide()
        self.setObjectName("healthIndicator")
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setAutoRaise(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.state = "unknown"
        self.report: HealthReport | None = None
        self.checked_at: datetime | None = None
        self._checking = False
        self.retranslate()

    def show_checking(self) -> None:
        self._checking = True
        self.retranslate()

    def show_report(self, report: HealthReport, checked_at: datetime) -> None:
        self._checking = False
        self.report = report
        self.checked_at = checked_at
        self.state = report.status if report.status in HEALTH_COLORS else (
            "healthy" if report.healthy else "unreachable")
        self.retranslate()

    def retranslate(self) -> None:
        color = HEALTH_COLORS.get(self.state, HEALTH_COLORS["unknown"])
        self.setIcon(dot_icon(color))
        names = {
            "unknown": tr("not checked yet"),
            "healthy": tr("healthy"),
            "unhealthy": tr("unhealthy"),
            "unreachable": tr("unreachable"),
        }
        servers = self.report.servers if self.report is not None else ()
        if len(servers) > 1:
            text = tr("ML servers: {healthy} of {count} healthy").format(
                healthy=sum(1 for r in servers if r.healthy), count=len(servers))
        else:
            text = tr("ML server: {state}").format(state=names.get(self.state, self.state))
        if len(servers) <= 1 and self.report is not None and self.report.response_time_ms:
            text += f" · {self.report.response_time_ms:.0f} ms"
        if self.checked_at is not None:
            text += " · " + tr("checked {time}").format(
                time=self.checked_at.astimezone().strftime("%H:%M:%S"))
        if self._checking:
            text += " · " + tr("checking…")
        self.setText(text)
        url = self.report.url if self.report else ""
        self.setToolTip(tr("ML server {url}\nClick to check now and see the full answer.")
                        .format(url=url))
        self.setAccessibleName(text)
        self._show_servers(servers if len(servers) > 1 else ())

    def _show_servers(self, servers: tuple[HealthReport, ...]) -> None:
        label = self.servers_label
        label.setVisible(bool(servers))
        if not servers:
            return
        label.setText("&nbsp;&nbsp;".join(_server_html(r) for r in servers))
        label.setToolTip("\n".join(
            f"{r.url}: {r.status}" + (f" ({r.reason})" if r.reason else "") for r in servers))
        label.setAccessibleName(" · ".join(_server_text(r) for r in servers))


def _server_name(report: HealthReport) -> str:
    """host:port, which tells the servers of one team apart."""
    parts = urlsplit(report.url)
    return parts.netloc or report.url


def _server_text(report: HealthReport) -> str:
    if not report.healthy:
        state = tr("unreachable") if report.status == "unreachable" else tr("unhealthy")
        return f"{_server_name(report)} {state}"
    text = _server_name(report)
    if report.queue_length is not None:
        text += " · " + tr("queue {n}").format(n=report.queue_length)
    if report.response_time_ms is not None:
        text += f" · {report.response_time_ms:.0f} ms"
    return text


def _server_html(report: HealthReport) -> str:
    state = report.status if report.status in HEALTH_COLORS else "unknown"
    color = HEALTH_COLORS[state].name()
    return f'<span style="color:{color}">●</span>&nbsp;{escape(_server_text(report))}'


class QtStatusBar(QStatusBar):
    health_clicked = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.health = QtHealthIndicator(self)
        self.health.clicked.connect(self.health_clicked)
        self.callback_label = QLabel(self)
        self.storage_label = QLabel(self)
        self.store_label = QLabel(self)
        for label in (self.callback_label, self.storage_label, self.store_label):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.addPermanentWidget(self.health)
        self.addPermanentWidget(self.health.servers_label)
        self.addPermanentWidget(self.callback_label)
        self.addPermanentWidget(self.storage_label)
        self.addPermanentWidget(self.store_label, 1)
        self._callback: tuple[str, bool] | None = None
        self._storage: tuple[str, str] = ("", "")  # (bucket, where); no bucket: local
        self._store = ""
        self._store_state = ""
        self.retranslate()

    def show_services(self, callback_url: str, allow_unsigned: bool, *, bucket: str,
                      storage_where: str, store: str) -> None:
        """``bucket`` is the S3 bucket (``storage_where`` its endpoint or region), or empty
        for the local store (``storage_where`` its folder)."""
        self._callback = (callback_url, allow_unsigned)
        self._storage = (bucket, storage_where)
        self._store = store
        self.retranslate()

    def show_store_state(self, state: str) -> None:
        """Team mode's link to the shared store: "connected" or "reconnecting"."""
        self._store_state = state
        self.retranslate()

    def show_starting(self) -> None:
        self._callback = None
        self.retranslate()

    def _storage_text(self) -> str:
        bucket, where = self._storage
        if bucket:
            return tr("Storage: S3 bucket {bucket} ({where})").format(bucket=bucket, where=where)
        return tr("Storage: this computer, {folder}").format(folder=where) if where else ""

    def retranslate(self) -> None:
        self.health.retranslate()
        if self._callback is None:
            self.callback_label.setText(tr("Starting services…"))
        else:
            url, unsigned = self._callback
            text = tr("Callbacks: {url}").format(url=url or tr("not running"))
            if unsigned:
                text += " · " + tr("⚠ unsigned accepted")
                self.callback_label.setStyleSheet("color: #b35c00;")
            else:
                text += " · " + tr("signed only")
                self.callback_label.setStyleSheet("")
            self.callback_label.setText(text)
        self.storage_label.setText(self._storage_text())
        store = tr("Jobs: {where}").format(where=self._store) if self._store else ""
        if self._store_state == "reconnecting":
            store += " · " + tr("reconnecting…")
            self.store_label.setStyleSheet("color: #b35c00;")
        else:
            if self._store_state == "connected":
                store += " · " + tr("live")
            self.store_label.setStyleSheet("")
        self.store_label.setText(store)
        self.store_label.setToolTip(self._store)
