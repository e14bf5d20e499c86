"""This installation's stable id: which desktop (or ``serve``) works on a job.

A host name does not tell two users of one computer apart, nor two laptops of the same name,
so start-up recovery and the callback watchdog would act on each other's jobs. The id is a
random UUID made once and kept in the data folder (``installation-id``, mode 0600), which is
per user: every user of every computer gets their own, and it survives restarts and renames.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

INSTALLATION_FILE = "installation-id"
_FILE_MODE = 0o600
_FOLDER_MODE = 0o700


def installation_id(data_dir: Path) -> str:
    """The id kept in ``data_dir``, made there on first use.

    Two processes starting together get the same id: the file is written under a temporary
    name and linked into place, which fails for the second; it then reads the first's.
    """
    path = data_dir / INSTALLATION_FILE
    existing = _read(path)
    if existing is not None:
        return existing
    data_dir.mkdir(parents=True, exist_ok=True, mode=_FOLDER_MODE)
    made = uuid.uuid4().hex
    tmp = data_dir / f".{INSTALLATION_FILE}.{made}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
    try:
        os.write(fd, (made + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    found = _read(path)
    if found is None:
        raise OSError(f"{path} does not hold an installation id; remove it to make a new one")
    return found


def _read(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise OSError(f"cannot read this installation's id from {path}: {exc}") from exc
    try:
        return uuid.UUID(text).hex
    except ValueError:
        return None
