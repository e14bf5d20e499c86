"""`ecg-desktop ml-server` as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path


def test_ml_server_command_serves_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "ECG_DATA_DIR": str(tmp_path), "WEBHOOK_SECRET_KEY": "cli-secret"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ecg_desktop", "ml-server", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("ANALYZER_LISTENING http://127.0.0.1:"), line
        url = line.split()[1]
        with urllib.request.urlopen(url + "/health", timeout=10) as response:
            health = json.load(response)
        assert health["status"] == "healthy" and health["signed_callbacks"] is True
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert (tmp_path / "analyzer" / "jobs").is_dir()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_bad_setting_exits_with_code_2_and_names_the_variable(tmp_path: Path) -> None:
    env = {**os.environ, "ECG_DATA_DIR": str(tmp_path), "ECG_ANALYZER_RESULT_TTL": "-5"}
    result = subprocess.run(
        [sys.executable, "-m", "ecg_desktop", "ml-server", "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "ECG_ANALYZER_RESULT_TTL" in result.stderr
