"""``DesktopServices``: the core and the embedded server behind the window.

Started after the window is shown, stopped when it closes, restarted when the settings
change. A taken port does not stop the rest: the core still runs (the queue, the store),
and the window says how to choose another port. In team mode the ML server calls back the
team backend, so a taken port is only noted (``port_not_needed``), not a problem.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from ecg_desktop.app.ports import HealthReport, JobStore
from ecg_desktop.config import Settings
from ecg_desktop.domain import DispatchOptions, Event, Job

if TYPE_CHECKING:
    from ecg_desktop.bootstrap import Core

logger = logging.getLogger(__name__)


# -- what the window needs of the core ---------------------------------------------------
# Protocols, so mypy checks the seam: bootstrap's ``Core`` is handed to the window as a
# ``WindowCore`` (``DesktopServices.core``), and a renamed method fails type-checking.


class EventSource(Protocol):
    def subscribe(self, handler: Callable[[Event], None]) -> Callable[[], None]: ...


class JobActions(Protocol):
    """The use cases the window calls (``app.pipeline.JobPipeline``)."""

    async def submit_file(self, path: str | Path, language: str | None = None, *,
                          transcript: str | None = None, owner: str = "",
                          min_speakers: int | None = None,
                          max_speakers: int | None = None) -> Job: ...

    async def retry(self, job_id: uuid.UUID, *, language: str | None = None,
                    options: DispatchOptions | None = None) -> Job: ...

    async def cancel(self, job_id: uuid.UUID) -> Job: ...

    async def delete(self, job_id: uuid.UUID, *, delete_object: bool = False) -> None: ...


class HealthReports(Protocol):
    """The ML server's health as ``app.health.HealthMonitor`` reports it."""

    @property
    def last_report(self) -> HealthReport | None: ...

    def subscribe(self, handler: Callable[[HealthReport], None]) -> Callable[[], None]: ...

    async def check_now(self) -> HealthReport: ...


class WindowCore(Protocol):
    """What the main window (and the review pane) use of ``bootstrap.Core``."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> JobStore: ...

    @property
    def bus(self) -> EventSource: ...

    @property
    def pipeline(self) -> JobActions: ...

    @property
    def health(self) -> HealthReports: ...


@dataclass(frozen=True, slots=True)
class StartProblem:
    """Why a part did not start: ``kind`` is "port_in_use", "server", "config" or "core"."""

    kind: str
    message: str
    host: str = ""
    port: int = 0


def callbacks_go_to_team_backend(settings: Settings) -> bool:
    """Team mode (docs/team.md): a shared PostgreSQL store, videos in a bucket and callbacks
    sent to the team backend, so nothing has to reach this desktop's own server."""
    scheme = urlsplit(settings.effective_database_url).scheme.split("+", 1)[0]
    return (scheme in ("postgresql", "postgres") and bool(settings.s3_bucket_name)
            and bool(settings.fastapi_base_url))


class DesktopServices:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.core: Core | None = None
        self.problem: StartProblem | None = None
        self.port_not_needed: StartProblem | None = None  # taken, but team mode needs none

    @property
    def callback_url(self) -> str:
        """Where the embedded server listens ("" while it does not)."""
        return (self.core.server_url or "") if self.core is not None else ""

    async def start(self) -> StartProblem | None:
        """Build the core (which starts the reference analyzer when no ML server is set),
        start the embedded server, then recovery, watchdog and the health monitor.
        Returns what went wrong, if anything; a taken port leaves the rest running."""
        from ecg_desktop.bootstrap import PortInUseError, build_core
        from ecg_desktop.config import ConfigError

        self.problem = self.port_not_needed = None
        try:
            self.core = await build_core(self.settings)
        except ConfigError as exc:
            self.problem = StartProblem("config", str(exc))
            return self.problem
        except Exception as exc:
            logger.exception("the core could not start")
            self.problem = StartProblem("core", str(exc) or type(exc).__name__)
            return self.problem
        host, port = self.settings.bind_host, self.settings.bind_port
        core = self.core
        try:
            await core.start_server(host, port)
        except PortInUseError:
            taken = StartProblem("port_in_use", "", host, port)
            if callbacks_go_to_team_backend(self.settings):
                logger.info("port %s:%s is taken; team mode does not need it", host, port)
                self.port_not_needed = taken
            else:
                self.problem = taken
        except OSError as exc:
            logger.exception("the embedded server could not start")
            self.problem = StartProblem("server", str(exc), host, port)
        try:
            await core.start_services()
        except Exception as exc:
            logger.exception("the background services could not start")
            self.problem = self.problem or StartProblem("core", str(exc) or type(exc).__name__)
        return self.problem

    async def stop(self) -> None:
        """Stop the server, the analyzer and the adapters (``Core.close`` does all)."""
        core, self.core = self.core, None
        if core is not None:
            try:
                await core.close()
            except Exception:
                logger.exception("closing the core failed")

    async def restart(self, settings: Settings) -> StartProblem | None:
        """Apply new settings: stop everything and start again with them. Jobs in flight
        resume (the pipeline's recovery picks them up from the store)."""
        await self.stop()
        self.settings = settings
        return await self.start()
