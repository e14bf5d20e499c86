"""``DesktopServices``: the core and the embedded server behind the window.

Started after the window is shown, stopped when it closes, restarted when the settings
change. A taken port does not stop the rest: the core still runs (the queue, the store),
and the window says how to choose another port. In team mode the ML server calls back the
team backend, so a taken port is only noted (``port_not_needed``), not a problem.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ecg_desktop.config import Settings

logger = logging.getLogger(__name__)


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
        self.core: Any = None
        self.problem: StartProblem | None = None
        self.port_not_needed: StartProblem | None = None  # taken, but team mode needs none

    @property
    def callback_url(self) -> str:
        """Where the embedded server listens ("" while it does not)."""
        return str(getattr(self.core, "server_url", None) or "") if self.core else ""

    async def start(self) -> StartProblem | None:
        """Build the core (which starts the reference analyzer when no ML server is set),
        start the embedded server, then recovery, watchdog and the health monitor.
        Returns what went wrong, if anything; a taken port leaves the rest running."""
        from ecg_desktop.bootstrap import build_core
        from ecg_desktop.config import ConfigError
        from ecg_desktop.server.runner import PortInUseError

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
        try:
            await self.core.start_server(host, port)
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
            await self.core.start_services()
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
