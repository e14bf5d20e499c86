"""Which process on this computer is working on a job: one lock file per running job.

The window, ``serve`` and ``process`` may share one job store. Before a pipeline works on a job
it takes the job's lock (``flock``, not blocking); a second process that finds it taken leaves
the job alone. The operating system drops the lock when its process ends, even by SIGKILL, so
a job is never left locked by a dead process. Where ``flock`` does not exist (Windows) every
lock is granted and one app per computer is assumed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)


class JobLocks:
    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._held: dict[uuid.UUID, int] = {}

    def acquire(self, job_id: uuid.UUID) -> bool:
        """Take the job's lock; False when another process (or another pipeline) holds it."""
        if job_id in self._held:
            return False
        if fcntl is None:
            self._held[job_id] = -1
            return True
        self._folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._folder / f"{job_id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._held[job_id] = fd
        return True

    def release(self, job_id: uuid.UUID) -> None:
        fd = self._held.pop(job_id, None)
        if fd is None or fd < 0:
            return
        with contextlib.suppress(OSError):
            (self._folder / f"{job_id}.lock").unlink()
        os.close(fd)  # closing drops the flock
