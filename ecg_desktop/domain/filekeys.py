"""Object keys of uploaded recordings: ``videos/{user}/{YYYYmmdd_HHMMSS}_{8 hex}_{safe name}``,
and the one list of the file types the app accepts (videos and audio-only recordings)."""

from __future__ import annotations

import mimetypes
import re
import secrets
import unicodedata
from datetime import datetime

_UNSAFE = re.compile(r"[^\w.\- ]+", re.UNICODE)
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp",
     ".ts", ".mts", ".ogv"}
)
# Audio-only recordings, each with the content type it is stored and uploaded under.
AUDIO_CONTENT_TYPES = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
}
AUDIO_EXTENSIONS = frozenset(AUDIO_CONTENT_TYPES)
MEDIA_EXTENSIONS = VIDEO_EXTENSIONS | AUDIO_EXTENSIONS
_OCTET_STREAM = "application/octet-stream"


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


def looks_like_media(filename: str, content_type: str | None = None) -> bool:
    """A file the app accepts: a video or an audio-only recording, by its content type when
    one is given (a generic one defers to the extension), else by its extension."""
    if content_type and content_type != _OCTET_STREAM:
        return content_type.startswith(("video/", "audio/"))
    return _extension(filename) in MEDIA_EXTENSIONS




def is_audio_only(filename: str, content_type: str | None = None) -> bool:
    """A recording without pictures (shown with an audio player, not a black video)."""
    if content_type and content_type != _OCTET_STREAM:
        return content_type.startswith("audio/")
    return _extension(filename) in AUDIO_EXTENSIONS


def content_type_for(filename: str) -> str:
    """The content type a file is uploaded and stored under, from its extension."""
    extension = _extension(filename)
    if extension in AUDIO_CONTENT_TYPES:
        return AUDIO_CONTENT_TYPES[extension]
    guessed, _ = mimetypes.guess_type(f"file{extension}")
    if guessed and guessed.startswith("video/"):
        return guessed
    return "video/mp4" if extension in (".mp4", ".m4v") else _OCTET_STREAM


def _extension(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot >= 0 else ""
