"""Settings an analyst needs: the number of speakers of new jobs, the subtitle layout and the
export folder; they apply without a restart, and an export says where its files went."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pysubs2
from PySide6.QtWidgets import QLineEdit, QSpinBox
from pytestqt.qtbot import QtBot

from ecg_desktop.config import Settings
from ecg_desktop.gui.qt_settings_dialog import QtSettingsDialog
from tests.gui.conftest import AnsweringPrompts, Runner
from tests.media import make_silent_video


def _spin(dialog: QtSettingsDialog, name: str) -> QSpinBox:
    box = dialog.editors[name]
    assert isinstance(box, QSpinBox)
    return box


def test_the_analysis_tab_edits_speakers_subtitles_and_the_export_folder(
    qtbot: QtBot, tmp_path: Path,
) -> None:
    dialog = QtSettingsDialog(Settings(), env={})
    qtbot.addWidget(dialog)
    tabs = [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]
    assert "Analysis and export" in tabs
    assert _spin(dialog, "min_speakers").text() == "any"  # 0: the analysis counts them
    _spin(dialog, "min_speakers").setValue(3)
    _spin(dialog, "max_speakers").setValue(2)
    assert not dialog.validate(), "at most 2 cannot be below at least 3"
    _spin(dialog, "max_speakers").setValue(3)
    _spin(dialog, "subtitle_line_length").setValue(30)
    _spin(dialog, "subtitle_lines").setValue(1)
    folder = dialog.editors["export_folder"]
    assert isinstance(folder, QLineEdit) and "video's folder" in folder.placeholderText()
    folder.setText(str(tmp_path))
    assert dialog.validate()
    chosen = dialog.candidate
    assert (chosen.min_speakers, chosen.max_speakers) == (3, 3)
    assert (chosen.subtitle_line_length, chosen.subtitle_lines) == (30, 1)
    assert chosen.export_folder == str(tmp_path)


def test_your_name_says_what_it_is_for(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QLabel

    dialog = QtSettingsDialog(Settings(), env={})
    qtbot.addWidget(dialog)
    notes = " ".join(label.text() for label in dialog.findChildren(QLabel))
    assert "Your name is written on each job you add" in notes


def test_new_jobs_and_exports_follow_the_settings_without_a_restart(
    run: Runner, start_desktop: Callable[..., Any], peer: Any, prompts: AnsweringPrompts,
    tmp_path: Path,
) -> None:
    desktop = start_desktop(MODEL_SERVER_URL=peer.url)
    window = desktop.window
    (tmp_path / "videos").mkdir()
    video = make_silent_video(tmp_path / "videos" / "meeting.mp4", duration_s=1.0)
    window.add_paths([video])
    run.until(lambda: [j.status.value for j in window.model.jobs()] == ["completed"], timeout=60)
    first = window.model.job_at(0)
    assert "min_speakers" not in peer.jobs[str(first.job_id)].request  # "any": not asked

    window.queue.select_job(first.job_id)
    prompts.save_path = ""  # look where the dialog opens, then cancel
    window.actions_by_name["export"].trigger()
    assert Path(prompts.suggested).parent == video.parent  # default: the video's folder

    core = desktop.services.core
    exports = tmp_path / "exports"
    exports.mkdir()
    changed = replace(desktop.settings, min_speakers=2, max_speakers=2,
                      subtitle_line_length=18, subtitle_lines=1, export_folder=str(exports))
    assert run(desktop.apply_settings(changed)) is None
    assert desktop.services.core is core, "applied without restarting the services"

    window.add_paths([make_silent_video(tmp_path / "videos" / "panel.mp4", duration_s=1.0)])
    run.until(lambda: sorted(j.status.value for j in window.model.jobs())
              == ["completed", "completed"], timeout=60)
    second = next(j for j in window.model.jobs() if j.filename == "panel.mp4")
    asked = peer.jobs[str(second.job_id)].request
    assert (asked["min_speakers"], asked["max_speakers"]) == (2, 2)

    window.queue.select_job(second.job_id)
    prompts.save_path = ""
    window.actions_by_name["export"].trigger()
    assert Path(prompts.suggested).parent == exports
    prompts.save_path = str(exports / "panel.srt")
    window.actions_by_name["export"].trigger()
    run.until(lambda: bool(prompts.exported))
    assert prompts.exported == [[exports / "panel.srt"]]  # told where, with Show in folder
    subs = pysubs2.load(str(exports / "panel.srt"))
    # 18 characters, one line a cue: "hello there" no longer fits one cue (by default it does)
    assert [e.plaintext for e in subs] == ["SPEAKER_00: hello", "SPEAKER_00: there",
                                           "SPEAKER_01: hi"]
