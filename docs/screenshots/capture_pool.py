"""Screenshot of the window working with several ML servers (docs/team.md, "A fleet"): two
real reference analyzers (``ecg-desktop ml-server`` processes) and one address where nothing
answers, given to the app as a list in ``MODEL_SERVER_URL``.

Run under a display (Xvfb works):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/capture_pool.py

Writes ``status-pool.png`` next to this file.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
SCRATCH = Path(tempfile.mkdtemp(prefix="ecg-screens-pool-"))
for name in ("ECG_DATA_DIR", "ECG_CONFIG_DIR", "ECG_LOG_DIR"):
    os.environ[name] = str(SCRATCH / name.lower())
os.environ["ECG_BIND_PORT"] = "0"
SECRET = "screenshot-secret"
TURNS = [
    ("en-us", "Good morning everyone, thank you for joining the quarterly review today.", 0.0),
    ("en-us+f3", "Thanks. Let us start with the sales figures from the last three months.", 0.0),
] * 3


async def start_analyzer(number: int) -> asyncio.subprocess.Process:
    env = dict(os.environ, WEBHOOK_SECRET_KEY=SECRET, ECG_ANALYZER_BACKEND="pocketsphinx")
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ecg_desktop", "ml-server", "--host", "127.0.0.1", "--port", "0",
        "--results-dir", str(SCRATCH / f"analyzer-{number}"),
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )


async def main() -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from ecg_desktop.domain import Stage
    from ecg_desktop.gui.app import DesktopApp, load_file_settings
    from ecg_desktop.mlclient.embedded import READY_PREFIX
    from tests.media import make_speech_video

    analyzers = [await start_analyzer(n) for n in range(2)]
    urls = []
    for process in analyzers:
        assert process.stdout is not None
        line = (await process.stdout.readline()).decode()
        urls.append(line.removeprefix(READY_PREFIX).strip())
    with socket.socket() as probe:  # a port where nothing listens: the third "server"
        probe.bind(("127.0.0.1", 0))
        urls.append(f"http://127.0.0.1:{probe.getsockname()[1]}")
    os.environ["MODEL_SERVER_URL"] = ", ".join(urls)
    os.environ["WEBHOOK_SECRET_KEY"] = SECRET
    try:
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        settings, problem = load_file_settings()
        desktop = DesktopApp(app, settings, config_problem=problem, qsettings=QSettings(
            str(SCRATCH / "gui.ini"), QSettings.Format.IniFormat))
        window = desktop.window
        window.resize(1500, 700)
        window.show()
        await desktop.run(until_ready=True)
        await window.wait_idle()
        videos = SCRATCH / "videos"
        videos.mkdir()
        window.add_paths([make_speech_video(videos / f"meeting {n}.mp4", TURNS).path
                          for n in range(3)])
        analysing = [j for j in window.model.jobs() if j.stage == Stage.ANALYZING]
        while not any(j.progress >= 15 for j in analysing):
            await asyncio.sleep(0.1)
            analysing = [j for j in window.model.jobs() if j.stage == Stage.ANALYZING]
        window.check_health()
        await asyncio.sleep(3.0)
        window.grab().save(str(HERE / "status-pool.png"))
        print("wrote status-pool.png")
        await desktop.stop()
    finally:
        for process in analyzers:
            process.terminate()
            await process.wait()


if __name__ == "__main__":
    import qasync

    from ecg_desktop.gui.app import make_application

    application = make_application()
    application.setQuitOnLastWindowClosed(False)
    qasync.run(main())
