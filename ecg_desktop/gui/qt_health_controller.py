"""The ML server's health in the window: the status bar's dot follows every report of the
core's health monitor (which checks every 15 s by itself); F5 or a click on the dot checks now
and shows the server's whole answer. A check never blocks the loop and ends within
``HEALTH_TIMEOUT_S`` even when the server hangs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime

from PySide6.QtCore import QObject, Signal

from ecg_desktop.app.ports import HealthReport

from .i18n import tr
from .prompts import Prompts
from .qt_status_bar import QtStatusBar
from .services import HealthReports
from .tasks import Tasks

HEALTH_TIMEOUT_S = 10.0


class HealthController(QObject):
    reported = Signal(object)  # HealthReport; also carries reports from other threads

    def __init__(self, status: QtStatusBar, tasks: Tasks,
                 prompts: Callable[[], Prompts], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._status = status
        self._tasks = tasks
        self._prompts = prompts
        self._monitor: HealthReports | None = None
        self._url = ""
        self._unsubscribe: Callable[[], None] | None = None
        self._lock = asyncio.Lock()
        self.reported.connect(self._show)

    def attach(self, monitor: HealthReports, url: str) -> None:
        """Follow ``monitor``'s reports (``url`` names the server when a check fails)."""
        self.detach()
        self._monitor, self._url = monitor, url
        self._unsubscribe = monitor.subscribe(self.reported.emit)
        if monitor.last_report is not None:
            self._show(monitor.last_report)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self._unsubscribe = self._monitor = None

    def check(self) -> None:
        """Check now in the background, unless a check is already under way."""
        if self._monitor is not None and not self._lock.locked():
            self._tasks.spawn(self.check_once())

    async def check_once(self) -> HealthReport | None:
        monitor = self._monitor
        if monitor is None:
            return None
        async with self._lock:
            self._status.health.show_checking()
            try:
                report = await asyncio.wait_for(monitor.check_now(), HEALTH_TIMEOUT_S + 2)
            except Exception as exc:
                report = HealthReport(False, "unreachable", self._url, None,
                                      reason=str(exc) or type(exc).__name__)
                self._show(report)  # the monitor could not report it
        return report

    def check_and_show(self) -> None:
        """Check now and show the server's whole answer."""
        async def check_and_show() -> None:
            report = await self.check_once()
            if report is not None:
                self._tasks.ask_later(self._prompts().show_info, tr("ML server health"),
                                      health_summary(report), health_details(report))

        if self._monitor is not None:
            self._tasks.spawn(check_and_show())

    def _show(self, report: HealthReport) -> None:
        self._status.health.show_report(report, datetime.now(UTC))


def health_summary(report: HealthReport) -> str:
    state = {"healthy": tr("healthy"), "unhealthy": tr("unhealthy"),
             "unreachable": tr("unreachable")}.get(report.status, report.status)
    text = tr("{url} is {state}.").format(url=report.url or tr("The ML server"), state=state)
    if report.response_time_ms is not None:
        text += " " + tr("It answered in {ms:.0f} ms.").format(ms=report.response_time_ms)
    if report.reason:
        text += "\n" + report.reason
    return text


def health_details(report: HealthReport) -> str:
    answer = {
        "status": report.status, "ml_server_url": report.url,
        "response_time_ms": report.response_time_ms, "http_status": report.http_status,
        "response": report.response, "reason": report.reason,
    }
    return json.dumps(answer, indent=2, ensure_ascii=False, default=str)
