"""The player beside the transcript: switching jobs, the first click, the first frame and
audio-only jobs (issue 13 item 4, issue 11 item 7)."""

from __future__ import annotations

import wave
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtMultimedia import QMediaPlayer
from pytestqt.qtbot import QtBot

from ecg_desktop.app.ports import ResultRecord
from ecg_desktop.domain import Job, JobChanged, normalize
from ecg_desktop.gui.review import ReviewPane
from ecg_desktop.gui.review.timeline import format_time
from ecg_desktop.store import SqlJobStore
from tests.media import make_silent_video

from .conftest import Runner, add_completed, shown_pane
from .factory import analyzer_result


@pytest.fixture
def pane(qtbot: QtBot, core: SimpleNamespace) -> ReviewPane:
    return shown_pane(qtbot, core, 1300, 850)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("media")
    audio = folder / "interview.wav"
    with wave.open(str(audio), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(b"\0\0" * 16_000 * 20)
    return {"long": make_silent_video(folder / "long.mp4", 45.0),
            "short": make_silent_video(folder / "short.mp4", 28.0),
            "audio": audio}


def _open(run: Runner, pane: ReviewPane, job: Job) -> None:
    run(pane.show_job(job))
    run.until(lambda: pane.view.indexAt(QPoint(200, 10)).isValid())


def _loaded(run: Runner, pane: ReviewPane) -> None:
    run.until(lambda: pane.player.loaded)


def _click_word(qtbot: QtBot, pane: ReviewPane, row: int, word: int) -> None:
    proxy_index = pane.proxy.mapFromSource(pane.model.index(row, 0))
    pane.view.scrollTo(proxy_index)
    rect = pane.view.visualRect(proxy_index)
    centre = pane.delegate.word_rect(rect, proxy_index, word).center().toPoint()
    qtbot.mouseClick(pane.view.viewport(), Qt.MouseButton.LeftButton, pos=centre)


def test_switching_jobs_shows_the_new_length_and_the_first_click_seeks(
    run: Runner, store: SqlJobStore, pane: ReviewPane, qtbot: QtBot, media: dict[str, Path],
) -> None:
    long_job = run(add_completed(store, analyzer_result(8), local_path=str(media["long"])))
    short_job = run(add_completed(store, analyzer_result(6, seed=3),
                                  local_path=str(media["short"])))
    _open(run, pane, long_job)
    _loaded(run, pane)
    run.until(lambda: pane.player.time_label.text().endswith("/ 00:45"))
    pane.player.seek(20.0)

    _open(run, pane, short_job)
    assert not pane.player.time_label.text().endswith("00:45")
    _click_word(qtbot, pane, 3, 1)  # at once, while the new video may still be loading
    word = pane.model.segment(3).words[1]
    _loaded(run, pane)
    run.until(lambda: pane.player.time_label.text().endswith("/ 00:28"))
    run.until(lambda: abs(pane.player.player.position() - word.start * 1000) <= 1)
    assert pane.player.time_label.text() == f"{format_time(word.start)} / 00:28"


def test_the_picture_at_the_position_shows_before_play(
    run: Runner, store: SqlJobStore, pane: ReviewPane, media: dict[str, Path],
) -> None:
    job = run(add_completed(store, analyzer_result(6), local_path=str(media["long"])))
    _open(run, pane, job)
    _loaded(run, pane)
    sink = pane.player.video.videoSink()
    run.until(lambda: sink.videoFrame().isValid())
    assert pane.player.player.playbackState() != QMediaPlayer.PlaybackState.PlayingState
    pane.player.seek(12.0)
    run.until(lambda: abs(sink.videoFrame().startTime() / 1e6 - 12.0) < 0.5)
    assert pane.player.player.playbackState() != QMediaPlayer.PlaybackState.PlayingState


def test_an_audio_only_job_has_a_plain_player_and_its_plots(
    run: Runner, store: SqlJobStore, pane: ReviewPane, media: dict[str, Path],
) -> None:
    job = run(add_completed(store, analyzer_result(6), filename="interview.wav",
                            local_path=str(media["audio"])))
    _open(run, pane, job)
    _loaded(run, pane)
    run.until(lambda: pane.player.is_audio_only)
    assert not pane.player.video.isVisible()
    assert pane.player.no_video.isVisible()
    assert pane.player.no_video.text() == "Audio only"
    assert pane.player.play_button.isEnabled()
    assert pane.plots_stack.currentWidget() is pane.plots
    pane.player.seek(4.0)
    run.until(lambda: abs(pane.player.player.position() - 4000) <= 1)


def test_a_job_finishing_while_nothing_is_shown_opens_in_the_pane(
    run: Runner, store: SqlJobStore, pane: ReviewPane, core: SimpleNamespace,
) -> None:
    shown = run(add_completed(store, analyzer_result(4)))
    core.bus.publish(JobChanged(shown))  # completed before: not opened by itself
    assert pane.job is None

    job = Job.new(filename="arriving.mp4")
    run(store.add(job))
    core.bus.publish(JobChanged(run(store.update(job.job_id, lambda j: j.start_dispatch()))))
    raw = analyzer_result(5, seed=11)
    transcript = normalize(raw)
    done = run(store.update(job.job_id, lambda j: j.complete(len(transcript.speaker_ids)),
                            result=ResultRecord(raw, transcript)))
    core.bus.publish(JobChanged(done))
    run.until(lambda: pane.model.rowCount() == 5)
    assert pane.job is not None and pane.job.job_id == job.job_id

    # one finishing while another job is shown leaves the pane alone
    other = Job.new(filename="other.mp4")
    run(store.add(other))
    core.bus.publish(JobChanged(run(store.update(other.job_id, lambda j: j.start_dispatch()))))
    core.bus.publish(JobChanged(run(store.update(
        other.job_id, lambda j: j.complete(2), result=ResultRecord(raw, transcript)))))
    run(pane.wait_idle())
    assert pane.job.job_id == job.job_id


class _LinkingStorage:
    """The one call the pane makes of object storage: a link to a stored video."""

    def __init__(self, video: Path) -> None:
        self.video = video
        self.asked: list[str] = []

    async def presign_get(self, key: str, expires_s: int) -> str:
        self.asked.append(key)
        return str(self.video)


async def _teammates_completed_job(store: SqlJobStore) -> Job:
    job = Job.new(filename="long.mp4", owner="bo", file_key="videos/bo/long.mp4")
    await store.add(job)
    await store.update(job.job_id, lambda j: j.start_dispatch())
    raw = analyzer_result(6)
    transcript = normalize(raw)
    await store.update(job.job_id, lambda j: j.complete(len(transcript.speaker_ids)),
                       result=ResultRecord(raw, transcript))
    return job


def test_a_teammates_video_plays_from_a_link_the_pane_asks_storage_for(
    run: Runner, store: SqlJobStore, qtbot: QtBot, core: SimpleNamespace,
    media: dict[str, Path],
) -> None:
    storage = _LinkingStorage(media["long"])
    pane = ReviewPane(core, storage=storage)  # type: ignore[arg-type]
    qtbot.addWidget(pane)
    pane.resize(1300, 850)
    pane.show()
    job = run(_teammates_completed_job(store))

    _open(run, pane, job)
    _loaded(run, pane)

    assert storage.asked == ["videos/bo/long.mp4"]
    run.until(lambda: pane.player.time_label.text().endswith("/ 00:45"))


def test_without_storage_a_teammates_job_says_there_is_no_video(
    run: Runner, store: SqlJobStore, pane: ReviewPane,
) -> None:
    job = run(_teammates_completed_job(store))
    _open(run, pane, job)
    run.until(lambda: pane.player.no_video.text() == "No video for this job")
