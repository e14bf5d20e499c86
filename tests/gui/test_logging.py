"""The GUI's log file: in the log folder, rotating, and never holding a secret."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecg_desktop.gui.logging_setup import LOG_NAME, configure_logging


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    path = configure_logging(tmp_path / "logs")
    yield path
    for handler in root.handlers[len(before):]:
        handler.close()
    root.handlers[:] = before
    root.setLevel(level)


def test_secrets_never_reach_the_log(log_file: Path) -> None:
    log = logging.getLogger("ecg_desktop.test")
    log.info("store %s", "postgresql+psycopg://ana:hunter2@db.example/jobs")
    log.info("GET http://127.0.0.1:8000/storage/v.mp4?expires=1&X-Amz-Signature=abc123def")
    log.warning("settings %s", {"webhook_secret_key": "whsec-topsecret", "bind_port": 8000})
    log.info("header Authorization: Bearer tok-987654")
    for handler in logging.getLogger().handlers:
        handler.flush()

    text = log_file.read_text(encoding="utf-8")
    assert log_file.name == LOG_NAME
    for secret in ("hunter2", "abc123def", "whsec-topsecret", "tok-987654"):
        assert secret not in text
    assert "db.example/jobs" in text and "bind_port" in text  # the rest is kept


def test_the_log_rotates_instead_of_growing(log_file: Path) -> None:
    log = logging.getLogger("ecg_desktop.test")
    for i in range(3000):
        log.info("line %d %s", i, "x" * 500)
    files = sorted(p.name for p in log_file.parent.iterdir())
    assert files[:2] == [LOG_NAME, f"{LOG_NAME}.1"]
    assert all(p.stat().st_size <= 1_000_000 for p in log_file.parent.iterdir())
