"""Probing a dropped file before anything is uploaded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# -- media files -------------------------------------------------------------------------


class InvalidInputFile(ValueError):
    """A file the pipeline refuses; the message is meant for the user."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path.name}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True, slots=True)
class MediaInfo:
    """What the check of a local video or audio file found (``InspectsMedia``)."""

    path: Path
    size_bytes: int
    mtime_ns: int
    content_type: str
    duration_s: float | None
    has_video: bool
    audio_codec: str


class InspectsMedia(Protocol):
    """Checks a local file before anything is uploaded (``media.probe.inspect_media``)."""

    async def __call__(self, path: Path, /) -> MediaInfo:
        """The file's facts; raises ``InvalidInputFile`` saying what is wrong with it."""
        ...
