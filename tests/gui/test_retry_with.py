"""Job → Analyse again with…: a failed (or completed) job is analysed again as a new job with
the language, model, number of speakers and known transcript chosen in the dialog, and the ML
server is asked exactly that."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from ecg_desktop.domain import DispatchOptions, JobStatus
from ecg_desktop.gui.qt_retry_dialog import QtRetryDialog
from tests.gui.conftest import Runner
from tests.media import make_silent_video


def _statuses(window: Any) -> list[str]:
    return sorted(job.status.value for job in window.model.jobs())


def _dialog_for(window: Any, job_id: Any) -> QtRetryDialog:
    window.queue.select_job(job_id)
    action = window.actions_by_name["retryWith"]
    assert action.isEnabled()
    action.trigger()
    dialog: QtRetryDialog | None = window.jobs.retry_dialog
    assert dialog is not None and dialog.isVisible() and dialog.job.job_id == job_id
    return dialog


def test_a_failed_job_is_analysed_again_with_other_settings(
    run: Runner, start_desktop: Callable[..., Any], peer: Any, tmp_path: Path,
) -> None:
    peer.behaviour = "fail"
    window = start_desktop(MODEL_SERVER_URL=peer.url, ECG_DEFAULT_LANGUAGE="en").window
    window.add_paths([make_silent_video(tmp_path / "interview.mp4", duration_s=1.0)])
    run.until(lambda: _statuses(window) == ["failed"], timeout=60)
    failed = window.model.job_at(0)
    assert failed.language == "en"

    dialog = _dialog_for(window, failed.job_id)
    models = [dialog.model.itemData(i) for i in range(dialog.model.count())]
    assert models[0] is None and "tiny.en" in models  # the bundled model is installed
    dialog.language.setCurrentIndex(dialog.language.findData("ko"))
    dialog.model.setCurrentIndex(dialog.model.findData("tiny.en"))
    dialog.speaker_mode.setCurrentIndex(dialog.speaker_mode.findData("exact"))
    dialog.min_speakers.setValue(2)
    dialog.transcript.setPlainText("안녕하세요 반갑습니다")
    peer.behaviour = "complete"
    dialog.accept()

    run.until(lambda: _statuses(window) == ["completed", "failed"], timeout=60)
    again = next(j for j in window.model.jobs() if j.status is JobStatus.COMPLETED)
    assert again.retry_of == failed.job_id and again.language == "ko"
    assert again.options == DispatchOptions("안녕하세요 반갑습니다", 2, 2, "tiny.en")
    asked = peer.jobs[str(again.job_id)].request
    assert (asked["language"], asked["min_speakers"], asked["max_speakers"]) == ("ko", 2, 2)
    assert asked["transcript"] == "안녕하세요 반갑습니다" and asked["model"] == "tiny.en"


def test_a_completed_job_is_analysed_again_with_a_speaker_range(
    run: Runner, start_desktop: Callable[..., Any], peer: Any, tmp_path: Path,
) -> None:
    window = start_desktop(MODEL_SERVER_URL=peer.url).window
    window.add_paths([make_silent_video(tmp_path / "panel.mp4", duration_s=1.0)])
    run.until(lambda: _statuses(window) == ["completed"], timeout=60)
    done = window.model.job_at(0)
    assert not window.actions_by_name["retry"].isEnabled()  # a plain retry is for failures

    dialog = _dialog_for(window, done.job_id)
    dialog.speaker_mode.setCurrentIndex(dialog.speaker_mode.findData("range"))
    dialog.min_speakers.setValue(2)
    dialog.max_speakers.setValue(4)
    dialog.accept()

    run.until(lambda: _statuses(window) == ["completed", "completed"], timeout=60)
    again = next(j for j in window.model.jobs() if j.job_id != done.job_id)
    assert again.retry_of == done.job_id and again.file_key == done.file_key  # no new upload
    asked = peer.jobs[str(again.job_id)].request
    assert (asked["min_speakers"], asked["max_speakers"]) == (2, 4)
    assert "transcript" not in asked and "model" not in asked
