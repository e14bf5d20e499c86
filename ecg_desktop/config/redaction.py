"""Secrets masked in log lines: a filter on handlers (and on loggers that write user data,
such as SQLAlchemy's statement log), so even a careless ``logger.info("%s", settings_dict)``
or a ``-v`` database line holding a signed storage link writes none."""

from __future__ import annotations

import logging
import re

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


def redact_logger(name: str) -> None:
    """Mask secrets in what the logger ``name`` itself writes (a filter on a logger applies
    to its own records, whichever handler then writes them)."""
    target = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in target.filters):
        target.addFilter(RedactingFilter())
