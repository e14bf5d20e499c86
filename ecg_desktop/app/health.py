"""Keeps an eye on the ML server (or each server of a pool, whose report carries one report
per server in ``servers``): a check every ``interval_s`` (and on demand), the last report kept
for the status bar, each new report handed to ``on_report``; a server's change of state is
logged.

Checks run as their own task and never block the caller; a check that overruns its timeout
becomes an "unreachable" report, and two checks never run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from ecg_desktop.app.ports import HealthReport, MLClient

logger = logging.getLogger(__name__)

ReportHandler = Callable[[HealthReport], None]


class HealthMonitor:
    def __init__(
        self,
        ml_client: MLClient,
        on_report: ReportHandler | None = None,
        *,
        interval_s: float = 15.0,
        timeout_s: float = 10.0,
    ) -> None:
        self._ml = ml_client
        self._handlers: list[ReportHandler] = [on_report] if on_report else []
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._last: HealthReport | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._check_lock = asyncio.Lock()

    @property
    def last_report(self) -> HealthReport | None:
        return self._last

    def subscribe(self, handler: ReportHandler) -> Callable[[], None]:
        self._handlers.append(handler)
        return lambda: self._handlers.remove(handler) if handler in self._handlers else None

    def start(self) -> None:
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.create_task(self._run(), name="ml-health-monitor")

    async def stop(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None

    async def check_now(self) -> HealthReport:
        """One check now (joined to one already running), reported to the subscribers."""
        async with self._check_lock:
            try:
                report = await asyncio.wait_for(self._ml.health(), self._timeout_s)
            except TimeoutError:
                report = HealthReport(
                    False,
                    "unreachable",
                    self._ml.base_url,
                    None,
                    reason=f"no answer within {self._timeout_s:g} s",
                )
            except Exception as exc:  # a broken client must not kill the monitor
                logger.exception("health check failed")
                report = HealthReport(False, "unreachable", self._ml.base_url, None,
                                      reason=repr(exc))
            self._remember(report)
            return report

    def _remember(self, report: HealthReport) -> None:
        earlier = self._last
        self._last = report
        for server in report.servers or (report,):
            before = _report_of(earlier, server.url)
            if before is None or before.status != server.status:
                logger.info(
                    "ML server %s is %s%s",
                    server.url,
                    server.status,
                    f" ({server.reason})" if server.reason else "",
                )
        for handler in list(self._handlers):
            try:
                handler(report)
            except Exception:
                logger.exception("health report handler %r failed", handler)

    async def _run(self) -> None:
        while True:
            await self.check_now()
            await asyncio.sleep(self._interval_s)


def _report_of(report: HealthReport | None, url: str) -> HealthReport | None:
    """The report on server ``url`` within ``report`` (one of a pool's, or itself)."""
    if report is None:
        return None
    return next((r for r in report.servers or (report,) if r.url == url), None)
