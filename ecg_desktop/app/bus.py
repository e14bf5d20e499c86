"""A tiny in-process event bus: the app publishes domain events, the GUI, CLI and server
subscribe. Handlers run synchronously on the loop that publishes; they must be quick and
must not raise (a raising handler is logged and the others still run).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ecg_desktop.domain import Event

logger = logging.getLogger(__name__)

Handler = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._handlers: list[Handler] = []

    def subscribe(self, handler: Handler) -> Callable[[], None]:
        """Add ``handler``; returns a function that removes it again."""
        self._handlers.append(handler)
        return lambda: self._handlers.remove(handler) if handler in self._handlers else None

    def publish(self, event: Event) -> None:
        for handler in list(self._handlers):
            try:
                handler(event)
            except Exception:
                logger.exception("event handler %r failed on %s", handler, type(event).__name__)
