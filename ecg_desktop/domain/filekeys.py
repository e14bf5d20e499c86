"""Object keys of uploaded videos: ``videos/{user}/{YYYYmmdd_HHMMSS}_{8 hex}_{safe name}``."""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import datetime

_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp",
     ".ts", ".mts", ".ogv"}
)


def safe_filename(name: str) -> str:
    """A basename with no directory parts, ``..``, control characters or shell-hostile bytes."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C")
    base = _UNSAFE.sub("_", base).strip(" .")
    base = re.sub(r"\.{2,}", ".", base)
    return base[:150] or "video"


def safe_user(user: str) -> str:
    return safe_filename(user).replace(" ", "_") if user else "anonymous"


def make_file_key(filename: str, *, user: str = "", now: datetime, token: str | None = None) -> str:
    token = token or secrets.token_hex(4)
    return f"videos/{safe_user(user)}/{now:%Y%m%d_%H%M%S}_{token}_{safe_filename(filename)}"


def is_safe_key(key: str) -> bool:
    """A storage key that cannot escape its root: relative, no ``..``, no NUL or backslash."""
    if not key or key.startswith("/") or "\x00" in key or "\\" in key or len(key) > 1024:
        return False
    return all(part not in ("", ".", "..") for part in key.split("/"))


def looks_like_video(filename: str, content_type: str | None = None) -> bool:
    if content_type:
        return content_type.startswith("video/") or (content_type == "application/octet-stream" \
            and _has_video_extension(filename))
    return _has_video_extension(filename)


def _has_video_extension(filename: str) -> bool:
    dot = filename.rfind(".")
    return dot >= 0 and filename[dot:].lower() in VIDEO_EXTENSIONS
