"""Screenshots of the window in its main states, taken from a real run.

Run under a display (Xvfb works):

    Xvfb :99 -screen 0 1400x900x24 &
    DISPLAY=:99 .venv/bin/python docs/screenshots/capture.py

Everything is real: the bundled reference analyzer, local storage behind the embedded
server, a scratch SQLite store; the videos are generated (espeak-ng voices, see
tests/media.py). Writes the PNGs next to this file.
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
SCRATCH = Path(tempfile.mkdtemp(prefix="ecg-screens-"))
for name in ("ECG_DATA_DIR", "ECG_CONFIG_DIR", "ECG_LOG_DIR"):
    os.environ[name] = str(SCRATCH / name.lower())
os.environ["ECG_BIND_PORT"] = "0"
os.environ.pop("MODEL_SERVER_URL", None)

TURNS = [
    ("en-us", "Good morning everyone, thank you for joining the quarterly review today.", 0.0),
    ("en-us+f3", "Thanks. Let us start with the sales figures from the last three months.", 0.0),
    ("en-us", "Sales grew by twelve percent, mostly in the northern region.", 0.0),
    ("en-us+f3", "That is great news. What about the new product line?", 0.0),
]


async def wait_for(condition: Callable[[], bool], limit_s: float = 300) -> None:
    async def poll() -> None:
        while not condition():  # noqa: ASYNC110 - polls what the window shows
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), limit_s)


def big_video(path: Path, size: int) -> Path:
    from tests.media import make_silent_video

    make_silent_video(path, duration_s=2.0)
    with path.open("r+b") as handle:
        handle.seek(0, 2)
        handle.write((size - handle.tell()).to_bytes(4, "big") + b"free")
        handle.truncate(size)
    return path


async def main() -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from ecg_desktop.domain import JobStatus, Stage
    from ecg_desktop.gui.app import DesktopApp, load_file_settings
    from ecg_desktop.gui.theme import apply_theme
    from tests.media import make_silent_video, make_speech_video

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    settings, problem = load_file_settings()
    desktop = DesktopApp(app, settings, config_problem=problem,
                         qsettings=QSettings(str(SCRATCH / "gui.ini"), QSettings.Format.IniFormat))
    window = desktop.window
    window.resize(1360, 820)
    window.show()

    def shot(name: str, widget: object = None) -> None:
        target = widget or window
        target.grab().save(str(HERE / f"{name}.png"))  # type: ignore[attr-defined]
        print("wrote", name)

    await desktop.run(until_ready=True)
    await window.wait_idle()
    await asyncio.sleep(0.5)
    shot("empty")

    videos = SCRATCH / "videos"
    videos.mkdir()
    meeting = make_speech_video(videos / "quarterly review.mp4", TURNS).path
    window.add_paths([meeting])
    await wait_for(lambda: window.model.rowCount() == 1)
    await wait_for(lambda: window.model.job_at(0).stage == Stage.ANALYZING
                   and window.model.job_at(0).progress >= 20)
    await asyncio.sleep(0.3)
    shot("queue-analysing")
    await wait_for(lambda: window.model.job_at(0).status.is_terminal)

    silent = make_silent_video(videos / "muted camera.mp4", duration_s=4.0)
    window.add_paths([silent])
    await wait_for(lambda: window.model.rowCount() == 2)
    await wait_for(lambda: all(j.status.is_terminal for j in window.model.jobs()))

    big = big_video(videos / "all-hands recording.mp4", 3 * 1024**3)
    window.add_paths([big])
    await wait_for(lambda: any(j.stage == Stage.UPLOADING for j in window.model.jobs()))
    await asyncio.sleep(1.5)
    big_job = next(j for j in window.model.jobs() if j.filename == big.name)
    window.queue.select_job(big_job.job_id)
    await asyncio.sleep(0.2)
    shot("queue-uploading")
    with big.open("r+b") as handle:  # the recording is cut short while it uploads
        handle.truncate(big.stat().st_size // 3)
    await wait_for(lambda: big_job.job_id not in {j.job_id for j in window.model.jobs()
                                                   if not j.status.is_terminal}, 120)
    big.unlink()

    done = next(j for j in window.model.jobs() if j.filename == meeting.name)
    window.queue.select_job(done.job_id)
    window.open_selected()
    await window.wait_idle()
    await asyncio.sleep(1.5)
    shot("completed")

    failed = [j for j in window.model.jobs() if j.status == JobStatus.FAILED]
    if failed:
        window.queue.select_job(failed[0].job_id)
        await asyncio.sleep(0.2)
        shot("failed")
    else:
        print("no failed job to show:", [(j.filename, j.status) for j in window.model.jobs()])

    desktop.open_settings()
    dialog = desktop.settings_dialog
    tabs = dialog.tabs
    tabs.setCurrentIndex(next(i for i in range(tabs.count())
                              if tabs.tabText(i) == "Callback server"))
    await asyncio.sleep(0.3)
    shot("settings", dialog)
    dialog.tabs.setCurrentIndex(dialog.tabs.count() - 1)  # "Team"
    for name, value in (("database_url", "postgresql://ana@db.team.lan/ecg"),
                        ("bucket", "team-videos"),
                        ("callback_url", "http://ecg.team.lan:8000"),
                        ("model_server_url", "http://gpu.team.lan:8001"),
                        ("user_name", "ana")):
        dialog.team_fields[name].setText(value)
    dialog.join_team()
    await asyncio.sleep(0.3)
    shot("settings-team", dialog)
    dialog.reject()

    desktop.translations.apply("ko")
    await asyncio.sleep(0.3)
    shot("korean")
    desktop.translations.apply("en")

    os.environ["ECG_COLOR_SCHEME"] = "dark"
    apply_theme(app)
    await asyncio.sleep(0.3)
    shot("dark")
    await desktop.stop()


if __name__ == "__main__":
    import qasync

    from ecg_desktop.gui.app import make_application

    application = make_application()
    application.setQuitOnLastWindowClosed(False)
    qasync.run(main())
