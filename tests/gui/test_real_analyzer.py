"""The window with no configuration: the bundled reference analyzer starts with the app, a
dropped speech video goes all the way to a completed job, and the queue shows the upload
moving and the analyzer's own stage messages on the way. A big file shows the upload's
bytes, speed and time left changing."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ecg_desktop.domain import JobStatus, Stage
from ecg_desktop.gui.qt_job_model import Column
from tests.gui.conftest import Runner
from tests.gui.test_window_queue import drop
from tests.media import make_silent_video, make_speech_video

TURNS = [
    ("en-us", "The quick brown fox jumps over the lazy dog.", 0.0),
    ("en-us+f3", "I would rather stay home and read a good book.", 0.0),
]


def _big_video(path: Path, size: int) -> Path:
    """A valid one-second mp4 made ``size`` bytes long by a trailing ``free`` box (which
    players skip), written sparse so the test costs no disk for its source."""
    make_silent_video(path, duration_s=1.0)
    with path.open("r+b") as handle:
        handle.seek(0, 2)
        padding = size - handle.tell()
        handle.write(padding.to_bytes(4, "big") + b"free")
        handle.truncate(size)
    return path


def _record_progress(window: Any) -> list[str]:
    seen: list[str] = []

    def note(top_left: Any, bottom_right: Any, *_: Any) -> None:
        if top_left.column() <= Column.PROGRESS <= bottom_right.column():
            text = str(window.model.index(top_left.row(), Column.PROGRESS).data())
            if not seen or seen[-1] != text:
                seen.append(text)

    window.model.dataChanged.connect(note)
    return seen


@pytest.mark.slow
def test_a_dropped_video_completes_with_the_bundled_analyzer_showing_its_stages(
    run: Runner, start_desktop: Callable[..., Any], tmp_path: Path,
) -> None:
    desktop = start_desktop()  # no MODEL_SERVER_URL: the reference analyzer runs
    window = desktop.window
    assert desktop.services.core.analyzer is not None
    video = make_speech_video(tmp_path / "two voices.mp4", TURNS).path
    seen = _record_progress(window)

    drop(window, [video])
    run.until(lambda: window.model.rowCount() == 1)
    run.until(lambda: window.model.job_at(0).status.is_terminal, timeout=240)

    job = window.model.job_at(0)
    assert job.status == JobStatus.COMPLETED, (job.error_code, job.error_message, seen)
    assert job.speakers == 2
    analysing = [t for t in seen if re.match(r"\d+% · \S", t)]
    assert len({t.split(" · ", 1)[1] for t in analysing}) >= 2, seen  # several stage messages
    percents = [int(t.split("%")[0]) for t in analysing]
    assert percents == sorted(percents)  # progress never goes back
    assert window.model.index(0, Column.STATUS).data() == "Completed"


@pytest.mark.slow
def test_the_queue_shows_a_big_upload_moving(
    run: Runner, start_desktop: Callable[..., Any], peer: Any, tmp_path: Path,
) -> None:
    peer.behaviour = "silent"
    window = start_desktop(MODEL_SERVER_URL=peer.url).window
    big = _big_video(tmp_path / "big recording.mp4", 400 * 1024 * 1024)
    seen = _record_progress(window)

    window.add_paths([big])
    run.until(lambda: window.model.rowCount() == 1)
    run.until(lambda: window.model.job_at(0).stage not in (Stage.QUEUED, Stage.UPLOADING),
              timeout=120)

    uploading = [t for t in seen if t.startswith("Uploading ")]
    done = [float(m.group(1)) for t in uploading
            if (m := re.match(r"Uploading ([\d.]+) MB of 419\.4 MB", t))]
    assert len(done) >= 2 and done == sorted(done) and done[-1] > done[0], seen
    assert any(re.search(r" · [\d.]+ [KMG]B/s · \d+:\d\d left$", t) for t in uploading), seen
