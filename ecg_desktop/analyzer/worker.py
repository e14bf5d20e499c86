"""CPU-heavy analysis in worker processes, with progress flowing back through a queue.

The server's loop only awaits futures; a reader thread moves progress messages from the
multiprocessing queue onto the loop. A crashed worker fails its job, and the pool is rebuilt.

A canceled job stops in its worker at its next progress report (the decoder, the recogniser
and the aligner report many times a second): ``cancel`` writes the job's id on a board in
shared memory that the worker's progress function reads, and the function raises
``AnalysisCanceled``. Killing the process instead would break the pool for the other jobs.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from ecg_desktop.domain import ErrorCode
from ecg_desktop.processes import die_with_parent

from .errors import AnalysisError
from .pipeline import AnalysisOptions, analyse_file

logger = logging.getLogger(__name__)

ProgressHandler = Callable[[float, str], None]
_MIN_GAP_S = 0.2
_ID_BYTES = 36  # a UUID's text
_BOARD_SLOTS = 64  # ids canceled while running; a job needs its slot only until it stops

# Set in each worker process by its initializer: the queue back to the server, and the board
# of canceled jobs.
_worker_queue: Any = None
_cancel_board: Any = None


class AnalysisCanceled(AnalysisError):
    """The job was canceled: raised by the worker's progress function to stop its work
    (built like ``AnalysisError``, so it crosses back from the worker process)."""


def _init_worker(progress_queue: Any, cancel_board: Any, parent: int) -> None:
    global _worker_queue, _cancel_board
    die_with_parent(parent)  # a killed analyzer must not leave its model-holding workers
    _worker_queue = progress_queue
    _cancel_board = cancel_board
    logging.basicConfig(level=logging.WARNING)


def _is_canceled(board: Any, job_id: str) -> bool:
    key = job_id.encode().ljust(_ID_BYTES)
    with board.get_lock():
        slots = board.raw
    return any(slots[i:i + _ID_BYTES] == key for i in range(0, len(slots), _ID_BYTES))


def _run(job_id: str, path: str, options: AnalysisOptions) -> dict[str, Any]:
    last_at = [0.0]
    last_message = [""]

    def progress(percent: float, message: str) -> None:
        if _is_canceled(_cancel_board, job_id):
            raise AnalysisCanceled(ErrorCode.PROCESSING_ERROR, f"job {job_id} was canceled")
        now = time.monotonic()
        if message != last_message[0] or now - last_at[0] >= _MIN_GAP_S:
            last_at[0], last_message[0] = now, message
            _worker_queue.put((job_id, percent, message))

    return analyse_file(Path(path), options, progress)


class AnalysisPool:
    """A process pool of ``concurrency`` workers (spawned, so no loop state is inherited)."""

    def __init__(self, concurrency: int) -> None:
        self._concurrency = concurrency
        self._context = multiprocessing.get_context("spawn")
        self._queue: Any = self._context.Queue()
        self._board: Any = self._context.Array(ctypes.c_char, _ID_BYTES * _BOARD_SLOTS)
        self._next_slot = 0
        self._handlers: dict[str, ProgressHandler] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool = self._new_pool()
        self._reader = threading.Thread(target=self._read, name="analysis-progress", daemon=True)
        self._reader_started = False

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self._concurrency,
            mp_context=self._context,
            initializer=_init_worker,
            initargs=(self._queue, self._board, os.getpid()),
        )

    def _read(self) -> None:
        while True:
            try:
                item = self._queue.get()
            except (EOFError, OSError):
                return
            if item is None:
                return
            loop = self._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(self._dispatch, *item)

    def _dispatch(self, job_id: str, percent: float, message: str) -> None:
        handler = self._handlers.get(job_id)
        if handler is not None:
            handler(percent, message)

    async def analyse(
        self, job_id: str, path: Path, options: AnalysisOptions, on_progress: ProgressHandler
    ) -> dict[str, Any]:
        self._loop = asyncio.get_running_loop()
        if not self._reader_started:
            self._reader.start()
            self._reader_started = True
        self._handlers[job_id] = on_progress
        try:
            future = self._loop.run_in_executor(self._pool, _run, job_id, str(path), options)
            return await future
        except BrokenProcessPool as exc:
            logger.error("the analysis worker died during job %s", job_id)
            self._pool = self._new_pool()
            raise AnalysisError(
                ErrorCode.PROCESSING_ERROR, "the analysis worker process died (out of memory?)"
            ) from exc
        finally:
            self._handlers.pop(job_id, None)

    def cancel(self, job_id: str) -> None:
        """Tell the worker running ``job_id`` to stop (at its next progress report); the
        awaiting ``analyse`` is canceled by its caller."""
        start = self._next_slot * _ID_BYTES
        with self._board.get_lock():
            self._board[start:start + _ID_BYTES] = job_id.encode().ljust(_ID_BYTES)
        self._next_slot = (self._next_slot + 1) % _BOARD_SLOTS
        self._handlers.pop(job_id, None)  # no progress of it reaches the server any more

    def close(self) -> None:
        # Terminate running analyses now rather than waiting for them to finish.
        processes = list(getattr(self._pool, "_processes", {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=5)
        self._queue.put(None)
        if self._reader_started:
            self._reader.join(timeout=5)
        self._queue.close()
