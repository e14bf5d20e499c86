"""The ``ecg-desktop`` command as CI runs it: ``--version`` and the offscreen self-check,
which builds the window and starts the store, the embedded server and the reference analyzer
on a scratch folder."""

from __future__ import annotations

import os
import subprocess
import sys

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
