"""Run the backend inside a running loop (the GUI's, or ``serve``'s) with ``AppRunner``."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket

from aiohttp import web

from .connections import (
    HEADER_TIMEOUT_S,
    LINGERING_S,
    ConnectionCap,
    connection_cap,
    raise_open_file_limit,
)

logger = logging.getLogger(__name__)

SHUTDOWN_TIMEOUT_S = 10.0


class PortInUseError(OSError):
    """The address is taken (another app, or a second copy of this one)."""

    def __init__(self, host: str, port: int) -> None:
        self.message = (
            f"{host}:{port} is already in use; stop the other program or choose another port"
        )
        super().__init__(errno.EADDRINUSE, self.message)
        self.host = host
        self.port = port

    def __str__(self) -> str:
        return self.message


class _CappedSite(web.TCPSite):
    """A TCP site whose connections go through ``ConnectionCap``."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, cap: ConnectionCap) -> None:
        super().__init__(runner, host, port, reuse_address=True)
        self._cap = cap

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            self._cap.factory(server), self._host, self._port, backlog=self._backlog,
            reuse_address=self._reuse_address,
        )


class EmbeddedServer:
    """``await start(host, port)`` (port 0 picks a free one), ``base_url``, ``await stop()``.

    Connections are bounded (``connections``): a header timeout, body timeouts in the
    handlers, and a cap on open connections from the open-file limit, raised to the hard
    limit at start.
    """

    def __init__(
        self,
        app: web.Application,
        *,
        shutdown_timeout_s: float = SHUTDOWN_TIMEOUT_S,
        max_connections: int | None = None,
    ):
        self._app = app
        self._max_connections = max_connections
        self.cap = ConnectionCap(max_connections or connection_cap(0))
        app.middlewares.insert(0, self.cap.track_busy)
        self._runner: web.AppRunner | None = None
        self._shutdown_timeout_s = shutdown_timeout_s
        self._host = ""
        self._port = 0

    @property
    def app(self) -> web.Application:
        return self._app

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        if not self.running:
            raise RuntimeError("the server is not running")
        host = f"[{self._host}]" if ":" in self._host else self._host
        if self._host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        return f"http://{host}:{self._port}"

    async def start(self, host: str, port: int) -> None:
        if self._runner is not None:
            raise RuntimeError("the server is already running")
        self.cap.cap = self._max_connections or connection_cap(raise_open_file_limit())
        # aiohttp's own access log is replaced by the middleware's (no query strings in it).
        # Its keep-alive timeout runs from the connection (or the last answer) until a
        # request's headers are complete: the header timeout.
        runner = web.AppRunner(
            self._app, access_log=None, shutdown_timeout=self._shutdown_timeout_s,
            handle_signals=False, keepalive_timeout=HEADER_TIMEOUT_S,
            lingering_time=LINGERING_S,
        )
        await runner.setup()
        site = _CappedSite(runner, host, port, self.cap)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
                raise PortInUseError(host, port) from exc
            raise
        self._runner = runner
        self._host = host
        self._port = bound_port(runner) or port
        logger.info("backend listening on %s (at most %d connections)", self.base_url,
                    self.cap.cap)

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (up to the timeout), run cleanups."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            logger.info("backend stopped")


def bound_port(runner: web.AppRunner) -> int | None:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now (for tests and benchmarks)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
