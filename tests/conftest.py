"""Shared fixtures for every test folder (see docs/testing.md).

Real services: ``s3_service``/``s3_bucket`` (Swift + s3api), ``postgres_service``/
``postgres_url``, ``database_url`` (sqlite and postgresql). Isolation: ``settings_factory``/
``tmp_settings``; the whole session runs with ``QT_QPA_PLATFORM=offscreen``, a file keyring
and data/config/log folders in a temporary directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.services.fixtures import (
    database_url,
    postgres_service,
    postgres_url,
    s3_bucket,
    s3_service,
    session_environment,
    settings_factory,
    tmp_settings,
)

__all__ = [
    "database_url",
    "postgres_service",
    "postgres_url",
    "s3_bucket",
    "s3_service",
    "settings_factory",
    "tmp_settings",
]

_S3_FIXTURES = {"s3_service", "s3_bucket"}
_POSTGRES_FIXTURES = {"postgres_service", "postgres_url"}
_session_root: Path | None = None
_saved_environment: dict[str, str | None] = {}


def pytest_configure(config: pytest.Config) -> None:
    global _session_root
    _session_root = Path(tempfile.mkdtemp(prefix="ecg-test-session-"))
    for variable, value in session_environment(_session_root).items():
        _saved_environment[variable] = os.environ.get(variable)
        if value is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = value
    import keyring
    from keyring.core import load_keyring

    from tests.services.keyring_backend import BACKEND_NAME

    keyring.set_keyring(load_keyring(BACKEND_NAME))  # in case one was chosen before the env


def pytest_unconfigure(config: pytest.Config) -> None:
    for variable, value in _saved_environment.items():
        if value is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = value
    if _session_root is not None:
        shutil.rmtree(_session_root, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by the services they use, so ``-m "not s3 and not postgres"`` works."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & _S3_FIXTURES:
            item.add_marker(pytest.mark.s3)
        if names & _POSTGRES_FIXTURES:
            item.add_marker(pytest.mark.postgres)
