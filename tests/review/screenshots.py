"""Screenshots of the review pane for the docs (not a test).

A two-speaker video spoken by espeak-ng voices is analysed by the reference analyzer (forced
alignment to its known text), stored in a temporary SQLite job store and opened in the pane
with the video, the plots and the pitch colouring on; one picture in English, one in Korean.

    Xvfb :98 -screen 0 1400x900x24 &
    DISPLAY=:98 QT_QPA_PLATFORM=xcb .venv/bin/python -m tests.review.screenshots [OUT_DIR]
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import wave
from pathlib import Path
from types import SimpleNamespace

import av
import qasync
from PySide6.QtCore import QPoint, QTimer
from PySide6.QtWidgets import QApplication, QMenu

from ecg_desktop.analyzer.pipeline import AnalysisOptions, analyse_file
from ecg_desktop.app.bus import EventBus
from ecg_desktop.gui.i18n import Translations
from ecg_desktop.gui.review import ReviewPane
from ecg_desktop.gui.review.palette import Colouring
from ecg_desktop.store import SqlJobStore, open_store
from tests.media import make_speech_video
from tests.review.conftest import add_completed

TURNS = [
    ("en-us", "Good morning everyone, thanks for joining the weekly review.", 0.0),
    ("en-us+f3", "Thanks. Should we start with the numbers from last quarter?", 0.0),
    ("en-us", "Yes. Sales grew by twelve percent, mostly in the northern region.", -3.0),
    ("en-us+f3", "That is great news. What about the new store downtown?", 0.0),
    ("en-us", "It opened in May and it is already ahead of our plan.", 0.0),
    ("en-us+f3", "Wonderful. Let us look at the costs next, then the hiring plan.", -2.0),
]


async def capture(out: Path, folder: Path) -> None:
    video = folder / "weekly-review.mp4"
    make_speech_video(video, TURNS)
    text = " ".join(t for _, t, _ in TURNS)
    raw = await asyncio.to_thread(
        analyse_file, video,
        AnalysisOptions(language="en", transcript=text, filename=video.name),
        lambda percent, message: None,
    )
    store = await open_store(f"sqlite+aiosqlite:///{folder / 'jobs.db'}")
    job = await add_completed(store, raw, filename=video.name, local_path=str(video))
    translations = Translations()
    for language in ("en", "ko"):
        translations.apply(language)
        if language == "ko":
            transcript = await store.get_transcript(job.job_id)
            assert transcript is not None
            speakers = transcript.speaker_ids
            await store.rename_speaker(job.job_id, speakers[0], "김민준")
            await store.rename_speaker(job.job_id, speakers[1], "이서연")
        pane = ReviewPane(SimpleNamespace(store=store, bus=EventBus()))
        pane.setWindowTitle("ECG Desktop")
        pane.resize(1400, 900)
        pane.show()
        await pane.show_job(job)
        for _ in range(200):
            if pane.player.loaded:  # paused at its position: its frame shows without Play
                break
            await asyncio.sleep(0.05)
        pane.set_colouring(Colouring.PITCH)
        transcript = pane.model.transcript
        row = 2
        word = transcript.segments[row].words[3]
        # an edit, so that the dotted mark of edited words and the enabled Undo show
        edited = transcript.segments[1].text.replace("numbers", "figures")
        pane.edits.edit_segment_text(1, edited)
        await pane.wait_idle()
        pane.search.field.setText("the")
        pane.select_segment(row)
        pane.player.seek(word.start + 0.01)
        await asyncio.sleep(1.0)
        pane.plots.set_cursor(word.start + 0.01)
        await asyncio.sleep(0.5)
        path = out / f"review_{language}.png"
        pane.move(0, 0)
        await asyncio.sleep(0.3)
        # The screen, not QWidget.grab(): the video is drawn by the platform, not the widget.
        await asyncio.to_thread(subprocess.run, [
            "import", "-window", "root", "-crop", "1400x900+0+0", str(path)], check=True)
        print(path)
        if language == "en":
            capture_menu(pane, out / "review_menu_en.png")
        pane.close()
        pane.deleteLater()
    await capture_audio_only(out, folder, store, translations)
    await store.close()


def capture_menu(pane: ReviewPane, path: Path) -> None:
    """The editing menu of a word, opened over the transcript (its own event loop runs
    while it is open: the picture is taken from a timer, which then closes it)."""
    row, word = 1, 3
    index = pane.proxy.mapFromSource(pane.model.index(row, 0))
    where = pane.delegate.word_rect(pane.view.visualRect(index), index, word).center()
    global_at = pane.view.viewport().mapToGlobal(where.toPoint())

    def shoot() -> None:
        subprocess.run(["import", "-window", "root", "-crop", "1400x900+0+0", str(path)],
                       check=True)
        print(path)
        popup = QApplication.activePopupWidget()
        while popup is not None:
            popup.close()
            popup = QApplication.activePopupWidget()

    def open_submenu() -> None:
        popup = QApplication.activePopupWidget()
        if isinstance(popup, QMenu):
            speakers = next(a for a in popup.actions() if isinstance(a.menu(), QMenu))
            submenu = speakers.menu()
            assert isinstance(submenu, QMenu)
            popup.setActiveAction(speakers)
            submenu.popup(popup.geometry().topRight()
                          + QPoint(0, popup.actionGeometry(speakers).top()))
        QTimer.singleShot(700, shoot)

    QTimer.singleShot(700, open_submenu)
    pane.edits.show_menu(row, word, global_at)


async def capture_audio_only(out: Path, folder: Path, store: SqlJobStore,
                             translations: Translations) -> None:
    """A sound file's job: the transcript and plots, and a plain "Audio only" player."""
    translations.apply("en")
    audio = folder / "interview.wav"
    await asyncio.to_thread(_sound_of, folder / "weekly-review.mp4", audio)
    raw = await asyncio.to_thread(
        analyse_file, audio,
        AnalysisOptions(language="en", transcript=" ".join(t for _, t, _ in TURNS),
                        filename=audio.name),
        lambda percent, message: None,
    )
    job = await add_completed(store, raw, filename=audio.name, local_path=str(audio))
    pane = ReviewPane(SimpleNamespace(store=store, bus=EventBus()))
    pane.resize(1400, 900)
    pane.show()
    await pane.show_job(job)
    for _ in range(200):
        if pane.player.is_audio_only:
            break
        await asyncio.sleep(0.05)
    pane.select_segment(3)
    await asyncio.sleep(0.8)
    path = out / "review_audio_en.png"
    pane.move(0, 0)
    await asyncio.sleep(0.3)
    await asyncio.to_thread(subprocess.run, [
        "import", "-window", "root", "-crop", "1400x900+0+0", str(path)], check=True)
    print(path)
    pane.close()
    pane.deleteLater()


def _sound_of(video: Path, target: Path) -> None:
    """The sound track of ``video`` as a 16 kHz mono WAV file."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=16_000)
    with av.open(str(video)) as container, wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        for frame in container.decode(audio=0):
            for converted in resampler.resample(frame):
                out.writeframes(converted.to_ndarray().tobytes())


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as folder, loop:
        loop.run_until_complete(capture(out, Path(folder)))


if __name__ == "__main__":
    main()
