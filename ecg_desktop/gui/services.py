"""``DesktopServices``: the core and the embedded server behind the window.

Started after the window is shown, stopped when it closes, restarted when the settings
change. A taken port does not stop the rest: the core still runs (the queue, the store),
and the window says how to choose another port.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from ecg_desktop.config import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StartProblem:
    """Why a part did not start: ``kind`` is "port_in_use", "config" or "core"."""

    kind: str
    message: str
    host: str = ""
    port: int = 0


class DesktopServices:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.core: Any = None
        self.server: Any = None
        self.problem: StartProblem | None = None

    @property
    def callback_url(self) -> str:
        if self.server is not None and self.server.running:
            return str(self.server.base_url)
        return ""

    async def start(self) -> StartProblem | None:
        """Build the core and start the server; returns what went wrong, if anything."""
        from ecg_desktop.bootstrap import build_core
        from ecg_desktop.config import ConfigError
        from ecg_desktop.server.runner import EmbeddedServer, PortInUseError

        self.problem = None
        try:
            self.core = await build_core(self.settings)
        except ConfigError as exc:
            self.problem = StartProblem("config", str(exc))
            return self.problem
        except Exception as exc:
            logger.exception("the core could not start")
            self.problem = StartProblem("core", str(exc) or type(exc).__name__)
            return self.problem
        self.server = EmbeddedServer(build_server_app(self.core))
        host, port = self.settings.bind_host, self.settings.bind_port
        try:
            await self.server.start(host, port)
        except PortInUseError:
            self.server = None
            self.problem = StartProblem("port_in_use", "", host, port)
        except OSError as exc:
            self.server = None
            self.problem = StartProblem("port_in_use" if exc.errno in (13,) else "core",
                                        str(exc), host, port)
        if self.server is not None:
            _tell_core_server_url(self.core, self.server.base_url)
        await _start_core(self.core)
        return self.problem

    async def stop(self) -> None:
        server, self.server = self.server, None
        core, self.core = self.core, None
        if server is not None:
            try:
                await server.stop()
            except Exception:
                logger.exception("stopping the embedded server failed")
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


def build_server_app(core: Any) -> Any:
    """The backend application over ``core`` (the same one ``serve`` runs)."""
    from ecg_desktop.app.callbacks import CallbackReceiver
    from ecg_desktop.app.metrics import Metrics
    from ecg_desktop.server.app import create_app

    metrics = getattr(core, "metrics", None) or Metrics()
    callbacks = getattr(core, "callbacks", None) or CallbackReceiver(
        core.store, core.bus, core.settings, metrics
    )
    return create_app(core, metrics=metrics, callbacks=callbacks)


def _tell_core_server_url(core: Any, base_url: str) -> None:
    setter = getattr(core, "set_server_url", None)
    if callable(setter):
        setter(base_url)


async def _start_core(core: Any) -> None:
    starter = getattr(core, "start", None)
    if callable(starter):
        result = starter()
        if asyncio.iscoroutine(result):
            await result
