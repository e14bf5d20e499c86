"""Bounds on what slow or idle connections can hold: open files, and time.

aiohttp closes a connection whose request headers have not all arrived within its keep-alive
timeout (``HEADER_TIMEOUT_S``, which also bounds an idle keep-alive connection), but it has no
cap on open connections: 1,100 slow-loris connections used every file descriptor, and the
listening socket could accept nothing more (``/health`` and signed callbacks timed out).
``ConnectionCap`` keeps the number of open connections under a cap derived from the process's
file limit: a new connection beyond it closes the oldest connection that is not serving a
request (one still sending its headers, or idle between requests). ``raise_open_file_limit``
raises the soft file limit to the hard one at start, so the cap is as high as the system
allows. Bodies have their own time limits (``read_body_chunks``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler

try:
    import resource
except ImportError:  # pragma: no cover - Windows: no RLIMIT_NOFILE to raise
    resource = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

HEADER_TIMEOUT_S = 10.0  # from connecting (or the last answer) to the end of the headers
BODY_IDLE_TIMEOUT_S = 10.0  # longest silence while a body is being sent
BODY_MIN_RATE = 32 * 1024  # bytes/s a body must average after BODY_GRACE_S (256 kbit/s)
BODY_GRACE_S = 30.0
# How long the unread rest of a refused body (413, or an unsigned callback's 401 answered
# before its body) is read and thrown away before the connection is closed: long enough for
# the sender to read the answer, short enough that 20 refused 60 MiB senders do not keep the
# loop busy discarding their bodies (aiohttp's default is 10 s).
LINGERING_S = 1.0
MAX_CONNECTIONS = 4096
FD_RESERVE = 200  # descriptors kept for the job store, logs, spill files, the worker's pipes


class BodyTooSlow(Exception):
    """A request body stalled or arrived slower than the minimum rate (answered 408)."""


def raise_open_file_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit; the new soft limit
    (0 where the platform has none to raise)."""
    if resource is None:
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError) as exc:  # a sandbox may refuse: keep the soft limit
            logger.info("could not raise the open-file limit to %d: %s", hard, exc)
    return int(soft) if soft != resource.RLIM_INFINITY else MAX_CONNECTIONS + FD_RESERVE


def connection_cap(open_file_limit: int) -> int:
    if open_file_limit <= 0:
        return MAX_CONNECTIONS
    return max(16, min(MAX_CONNECTIONS, open_file_limit - FD_RESERVE))


class ConnectionCap:
    """Keeps at most ``cap`` connections open; see the module docstring.

    ``track_busy`` (a middleware) marks the connections serving a request, which are never
    closed to make room; ``factory(server)`` wraps aiohttp's protocol factory.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.evicted = 0
        self._busy: set[Any] = set()  # RequestHandlers (they take no weak references)
        self._warned_at = 0.0

    @web.middleware
    async def track_busy(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        protocol = request.protocol
        self._busy.add(protocol)
        try:
            return await handler(request)
        finally:
            self._busy.discard(protocol)

    def factory(self, server: web.Server) -> Callable[[], RequestHandler]:
        def new_connection() -> RequestHandler:
            # A connection closed to make room stays listed until its loss is processed.
            open_now = [c for c in server.connections if c.transport is not None]
            if len(open_now) >= self.cap:
                self._make_room(open_now, len(open_now) - self.cap + 1)
            return server()

        return new_connection

    def _make_room(self, open_now: list[RequestHandler], needed: int) -> None:
        # Oldest first (aiohttp keeps them in the order they connected); a little more than
        # needed, so that a flood does not scan the list on every accept.
        batch = max(needed, self.cap // 50)
        closed = 0
        for connection in open_now:
            if closed >= batch:
                break
            if connection not in self._busy:
                connection.force_close()
                closed += 1
        self.evicted += closed
        now = time.monotonic()
        if closed and now - self._warned_at > 60:  # a flood is worth one line a minute
            self._warned_at = now
            logger.warning("%d connections open, the cap: closing the oldest idle ones "
                           "(%d so far)", len(open_now), self.evicted)


async def read_body_chunks(
    content: StreamReader, *, min_rate: int = BODY_MIN_RATE
) -> AsyncIterator[bytes]:
    """The body's chunks as they arrive; ``BodyTooSlow`` when it goes silent for
    ``BODY_IDLE_TIMEOUT_S`` or, after ``BODY_GRACE_S``, averages less than ``min_rate``
    bytes/s (0: no minimum, for resumable uploads)."""
    started = time.monotonic()
    received = 0
    while True:
        try:
            async with asyncio.timeout(BODY_IDLE_TIMEOUT_S):
                chunk = await content.readany()
        except TimeoutError:
            raise BodyTooSlow(f"no body data for {BODY_IDLE_TIMEOUT_S:.0f} s") from None
        if not chunk:
            return
        received += len(chunk)
        elapsed = time.monotonic() - started
        if elapsed > BODY_GRACE_S and received < min_rate * elapsed:
            raise BodyTooSlow(f"body slower than {min_rate // 1024} KiB/s")
        yield chunk
