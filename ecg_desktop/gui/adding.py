"""What happens to paths a user drops, pastes or picks: which become jobs and which are refused.

Qt-free so it can be tested without a window. A folder stands for the videos inside it
(recursively); everything else is checked one by one and refused with a reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ecg_desktop.domain.filekeys import looks_like_media

MAX_FOLDER_FILES = 10_000  # a dropped home folder must not hang the window


# Plain words for each refusal (the GUI translates them); the technical reason, when there is
# one (FFmpeg's text, the extension), goes in ``Refused.detail`` for the details section.
REASONS = {
    "missing": "file not found",
    "not_file": "not a regular file",
    "not_video": "not a video or sound file",
    "unreadable": "cannot be read (permission denied)",
    "empty": "empty file",
    "no_audio": "no sound track",
    "damaged": "damaged or incomplete file",
    "too_many": "more than {detail} videos; add a smaller folder",
    "no_videos": "folder holds no video files",
    "no_model": "no speech model installed for this language",
}
# What the pipeline's check of a file (``app.ports.InvalidInputFile.problem``) says,
# mapped to a refusal kind; anything else it refuses is a file FFmpeg cannot read.
_PROBLEM_KINDS = (
    ("does not exist", "missing"),
    ("not a file", "not_file"),
    ("is empty", "empty"),
    ("not a video file", "not_video"),
    ("no audio track", "no_audio"),
    ("audio track is empty", "no_audio"),
)


@dataclass(frozen=True, slots=True)
class Refused:
    """A path that will not become a job. ``kind`` is a key of ``REASONS`` (the GUI
    translates it); ``detail`` is the technical reason (or fills ``{detail}``)."""

    path: Path
    kind: str
    detail: str = ""

    @property
    def reason(self) -> str:
        return REASONS[self.kind].format(detail=self.detail)


def refusal_of(path: Path, problem: str) -> Refused:
    """The refusal for a file the pipeline's check refused with ``problem``."""
    kind = next((k for words, k in _PROBLEM_KINDS if words in problem), "damaged")
    return Refused(path, kind, problem)


def unique_refusals(refused: Iterable[Refused]) -> list[Refused]:
    """Each path once (the first reason found for it), in the order given."""
    seen: set[Path] = set()
    unique = []
    for item in refused:
        if item.path not in seen:
            seen.add(item.path)
            unique.append(item)
    return unique


@dataclass(slots=True)
class Sorted:
    """The outcome of sorting a batch of paths: videos to add, files refused, duplicates."""

    videos: list[Path] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    duplicates: list[Path] = field(default_factory=list)


def paths_from_text(text: str) -> list[Path]:
    """Paths pasted as text: one per line, ``file://`` URLs allowed, blank lines ignored."""
    from urllib.parse import unquote, urlsplit

    paths = []
    for line in text.splitlines():
        item = line.strip().strip('"').strip("'")
        if not item:
            continue
        if item.startswith("file://"):
            item = unquote(urlsplit(item).path)
        paths.append(Path(item).expanduser())
    return paths


def sort_paths(paths: Iterable[Path], queued: Iterable[str | None] = ()) -> Sorted:
    """Split ``paths`` into videos, refused files (with reasons) and already queued videos.

    ``queued`` holds the local paths of jobs already in the queue; a video among them is
    put in ``duplicates`` (the caller asks the user), not in ``videos``.
    """
    known = {_identity(Path(p)) for p in queued if p}
    result = Sorted()
    seen: set[str] = set()
    for path in _expand(paths, result.refused):
        refused = check_file(path)
        if refused:
            result.refused.append(refused)
            continue
        identity = _identity(path)
        if identity in seen:
            continue
        seen.add(identity)
        (result.duplicates if identity in known else result.videos).append(path)
    return result


def check_file(path: Path) -> Refused | None:
    """Why ``path`` cannot become a job, or ``None`` when it can."""
    if not path.exists():
        return Refused(path, "missing")
    if not path.is_file():
        return Refused(path, "not_file")
    if not looks_like_media(path.name):
        return Refused(path, "not_video", f"{path.suffix.lower() or 'no'} extension")
    if not os.access(path, os.R_OK):
        return Refused(path, "unreadable")
    if path.stat().st_size == 0:
        return Refused(path, "empty", "0 bytes")
    return None


def _expand(paths: Iterable[Path], refused: list[Refused]) -> Iterable[Path]:
    for path in paths:
        if not path.is_dir():
            yield path
            continue
        found = 0
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith(".") or not looks_like_media(name):
                    continue  # a folder's other files are not worth a complaint each
                found += 1
                if found > MAX_FOLDER_FILES:
                    refused.append(Refused(path, "too_many", str(MAX_FOLDER_FILES)))
                    return
                yield Path(root) / name
        if found == 0:
            refused.append(Refused(path, "no_videos"))


def _identity(path: Path) -> str:
    try:
        return str(path.resolve())
    except OSError:
        return str(path.absolute())
