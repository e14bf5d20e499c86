"""The GUI's log: a rotating file in the user's log folder. Secrets are masked by a filter
on the handler, so even a careless ``logger.info("%s", settings_dict)`` writes none."""

from __future__ import annotations

import io
import logging
import re
from logging.handlers import RotatingFileHandler
from pathlib import Path

from ecg_desktop.config.private_files import ensure_private_file, private_folder

LOG_NAME = "ecg-desktop.log"
_SECRET_PATTERNS = [
    re.compile(r"(?i)((?:secret|password|token|signature)[\w-]*['\"]?\s*[:=]\s*['\"]?)"
               r"([^'\"\s,}&]+)"),
    re.compile(r"(?i)(X-Amz-Signature=|X-Amz-Credential=|sig=|signature=)([^&\s'\"]+)"),
    re.compile(r"(://[^/:@\s]+:)([^@/\s]+)(@)"),  # a password inside a URL
    re.compile(r"(?i)(Bearer\s+)(\S+)"),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "***" + (m.group(3) if m.re.groups >= 3 else ""),
                           text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


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
