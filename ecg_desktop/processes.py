"""Child processes that end with the process that started them.

Shared by the result worker (``store/result_worker.py``) and the analyzer's worker pool
(``analyzer/worker.py``): a worker holds a model or a store connection in hundreds of MB, and
one left behind by a killed parent would run on, re-parented to init, for as long as the
machine does. Hand-written because the standard library has no portable "die with parent"
(``multiprocessing`` only cleans up after a parent that exits normally).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time

PARENT_CHECK_S = 1.0
_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """End this process when ``parent`` does, even by SIGKILL (which runs none of its
    cleanup): on Linux the kernel sends SIGKILL (``PR_SET_PDEATHSIG``); everywhere a daemon
    thread also checks the parent every second. Without this a killed app left its worker
    (and so multiprocessing's resource tracker, which it keeps open) running, re-parented
    to init."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
