"""The window's background work: coroutines it starts (kept until done, failures logged) and
prompts shown from them. Shared by the window and its controllers, so ``wait_idle`` waits for
all of it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QTimer

logger = logging.getLogger(__name__)


class Tasks:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("window task failed", exc_info=task.exception())

    async def wait_idle(self) -> None:
        """Wait for every task started here (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @staticmethod
    def ask_later(prompt: Callable[..., Any], *args: Any) -> None:
        """Show a (modal) prompt from a coroutine: outside the running task, because a
        modal dialog runs a nested event loop and asyncio cannot step another task while
        one is being executed."""
        QTimer.singleShot(0, lambda: prompt(*args))
