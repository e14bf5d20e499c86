"""The GUI's log: a rotating file in the user's log folder. Secrets are masked by a filter
on the handler, so even a careless ``logger.info("%s", settings_dict)`` writes none."""

from __future__ import annotations

import io
import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from ecg_desktop.config.private_files import ensure_private_file, private_folder
from ecg_desktop.config.redaction import RedactingFilter, redact

__all__ = ["LOG_NAME", "RedactingFilter", "configure_logging", "redact"]

LOG_NAME = "ecg-desktop.log"
class PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating log whose files are 0600 in a 0700 folder from their creation (the base
    class creates each new file with the umask's mode, 0644 on most systems)."""

    def _open(self) -> io.TextIOWrapper:
        ensure_private_file(Path(self.baseFilename))
        return super()._open()


def configure_logging(log_dir: Path, *, verbose: bool = False) -> Path:
    """Log to ``log_dir/ecg-desktop.log`` (1 MB x 5 files) and to stderr; returns the path."""
    path = private_folder(log_dir) / LOG_NAME
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    file_handler = PrivateRotatingFileHandler(path, maxBytes=1_000_000, backupCount=5,
                                              encoding="utf-8")
    stream_handler = logging.StreamHandler()
    root = logging.getLogger()
    for handler in (file_handler, stream_handler):
        handler.setFormatter(formatter)
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    stream_handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    return path
