"""The window over a real core: drop videos and watch them run, refusals, cancel and retry
from the context menu, notifications, a taken port, jobs restored after a restart.

The ML server is ``ProtocolPeer`` (real HTTP, real signed callbacks); everything else is
the app's own: SQLite store, local storage behind the embedded server, the pipeline."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from ecg_desktop.domain import JobStatus, Stage
from ecg_desktop.gui.qt_job_model import Column
from tests.gui.conftest import AnsweringPrompts, Runner
from tests.media import make_silent_video


def drop(window: Any, paths: Sequence[Path]) -> None:
    """Drag ``paths`` over the window and drop them, as a file manager would."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    point = QPointF(window.width() / 2, window.height() / 2)
    actions = Qt.DropAction.CopyAction
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(point, actions, mime, buttons, modifiers)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    assert window.overlay.isVisible(), "a drop target shows while dragging"
    QApplication.sendEvent(window, QDropEvent(point, actions, mime, buttons, modifiers))
    assert not window.overlay.isVisible()


def statuses(window: Any) -> list[str]:
    return [job.status.value for job in window.model.jobs()]


def test_dropped_videos_become_jobs_that_run_to_completion(
    run: Runner, start_desktop: Callable[..., Any], peer: Any, prompts: AnsweringPrompts,
    tmp_path: Path,
) -> None:
    desktop = start_desktop(MODEL_SERVER_URL=peer.url)
    window = desktop.window
    videos = [make_silent_video(tmp_path / f"clip{i}.mp4", duration_s=1.0) for i in (1, 2)]
    notes = tmp_path / "notes.txt"
    notes.write_text("not a video")
    seen: list[str] = []
    window.model.dataChanged.connect(lambda tl, br, *_: seen.append(
        str(window.model.index(tl.row(), Column.PROGRESS).data())))

    drop(window, [*videos, notes])
    run.until(lambda: window.model.rowCount() == 2)

    run.until(lambda: bool(prompts.refused))  # told once the batch is queued
    assert [(r.path, r.reason) for r in prompts.refused] == [(notes, "not a video or sound file")]
    run.until(lambda: statuses(window) == ["completed", "completed"], timeout=60)
    names = sorted(job.filename for job in window.model.jobs())
    assert names == ["clip1.mp4", "clip2.mp4"]
    assert window.model.index(0, Column.SPEAKERS).data() == "2"
    assert any(text.startswith("40% · Transcribing") for text in seen), seen
    assert window.tray.last_message is not None and "clip" in window.tray.last_message[1]


def test_duplicates_are_asked_about_and_skipped_when_declined(
    run: Runner, start_desktop: Callable[..., Any], peer: Any, prompts: AnsweringPrompts,
    tmp_path: Path,
) -> None:
    peer.behaviour = "silent"
    window = start_desktop(MODEL_SERVER_URL=peer.url).window
    video = make_silent_video(tmp_path / "same.mp4", duration_s=1.0)
    window.add_paths([video])
    run.until(lambda: window.model.rowCount() == 1)

    prompts.add_duplicates = False
    assert window.add_paths([video]) == []
    assert prompts.duplicates == [video]
    prompts.add_duplicates = True
    assert window.add_paths([video]) == [video]
    run.until(lambda: window.model.rowCount() == 2)


def menu_action(window: Any, name: str) -> Any:
    menu = window.queue.build_context_menu()
    return next(a for a in menu.actions() if a.objectName() == name)


def test_cancel_and_retry_from_the_context_menu(
    run: Runner, start_desktop: Callable[..., Any], peer: Any, tmp_path: Path,
) -> None:
    peer.behaviour = "silent"  # accepts the job and never calls back: it stays analysing
    window = start_desktop(MODEL_SERVER_URL=peer.url).window
    window.add_paths([make_silent_video(tmp_path / "long.mp4", duration_s=1.0)])
    run.until(lambda: window.model.rowCount() == 1
              and window.model.job_at(0).stage == Stage.ANALYZING)
    first = window.model.job_at(0)

    assert window.queue.select_job(first.job_id)
    cancel = menu_action(window, "cancel")
    assert cancel.isEnabled() and not menu_action(window, "retry").isEnabled()
    cancel.trigger()
    run.until(lambda: window.model.job(first.job_id).status == JobStatus.CANCELED)
    assert window.model.index(0, Column.STATUS).data() == "Canceled"

    peer.behaviour = "complete"
    window.queue.select_job(first.job_id)
    retry = menu_action(window, "retry")
    assert retry.isEnabled()
    retry.trigger()
    run.until(lambda: window.model.rowCount() == 2)
    again = next(j for j in window.model.jobs() if j.job_id != first.job_id)
    assert again.retry_of == first.job_id
    run.until(lambda: window.model.job(again.job_id).status == JobStatus.COMPLETED, timeout=60)


