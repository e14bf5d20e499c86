"""The analyzer's notes on a result ("only the English model is installed") are shown on the
job in the queue (its progress text and tooltip), not only inside the result's JSON."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from ecg_desktop.gui.qt_job_model import Column
from tests.app import peer as peer_module
from tests.gui.conftest import Runner
from tests.media import make_silent_video

NOTE = "only the English model is installed: the Korean speech was recognised as English"


def test_the_analyzers_notes_show_on_the_completed_job(
    run: Runner, start_desktop: Callable[..., Any], peer: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(peer_module.RESULT, "metadata",
                        {**peer_module.RESULT.get("metadata", {}), "notes": [NOTE]})
    window = start_desktop(MODEL_SERVER_URL=peer.url).window
    window.add_paths([make_silent_video(tmp_path / "korean talk.mp4", duration_s=1.0)])
    run.until(lambda: window.model.rowCount() == 1
              and window.model.job_at(0).status.value == "completed", timeout=60)

    progress = window.model.index(0, Column.PROGRESS)
    assert progress.data() == f"Completed · Note: {NOTE}"
    assert NOTE in progress.data(Qt.ItemDataRole.ToolTipRole)
    assert window.model.job_at(0).message == f"Note: {NOTE}"  # stored with the job


def test_a_result_without_notes_just_says_completed(
    run: Runner, start_desktop: Callable[..., Any], peer: Any, tmp_path: Path,
) -> None:
    window = start_desktop(MODEL_SERVER_URL=peer.url).window
    window.add_paths([make_silent_video(tmp_path / "talk.mp4", duration_s=1.0)])
    run.until(lambda: window.model.rowCount() == 1
              and window.model.job_at(0).status.value == "completed", timeout=60)
    assert window.model.index(0, Column.PROGRESS).data() == "Completed"
