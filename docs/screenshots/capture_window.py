"""Screenshots of the window's dialogs at 1600 px: the refusal summary, Analyse again with...,
Help -> Keyboard shortcuts, Settings -> Analysis and export, an export's "where it went", and the
queue beside a transcript.

Run under a display (Xvfb works):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/capture_window.py

Everything is real: the bundled reference analyzer, local storage behind the embedded server, a
scratch SQLite store, generated videos (tests/media.py). Writes the PNGs next to this file.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
SCRATCH = Path(tempfile.mkdtemp(prefix="ecg-window-screens-"))
for name in ("ECG_DATA_DIR", "ECG_CONFIG_DIR", "ECG_LOG_DIR"):
    os.environ[name] = str(SCRATCH / name.lower())
os.environ["ECG_BIND_PORT"] = "0"
os.environ.pop("MODEL_SERVER_URL", None)

TURNS = [
    ("en-us", "Good morning everyone, thank you for joining the quarterly review today.", 0.0),
    ("en-us+f3", "Thanks. Let us start with the sales figures from the last three months.", 0.0),
]


async def wait_for(condition: Callable[[], bool], limit_s: float = 300) -> None:
    async def poll() -> None:
        while not condition():  # noqa: ASYNC110 - polls what the window shows
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), limit_s)


async def main() -> None:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

    from ecg_desktop.gui.app import DesktopApp, load_file_settings
    from tests.media import make_corrupt_file, make_speech_video, make_video_without_audio

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    settings, problem = load_file_settings()
    desktop = DesktopApp(app, settings, config_problem=problem,
                         qsettings=QSettings(str(SCRATCH / "gui.ini"), QSettings.Format.IniFormat))
    window = desktop.window
    window.resize(1600, 1000)
    window.show()

    def shot(name: str, widget: QWidget | None = None) -> None:
        (widget or window).grab().save(str(HERE / f"{name}.png"))
        print("wrote", name)

    boxes: dict[str, QMessageBox] = {}

    def grab_instead_of_exec(box: QMessageBox) -> int:
        """A message box is shown, photographed and closed instead of waiting for a click."""
        for button in box.buttons():
            if box.buttonRole(button) == QMessageBox.ButtonRole.ActionRole and \
                    "Details" in button.text():
                button.click()  # open the details section
        box.show()
        app.processEvents()
        boxes[box.windowTitle()] = box
        QTimer.singleShot(0, box.close)
        return 0

    QMessageBox.exec = grab_instead_of_exec  # type: ignore[method-assign,assignment]

    await desktop.run(until_ready=True)
    await window.wait_idle()
    videos = SCRATCH / "videos"
    videos.mkdir()
    meeting = make_speech_video(videos / "quarterly review.mp4", TURNS).path
    mute = make_video_without_audio(videos / "camera without microphone.mp4")
    damaged = make_corrupt_file(videos / "copied halfway.mp4")
    notes = videos / "agenda.pdf"
    notes.write_bytes(b"%PDF-1.4")
    window.add_paths([meeting, mute, damaged, notes])
    await wait_for(lambda: "Some files were not added" in boxes)
    box = boxes["Some files were not added"]
    box.show()
    app.processEvents()
    await asyncio.sleep(0.3)
    shot("refused", box)
    box.close()

    await wait_for(lambda: window.model.rowCount() == 1
                   and window.model.job_at(0).status.is_terminal)
    done = window.model.job_at(0)
    window.queue.select_job(done.job_id)
    await window.wait_idle()
    await asyncio.sleep(1.5)
    shot("queue-1600")

    window.actions_by_name["retryWith"].trigger()
    dialog = window.jobs.retry_dialog
    assert dialog is not None
    dialog.language.setCurrentIndex(dialog.language.findData("en"))
    dialog.speaker_mode.setCurrentIndex(dialog.speaker_mode.findData("range"))
    dialog.min_speakers.setValue(2)
    dialog.max_speakers.setValue(3)
    await asyncio.sleep(0.3)
    shot("analyse-again", dialog)
    dialog.reject()

    window.show_shortcuts()
    await asyncio.sleep(0.3)
    shortcuts = window.findChild(QWidget, "shortcutsDialog")
    assert shortcuts is not None
    shot("shortcuts", shortcuts)
    shortcuts.close()

    desktop.open_settings()
    settings_dialog = desktop.settings_dialog
    assert settings_dialog is not None
    tabs = settings_dialog.tabs
    tabs.setCurrentIndex(next(i for i in range(tabs.count())
                              if tabs.tabText(i) == "Analysis and export"))
    await asyncio.sleep(0.3)
    shot("settings-analysis", settings_dialog)
    settings_dialog.reject()

    window.prompts.show_exported([videos / f"quarterly review-{str(done.job_id)[:8]}.srt"])
    await asyncio.sleep(0.2)
    exported = boxes["Export finished"]
    exported.show()
    app.processEvents()
    shot("exported", exported)
    exported.close()
    await desktop.stop()


if __name__ == "__main__":
    import qasync

    from ecg_desktop.gui.app import make_application

    application = make_application()
    application.setQuitOnLastWindowClosed(False)
    qasync.run(main())