def test_notification_click_selects_the_job(
    run: Runner, start_desktop: Callable[..., Any], peer: Any, tmp_path: Path,
) -> None:
    window = start_desktop(MODEL_SERVER_URL=peer.url).window
    window.add_paths([make_silent_video(tmp_path / f"n{i}.mp4", duration_s=1.0) for i in (1, 2)])
    run.until(lambda: statuses(window) == ["completed", "completed"], timeout=60)
    window.queue.clearSelection()

    window.tray.tray.messageClicked.emit()

    selected = window.queue.selected_jobs()
    assert [j.job_id for j in selected] == [window.tray.last_job_id]


def test_jobs_are_restored_after_a_restart_in_their_true_state(
    run: Runner, start_desktop: Callable[..., Any], peer: Any, tmp_path: Path,
) -> None:
    first = start_desktop(MODEL_SERVER_URL=peer.url)
    first.window.add_paths([make_silent_video(tmp_path / "done.mp4", duration_s=1.0)])
    run.until(lambda: statuses(first.window) == ["completed"], timeout=60)
    peer.behaviour = "fail"
    first.window.add_paths([make_silent_video(tmp_path / "bad.mp4", duration_s=1.0)])
    run.until(lambda: sorted(statuses(first.window)) == ["completed", "failed"], timeout=60)
    before = {j.job_id: (j.status, j.filename, j.error_code) for j in first.window.model.jobs()}
    run(first.stop())
    first.window.close()

    second = start_desktop(MODEL_SERVER_URL=peer.url)

    after = {j.job_id: (j.status, j.filename, j.error_code) for j in second.window.model.jobs()}
    assert after == before


