"""Storage keys and file names: nothing a user types can escape the storage root."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecg_desktop.domain.filekeys import (
    is_safe_key,
    looks_like_media,
    make_file_key,
    safe_filename,
)

NOW = datetime(2025, 10, 3, 11, 14, 32)


def test_key_layout_carries_user_time_token_and_name() -> None:
    key = make_file_key("Team Meeting.mp4", user="ana", now=NOW, token="0a1b2c3d")
    assert key == "videos/ana/20251003_111432_0a1b2c3d_Team Meeting.mp4"
    assert re.fullmatch(r"videos/anonymous/\d{8}_\d{6}_[0-9a-f]{8}_a\.mp4",
                        make_file_key("a.mp4", now=NOW))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\x.mp4", "x.mp4"),
        ("/abs/path/clip.mov", "clip.mov"),
        ("a\x00b.mp4", "ab.mp4"),
        ("line\nbreak.mp4", "linebreak.mp4"),
        ("..", "video"),
        ("", "video"),
        ("rm -rf $(x);.mp4", "rm -rf _x_.mp4"),
        ("회의 녹화.mp4", "회의 녹화.mp4"),
        ("clip...mp4", "clip.mp4"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


@pytest.mark.parametrize(
    "key",
    ["", "/etc/passwd", "videos/../secret", "videos/./a", "videos//a", "a\x00b", "a\\b",
     "videos/a/", "x" * 1025],
)
def test_unsafe_keys(key: str) -> None:
    assert not is_safe_key(key)


def test_safe_keys() -> None:
    assert is_safe_key("videos/ana/20251003_111432_0a1b2c3d_clip.mp4")
    assert is_safe_key("a..b/c")  # dots inside a name are fine


@given(st.text(), st.text())
def test_every_generated_key_is_safe(filename: str, user: str) -> None:
    key = make_file_key(filename, user=user, now=NOW)
    assert is_safe_key(key)
    assert key.startswith("videos/") and key.count("/") == 2


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("a.MP4", None, True),
        ("a.mkv", None, True),
        ("notes.txt", None, False),
        ("noext", None, False),
        ("x.bin", "video/mp4", True),
        ("a.mkv", "application/octet-stream", True),
        ("a.txt", "application/octet-stream", False),
        ("a.mp4", "text/plain", False),
    ],
)
def test_looks_like_video(name: str, content_type: str | None, expected: bool) -> None:
    assert looks_like_media(name, content_type) is expected
