"""Settings -> Speech recognition while a model downloads, from a real run.

Run under a display (Xvfb works):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/screenshots/capture_models.py

The hub cannot be reached from every machine, so the download comes from the tests' local
stand-in for the Hugging Face Hub (tests/services/hub.py), serving the multilingual Whisper
base from its packages, slowed down so the progress bar can be seen. Writes
settings-models.png next to this file.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
SCRATCH = Path(tempfile.mkdtemp(prefix="ecg-screens-"))
for name in ("ECG_DATA_DIR", "ECG_CONFIG_DIR", "ECG_LOG_DIR"):
    os.environ[name] = str(SCRATCH / name.lower())
os.environ.pop("MODEL_SERVER_URL", None)
os.environ.pop("ECG_MODELS_DIR", None)


async def main() -> None:
    from ecg_desktop.analyzer import whisper_models as wm
    from ecg_desktop.config import load_settings
    from ecg_desktop.gui.qt_settings_dialog import QtSettingsDialog
    from tests.services.hub import FakeHub, whisper_base_files

    with FakeHub() as hub:
        hub.add_repo(wm.CATALOG["base"].repo_id, whisper_base_files())
        hub.seconds_per_block = 0.02
        dialog = QtSettingsDialog(load_settings(), env={})
        dialog.resize(900, 720)
        page = dialog.models_page
        page.endpoint = hub.url
        dialog.tabs.setCurrentWidget(page)
        dialog.show()
        page.select("base")
        page.start_download("base")
        while page._progress["base"][0] < 0.4 * page._progress["base"][1]:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        dialog.grab().save(str(HERE / "settings-models.png"))
        page.cancel_selected()
        await asyncio.sleep(0.5)


if __name__ == "__main__":
    import qasync

    from ecg_desktop.gui.app import make_application

    application = make_application()
    application.setQuitOnLastWindowClosed(False)
    qasync.run(main())