def test_a_taken_port_is_reported_with_the_way_to_change_it(
    run: Runner, start_desktop: Callable[..., Any], peer: Any,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        desktop = start_desktop(MODEL_SERVER_URL=peer.url, ECG_BIND_PORT=str(port))

        banner = desktop.window.banner
        assert banner.isVisible()
        assert f"127.0.0.1:{port}" in banner.label.text()
        assert "ECG_BIND_PORT" in banner.label.text() and "Settings" in banner.label.text()
        assert desktop.window.core is not None, "the queue still works without the server"


def test_delete_and_export_from_the_menu(
    run: Runner, start_desktop: Callable[..., Any], peer: Any, prompts: AnsweringPrompts,
    tmp_path: Path,
) -> None:
    desktop = start_desktop(MODEL_SERVER_URL=peer.url)
    window = desktop.window
    window.add_paths([make_silent_video(tmp_path / f"e{i}.mp4", duration_s=1.0) for i in (1, 2)])
    run.until(lambda: statuses(window) == ["completed", "completed"], timeout=60)
    keep, drop_job = window.model.jobs()

    window.queue.select_job(keep.job_id)
    prompts.save_path = str(tmp_path / "words.csv")  # the format follows the typed extension
    menu_action(window, "export").trigger()
    run.until(lambda: (tmp_path / "words.csv").exists())
    run(window.wait_idle())
    lines = (tmp_path / "words.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("job,segment,speaker,word,start,end,volume_db,pitch_hz")
    assert len(lines) == 1 + 3  # one row per word of the peer's result

    window.queue.select_job(drop_job.job_id)
    prompts.confirm_deletes = False
    menu_action(window, "delete").trigger()
    assert window.model.job(drop_job.job_id) is not None  # declined: nothing happens
    prompts.confirm_deletes = True
    menu_action(window, "delete").trigger()
    run.until(lambda: window.model.job(drop_job.job_id) is None)
    run(window.wait_idle())  # the row goes first, then the stored video
    core = desktop.services.core
    assert [j.job_id for j in run(core.store.list())] == [keep.job_id]
    assert drop_job.file_key and not run(core.storage.exists(drop_job.file_key))  # video too
    assert run(core.storage.exists(keep.file_key))


def test_with_an_s3_bucket_the_video_goes_there_and_the_status_bar_says_so(
    run: Runner, start_desktop: Callable[..., Any], peer: Any, s3_service: Any, s3_bucket: str,
    tmp_path: Path,
) -> None:
    desktop = start_desktop(
        MODEL_SERVER_URL=peer.url, S3_BUCKET_NAME=s3_bucket,
        S3_ENDPOINT_URL=s3_service.endpoint_url, AWS_ACCESS_KEY_ID=s3_service.access_key,
        AWS_SECRET_ACCESS_KEY=s3_service.secret_key, AWS_REGION=s3_service.region,
    )
    window = desktop.window
    assert s3_bucket in window.status.storage_label.text()

    drop(window, [make_silent_video(tmp_path / "to the bucket.mp4", duration_s=1.0)])
    run.until(lambda: statuses(window) == ["completed"], timeout=60)

    job = window.model.job_at(0)
    assert job.file_key and run(desktop.services.core.storage.exists(job.file_key))


def test_clicking_a_completed_job_shows_its_transcript(
    run: Runner, start_desktop: Callable[..., Any], peer: Any, tmp_path: Path,
) -> None:
    from PySide6.QtTest import QTest

    window = start_desktop(MODEL_SERVER_URL=peer.url).window
    window.add_paths([make_silent_video(tmp_path / "talk.mp4", duration_s=1.0)])
    run.until(lambda: statuses(window) == ["completed"], timeout=60)
    run.until(lambda: window.review_pane is not None)
    # (a job finishing while nothing is selected may already show: issue 13 item 4)

    rect = window.queue.visualRect(window.queue.model().index(0, 0))
    QTest.mouseClick(window.queue.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, rect.center())

    run.until(lambda: window.review_pane.model.rowCount() > 0, timeout=20)
    assert window.review_pane.job.filename == "talk.mp4"


def test_the_pane_shows_the_selected_job_however_far_it_got(
    run: Runner, start_desktop: Callable[..., Any], peer: Any, tmp_path: Path,
) -> None:
    window = start_desktop(MODEL_SERVER_URL=peer.url).window
    window.add_paths([make_silent_video(tmp_path / "talk.mp4", duration_s=1.0)])
    run.until(lambda: statuses(window) == ["completed"], timeout=60)
    talk = window.model.job_at(0)
    window.select_job(talk.job_id)
    run.until(lambda: window.review_pane.model.rowCount() > 0, timeout=20)

    # A failed job says why, instead of leaving the last transcript on screen.
    peer.behaviour = "fail"
    window.add_paths([make_silent_video(tmp_path / "broken.mp4", duration_s=1.0)])
    run.until(lambda: sorted(statuses(window)) == ["completed", "failed"], timeout=60)
    broken = next(j for j in window.model.jobs() if j.filename == "broken.mp4")
    window.select_job(broken.job_id)
    run.until(lambda: "broken.mp4 failed: HTTP 403" in window.review_pane.title.text())
    assert window.review_pane.model.rowCount() == 0

    # A job still on its way is shown the moment it completes, with no click.
    peer.behaviour, peer.gate = "complete", asyncio.Event()
    window.add_paths([make_silent_video(tmp_path / "later.mp4", duration_s=1.0)])
    run.until(lambda: any(j.filename == "later.mp4" for j in window.model.jobs()))
    later = next(j for j in window.model.jobs() if j.filename == "later.mp4")
    window.select_job(later.job_id)
    run.until(lambda: "later.mp4 has no transcript yet" in window.review_pane.title.text())
    assert window.review_pane.model.rowCount() == 0
    peer.gate.set()
    run.until(lambda: window.review_pane.model.rowCount() > 0, timeout=60)
    assert window.review_pane.job.job_id == later.job_id
    assert window.review_pane.job.status is JobStatus.COMPLETED
