"""Adding several bad files at once: one summary of everything refused, in plain words, each
file named once, the technical reason in the details, and no traceback in the log (a refusal
is the user's file, not a program error). Sound files are not refused."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from ecg_desktop.gui.adding import Refused, refusal_of
from ecg_desktop.gui.prompts import refusal_summary
from tests.gui.conftest import AnsweringPrompts, Runner
from tests.media import make_corrupt_file, make_silent_video, make_video_without_audio


def test_bad_files_are_refused_once_in_one_summary(
    run: Runner, start_desktop: Callable[..., Any], peer: Any, prompts: AnsweringPrompts,
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    window = start_desktop(MODEL_SERVER_URL=peer.url).window
    good = make_silent_video(tmp_path / "good.mp4", duration_s=1.0)
    mute = make_video_without_audio(tmp_path / "no_audio.mp4")
    damaged = make_corrupt_file(tmp_path / "damaged.mp4")
    cut = tmp_path / "cut short.mp4"
    cut.write_bytes(make_silent_video(tmp_path / "whole.mp4", duration_s=2.0).read_bytes()[:900])
    (tmp_path / "whole.mp4").unlink()
    empty = tmp_path / "empty.mov"
    empty.write_bytes(b"")
    notes = tmp_path / "notes.pdf"
    notes.write_bytes(b"%PDF-1.4")

    with caplog.at_level(logging.INFO):
        window.add_paths([good, mute, damaged, cut, empty, notes])
        run.until(lambda: prompts.refusal_summaries > 0 and window.model.rowCount() == 1)
        run(window.wait_idle())

    assert prompts.refusal_summaries == 1, "one summary for the whole batch"
    kinds = {r.path.name: r.kind for r in prompts.refused}
    assert kinds == {"no_audio.mp4": "no_audio", "damaged.mp4": "damaged",
                     "cut short.mp4": "damaged", "empty.mov": "empty", "notes.pdf": "not_video"}
    assert [j.filename for j in window.model.jobs()] == ["good.mp4"]
    headline, lines, details = refusal_summary(prompts.refused)
    assert headline == "5 files could not be added:"
    assert lines.count("no_audio.mp4") == 1 and "no sound track" in lines
    assert "damaged or incomplete file" in lines and "Invalid data" not in lines
    assert str(damaged) in details  # the technical reason is kept for who needs it
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert problems == [], [r.getMessage() for r in problems]


def test_the_summary_box_shows_plain_words_and_keeps_details(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    from ecg_desktop.gui.i18n import Translations
    from ecg_desktop.gui.prompts import Prompts

    translations = Translations()  # the English plural forms, as the app loads them
    translations.apply("en")
    refused = [
        refusal_of(tmp_path / "a.mp4", "not a readable video (Invalid data found when "
                                       "processing input)"),
        refusal_of(tmp_path / "b.mp4", "the video has no audio track, so there is nothing "
                                       "to transcribe"),
        Refused(tmp_path / "a.mp4", "empty", "0 bytes"),  # the same file again
    ]
    shown: list[QMessageBox] = []
    def shown_instead(box: QMessageBox) -> int:
        shown.append(box)
        return 0

    monkeypatch.setattr(QMessageBox, "exec", shown_instead)
    Prompts(None).show_refused(refused)

    (box,) = shown
    assert box.text() == "2 files could not be added:"
    assert box.informativeText().count("a.mp4") == 1
    assert "damaged or incomplete file" in box.informativeText()
    assert "Invalid data found when processing input" in box.detailedText()
    assert "Invalid data" not in box.informativeText()


def test_sound_files_are_not_refused(tmp_path: Path) -> None:
    from ecg_desktop.gui.adding import sort_paths

    sound = tmp_path / "interview.wav"
    sound.write_bytes(b"RIFF....WAVE")
    assert sort_paths([sound]).videos == [sound]
