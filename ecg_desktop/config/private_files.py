"""Files that can hold user data or credentials, private from the moment they exist.

Settings, secrets, the job store, stored videos, spilled callback bodies and logs are created
mode 0600 inside 0700 folders. A file is written whole under a temporary name that is created
with that mode (never created with the umask's 0644 and narrowed afterwards) and then renamed
over the old one, so a reader never sees half a file and no other user ever can read one.
On Windows the modes do not apply; the user's profile folders are private there already.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def private_folder(folder: Path) -> Path:
    """``folder``, created if needed (parents too), readable by this user only."""
    folder.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    with contextlib.suppress(OSError):  # not ours to change (a shared mount): leave it
        os.chmod(folder, FOLDER_MODE)
    return folder


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically; the file is 0600 from its creation."""
    private_folder(path.parent)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                             dir=path.parent)  # mkstemp: mode 0600
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def ensure_private_file(path: Path) -> Path:
    """``path`` made private before anything writes to it: created empty (0600) if missing,
    narrowed to 0600 if it exists (a file made by an older version)."""
    private_folder(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    with contextlib.suppress(OSError):
        os.chmod(path, FILE_MODE)
    return path
