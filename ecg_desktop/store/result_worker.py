"""The worker process for big results (``app.ports.WorkerProcess``), writing to the job store
with its own connection (``blocking_writer``, the single result writer).

Parsing, validating, normalising and storing a three-hour transcript (about 8 MB of JSON)
takes hundreds of milliseconds of pure-Python work. In a thread of the app's process it
competes for the GIL with the event loop (and the GUI drawing on it), and its garbage
collections scan the app's whole heap: the loop stalled for 100 ms and more. So that work runs
in one worker process (spawned once, reused), which opens its own ``JobWriter`` on the same
tables, and returns only a small answer. What the work is belongs to the use cases
(``app.big_results``): they hand this process a module-level function and its picklable item.

A worker that dies raises ``WorkerDied`` for the work it had (its transaction never
committed, so nothing is half-written); the next work starts a new process. The ``spawn``
start method is used: forking a process that runs Qt and threads is unsafe.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from ecg_desktop.app.ports import JobStore, JobWriter, OffersJobWriter, WorkerDied
from ecg_desktop.processes import die_with_parent

logger = logging.getLogger(__name__)
_Item = TypeVar("_Item")
_Answer = TypeVar("_Answer")


class ResultWorker:
    """One worker process with a ``JobWriter``. ``start()`` spawns it (idempotent; the
    callback receiver calls it with the first callback so the spawn and imports are paid
    early). ``initializer`` runs in the new process before it takes work (bootstrap gives
    the use cases' warm-up, which imports their code; a test may install a fault)."""

    def __init__(
        self,
        writer_factory: Callable[[], JobWriter],
        *,
        start_method: str = "spawn",
        initializer: Callable[[], None] | None = None,
    ) -> None:
        self._writer_factory = writer_factory
        self._start_method = start_method
        self._initializer = initializer
        self._pool: ProcessPoolExecutor | None = None
        self._warm_up: Future[None] | None = None

    @classmethod
    def for_store(
        cls, store: JobStore, *, initializer: Callable[[], None] | None = None
    ) -> ResultWorker | None:
        """A worker writing to ``store``'s database, or ``None`` when it cannot have one."""
        if isinstance(store, OffersJobWriter):
            return cls(store.blocking_writer_factory(), initializer=initializer)
        return None

    def start(self) -> None:
        if self._pool is not None:
            return
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context(self._start_method),
            initializer=_init_worker,
            initargs=(self._writer_factory, self._initializer, os.getpid()),
        )
        self._warm_up = self._pool.submit(_ready)  # spawns the process and imports now

    async def ready(self) -> None:
        """Wait until the process has started and imported what it needs."""
        self.start()
        assert self._warm_up is not None
        await asyncio.wrap_future(self._warm_up)

    async def run(self, work: Callable[[JobWriter, _Item], _Answer], item: _Item) -> _Answer:
        """``work(writer, item)`` in the worker process; ``WorkerDied`` if the process dies."""
        self.start()
        pool = self._pool
        assert pool is not None
        try:
            return await asyncio.wrap_future(pool.submit(_run, work, item))
        except BrokenProcessPool as exc:
            logger.error("the result worker process died (%s); a new one will be started", exc)
            self._discard(pool)
            raise WorkerDied("the worker process died") from None

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        if self._pool is pool:
            self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


# -- in the worker process ---------------------------------------------------------------------


class _WorkerProcess:
    """The worker process's own state: its connection to the job store."""

    writer: JobWriter | None = None


def _init_worker(
    writer_factory: Callable[[], JobWriter], initializer: Callable[[], None] | None, parent: int
) -> None:
    die_with_parent(parent)
    _WorkerProcess.writer = writer_factory()
    if initializer is not None:
        initializer()
    gc.freeze()  # the imported modules: later collections need not scan them


def _run(work: Callable[[JobWriter, _Item], _Answer], item: _Item) -> _Answer:
    writer = _WorkerProcess.writer
    assert writer is not None
    return work(writer, item)


def _ready() -> None:
    """Nothing: submitted once so that the process starts before the first big body."""
