"""`ecg-desktop ml-server` as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ecg_desktop.domain.signatures import compat_signature


def _post_signed(url: str, body: bytes, secret: str) -> int:
    headers = {"X-Signature-256": compat_signature(secret, body)}
    request = urllib.request.Request(
        url + "/api/upload-video/process-video", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@contextmanager
def ml_server(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``ecg-desktop ml-server`` on a free port: the process and its URL; killed if it is
    still running afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ecg_desktop", "ml-server", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        line = process.stdout.readline()
        assert line.startswith("ANALYZER_LISTENING http://127.0.0.1:"), (
            line or process.stderr.read()
        )
        yield process, line.split()[1]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_ml_server_command_serves_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "ECG_DATA_DIR": str(tmp_path), "WEBHOOK_SECRET_KEY": "cli-secret"}
    with ml_server(env) as (process, url):
        with urllib.request.urlopen(url + "/health", timeout=10) as response:
            health = json.load(response)
        assert health["status"] == "healthy" and health["signed_callbacks"] is True
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert (tmp_path / "analyzer" / "jobs").is_dir()


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


def test_without_a_secret_in_the_environment_it_uses_the_apps_own(
    tmp_path: Path, tmp_settings: object
) -> None:
    from ecg_desktop.config.secrets import load_settings_with_secrets

    app_secret = load_settings_with_secrets().webhook_secret_key  # what the app would use
    assert app_secret
    env = {k: v for k, v in os.environ.items() if k not in ("WEBHOOK_SECRET_KEY", "SECRET_KEY")}
    with ml_server(env) as (process, url):
        with urllib.request.urlopen(url + "/health", timeout=10) as response:
            assert json.load(response)["signed_callbacks"] is True
        # A dispatch signed with the app's secret passes the signature check (then fails on
        # its empty payload); one signed with another secret does not.
        assert _post_signed(url, b"{}", app_secret) == 422
        assert _post_signed(url, b"{}", "another-secret") == 401
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        assert process.stderr is not None
        assert app_secret not in process.stderr.read()  # never logged
