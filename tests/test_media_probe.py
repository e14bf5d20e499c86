"""Files are checked before anything is uploaded (``media.probe``), with a message the user
can act on."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecg_desktop.app.ports import InvalidInputFile
from ecg_desktop.media import probe_media
from tests.media import make_corrupt_file, make_silent_video, make_video_without_audio


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def test_a_real_video_with_sound_passes_with_its_duration(tmp_path: Path) -> None:
    path = make_silent_video(tmp_path / "meeting.mp4", duration_s=2.0)
    info = probe_media(path)
    assert info.size_bytes == path.stat().st_size
    assert info.content_type == "video/mp4"
    assert info.has_video
    assert info.duration_s is not None and 1.8 <= info.duration_s <= 2.3


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda d: d / "missing.mp4", "does not exist"),
        (lambda d: _empty(d / "empty.mp4"), "is empty"),
        (lambda d: make_corrupt_file(d / "noise.mp4"), "not a readable video"),
        (lambda d: make_video_without_audio(d / "mute.mp4"), "no audio track"),
        (lambda d: make_silent_video(d / "notes.txt"), "not a video or audio file"),
        (lambda d: d, "not a file"),
    ],
    ids=["missing", "empty", "corrupt", "no-audio", "wrong-extension", "directory"],
)
def test_bad_files_are_refused_with_a_clear_message(
    tmp_path: Path, make: object, problem: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(InvalidInputFile) as caught:
        probe_media(path)
    assert problem in str(caught.value)
    assert caught.value.path.name in str(caught.value)


def test_random_bytes_under_a_video_name_are_never_accepted(tmp_path: Path) -> None:
    # FFmpeg "recognises" about one random file in a thousand as some raw stream.
    path = tmp_path / "damaged.mp4"
    for _ in range(500):
        make_corrupt_file(path, size_bytes=16 * 1024)
        with pytest.raises(InvalidInputFile, match="not a readable video"):
            probe_media(path)
