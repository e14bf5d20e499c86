"""The ``ecg-desktop`` command as CI runs it: ``--version`` and the offscreen self-check,
which builds the window and starts the store, the embedded server and the reference analyzer
on a scratch folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ecg_desktop import __version__


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run([sys.executable, "-m", "ecg_desktop", *args], env=env,
                          capture_output=True, text=True, timeout=240)


def test_version() -> None:
    done = _run("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"ecg-desktop {__version__}"


@pytest.mark.slow
def test_self_check_starts_everything_and_exits_zero() -> None:
    done = _run("gui", "--self-check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "services: ok" in done.stdout
    assert "ML server: healthy" in done.stdout  # the bundled analyzer answered
    assert "Korean translation: ok" in done.stdout


@pytest.mark.slow
def test_the_window_closes_cleanly_on_sigterm(tmp_path: Path) -> None:
    import signal
    import time

    log = tmp_path / "log" / "ecg-desktop.log"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ECG_BIND_PORT": "0",
           "ECG_DATA_DIR": str(tmp_path / "data"), "ECG_CONFIG_DIR": str(tmp_path / "config"),
           "ECG_LOG_DIR": str(tmp_path / "log")}
    process = subprocess.Popen([sys.executable, "-m", "ecg_desktop"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while "backend listening" not in (log.read_text() if log.exists() else ""):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    text = log.read_text()
    assert "window shown after" in text and "backend stopped" in text
