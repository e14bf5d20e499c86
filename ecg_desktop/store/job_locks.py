"""Which process on this computer is working on a job: one lock file per running job
(``app.ports.JobLocks``).

The window, ``serve`` and ``process`` may share one job store. Before a pipeline works on a job
it takes the job's lock without waiting; a second process that finds it taken leaves the job
alone. ``filelock`` (``flock`` on POSIX, ``LockFileEx`` on Windows) does the locking: the
operating system drops a lock when its process ends, even by SIGKILL, so a job is never left
locked by a dead process, and the library handles the lock file's removal without the race of
unlinking it before closing (which let two processes each hold "the" lock).
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from filelock import FileLock, Timeout

from ecg_desktop.config.private_files import private_folder

logger = logging.getLogger(__name__)


class FileJobLocks:
    """``acquire(job_id)`` (``False`` when another process, or another pipeline of this one,
    holds it) and ``release(job_id)``; lock files live in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._held: dict[uuid.UUID, FileLock] = {}

    def acquire(self, job_id: uuid.UUID) -> bool:
        if job_id in self._held:
            return False
        private_folder(self._folder)
        lock = FileLock(self._folder / f"{job_id}.lock", mode=0o600, thread_local=False)
        try:
            lock.acquire(blocking=False)
        except Timeout:
            return False
        self._held[job_id] = lock
        return True

    def release(self, job_id: uuid.UUID) -> None:
        lock = self._held.pop(job_id, None)
        if lock is not None:
            lock.release()
