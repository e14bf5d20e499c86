"""Which dropped or pasted paths become jobs, and why the others are refused."""

from __future__ import annotations

from pathlib import Path

from ecg_desktop.gui.adding import paths_from_text, sort_paths


def _file(path: Path, content: bytes = b"\0" * 64) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_videos_are_kept_and_other_files_refused_with_a_reason(tmp_path: Path) -> None:
    video = _file(tmp_path / "talk.mp4")
    notes = _file(tmp_path / "notes.txt")
    empty = _file(tmp_path / "empty.mov", b"")
    missing = tmp_path / "gone.mkv"

    result = sort_paths([video, notes, empty, missing])

    assert result.videos == [video]
    reasons = {r.path.name: r.reason for r in result.refused}
    assert reasons == {
        "notes.txt": "not a video or sound file",
        "empty.mov": "empty file",
        "gone.mkv": "file not found",
    }


def test_a_folder_stands_for_the_videos_inside_it(tmp_path: Path) -> None:
    first = _file(tmp_path / "day1" / "a.mp4")
    second = _file(tmp_path / "day1" / "deeper" / "b.MKV")
    _file(tmp_path / "day1" / "readme.md")
    _file(tmp_path / "day1" / ".hidden" / "c.mp4")
    empty_folder = tmp_path / "nothing"
    empty_folder.mkdir()

    result = sort_paths([tmp_path / "day1", empty_folder])

    assert result.videos == [first, second]
    assert [(r.path, r.kind) for r in result.refused] == [(empty_folder, "no_videos")]


def test_a_video_already_queued_is_a_duplicate_not_a_new_video(tmp_path: Path) -> None:
    queued = _file(tmp_path / "a.mp4")
    fresh = _file(tmp_path / "b.mp4")

    result = sort_paths([queued, fresh, fresh], queued=[str(queued)])

    assert result.videos == [fresh]  # the same file twice in one batch counts once
    assert result.duplicates == [queued]


def test_pasted_text_gives_one_path_per_line_and_understands_file_urls() -> None:
    text = '/videos/a.mp4\n\n  "/videos/with space.mov"  \nfile:///videos/%ED%95%9C.mp4\n'
    assert paths_from_text(text) == [
        Path("/videos/a.mp4"), Path("/videos/with space.mov"), Path("/videos/한.mp4"),
    ]
