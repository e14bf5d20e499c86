"""A callback body as it arrives: hashed into its signature check chunk by chunk, kept in memory
while small, written to a spill file once large.

Nothing parses the body before its signature is known to be good, and a big body never sits
whole in the app's memory: the worker process reads it from the spill file. Spill files are
created 0600 in the app's own data folder (``spill/``, 0700); ``remove_stale_spills`` clears
what a killed process left there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

import psutil

from ecg_desktop.config.private_files import private_folder
from ecg_desktop.domain.signatures import SignatureCheck

logger = logging.getLogger(__name__)

LARGE_BODY = 256 * 1024  # above this, a body is spilled and handled off the loop
SPILL_PREFIX = "ecg-callback-"
_FLUSH_BYTES = 1024 * 1024  # spilled bodies are written by a thread in pieces of this size


def _new_spill_file(folder: Path) -> tuple[int, Path]:
    # mkstemp creates the file 0600; the name carries our pid, so a later start can tell a
    # dead process's leftovers from the files of another running copy of the app.
    descriptor, path = tempfile.mkstemp(prefix=f"{SPILL_PREFIX}{os.getpid()}-", suffix=".json",
                                        dir=private_folder(folder))
    return descriptor, Path(path)


def spill_folder(data_dir: Path) -> Path:
    """Where big callback bodies, and fetched results handed to the worker, are written."""
    return data_dir / "spill"


def spill(folder: Path, data: bytes) -> Path:
    """``data`` written to a new private file (0600 from its creation) in ``folder``."""
    descriptor, path = _new_spill_file(folder)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    return path


def _writer_alive(path: Path) -> bool:
    pid_text = path.name.removeprefix(SPILL_PREFIX).partition("-")[0]
    return pid_text.isdigit() and psutil.pid_exists(int(pid_text))


def remove_stale_spills(folder: Path) -> int:
    """Remove the spill files that processes no longer running left behind (killed
    mid-callback); their count. Files of another running copy of the app are kept."""
    removed = 0
    for path in folder.glob(f"{SPILL_PREFIX}*") if folder.is_dir() else ():
        if _writer_alive(path):
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            removed += 1
    if removed:
        logger.info("removed %d spilled callback bodies left by a previous run", removed)
    return removed


class CallbackBody:
    """Feed it with ``await feed(chunk)``; ``check`` has seen every byte. Then ``read()`` (the
    bytes) or ``path`` (the spill file of a large body). ``discard()`` removes the file."""

    def __init__(self, check: SignatureCheck, limit: int, spill_dir: Path) -> None:
        self.check = check
        self.size = 0
        self.path: Path | None = None
        self._limit = limit
        self._spill_dir = spill_dir
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._file: BinaryIO | None = None

    @property
    def spilled(self) -> bool:
        return self.path is not None

    async def feed(self, chunk: bytes) -> bool:
        """Take the next chunk; ``False`` (and nothing kept) once the body is over the limit."""
        self.size += len(chunk)
        if self.size > self._limit:
            return False
        self.check.update(chunk)
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        if self._pending_size >= (_FLUSH_BYTES if self._file else LARGE_BODY + 1):
            await self._flush()
        return True

    async def finish(self) -> None:
        """The whole body has arrived: a spilled one is now complete on disk."""
        if self._file is not None:
            await self._flush()
            file, self._file = self._file, None
            await asyncio.to_thread(file.close)

    async def head(self, size: int = 4096) -> bytes:
        """The first ``size`` bytes (for the access log's job id)."""
        if self.path is None:
            return b"".join(self._pending)[:size]

        def first_bytes() -> bytes:
            assert self.path is not None
            with open(self.path, "rb") as file:
                return file.read(size)

        return await asyncio.to_thread(first_bytes)

    async def read(self) -> bytes:
        if self.path is None:
            return b"".join(self._pending)
        return await asyncio.to_thread(self.path.read_bytes)

    def discard(self) -> None:
        self._pending.clear()
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            self.path = None

    async def _flush(self) -> None:
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        await asyncio.to_thread(self._write, data)

    def _write(self, data: bytes) -> None:  # in a thread: write(2) runs without the GIL
        if self._file is None:
            descriptor, self.path = _new_spill_file(self._spill_dir)
            self._file = os.fdopen(descriptor, "wb")
        self._file.write(data)
