"""The shared pytest fixtures: real services and isolated settings.

``tests/conftest.py`` imports these names so every test folder can use them. A service that
cannot start fails (never skips) each test that needs it, with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ecg_desktop.config.settings import ENV_NAMES, Settings, load_settings

from .keyring_backend import BACKEND_NAME as KEYRING_BACKEND
from .keyring_backend import FILE_VARIABLE as KEYRING_FILE_VARIABLE
from .postgres import PostgresServer, start_postgres
from .processes import ServiceError
from .swift_s3 import SwiftS3Server, start_swift_s3

SettingsFactory = Callable[..., Settings]


@pytest.fixture(scope="session")
def s3_service() -> Iterator[SwiftS3Server]:
    """A real S3-compatible server (Swift + s3api) on loopback for the whole session."""
    try:
        server = start_swift_s3()
    except ServiceError as exc:
        problem = str(exc)
    else:
        problem = ""
    if problem:  # failed outside the except block, so pytest shows the reason once
        pytest.fail(f"the S3 test server (Swift + s3api) did not start: {problem}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_service: SwiftS3Server) -> str:
    """The name of a fresh, empty bucket on ``s3_service``."""
    try:
        s3_service.check_alive()
    except ServiceError as exc:
        problem = str(exc)
    else:
        return s3_service.create_bucket()
    pytest.fail(f"the S3 test server stopped during the session: {problem}", pytrace=False)


@pytest.fixture(scope="session")
def postgres_service() -> PostgresServer:
    """A running PostgreSQL and a role (``ecg_test``) that may create databases."""
    try:
        return start_postgres()
    except ServiceError as exc:
        problem = str(exc)
    pytest.fail(f"the PostgreSQL test server did not start: {problem}", pytrace=False)


@pytest.fixture
def postgres_url(postgres_service: PostgresServer) -> Iterator[str]:
    """``postgresql+psycopg://...`` of a fresh, empty database, dropped after the test."""
    name = postgres_service.create_database()
    try:
        yield postgres_service.url(name)
    finally:
        postgres_service.drop_database(name)


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh job-store URL on each back end: SQLite (a file under tmp_path) and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def settings_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SettingsFactory:
    """Make ``Settings`` as the app would load them, isolated under ``tmp_path``.

    The developer's own environment (``AWS_*``, ``DATABASE_URL``, ...) is cleared, the data,
    config and log folders are under ``tmp_path`` and the keyring is a file there. Keyword
    arguments override fields: ``settings_factory(s3_bucket_name="b")``. Write
    ``config_dir/settings.toml`` or ``monkeypatch.setenv`` before calling to test precedence.
    """
    for variable in [*ENV_NAMES.values(), "SECRET_KEY"]:
        monkeypatch.delenv(variable, raising=False)
    folders = {"ECG_DATA_DIR": "data", "ECG_CONFIG_DIR": "config", "ECG_LOG_DIR": "log"}
    for variable, name in folders.items():
        folder = tmp_path / name
        folder.mkdir(exist_ok=True)
        monkeypatch.setenv(variable, str(folder))
    monkeypatch.setenv(KEYRING_FILE_VARIABLE, str(tmp_path / "keyring.json"))

    def make(**overrides: Any) -> Settings:
        settings = load_settings()
        return settings.with_changes(**overrides) if overrides else settings

    return make


@pytest.fixture
def tmp_settings(settings_factory: SettingsFactory) -> Settings:
    """Default ``Settings`` isolated under ``tmp_path`` (see ``settings_factory``)."""
    return settings_factory()


def session_environment(root: Path) -> dict[str, str | None]:
    """Variables set (or, for None, removed) for the whole test session, before any test runs."""
    repo_root = Path(__file__).resolve().parents[2]
    python_path = os.pathsep.join(p for p in (str(repo_root), os.environ.get("PYTHONPATH")) if p)
    no_proxy = os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""
    return {
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHON_KEYRING_BACKEND": KEYRING_BACKEND,
        KEYRING_FILE_VARIABLE: str(root / "keyring.json"),
        # Tests that forget the settings fixtures still never touch the user's folders.
        "ECG_DATA_DIR": str(root / "data"),
        "ECG_CONFIG_DIR": str(root / "config"),
        "ECG_LOG_DIR": str(root / "log"),
        # Child processes (the CLI, servers) can import the test keyring backend too.
        "PYTHONPATH": python_path,
        # boto3 ignores the developer's ~/.aws files and never probes a cloud metadata service.
        "AWS_CONFIG_FILE": str(root / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(root / "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_PROFILE": None,
        "AWS_DEFAULT_PROFILE": None,
        # Loopback traffic never goes through a proxy.
        "NO_PROXY": ",".join(p for p in ("127.0.0.1,localhost,::1", no_proxy) if p),
    }
